import WebSocket from 'ws';
import type { TestServer } from '../utils/server.ts';

/**
 * Creates, through the API, a graph whose runs loop `iterations` times through `tick` (a transform
 * that counts) and `wait` (a 1 ms delay): about 9 events per iteration, all stored and streamed,
 * and long enough that a subscriber follows it live.
 */
export async function createTickerGraph(server: TestServer, iterations: number): Promise<string> {
  const input = {
    name: 'ticker',
    entry: 'tick',
    maxSteps: 4 * iterations + 10,
    state: [{ key: 'n', default: 0 }],
    nodes: [
      { id: 'tick', kind: 'transform', config: { expression: '{"n": n + 1}' }, maxIterations: iterations + 1 },
      { id: 'wait', kind: 'delay', config: { ms: 1 }, maxIterations: iterations + 1 },
    ],
    edges: [
      { from: 'tick', to: 'wait' },
      { from: 'wait', to: 'tick', when: `n < ${iterations}` },
      { from: 'wait', to: 'END', when: `n >= ${iterations}` },
    ],
  };
  const res = await server.gql<{ createGraph: { __typename: string; id: string; message?: string } }>(
    'mutation ($input: GraphInput!) { createGraph(input: $input) { __typename ... on Graph { id } ... on Error { message } } }',
    { input },
  );
  if (res.data?.createGraph.__typename !== 'Graph') throw new Error(`createGraph failed: ${JSON.stringify(res)}`);
  return res.data.createGraph.id;
}

/** `ws`'s WebSocket, keeping each instance it makes (so a test can reach the client's socket) and counting the graphql-ws `next` messages they receive. */
export function recordingWebSocket(): { WebSocket: unknown; sockets: WebSocket[]; readonly nextMessages: number } {
  const sockets: WebSocket[] = [];
  let nextMessages = 0;
  class RecordingWebSocket extends WebSocket {
    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args);
      sockets.push(this);
      this.on('message', (data) => {
        if ((JSON.parse(String(data)) as { type: string }).type === 'next') nextMessages++;
      });
    }
  }
  return {
    WebSocket: RecordingWebSocket,
    sockets,
    get nextMessages() {
      return nextMessages;
    },
  };
}

/** A small seeded PRNG (mulberry32), so a failing run of a randomised test can be repeated. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export const range = (from: number, to: number): number[] => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
