-- 009_status_index: the status index leaves COMPLETED runs out.
-- Most runs end COMPLETED, and a run that starts and ends within one commit went into this index
-- as it was inserted: one page of the eight that commit wrote. Listing runs by statuses that do
-- not include COMPLETED still walks the index (the store adds status <> 'COMPLETED' to such a
-- query, so that SQLite may use it); a listing that includes COMPLETED walks the runs newest
-- first and skips the others, which costs about the same while most runs are COMPLETED.

DROP INDEX runs_status;
CREATE INDEX runs_status ON runs (status, id) WHERE status <> 'COMPLETED';
