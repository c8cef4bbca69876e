-- 001_init: the first schema of the SQLite store.
-- Migrations are append-only: change the schema in a new numbered file, never by editing this one.
-- JSON columns hold text written by JSON.stringify; timestamps are ISO-8601 text.

CREATE TABLE graphs (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  description TEXT NOT NULL,
  spec        TEXT NOT NULL,    -- GraphSpec
  version     INTEGER NOT NULL,
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL
) STRICT;

-- Run ids sort by creation time, so `ORDER BY id DESC` is newest first. The indexes end in id so a
-- filtered listing walks them in page order instead of sorting. `no` is the run's short key: the
-- tables below refer to a run by it, which keeps their keys small and their inserts cheap. Runs are
-- never deleted, so a no is never reused (the store caches id -> no).
CREATE TABLE runs (
  no         INTEGER PRIMARY KEY,
  id         TEXT NOT NULL UNIQUE,
  graph_id   TEXT NOT NULL,
  status     TEXT NOT NULL,
  priority   INTEGER NOT NULL,
  data       TEXT NOT NULL,     -- the rest of the RunRecord
  pending    TEXT NOT NULL,     -- ids of nodes created PENDING and untouched, without node rows (JSON list)
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
) STRICT;
CREATE INDEX runs_status ON runs (status, id);
CREATE INDEX runs_graph_id ON runs (graph_id, id);

-- Only nodes that have changed since createRun (or were created so) have a row; the others are
-- listed in runs.pending. A row wins over the list.
CREATE TABLE nodes (
  run_no  INTEGER NOT NULL,     -- runs.no
  node_id TEXT NOT NULL,
  data    TEXT NOT NULL,        -- NodeSnapshot without nodeId
  PRIMARY KEY (run_no, node_id)
) STRICT, WITHOUT ROWID;

-- Kept lean on purpose: appending events is the hot path. `data` is the event without the fields
-- stored elsewhere: runId (run_no), seq, type, and graphId unless it differs from the run's.
CREATE TABLE events (
  run_no INTEGER NOT NULL,      -- runs.no
  seq    INTEGER NOT NULL,
  type   TEXT NOT NULL,
  data   TEXT NOT NULL,
  PRIMARY KEY (run_no, seq)
) STRICT, WITHOUT ROWID;

CREATE TABLE checkpoints (
  run_no INTEGER NOT NULL,      -- runs.no
  step   INTEGER NOT NULL,
  data   TEXT NOT NULL,         -- Checkpoint without runId and step
  PRIMARY KEY (run_no, step)
) STRICT, WITHOUT ROWID;
