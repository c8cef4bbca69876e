-- 008_folded_nodes: a short run's node snapshots as the fold of its events, not a copy of them.
-- A run that starts and ends within the commit that creates it (most short runs) had its node
-- snapshots written into `nodes` in full: their inputs and outputs repeat what its NodeStarted and
-- NodeCompleted events hold, so the run row took a page of its own. When those snapshots are
-- exactly what folding the run's events gives (as they are for every run the event log writes,
-- unless an update was stored apart as a blob), the row now keeps just the node ids, as a JSON
-- list in `nodes`, and `fold_seq` the seq of the run's last event in that commit: the store
-- rebuilds the snapshots from the events up to it. NULL for every other run (see 005).

ALTER TABLE runs ADD COLUMN fold_seq INTEGER;
