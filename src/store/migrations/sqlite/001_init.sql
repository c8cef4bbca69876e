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
-- filtered listing walks them in page order instead of sorting.
CREATE TABLE runs (
  id         TEXT PRIMARY KEY,
  graph_id   TEXT NOT NULL,
  status     TEXT NOT NULL,
  priority   INTEGER NOT NULL,
  data       TEXT NOT NULL,     -- the rest of the RunRecord
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
) STRICT;
CREATE INDEX runs_status ON runs (status, id);
CREATE INDEX runs_graph_id ON runs (graph_id, id);

CREATE TABLE nodes (
  run_id  TEXT NOT NULL,
  node_id TEXT NOT NULL,
  data    TEXT NOT NULL,        -- NodeSnapshot without nodeId
  PRIMARY KEY (run_id, node_id)
) STRICT, WITHOUT ROWID;

-- Kept lean on purpose: appending events is the hot path. `data` is the whole event as JSON.
CREATE TABLE events (
  run_id TEXT NOT NULL,
  seq    INTEGER NOT NULL,
  type   TEXT NOT NULL,
  data   TEXT NOT NULL,
  PRIMARY KEY (run_id, seq)
) STRICT, WITHOUT ROWID;

CREATE TABLE checkpoints (
  run_id TEXT NOT NULL,
  step   INTEGER NOT NULL,
  data   TEXT NOT NULL,         -- Checkpoint without runId and step
  PRIMARY KEY (run_id, step)
) STRICT, WITHOUT ROWID;
