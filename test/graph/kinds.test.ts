import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileGraph, validateGraph } from '../../src/graph/compile.ts';
import { defaultKindRegistry } from '../../src/graph/kinds.ts';
import { applyUpdate, initialState, reduce } from '../../src/graph/state.ts';
import type { NodeContext } from '../../src/graph/types.ts';

const ctx = (attempt = 1, signal = new AbortController().signal): NodeContext => ({
  runId: 'r', graphId: 'g', nodeId: 'n', iteration: 1, attempt, signal, progress: () => undefined, log: () => undefined, notice: () => undefined,
  interrupt: () => {
    throw new Error('built-in kinds do not interrupt');
  },
});
const one = (kind: string, config: unknown, kinds = defaultKindRegistry()) =>
  compileGraph({ name: 'k', entry: 'n', nodes: [{ id: 'n', kind, config }], edges: [{ from: 'n', to: 'END' }] }, { kinds }).nodes.get('n')!.handler;

describe('built-in node kinds', () => {
  it('transform returns the object its JSONata expression builds, and fails on a non-object', async () => {
    expect(await one('transform', { expression: '{"total": $sum(items.price)}' })({ items: [{ price: 2 }, { price: 3 }] }, ctx())).toEqual({ total: 5 });
    await expect(Promise.resolve(one('transform', { expression: '$sum(items)' })({ items: [1] }, ctx()))).rejects.toThrow('transform expression must produce an object (the state update), got number');
  });

  it('a runaway expression fails within its time limit instead of hanging the run', async () => {
    const handler = one('transform', { expression: '($f := function($n) { $n > 0 ? $f($n - 1) + $f($n - 1) : 0 }; {"x": $f(40)})' });
    await expect(Promise.resolve(handler({}, ctx()))).rejects.toMatchObject({ code: 'EXPRESSION_FAILED' });
  }, 10_000);

  it('fail fails the first `times` attempts, then succeeds', () => {
    const handler = one('fail', { message: 'nope', times: 2 });
    expect(() => handler({}, ctx(1))).toThrow('nope');
    expect(() => handler({}, ctx(2))).toThrow('nope');
    expect(handler({}, ctx(3))).toBeUndefined();
  });

  it('delay rejects as soon as its signal aborts', async () => {
    const controller = new AbortController();
    const pending = Promise.resolve(one('delay', { ms: 60_000 })({}, ctx(1, controller.signal)));
    controller.abort(new Error('stop'));
    await expect(pending).rejects.toThrow('stop');
  });

  it('interrupt asks with its payload and puts the answer under resultKey', () => {
    const asked: unknown[] = [];
    const answering = { ...ctx(), interrupt: (payload?: unknown) => (asked.push(payload), { approved: true }) } as NodeContext;
    expect(one('interrupt', { payload: { question: 'ship?' }, resultKey: 'decision' })({}, answering)).toEqual({ decision: { approved: true } });
    expect(one('interrupt', undefined)({}, answering)).toEqual({ answer: { approved: true } });
    expect(asked).toEqual([{ question: 'ship?' }, null]);
    const problems = validateGraph({ name: 'k', entry: 'a', nodes: [{ id: 'a', kind: 'interrupt', config: { resultKey: '' } }], edges: [{ from: 'a', to: 'END' }] }, { kinds: defaultKindRegistry() }).problems;
    expect(problems).toEqual([{ path: 'nodes[0].config.resultKey', message: 'must be the name of the state key that gets the answer' }]);
  });

  it('validates configs with paths', () => {
    const kinds = defaultKindRegistry();
    const problems = validateGraph({ name: 'k', entry: 'a', nodes: [{ id: 'a', kind: 'delay', config: { ms: 'soon' } }, { id: 'b', kind: 'fail', config: { times: 0 } }, { id: 'c', kind: 'transform', config: {} }], edges: [] }, { kinds }).problems;
    expect(problems.slice(0, 3).map((p) => p.path)).toEqual(['nodes[0].config.ms', 'nodes[1].config.times', 'nodes[2].config.expression']);
  });

  describe('http', () => {
    let server: Server;
    let host = '';
    beforeAll(async () => {
      server = createServer((req, res) => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ method: req.method, path: req.url }));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('is off unless an allowlist is configured', () => {
      const problems = validateGraph({ name: 'k', entry: 'n', nodes: [{ id: 'n', kind: 'http', config: { url: `http://${host}/x` } }], edges: [{ from: 'n', to: 'END' }] }, { kinds: defaultKindRegistry() }).problems;
      expect(problems).toEqual([{ path: 'nodes[0].kind', message: 'http nodes are off; set FLOWCAST_HTTP_ALLOWLIST to a comma-separated list of hosts to allow them' }]);
    });

    it('calls an allowlisted host and refuses any other', async () => {
      const kinds = defaultKindRegistry({ httpAllowlist: [host] });
      expect(await one('http', { url: `http://${host}/status`, resultKey: 'reply' }, kinds)({}, ctx())).toEqual({ reply: { method: 'GET', path: '/status' } });
      const problems = validateGraph({ name: 'k', entry: 'n', nodes: [{ id: 'n', kind: 'http', config: { url: 'http://127.0.0.2:9/x' } }], edges: [{ from: 'n', to: 'END' }] }, { kinds }).problems;
      expect(problems[0]!.message).toBe(`host 127.0.0.2:9 is not in the http allowlist (${host})`);
    });
  });
});

describe('state reducers', () => {
  it('REPLACE, APPEND and MERGE combine values as documented', () => {
    expect(reduce('REPLACE', [1], [2])).toEqual([2]);
    expect(reduce('APPEND', [1], [2, 3])).toEqual([1, 2, 3]);
    expect(reduce('APPEND', undefined, 'x')).toEqual(['x']);
    expect(reduce('MERGE', { a: 1, b: 1 }, { b: 2 })).toEqual({ a: 1, b: 2 });
    expect(reduce('MERGE', 'scalar', { b: 2 })).toEqual({ b: 2 });
  });

  it('starts from defaults, then the input through the reducers, without sharing default objects', () => {
    const graph = compileGraph({ name: 's', entry: 'n', state: [{ key: 'log', reducer: 'APPEND', default: ['start'] }, { key: 'k', default: 1 }], nodes: [{ id: 'n', kind: 'noop' }], edges: [{ from: 'n', to: 'END' }] }, { kinds: defaultKindRegistry() });
    const first = initialState(graph, { log: ['input'] });
    expect(first).toEqual({ log: ['start', 'input'], k: 1 });
    (first['log'] as string[]).push('mutated');
    expect(initialState(graph, {})).toEqual({ log: ['start'], k: 1 });
    expect(applyUpdate(graph, first, { k: 2, extra: true })).toMatchObject({ k: 2, extra: true });
  });
});
