-- 003_run_finished_at: runs can now be deleted, oldest finished first (retention).
-- finished_at copies RunRecord.finishedAt out of `data` so that a sweep finds old finished runs by
-- an index instead of reading every row; it is NULL while a run is unfinished.
-- Runs are deleted from now on (Store.deleteFinishedBefore), so the remark in 001 that they never
-- are no longer holds: the store forgets the no of each run it deletes.

ALTER TABLE runs ADD COLUMN finished_at TEXT;
UPDATE runs SET finished_at = json_extract(data, '$.finishedAt') WHERE status IN ('COMPLETED', 'FAILED', 'CANCELLED');
CREATE INDEX runs_finished_at ON runs (finished_at) WHERE finished_at IS NOT NULL;
