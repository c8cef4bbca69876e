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
    "\n  query Graphs {\n    graphs(first: 200) {\n      nodes {\n        id\n        name\n        description\n        entry\n        builtIn\n        nodes { id kind maxIterations }\n        edges { from sources to kind when }\n      }\n    }\n  }\n": typeof types.GraphsDocument,
    "\n  query RunList($filter: RunFilter, $first: Int) {\n    runs(filter: $filter, first: $first) {\n      nodes { id graphId status progress createdAt startedAt finishedAt }\n    }\n  }\n": typeof types.RunListDocument,
    "\n  query RunDetail($id: ID!) {\n    run(id: $id) {\n      id\n      graphId\n      status\n      state\n      lastSeq\n      pause { cause nodeId reason at interrupts { nodeId payload } }\n    }\n  }\n": typeof types.RunDetailDocument,
    "\n  subscription RunLifecycle {\n    events(filter: { types: [RunQueued, RunStarted, RunPaused, RunResumed, RunCompleted, RunFailed, RunCancelled] }) {\n      seq\n      runId\n      graphId\n      type\n    }\n  }\n": typeof types.RunLifecycleDocument,
};
const documents: Documents = {
    "\n  query Graphs {\n    graphs(first: 200) {\n      nodes {\n        id\n        name\n        description\n        entry\n        builtIn\n        nodes { id kind maxIterations }\n        edges { from sources to kind when }\n      }\n    }\n  }\n": types.GraphsDocument,
    "\n  query RunList($filter: RunFilter, $first: Int) {\n    runs(filter: $filter, first: $first) {\n      nodes { id graphId status progress createdAt startedAt finishedAt }\n    }\n  }\n": types.RunListDocument,
    "\n  query RunDetail($id: ID!) {\n    run(id: $id) {\n      id\n      graphId\n      status\n      state\n      lastSeq\n      pause { cause nodeId reason at interrupts { nodeId payload } }\n    }\n  }\n": types.RunDetailDocument,
    "\n  subscription RunLifecycle {\n    events(filter: { types: [RunQueued, RunStarted, RunPaused, RunResumed, RunCompleted, RunFailed, RunCancelled] }) {\n      seq\n      runId\n      graphId\n      type\n    }\n  }\n": types.RunLifecycleDocument,
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
export function graphql(source: "\n  query Graphs {\n    graphs(first: 200) {\n      nodes {\n        id\n        name\n        description\n        entry\n        builtIn\n        nodes { id kind maxIterations }\n        edges { from sources to kind when }\n      }\n    }\n  }\n"): (typeof documents)["\n  query Graphs {\n    graphs(first: 200) {\n      nodes {\n        id\n        name\n        description\n        entry\n        builtIn\n        nodes { id kind maxIterations }\n        edges { from sources to kind when }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query RunList($filter: RunFilter, $first: Int) {\n    runs(filter: $filter, first: $first) {\n      nodes { id graphId status progress createdAt startedAt finishedAt }\n    }\n  }\n"): (typeof documents)["\n  query RunList($filter: RunFilter, $first: Int) {\n    runs(filter: $filter, first: $first) {\n      nodes { id graphId status progress createdAt startedAt finishedAt }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query RunDetail($id: ID!) {\n    run(id: $id) {\n      id\n      graphId\n      status\n      state\n      lastSeq\n      pause { cause nodeId reason at interrupts { nodeId payload } }\n    }\n  }\n"): (typeof documents)["\n  query RunDetail($id: ID!) {\n    run(id: $id) {\n      id\n      graphId\n      status\n      state\n      lastSeq\n      pause { cause nodeId reason at interrupts { nodeId payload } }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription RunLifecycle {\n    events(filter: { types: [RunQueued, RunStarted, RunPaused, RunResumed, RunCompleted, RunFailed, RunCancelled] }) {\n      seq\n      runId\n      graphId\n      type\n    }\n  }\n"): (typeof documents)["\n  subscription RunLifecycle {\n    events(filter: { types: [RunQueued, RunStarted, RunPaused, RunResumed, RunCompleted, RunFailed, RunCancelled] }) {\n      seq\n      runId\n      graphId\n      type\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;