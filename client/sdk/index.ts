import { Client, fetchExchange, subscriptionExchange, type ExecutionResult } from '@urql/core';
import * as helpers from './helpers.ts';
import type { Run, RunOptions, RunPage, RunStatus } from './helpers.ts';
import { createTransport, type Transport, type TransportOptions } from './transport.ts';
import { RunEventStream, watchRun, type RetryOptions, type RunEventsOptions, type RunWatch, type WatchRunOptions } from './watch.ts';

export { FlowcastError } from './error.ts';
export type { Run, RunOptions, RunPage, RunStatus } from './helpers.ts';
export { createTransport, type TransportRequest, type TransportResult, type ResultSink, type Transport, type TransportMode, type TransportOptions } from './transport.ts';
export { isTerminal, RunEventStream, type Resubscribe, type ResubscribeReason, type RetryOptions, type RunEvent, type RunEventsOptions, type RunWatch, type TerminalRunEvent, type WatchRunOptions } from './watch.ts';
export * from './operations.ts';

export interface FlowcastClientOptions extends TransportOptions {
  /** The default RetryOptions of runEvents and watchRun. */
  retry?: RetryOptions;
}

export interface FlowcastClient {
  /** The urql client: queries and mutations over HTTP, subscriptions over the transport. */
  readonly urql: Client;
  readonly transport: Transport;
  startRun(graphId: string, input?: Record<string, unknown>, options?: RunOptions): Promise<Run>;
  runGraph(graphId: string, input?: Record<string, unknown>, options?: RunOptions): Promise<Run>;
  getRun(id: string): Promise<Run | null>;
  listRuns(options?: { status?: RunStatus[]; graphId?: string; first?: number; after?: string }): Promise<RunPage>;
  cancelRun(id: string): Promise<Run>;
  /** Lets a paused run go on, with an optional state edit and resume value: see resumeRun in helpers.ts. */
  resumeRun(id: string, options?: { stateUpdate?: Record<string, unknown>; resume?: unknown }): Promise<Run>;
  /** A run's events, for `for await`: see RunEventStream for the contract. */
  runEvents(runId: string, options?: RunEventsOptions): RunEventStream;
  /** Calls `onEvent` for each event of a run: see watchRun in watch.ts. */
  watchRun(runId: string, options: WatchRunOptions): RunWatch;
  /** Closes the WebSocket and SSE connections. */
  dispose(): Promise<void>;
}

/**
 * A Flowcast client: an urql Client whose subscriptions go over graphql-ws (graphql-sse when
 * WebSockets are blocked; see createTransport), the common calls as typed helpers, and run event
 * streams that resume across reconnects without a gap or a duplicate.
 */
export function createFlowcastClient(options: FlowcastClientOptions): FlowcastClient {
  const transport = createTransport(options);
  const urql = new Client({
    url: options.url,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    requestPolicy: 'network-only',
    exchanges: [
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request) => ({
          subscribe(sink) {
            const unsubscribe = transport.subscribe(
              { query: request.query ?? '', ...(request.variables ? { variables: request.variables } : {}), ...(request.operationName ? { operationName: request.operationName } : {}) },
              { next: (result) => sink.next(result as ExecutionResult), error: (error) => sink.error(error), complete: () => sink.complete() },
            );
            return { unsubscribe };
          },
        }),
      }),
    ],
  });
  const withRetry = <T extends RunEventsOptions>(streamOptions: T): T => (options.retry && !streamOptions.retry ? { ...streamOptions, retry: options.retry } : streamOptions);
  return {
    urql,
    transport,
    startRun: (graphId, input, runOptions) => helpers.startRun(urql, graphId, input, runOptions),
    runGraph: (graphId, input, runOptions) => helpers.runGraph(urql, graphId, input, runOptions),
    getRun: (id) => helpers.getRun(urql, id),
    listRuns: (listOptions) => helpers.listRuns(urql, listOptions),
    cancelRun: (id) => helpers.cancelRun(urql, id),
    resumeRun: (id, resumeOptions) => helpers.resumeRun(urql, id, resumeOptions),
    runEvents: (runId, streamOptions = {}) => new RunEventStream(transport, runId, withRetry(streamOptions)),
    watchRun: (runId, watchOptions) => watchRun(transport, runId, withRetry(watchOptions)),
    dispose: () => transport.dispose(),
  };
}
