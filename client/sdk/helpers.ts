import type { Client, OperationResult } from '@urql/core';
import { FlowcastError } from './error.ts';
import type { RunFieldsFragment, RunOptions, RunStatus } from './gql/graphql.ts';
import { CancelRunDocument, GetRunDocument, ListRunsDocument, ResumeRunDocument, RunGraphDocument, StartRunDocument } from './operations.ts';

/** A run as the helpers return it (the RunFields fragment in operations.ts). */
export type Run = RunFieldsFragment;
export type { RunOptions, RunStatus };

export interface RunPage {
  runs: Run[];
  /** Pass as `after` for the next page; null on the last one. */
  endCursor: string | null;
  hasNextPage: boolean;
}

/** The typed errors of the schema's result unions, by GraphQL type, and their codes. */
const ERROR_CODES: Record<string, string> = {
  GraphNotFoundError: 'GRAPH_NOT_FOUND',
  RunNotFoundError: 'RUN_NOT_FOUND',
  InvalidInputError: 'INVALID_INPUT',
  InvalidGraphError: 'INVALID_GRAPH',
  RunNotPausedError: 'RUN_NOT_PAUSED',
  ConcurrencyConflictError: 'CONCURRENCY_CONFLICT',
};

/** The data of a result; a GraphQL or network error becomes a FlowcastError. */
async function dataOf<T>(pending: Promise<OperationResult<T>>): Promise<T> {
  const result = await pending;
  if (result.error) {
    if (result.error.graphQLErrors.length > 0) throw FlowcastError.fromGraphQLErrors(result.error.graphQLErrors);
    throw new FlowcastError('NETWORK', result.error.message, {}, { cause: result.error.networkError });
  }
  if (!result.data) throw new FlowcastError('GRAPHQL', 'the server sent no data');
  return result.data;
}

/** The Run of a `Run | …Error` union; a typed error becomes a FlowcastError with its code and message. */
function runOf(result: Run | { __typename: string; message: string }): Run {
  if (result.__typename === 'Run') return result as Run;
  const { message, ...details } = result as { __typename: string; message: string };
  throw new FlowcastError(ERROR_CODES[result.__typename] ?? 'GRAPHQL', message, details);
}

/**
 * Queues a run of `graphId` and returns it at once (QUEUED or RUNNING). Throws FlowcastError
 * GRAPH_NOT_FOUND or INVALID_INPUT (bad input or options; the message says what to fix).
 */
export async function startRun(client: Client, graphId: string, input?: Record<string, unknown>, options?: RunOptions): Promise<Run> {
  const data = await dataOf(client.mutation(StartRunDocument, { graphId, input: input ?? null, options: options ?? null }).toPromise());
  return runOf(data.startRun);
}

/** Runs `graphId` to its end and returns the finished run (COMPLETED, FAILED or CANCELLED). Throws like startRun. */
export async function runGraph(client: Client, graphId: string, input?: Record<string, unknown>, options?: RunOptions): Promise<Run> {
  const data = await dataOf(client.mutation(RunGraphDocument, { graphId, input: input ?? null, options: options ?? null }).toPromise());
  return runOf(data.runGraph);
}

/** The run as it is now, or null when there is no such run. */
export async function getRun(client: Client, id: string): Promise<Run | null> {
  const data = await dataOf(client.query(GetRunDocument, { id }, { requestPolicy: 'network-only' }).toPromise());
  return data.run;
}

/** Runs, newest first: `first` of them (server default) after the cursor `after`, filtered by status and graph. */
export async function listRuns(client: Client, options: { status?: RunStatus[]; graphId?: string; first?: number; after?: string } = {}): Promise<RunPage> {
  const filter = options.status || options.graphId ? { ...(options.status ? { status: options.status } : {}), ...(options.graphId ? { graphId: options.graphId } : {}) } : null;
  const data = await dataOf(client.query(ListRunsDocument, { filter, first: options.first ?? null, after: options.after ?? null }, { requestPolicy: 'network-only' }).toPromise());
  return { runs: data.runs.nodes, endCursor: data.runs.pageInfo.endCursor, hasNextPage: data.runs.pageInfo.hasNextPage };
}

/** Cancels a queued or running run and returns it (CANCELLED). Throws RUN_NOT_FOUND, or INVALID_INPUT when it has already ended. */
export async function cancelRun(client: Client, id: string): Promise<Run> {
  const data = await dataOf(client.mutation(CancelRunDocument, { id }).toPromise());
  return runOf(data.cancelRun);
}

/**
 * Lets a PAUSED run go on and returns it (RUNNING, or QUEUED while it waits for a worker).
 * `stateUpdate` goes through the graph's reducers before the run goes on; nodes that paused with
 * `ctx.interrupt()` run again and get `resume`. Both default to none. Throws RUN_NOT_FOUND,
 * RUN_NOT_PAUSED (details.status: the status it has) or INVALID_INPUT (e.g. a state edit that is not
 * an object).
 */
export async function resumeRun(client: Client, id: string, options: { stateUpdate?: Record<string, unknown>; resume?: unknown } = {}): Promise<Run> {
  const variables = { id, stateUpdate: options.stateUpdate ?? null, resume: options.resume === undefined ? null : options.resume };
  const data = await dataOf(client.mutation(ResumeRunDocument, variables).toPromise());
  return runOf(data.resumeRun);
}
