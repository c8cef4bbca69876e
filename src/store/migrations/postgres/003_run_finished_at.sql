-- 003_run_finished_at: runs can now be deleted, oldest finished first (retention).
-- finished_at copies RunRecord.finishedAt out of `data` so that a sweep finds old finished runs by
-- an index instead of reading every row; it is NULL while a run is unfinished. COLLATE "C": ISO
-- times compare as plain strings.
-- The backfill reads the value with a pattern instead of a json operator, which would refuse
-- the \u0000 that JSON.stringify writes into `data`. In `data` as runParams (src/store/rows.ts)
-- writes it, the run's own finishedAt is the last occurrence of the key, followed by graphHash
-- (since runs record their graph's hash) or ending the text (before that); earlier ones are
-- inside input or state.
-- Runs are deleted from now on (Store.deleteFinishedBefore), so the remark in 001 that they never
-- are no longer holds.

ALTER TABLE runs ADD COLUMN finished_at text COLLATE "C";
UPDATE runs SET finished_at = substring(data from '^.*"finishedAt":"([^"]*)"(?:,"graphHash":|}$)') WHERE status IN ('COMPLETED', 'FAILED', 'CANCELLED');
CREATE INDEX runs_finished_at ON runs (finished_at) WHERE finished_at IS NOT NULL;
