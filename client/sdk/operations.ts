import { graphql } from './gql/index.ts';

/**
 * Every operation the SDK sends. GraphQL Code Generator reads this file and types each document in
 * gql/ (run `npm run generate` after changing one).
 */

export const RunFieldsFragment = graphql(`
  fragment RunFields on Run {
    __typename
    id
    graphId
    status
    input
    state
    progress
    step
    maxSteps
    priority
    lastSeq
    currentNodes
    error { code message }
    nodes { nodeId status iteration attempts durationMs error { code message } }
    createdAt
    startedAt
    finishedAt
    updatedAt
  }
`);

export const StartRunDocument = graphql(`
  mutation StartRun($graphId: ID!, $input: JSON, $options: RunOptions) {
    startRun(graphId: $graphId, input: $input, options: $options) {
      __typename
      ...RunFields
      ... on Error { message }
      ... on GraphNotFoundError { graphId }
      ... on ConcurrencyConflictError { runId heldKey: concurrencyKey }
    }
  }
`);

export const RunGraphDocument = graphql(`
  mutation RunGraph($graphId: ID!, $input: JSON, $options: RunOptions) {
    runGraph(graphId: $graphId, input: $input, options: $options) {
      __typename
      ...RunFields
      ... on Error { message }
      ... on GraphNotFoundError { graphId }
    }
  }
`);

export const CancelRunDocument = graphql(`
  mutation CancelRun($id: ID!) {
    cancelRun(id: $id) {
      __typename
      ...RunFields
      ... on Error { message }
      ... on RunNotFoundError { runId }
    }
  }
`);

export const ResumeRunDocument = graphql(`
  mutation ResumeRun($id: ID!, $stateUpdate: JSON, $resume: JSON) {
    resumeRun(id: $id, stateUpdate: $stateUpdate, resume: $resume) {
      __typename
      ...RunFields
      ... on Error { message }
      ... on RunNotFoundError { runId }
      ... on RunNotPausedError { runId runStatus: status }
    }
  }
`);

export const GetRunDocument = graphql(`
  query GetRun($id: ID!) {
    run(id: $id) { ...RunFields }
  }
`);

export const ListRunsDocument = graphql(`
  query ListRuns($filter: RunFilter, $first: Int, $after: String) {
    runs(filter: $filter, first: $first, after: $after) {
      nodes { ...RunFields }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

/**
 * Every field of every event type, so an event is the whole event, discriminated by __typename.
 * Three fields are aliased because their nullability differs between event types (nodeId is non-null
 * on node events, nullable elsewhere; message is nullable on Progress, non-null on SystemNotice;
 * stateUpdate is non-null on NodeCompleted, nullable on RunResumed), which GraphQL does not allow
 * in one selection; watch.ts renames them back.
 */
export const RunEventsDocument = graphql(`
  subscription RunEvents($runId: ID!, $after: Int) {
    runEvents(runId: $runId, after: $after) {
      __typename
      seq
      runId
      graphId
      at
      type
      priority
      ... on RunQueued { input }
      ... on RunStarted { input maxSteps }
      ... on NodeStarted { requiredNodeId: nodeId step iteration attempt input }
      ... on NodeCompleted { requiredNodeId: nodeId step iteration attempt stateUpdate bytes durationMs }
      ... on NodeFailed { requiredNodeId: nodeId step iteration attempt error { code message } willRetry retryInMs durationMs }
      ... on NodeSkipped { requiredNodeId: nodeId step reason }
      ... on Transition { from to step }
      ... on DataFlow { from to step bytes }
      ... on Progress { percent message nodeId }
      ... on SystemNotice { noticeMessage: message level code nodeId }
      ... on RunPaused { nodeId reason cause interrupts { nodeId payload } }
      ... on RunResumed { nodeId stateEdit: stateUpdate resume }
      ... on RunCompleted { finalState durationMs }
      ... on RunFailed { error { code message } nodeId durationMs }
      ... on RunCancelled { reason durationMs }
    }
  }
`);
