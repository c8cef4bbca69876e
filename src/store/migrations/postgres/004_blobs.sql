-- 004_blobs: large payloads stored once, apart from the events that refer to them.
-- A NodeCompleted whose state update is larger than the event log's threshold keeps only
-- `stateUpdateRef` (the content's hash) in its event row; the update's JSON text is here, once
-- per run and content, so events stay small for readers that do not ask for the update.
-- Deleted with their run, like the run's events.

CREATE TABLE blobs (
  run_no bigint NOT NULL,       -- runs.no
  ref    text COLLATE "C" NOT NULL, -- 'sha256:' and the hex SHA-256 of data
  data   text NOT NULL,         -- the payload's JSON
  PRIMARY KEY (run_no, ref)
);
