-- 010_packed_events: events of the usual shapes are stored packed.
-- An entry of an event batch (006) may now be a JSON list instead of an object: the event's type,
-- the values of its type's fields in the order the engine emits them, then `at` and `priority`
-- (src/store/batch.ts lists the fields per type). Packed entries are less than half the text, and
-- written without JSON.stringify's walk over every key. No table changes: this version marks the
-- file, so that an older Flowcast, which cannot read packed entries, refuses to open it.

SELECT 1;
