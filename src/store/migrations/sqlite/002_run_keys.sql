-- RunOptions.concurrencyKey and idempotencyKey, as columns so that runs can be found by them.
-- Written once, at createRun (they are in `data` too, which is what reads return).
ALTER TABLE runs ADD COLUMN concurrency_key TEXT;
ALTER TABLE runs ADD COLUMN idempotency_key TEXT;
CREATE UNIQUE INDEX runs_idempotency_key ON runs (idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX runs_concurrency_key ON runs (concurrency_key, id) WHERE concurrency_key IS NOT NULL;
