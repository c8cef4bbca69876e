-- 007_event_keys: an event batch's rowid is its key, (run_no << 32) | seq, instead of a separate index.
-- A commit of a short run wrote a page of the events table and a page of its (run_no, seq) index;
-- with the key as the rowid, the table is the index: a run's batches are one range of rowids, in
-- seq order, and a new run's batches still go to the table's end (run numbers only grow). run_no
-- and seq stay as columns for reading by hand; the store finds batches by key. A run's seqs must
-- stay below 2^32.

ALTER TABLE events RENAME TO events_006;

CREATE TABLE events (
  key      INTEGER PRIMARY KEY, -- (run_no << 32) | seq
  run_no   INTEGER NOT NULL,    -- runs.no
  seq      INTEGER NOT NULL,    -- of the first event in data
  last_seq INTEGER NOT NULL,    -- of the last event in data
  data     TEXT NOT NULL        -- JSON list of the events seq..last_seq
) STRICT;

INSERT INTO events (key, run_no, seq, last_seq, data)
  SELECT (run_no << 32) | seq, run_no, seq, last_seq, data FROM events_006 ORDER BY run_no, seq;

DROP TABLE events_006;
