-- 001_init: the first schema of the PostgreSQL store.
-- Migrations are append-only: change the schema in a new numbered file, never by editing this one.
-- The store applies them in one transaction under an advisory lock, in the schema first on the
-- connection's search_path. JSON columns hold text written by JSON.stringify (not jsonb, which
-- would reorder keys and refuse \u0000); timestamps are ISO-8601 text. Ids are COLLATE "C" so they
-- sort in code-point order, as in SQLite and the memory store, whatever the database's locale.

CREATE TABLE graphs (
  id          text COLLATE "C" PRIMARY KEY,
  name        text NOT NULL,
  description text NOT NULL,
  spec        text NOT NULL,    -- GraphSpec
  version     integer NOT NULL,
  created_at  text NOT NULL,
  updated_at  text NOT NULL
);

-- Run ids sort by creation time, so `ORDER BY id DESC` is newest first. The indexes end in id so a
-- filtered listing walks them in page order instead of sorting. `no` is the run's short key: the
-- tables below refer to a run by it, which keeps their keys small and their inserts cheap. They
-- have no foreign keys: the store looks every run of a batch up once before writing, and runs are
-- never deleted.
CREATE TABLE runs (
  no         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id         text COLLATE "C" NOT NULL UNIQUE,
  graph_id   text COLLATE "C" NOT NULL,
  status     text NOT NULL,
  priority   integer NOT NULL,
  data       text NOT NULL,     -- the rest of the RunRecord
  created_at text NOT NULL,
  updated_at text NOT NULL
);
CREATE INDEX runs_status ON runs (status, id);
CREATE INDEX runs_graph_id ON runs (graph_id, id);

CREATE TABLE nodes (
  run_no  bigint NOT NULL,      -- runs.no
  node_id text COLLATE "C" NOT NULL,
  data    text NOT NULL,        -- NodeSnapshot without nodeId
  PRIMARY KEY (run_no, node_id)
);

-- Kept lean on purpose: appending events is the hot path. `data` is the event without the fields
-- stored elsewhere: runId (run_no), seq, type, and graphId unless it differs from the run's.
CREATE TABLE events (
  run_no bigint NOT NULL,       -- runs.no
  seq    integer NOT NULL,
  type   text NOT NULL,
  data   text NOT NULL,
  PRIMARY KEY (run_no, seq)
);

CREATE TABLE checkpoints (
  run_no bigint NOT NULL,       -- runs.no
  step   integer NOT NULL,
  data   text NOT NULL,         -- Checkpoint without runId and step
  PRIMARY KEY (run_no, step)
);
