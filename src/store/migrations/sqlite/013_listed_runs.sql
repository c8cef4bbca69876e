-- 013_listed_runs: a run's entries in the graph and retention indexes are written in a later
-- transaction than its row, for many runs at once (src/store/sqlite-listing.ts). Each of the two
-- indexes cost a short run's commit one more WAL page, about 2.5 µs of its 26 for a bare commit of
-- its rows. A row goes in with listed = 0 and the connection that wrote it sets listed = 1 within
-- about 10 ms, or before it filters runs by graph or deletes expired ones itself. Rows written
-- before this migration are listed.

ALTER TABLE runs ADD COLUMN listed INTEGER NOT NULL DEFAULT 1;

DROP INDEX runs_graph_id;
CREATE INDEX runs_graph_id ON runs (graph_id, id) WHERE listed = 1;

DROP INDEX runs_finished_at;
CREATE INDEX runs_finished_at ON runs (finished_at) WHERE finished_at IS NOT NULL AND listed = 1;

-- The connections that have left rows unlisted, and from which no on: so a store that opens the
-- file lists the rows of one whose process has died before it could.
CREATE TABLE unlisted (
  owner   TEXT PRIMARY KEY, -- the connection: process id and a random part
  pid     INTEGER NOT NULL, -- its process
  from_no INTEGER NOT NULL  -- every row it has left unlisted has a no of at least this
) STRICT;
