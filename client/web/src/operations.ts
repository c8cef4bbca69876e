import { graphql } from './gql/index.ts';

/**
 * The live view's own operations: what the SDK's helpers (startRun, getRun, cancelRun, resumeRun,
 * watchRun, …) do not cover. GraphQL Code Generator types them into gql/ (`npm run generate`).
 */

/** Every graph with its definition: the canvas lays out nodes and edges; the start form lists them. */
export const GraphsDocument = graphql(`
  query Graphs {
    graphs(first: 200) {
      nodes {
        id
        name
        description
        entry
        builtIn
        nodes { id kind maxIterations }
        edges { from sources to kind when }
      }
    }
  }
`);

/** The run picker: enough of each run for one line. */
export const RunListDocument = graphql(`
  query RunList($filter: RunFilter, $first: Int) {
    runs(filter: $filter, first: $first) {
      nodes { id graphId status progress createdAt startedAt finishedAt }
    }
  }
`);

/** The selected run as the server has it now: its state (for the inspector) and why it paused. */
export const RunDetailDocument = graphql(`
  query RunDetail($id: ID!) {
    run(id: $id) {
      id
      graphId
      status
      state
      lastSeq
      pause { cause nodeId reason at interrupts { nodeId payload } }
    }
  }
`);

/** Status changes of every run, so the picker updates when a run starts, pauses or ends. */
export const RunLifecycleDocument = graphql(`
  subscription RunLifecycle {
    events(filter: { types: [RunQueued, RunStarted, RunPaused, RunResumed, RunCompleted, RunFailed, RunCancelled] }) {
      seq
      runId
      graphId
      type
    }
  }
`);
