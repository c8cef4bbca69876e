-- 005_run_nodes: a run's node snapshots as of its first write, in its run row.
-- A run is created and written in one commit, usually with its first events and often with all of
-- them: short runs start and end within one flush. Its node snapshots then go into `nodes` (a
-- JSON object: node id -> the NodeSnapshot without nodeId) instead of one node row each, which
-- spared a run of a 10-node graph a third of the WAL pages its commit wrote. Later commits write
-- node rows as before, and a row wins over its entry here.
-- NULL for runs written before this migration: their untouched nodes are listed in `pending`,
-- which runs written from now on leave empty ('[]').

ALTER TABLE runs ADD COLUMN nodes TEXT;
