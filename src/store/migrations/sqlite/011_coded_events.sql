-- 011_coded_events: packed event entries (010) name their type and priority by code.
-- A packed entry's first item is now its type's code and its last its priority's code, e.g.
-- [6,"a","b",1,0,1] for a Transition of priority NORMAL (src/store/batch.ts lists the codes);
-- entries written before keep the names and read back as they did. A short run's batch is about
-- 40% shorter, so two of them share a page and a commit writes fewer pages. No table changes:
-- this version marks the file, so that an older Flowcast, which cannot read codes, refuses to open it.

SELECT 1;
