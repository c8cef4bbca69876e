/* eslint-disable */
import * as types from './graphql.ts';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  fragment RunFields on Run {\n    __typename\n    id\n    graphId\n    status\n    input\n    state\n    progress\n    step\n    maxSteps\n    priority\n    lastSeq\n    currentNodes\n    error { code message }\n    nodes { nodeId status iteration attempts durationMs error { code message } }\n    createdAt\n    startedAt\n    finishedAt\n    updatedAt\n  }\n": typeof types.RunFieldsFragmentDoc,
    "\n  mutation StartRun($graphId: ID!, $input: JSON, $options: RunOptions) {\n    startRun(graphId: $graphId, input: $input, options: $options) {\n      __typename\n      ...RunFields\n      ... on Error { message }\n      ... on GraphNotFoundError { graphId }\n      ... on ConcurrencyConflictError { runId heldKey: concurrencyKey }\n    }\n  }\n": typeof types.StartRunDocument,
    "\n  mutation RunGraph($graphId: ID!, $input: JSON, $options: RunOptions) {\n    runGraph(graphId: $graphId, input: $input, options: $options) {\n      __typename\n      ...RunFields\n      ... on Error { message }\n      ... on GraphNotFoundError { graphId }\n    }\n  }\n": typeof types.RunGraphDocument,
    "\n  mutation CancelRun($id: ID!) {\n    cancelRun(id: $id) {\n      __typename\n      ...RunFields\n      ... on Error { message }\n      ... on RunNotFoundError { runId }\n    }\n  }\n": typeof types.CancelRunDocument,
    "\n  mutation ResumeRun($id: ID!, $stateUpdate: JSON, $resume: JSON) {\n    resumeRun(id: $id, stateUpdate: $stateUpdate, resume: $resume) {\n      __typename\n      ...RunFields\n      ... on Error { message }\n      ... on RunNotFoundError { runId }\n      ... on RunNotPausedError { runId runStatus: status }\n    }\n  }\n": typeof types.ResumeRunDocument,
    "\n  query GetRun($id: ID!) {\n    run(id: $id) { ...RunFields }\n  }\n": typeof types.GetRunDocument,
    "\n  query ListRuns($filter: RunFilter, $first: Int, $after: String) {\n    runs(filter: $filter, first: $first, after: $after) {\n      nodes { ...RunFields }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n": typeof types.ListRunsDocument,
    "\n  subscription RunEvents($runId: ID!, $after: Int) {\n    runEvents(runId: $runId, after: $after) {\n      __typename\n      seq\n      runId\n      graphId\n      at\n      type\n      priority\n      ... on RunQueued { input }\n      ... on RunStarted { input maxSteps }\n      ... on NodeStarted { requiredNodeId: nodeId step iteration attempt input }\n      ... on NodeCompleted { requiredNodeId: nodeId step iteration attempt stateUpdate bytes durationMs }\n      ... on NodeFailed { requiredNodeId: nodeId step iteration attempt error { code message } willRetry retryInMs durationMs }\n      ... on NodeSkipped { requiredNodeId: nodeId step reason }\n      ... on Transition { from to step }\n      ... on DataFlow { from to step bytes }\n      ... on Progress { percent message nodeId }\n      ... on SystemNotice { noticeMessage: message level code nodeId }\n      ... on RunPaused { nodeId reason cause interrupts { nodeId payload } }\n      ... on RunResumed { nodeId stateEdit: stateUpdate resume }\n      ... on RunCompleted { finalState durationMs }\n      ... on RunFailed { error { code message } nodeId durationMs }\n      ... on RunCancelled { reason durationMs }\n    }\n  }\n": typeof types.RunEventsDocument,
};
const documents: Documents = {
    "\n  fragment RunFields on Run {\n    __typename\n    id\n    graphId\n    status\n    input\n    state\n    progress\n    step\n    maxSteps\n    priority\n    lastSeq\n    currentNodes\n    error { code message }\n    nodes { nodeId status iteration attempts durationMs error { code message } }\n    createdAt\n    startedAt\n    finishedAt\n    updatedAt\n  }\n": types.RunFieldsFragmentDoc,
    "\n  mutation StartRun($graphId: ID!, $input: JSON, $options: RunOptions) {\n    startRun(graphId: $graphId, input: $input, options: $options) {\n      __typename\n      ...RunFields\n      ... on Error { message }\n      ... on GraphNotFoundError { graphId }\n      ... on ConcurrencyConflictError { runId heldKey: concurrencyKey }\n    }\n  }\n": types.StartRunDocument,
    "\n  mutation RunGraph($graphId: ID!, $input: JSON, $options: RunOptions) {\n    runGraph(graphId: $graphId, input: $input, options: $options) {\n      __typename\n      ...RunFields\n      ... on Error { message }\n      ... on GraphNotFoundError { graphId }\n    }\n  }\n": types.RunGraphDocument,
    "\n  mutation CancelRun($id: ID!) {\n    cancelRun(id: $id) {\n      __typename\n      ...RunFields\n      ... on Error { message }\n      ... on RunNotFoundError { runId }\n    }\n  }\n": types.CancelRunDocument,
    "\n  mutation ResumeRun($id: ID!, $stateUpdate: JSON, $resume: JSON) {\n    resumeRun(id: $id, stateUpdate: $stateUpdate, resume: $resume) {\n      __typename\n      ...RunFields\n      ... on Error { message }\n      ... on RunNotFoundError { runId }\n      ... on RunNotPausedError { runId runStatus: status }\n    }\n  }\n": types.ResumeRunDocument,
    "\n  query GetRun($id: ID!) {\n    run(id: $id) { ...RunFields }\n  }\n": types.GetRunDocument,
    "\n  query ListRuns($filter: RunFilter, $first: Int, $after: String) {\n    runs(filter: $filter, first: $first, after: $after) {\n      nodes { ...RunFields }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n": types.ListRunsDocument,
    "\n  subscription RunEvents($runId: ID!, $after: Int) {\n    runEvents(runId: $runId, after: $after) {\n      __typename\n      seq\n      runId\n      graphId\n      at\n      type\n      priority\n      ... on RunQueued { input }\n      ... on RunStarted { input maxSteps }\n      ... on NodeStarted { requiredNodeId: nodeId step iteration attempt input }\n      ... on NodeCompleted { requiredNodeId: nodeId step iteration attempt stateUpdate bytes durationMs }\n      ... on NodeFailed { requiredNodeId: nodeId step iteration attempt error { code message } willRetry retryInMs durationMs }\n      ... on NodeSkipped { requiredNodeId: nodeId step reason }\n      ... on Transition { from to step }\n      ... on DataFlow { from to step bytes }\n      ... on Progress { percent message nodeId }\n      ... on SystemNotice { noticeMessage: message level code nodeId }\n      ... on RunPaused { nodeId reason cause interrupts { nodeId payload } }\n      ... on RunResumed { nodeId stateEdit: stateUpdate resume }\n      ... on RunCompleted { finalState durationMs }\n      ... on RunFailed { error { code message } nodeId durationMs }\n      ... on RunCancelled { reason durationMs }\n    }\n  }\n": types.RunEventsDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment RunFields on Run {\n    __typename\n    id\n    graphId\n    status\n    input\n    state\n    progress\n    step\n    maxSteps\n    priority\n    lastSeq\n    currentNodes\n    error { code message }\n    nodes { nodeId status iteration attempts durationMs error { code message } }\n    createdAt\n    startedAt\n    finishedAt\n    updatedAt\n  }\n"): (typeof documents)["\n  fragment RunFields on Run {\n    __typename\n    id\n    graphId\n    status\n    input\n    state\n    progress\n    step\n    maxSteps\n    priority\n    lastSeq\n    currentNodes\n    error { code message }\n    nodes { nodeId status iteration attempts durationMs error { code message } }\n    createdAt\n    startedAt\n    finishedAt\n    updatedAt\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation StartRun($graphId: ID!, $input: JSON, $options: RunOptions) {\n    startRun(graphId: $graphId, input: $input, options: $options) {\n      __typename\n      ...RunFields\n      ... on Error { message }\n      ... on GraphNotFoundError { graphId }\n      ... on ConcurrencyConflictError { runId heldKey: concurrencyKey }\n    }\n  }\n"): (typeof documents)["\n  mutation StartRun($graphId: ID!, $input: JSON, $options: RunOptions) {\n    startRun(graphId: $graphId, input: $input, options: $options) {\n      __typename\n      ...RunFields\n      ... on Error { message }\n      ... on GraphNotFoundError { graphId }\n      ... on ConcurrencyConflictError { runId heldKey: concurrencyKey }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RunGraph($graphId: ID!, $input: JSON, $options: RunOptions) {\n    runGraph(graphId: $graphId, input: $input, options: $options) {\n      __typename\n      ...RunFields\n      ... on Error { message }\n      ... on GraphNotFoundError { graphId }\n    }\n  }\n"): (typeof documents)["\n  mutation RunGraph($graphId: ID!, $input: JSON, $options: RunOptions) {\n    runGraph(graphId: $graphId, input: $input, options: $options) {\n      __typename\n      ...RunFields\n      ... on Error { message }\n      ... on GraphNotFoundError { graphId }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CancelRun($id: ID!) {\n    cancelRun(id: $id) {\n      __typename\n      ...RunFields\n      ... on Error { message }\n      ... on RunNotFoundError { runId }\n    }\n  }\n"): (typeof documents)["\n  mutation CancelRun($id: ID!) {\n    cancelRun(id: $id) {\n      __typename\n      ...RunFields\n      ... on Error { message }\n      ... on RunNotFoundError { runId }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ResumeRun($id: ID!, $stateUpdate: JSON, $resume: JSON) {\n    resumeRun(id: $id, stateUpdate: $stateUpdate, resume: $resume) {\n      __typename\n      ...RunFields\n      ... on Error { message }\n      ... on RunNotFoundError { runId }\n      ... on RunNotPausedError { runId runStatus: status }\n    }\n  }\n"): (typeof documents)["\n  mutation ResumeRun($id: ID!, $stateUpdate: JSON, $resume: JSON) {\n    resumeRun(id: $id, stateUpdate: $stateUpdate, resume: $resume) {\n      __typename\n      ...RunFields\n      ... on Error { message }\n      ... on RunNotFoundError { runId }\n      ... on RunNotPausedError { runId runStatus: status }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query GetRun($id: ID!) {\n    run(id: $id) { ...RunFields }\n  }\n"): (typeof documents)["\n  query GetRun($id: ID!) {\n    run(id: $id) { ...RunFields }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ListRuns($filter: RunFilter, $first: Int, $after: String) {\n    runs(filter: $filter, first: $first, after: $after) {\n      nodes { ...RunFields }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n"): (typeof documents)["\n  query ListRuns($filter: RunFilter, $first: Int, $after: String) {\n    runs(filter: $filter, first: $first, after: $after) {\n      nodes { ...RunFields }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription RunEvents($runId: ID!, $after: Int) {\n    runEvents(runId: $runId, after: $after) {\n      __typename\n      seq\n      runId\n      graphId\n      at\n      type\n      priority\n      ... on RunQueued { input }\n      ... on RunStarted { input maxSteps }\n      ... on NodeStarted { requiredNodeId: nodeId step iteration attempt input }\n      ... on NodeCompleted { requiredNodeId: nodeId step iteration attempt stateUpdate bytes durationMs }\n      ... on NodeFailed { requiredNodeId: nodeId step iteration attempt error { code message } willRetry retryInMs durationMs }\n      ... on NodeSkipped { requiredNodeId: nodeId step reason }\n      ... on Transition { from to step }\n      ... on DataFlow { from to step bytes }\n      ... on Progress { percent message nodeId }\n      ... on SystemNotice { noticeMessage: message level code nodeId }\n      ... on RunPaused { nodeId reason cause interrupts { nodeId payload } }\n      ... on RunResumed { nodeId stateEdit: stateUpdate resume }\n      ... on RunCompleted { finalState durationMs }\n      ... on RunFailed { error { code message } nodeId durationMs }\n      ... on RunCancelled { reason durationMs }\n    }\n  }\n"): (typeof documents)["\n  subscription RunEvents($runId: ID!, $after: Int) {\n    runEvents(runId: $runId, after: $after) {\n      __typename\n      seq\n      runId\n      graphId\n      at\n      type\n      priority\n      ... on RunQueued { input }\n      ... on RunStarted { input maxSteps }\n      ... on NodeStarted { requiredNodeId: nodeId step iteration attempt input }\n      ... on NodeCompleted { requiredNodeId: nodeId step iteration attempt stateUpdate bytes durationMs }\n      ... on NodeFailed { requiredNodeId: nodeId step iteration attempt error { code message } willRetry retryInMs durationMs }\n      ... on NodeSkipped { requiredNodeId: nodeId step reason }\n      ... on Transition { from to step }\n      ... on DataFlow { from to step bytes }\n      ... on Progress { percent message nodeId }\n      ... on SystemNotice { noticeMessage: message level code nodeId }\n      ... on RunPaused { nodeId reason cause interrupts { nodeId payload } }\n      ... on RunResumed { nodeId stateEdit: stateUpdate resume }\n      ... on RunCompleted { finalState durationMs }\n      ... on RunFailed { error { code message } nodeId durationMs }\n      ... on RunCancelled { reason durationMs }\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;