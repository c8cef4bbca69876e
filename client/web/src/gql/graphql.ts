/* eslint-disable */
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
export type Maybe<T> = T | null;
export type InputMaybe<T> = T | null | undefined;
export type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
export type MakeOptional<T, K extends keyof T> = Omit<T, K> & { [SubKey in K]?: Maybe<T[SubKey]> };
export type MakeMaybe<T, K extends keyof T> = Omit<T, K> & { [SubKey in K]: Maybe<T[SubKey]> };
export type MakeEmpty<T extends { [key: string]: unknown }, K extends keyof T> = { [_ in K]?: never };
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
  /** Any JSON value (object, array, string, number, boolean or null). */
  JSON: { input: unknown; output: unknown; }
};

export type BreakpointWhen =
  /** Pause after the step in which the node ran. */
  | 'AFTER'
  /** Pause before the node runs. */
  | 'BEFORE';

export type ConflictPolicy =
  | 'CANCEL_PREVIOUS'
  | 'ENQUEUE'
  | 'REJECT';

export type EdgeInput = {
  /** The source node. For a join, the first of several (see `join`). */
  from: Scalars['String']['input'];
  /** More sources: the target then runs once `from` and all of these have completed. */
  join?: InputMaybe<Array<Scalars['String']['input']>>;
  /** A node id or END. */
  to: Scalars['String']['input'];
  /** A JSONata expression over the state; the edge is taken when it is truthy. */
  when?: InputMaybe<Scalars['String']['input']>;
};

export type EdgeKind =
  /** Taken when its JSONata `when` is truthy. */
  | 'CONDITION'
  /** Chosen by a code router. */
  | 'ROUTER'
  /** Always taken. */
  | 'STATIC';

export type EventFilter = {
  graphId?: InputMaybe<Scalars['String']['input']>;
  /** Only events of this priority or higher. Default LOW (all). */
  minPriority?: InputMaybe<Priority>;
  types?: InputMaybe<Array<RunEventType>>;
};

export type GraphInput = {
  description?: InputMaybe<Scalars['String']['input']>;
  edges: Array<EdgeInput>;
  entry: Scalars['String']['input'];
  /** Default: a new id. Saving an existing id replaces that graph. */
  id?: InputMaybe<Scalars['ID']['input']>;
  maxSteps?: InputMaybe<Scalars['Int']['input']>;
  name: Scalars['String']['input'];
  nodes: Array<NodeInput>;
  state?: InputMaybe<Array<StateKeyInput>>;
};

export type NodeInput = {
  config?: InputMaybe<Scalars['JSON']['input']>;
  id: Scalars['String']['input'];
  kind: Scalars['String']['input'];
  maxIterations?: InputMaybe<Scalars['Int']['input']>;
  retry?: InputMaybe<RetryInput>;
  timeoutMs?: InputMaybe<Scalars['Int']['input']>;
};

export type NodeStatus =
  | 'FAILED'
  | 'INTERRUPTED'
  | 'PENDING'
  | 'RUNNING'
  | 'SKIPPED'
  | 'SUCCEEDED';

export type NoticeLevel =
  | 'INFO'
  | 'WARN';

/** Why a run paused: a breakpoint before or after a node, or a node that called ctx.interrupt(). */
export type PauseCause =
  | 'AFTER'
  | 'BEFORE'
  | 'INTERRUPT';

export type Priority =
  | 'CRITICAL'
  | 'HIGH'
  | 'LOW'
  | 'NORMAL';

export type Reducer =
  | 'APPEND'
  | 'MERGE'
  | 'REPLACE';

export type RetryInput = {
  backoffFactor?: InputMaybe<Scalars['Float']['input']>;
  initialDelayMs?: InputMaybe<Scalars['Int']['input']>;
  maxAttempts?: InputMaybe<Scalars['Int']['input']>;
  maxDelayMs?: InputMaybe<Scalars['Int']['input']>;
};

export type RunEventType =
  | 'DataFlow'
  | 'NodeCompleted'
  | 'NodeFailed'
  | 'NodeSkipped'
  | 'NodeStarted'
  | 'Progress'
  | 'RunCancelled'
  | 'RunCompleted'
  | 'RunFailed'
  | 'RunPaused'
  | 'RunQueued'
  | 'RunResumed'
  | 'RunStarted'
  | 'SystemNotice'
  | 'Transition';

export type RunFilter = {
  graphId?: InputMaybe<Scalars['String']['input']>;
  status?: InputMaybe<Array<RunStatus>>;
};

export type RunOptions = {
  /** startRun only. Runs with the same key (1-200 characters) run one at a time, oldest first; a key is held from creation until the run ends (PAUSED included). See onConflict. */
  concurrencyKey?: InputMaybe<Scalars['String']['input']>;
  /** startRun only. Starting again with the same key (1-200 characters) returns the run it started, as long as that run is kept, instead of another; the same key with another graph or input is an InvalidInputError. */
  idempotencyKey?: InputMaybe<Scalars['String']['input']>;
  /** Node ids: the run pauses (RunPaused cause AFTER) after the step in which any of them ran. Each must be a node of the graph. */
  interruptAfter?: InputMaybe<Array<Scalars['String']['input']>>;
  /** Node ids: the run pauses (PAUSED, RunPaused cause BEFORE) before any of them runs. Each must be a node of the graph. */
  interruptBefore?: InputMaybe<Array<Scalars['String']['input']>>;
  /** Overrides the graph's maxSteps for this run. */
  maxSteps?: InputMaybe<Scalars['Int']['input']>;
  /** startRun only, with concurrencyKey: what to do when the key is held. REJECT (default): a ConcurrencyConflictError naming the holder. ENQUEUE: queue this run behind it. CANCEL_PREVIOUS: cancel the unfinished runs with the key, then start. */
  onConflict?: InputMaybe<ConflictPolicy>;
  /** Higher runs first when queued. Default 0 (-1000..1000). */
  priority?: InputMaybe<Scalars['Int']['input']>;
  /** The whole run must finish within this; else it ends FAILED (RUN_TIMEOUT). */
  timeoutMs?: InputMaybe<Scalars['Int']['input']>;
};

export type RunStatus =
  | 'CANCELLED'
  | 'COMPLETED'
  | 'FAILED'
  | 'PAUSED'
  | 'QUEUED'
  | 'RUNNING';

export type StateKeyInput = {
  default?: InputMaybe<Scalars['JSON']['input']>;
  key: Scalars['String']['input'];
  reducer?: InputMaybe<Reducer>;
};

export type VisualPriority =
  | 'HIGH'
  | 'LOW'
  | 'MEDIUM';

export type VisualUpdateKind =
  | 'COMPLETE_REFRESH'
  | 'EDGE_UPDATE'
  | 'LAYOUT_UPDATE'
  | 'NODE_UPDATE'
  | 'STYLE_UPDATE';

export type GraphsQueryVariables = Exact<{ [key: string]: never; }>;


export type GraphsQuery = { __typename?: 'Query', graphs: { __typename?: 'GraphConnection', nodes: Array<{ __typename?: 'Graph', id: string, name: string, description: string, entry: string, builtIn: boolean, nodes: Array<{ __typename?: 'GraphNode', id: string, kind: string, maxIterations: number | null }>, edges: Array<{ __typename?: 'GraphEdge', from: string, sources: Array<string>, to: string, kind: EdgeKind, when: string | null }> }> } };

export type RunListQueryVariables = Exact<{
  filter: InputMaybe<RunFilter>;
  first: InputMaybe<Scalars['Int']['input']>;
}>;


export type RunListQuery = { __typename?: 'Query', runs: { __typename?: 'RunConnection', nodes: Array<{ __typename?: 'Run', id: string, graphId: string, status: RunStatus, progress: number, createdAt: string, startedAt: string | null, finishedAt: string | null }> } };

export type RunDetailQueryVariables = Exact<{
  id: Scalars['ID']['input'];
}>;


export type RunDetailQuery = { __typename?: 'Query', run: { __typename?: 'Run', id: string, graphId: string, status: RunStatus, state: unknown, lastSeq: number, pause: { __typename?: 'RunPause', cause: PauseCause, nodeId: string | null, reason: string, at: string, interrupts: Array<{ __typename?: 'Interrupt', nodeId: string, payload: unknown | null }> } | null } | null };

export type RunLifecycleSubscriptionVariables = Exact<{ [key: string]: never; }>;


export type RunLifecycleSubscription = { __typename?: 'Subscription', events:
    | { __typename?: 'DataFlow', seq: number, runId: string, graphId: string, type: RunEventType }
    | { __typename?: 'NodeCompleted', seq: number, runId: string, graphId: string, type: RunEventType }
    | { __typename?: 'NodeFailed', seq: number, runId: string, graphId: string, type: RunEventType }
    | { __typename?: 'NodeSkipped', seq: number, runId: string, graphId: string, type: RunEventType }
    | { __typename?: 'NodeStarted', seq: number, runId: string, graphId: string, type: RunEventType }
    | { __typename?: 'Progress', seq: number, runId: string, graphId: string, type: RunEventType }
    | { __typename?: 'RunCancelled', seq: number, runId: string, graphId: string, type: RunEventType }
    | { __typename?: 'RunCompleted', seq: number, runId: string, graphId: string, type: RunEventType }
    | { __typename?: 'RunFailed', seq: number, runId: string, graphId: string, type: RunEventType }
    | { __typename?: 'RunPaused', seq: number, runId: string, graphId: string, type: RunEventType }
    | { __typename?: 'RunQueued', seq: number, runId: string, graphId: string, type: RunEventType }
    | { __typename?: 'RunResumed', seq: number, runId: string, graphId: string, type: RunEventType }
    | { __typename?: 'RunStarted', seq: number, runId: string, graphId: string, type: RunEventType }
    | { __typename?: 'SystemNotice', seq: number, runId: string, graphId: string, type: RunEventType }
    | { __typename?: 'Transition', seq: number, runId: string, graphId: string, type: RunEventType }
   };


export const GraphsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Graphs"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"graphs"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"200"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"nodes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"entry"}},{"kind":"Field","name":{"kind":"Name","value":"builtIn"}},{"kind":"Field","name":{"kind":"Name","value":"nodes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"maxIterations"}}]}},{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"from"}},{"kind":"Field","name":{"kind":"Name","value":"sources"}},{"kind":"Field","name":{"kind":"Name","value":"to"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"when"}}]}}]}}]}}]}}]} as unknown as DocumentNode<GraphsQuery, GraphsQueryVariables>;
export const RunListDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"RunList"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"filter"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"RunFilter"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"runs"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"filter"},"value":{"kind":"Variable","name":{"kind":"Name","value":"filter"}}},{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"nodes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"graphId"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"progress"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"startedAt"}},{"kind":"Field","name":{"kind":"Name","value":"finishedAt"}}]}}]}}]}}]} as unknown as DocumentNode<RunListQuery, RunListQueryVariables>;
export const RunDetailDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"RunDetail"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"run"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"graphId"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"state"}},{"kind":"Field","name":{"kind":"Name","value":"lastSeq"}},{"kind":"Field","name":{"kind":"Name","value":"pause"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"cause"}},{"kind":"Field","name":{"kind":"Name","value":"nodeId"}},{"kind":"Field","name":{"kind":"Name","value":"reason"}},{"kind":"Field","name":{"kind":"Name","value":"at"}},{"kind":"Field","name":{"kind":"Name","value":"interrupts"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"nodeId"}},{"kind":"Field","name":{"kind":"Name","value":"payload"}}]}}]}}]}}]}}]} as unknown as DocumentNode<RunDetailQuery, RunDetailQueryVariables>;
export const RunLifecycleDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"RunLifecycle"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"events"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"filter"},"value":{"kind":"ObjectValue","fields":[{"kind":"ObjectField","name":{"kind":"Name","value":"types"},"value":{"kind":"ListValue","values":[{"kind":"EnumValue","value":"RunQueued"},{"kind":"EnumValue","value":"RunStarted"},{"kind":"EnumValue","value":"RunPaused"},{"kind":"EnumValue","value":"RunResumed"},{"kind":"EnumValue","value":"RunCompleted"},{"kind":"EnumValue","value":"RunFailed"},{"kind":"EnumValue","value":"RunCancelled"}]}}]}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"seq"}},{"kind":"Field","name":{"kind":"Name","value":"runId"}},{"kind":"Field","name":{"kind":"Name","value":"graphId"}},{"kind":"Field","name":{"kind":"Name","value":"type"}}]}}]}}]} as unknown as DocumentNode<RunLifecycleSubscription, RunLifecycleSubscriptionVariables>;