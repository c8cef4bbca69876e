import { Client, fetchExchange, subscriptionExchange, type OperationResult } from '@urql/core';
import type { FormattedExecutionResult } from 'graphql';
import type { Client as WsClient, Sink } from 'graphql-ws';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../utils/server.ts';

/**
 * A stock urql client, as a web app would set it up: queries and mutations over fetch (queries as
 * GET, urql's default for short ones), subscriptions forwarded to a graphql-ws client.
 */

interface Event {
  __typename?: string;
  seq: number;
  type: string;
  runId: string;
  finalState?: { total: number; branches: string[] };
}

const EVENT_FIELDS = 'seq type runId ... on RunCompleted { finalState }';

describe('urql client (fetchExchange + subscriptionExchange over graphql-ws)', () => {
  let server: TestServer;
  let ws: WsClient;
  let client: Client;
  /** The HTTP method of every request fetchExchange made. */
  let methods: string[];

  beforeEach(async () => {
    server = await startTestServer();
    ws = server.wsClient();
    methods = [];
    client = new Client({
      url: server.http,
      fetch: (input, init) => {
        methods.push(init?.method ?? 'GET');
        return fetch(input, init);
      },
      exchanges: [
        fetchExchange,
        subscriptionExchange({
          forwardSubscription: (request) => ({
            subscribe: (sink) => ({ unsubscribe: ws.subscribe({ ...request, query: request.query ?? '' }, sink as Sink<FormattedExecutionResult>) }),
          }),
        }),
      ],
    });
  });
  afterEach(async () => {
    await server.stop();
  });

  /**
   * Follows one urql subscription until urql says it has ended. Each event arrives as a result with
   * `hasNext: true`; when the transport completes, urql emits the last result once more with
   * `hasNext: false` (its end-of-stream signal), which is not a new event.
   */
  function follow(query: string, variables: Record<string, unknown>, field: string): Promise<{ events: Event[]; end: OperationResult }> {
    return new Promise((resolve, reject) => {
      const events: Event[] = [];
      const subscription = client.subscription<Record<string, Event>>(query, variables).subscribe((result) => {
        if (result.error) {
          subscription.unsubscribe();
          reject(result.error);
        } else if (result.hasNext === false) {
          resolve({ events, end: result });
        } else {
          const event = result.data?.[field];
          if (event) events.push(event);
        }
      });
    });
  }

  it('queries the graph list with a GET request and sees the demo graphs', async () => {
    const result = await client.query<{ graphs: { nodes: Array<{ id: string; builtIn: boolean }> } }>('{ graphs(first: 50) { nodes { id builtIn } } }', {}).toPromise();
    expect(result.error).toBeUndefined();
    expect(methods).toEqual(['GET']);
    const ids = result.data!.graphs.nodes.map((g) => g.id);
    expect(ids).toContain('fan-out');
    expect(result.data!.graphs.nodes.find((g) => g.id === 'fan-out')).toEqual({ id: 'fan-out', builtIn: true });
  });

  it('starts a run with the startRun mutation and follows it with runEvents from seq 1 to RunCompleted', async () => {
    const started = await client
      .mutation<{ startRun: { __typename: string; id: string; status: string; graphId: string } }>(
        'mutation Start($input: JSON) { startRun(graphId: "fan-out", input: $input) { __typename ... on Run { id status graphId } ... on Error { message } } }',
        { input: { speed: 0 } },
      )
      .toPromise();
    expect(started.error).toBeUndefined();
    expect(methods).toEqual(['POST']);
    const run = started.data!.startRun;
    expect(run.__typename).toBe('Run');
    expect(run.graphId).toBe('fan-out');
    expect(['QUEUED', 'RUNNING', 'COMPLETED']).toContain(run.status);

    const { events } = await follow(`subscription Follow($id: ID!) { runEvents(runId: $id, after: 0) { ${EVENT_FIELDS} } }`, { id: run.id }, 'runEvents');
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.slice(0, 2).map((e) => e.type)).toEqual(['RunQueued', 'RunStarted']);
    expect(events.at(-1)!.type).toBe('RunCompleted');
    expect(new Set(events.map((e) => e.runId))).toEqual(new Set([run.id]));

    const after = await client.query<{ run: { status: string; lastSeq: number } }>('query Run($id: ID!) { run(id: $id) { status lastSeq } }', { id: run.id }, { requestPolicy: 'network-only' }).toPromise();
    expect(after.data!.run).toEqual({ status: 'COMPLETED', lastSeq: events.length });
  });

  it('streams a runExecution of fan-out gaplessly from RunStarted (seq 1) to RunCompleted, then completes', async () => {
    const { events, end } = await follow(
      `subscription Exec($input: JSON) { runExecution(graphId: "fan-out", input: $input) { __typename ${EVENT_FIELDS} } }`,
      { input: { speed: 0 } },
      'runExecution',
    );
    expect(end.data!['runExecution']).toEqual(events.at(-1));
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.length).toBeGreaterThan(20);
    expect(events[0]!.type).toBe('RunStarted');
    expect(events.filter((e) => e.type === 'RunCompleted')).toHaveLength(1);
    expect(events.every((e) => e.__typename === e.type)).toBe(true);
    const last = events.at(-1)!;
    expect(last.type).toBe('RunCompleted');
    expect(last.finalState).toMatchObject({ total: 2 + 11 + 1 + 2, branches: ['a', 'b', 'c', 'c2'] });

    const stored = await server.gql<{ run: { status: string; lastSeq: number } }>('query ($id: ID!) { run(id: $id) { status lastSeq } }', { id: last.runId });
    expect(stored.data!.run).toEqual({ status: 'COMPLETED', lastSeq: last.seq });
  });

  it('reports a runExecution of an unknown graph as an error result, not a hang', async () => {
    await expect(follow(`subscription { runExecution(graphId: "no-such-graph") { ${EVENT_FIELDS} } }`, {}, 'runExecution')).rejects.toMatchObject({
      graphQLErrors: [expect.objectContaining({ message: expect.stringContaining('no-such-graph') })],
    });
  });
});
