import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep } from '../../src/common/async.ts';
import { AppError, type ErrorCode } from '../../src/common/errors.ts';
import { applyEvent, toRecord, type NodeSnapshot, type RunRecord, type RunStatus } from '../../src/events/snapshot.ts';
import { EVENT_TYPES, type RunEvent } from '../../src/events/types.ts';
import type { GraphSpec } from '../../src/graph/types.ts';
import type { CommitBatch, NodeRow, Store } from '../../src/store/types.ts';
import { inEngineOrder, makeCheckpoint, makeEvent, makeEvent as makeFixtureEvent, makeEvents, makeNode, makeNodeRow, makeRun, makeStoredApart, newId } from './fixtures.ts';

/**
 * The contract every Store adapter passes. Opens one store per suite with `makeStore`, closes it
 * after the last test, then calls `cleanup`. Every test makes its own ids (see `newId`), so the
 * suite also runs against a database shared with other runs of it. A test commits only for runs
 * it has created (`created`), as the event log does.
 */
export function runStoreSpec(name: string, makeStore: () => Promise<Store> | Store, cleanup?: () => Promise<void> | void): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    beforeAll(async () => {
      store = await makeStore();
    });
    afterAll(async () => {
      await store?.close();
      await cleanup?.();
    });

    /** A run made with `makeRun(overrides)` and created in the store without nodes. */
    async function created(overrides: Partial<RunRecord> = {}): Promise<RunRecord> {
      const run = makeRun(overrides);
      await store.createRun(run, []);
      return run;
    }

    describe('graphs', () => {
      it('saves a new graph at version 1 and reads it back whole', async () => {
        const id = newId('graph');
        const saved = await store.saveGraph({ id, name: 'Demo', description: 'first', spec: graphSpec(id, 1) });
        expect(saved).toMatchObject({ id, name: 'Demo', description: 'first', version: 1, spec: graphSpec(id, 1) });
        expect(Number.isNaN(Date.parse(saved.createdAt))).toBe(false);
        expect(saved.updatedAt).toBe(saved.createdAt);
        expect(await store.getGraph(id)).toStrictEqual(saved);
      });

      it('replaces a graph saved again under the same id, bumps its version and keeps createdAt', async () => {
        const id = newId('graph');
        const first = await store.saveGraph({ id, name: 'v1', description: 'one', spec: graphSpec(id, 1) });
        await sleep(5);
        const second = await store.saveGraph({ id, name: 'v2', description: 'two', spec: graphSpec(id, 2) });
        expect(second).toStrictEqual({ ...second, id, name: 'v2', description: 'two', spec: graphSpec(id, 2), version: 2, createdAt: first.createdAt });
        expect(second.updatedAt > first.updatedAt).toBe(true);
        const third = await store.saveGraph({ id, name: 'v3', description: 'three', spec: graphSpec(id, 3) });
        expect(third.version).toBe(3);
        expect(await store.getGraph(id)).toStrictEqual(third);
      });

      it('lists saved graphs and deletes them, saying whether they existed', async () => {
        const a = await store.saveGraph({ id: newId('graph'), name: 'a', description: '', spec: graphSpec('a', 1) });
        const b = await store.saveGraph({ id: newId('graph'), name: 'b', description: '', spec: graphSpec('b', 1) });
        const ours = async (): Promise<unknown[]> => (await store.listGraphs()).filter((g) => g.id === a.id || g.id === b.id);
        expect(await ours()).toEqual(expect.arrayContaining([a, b]));
        expect(await ours()).toHaveLength(2);
        expect(await store.deleteGraph(a.id)).toBe(true);
        expect(await store.deleteGraph(a.id)).toBe(false);
        expect(await store.getGraph(a.id)).toBeUndefined();
        expect(await ours()).toStrictEqual([b]);
      });

      it('returns undefined for an unknown graph', async () => {
        expect(await store.getGraph(newId('nope'))).toBeUndefined();
      });
    });

    describe('runs', () => {
      it('creates a run with its nodes and reads both back unchanged, nodes sorted by id', async () => {
        const run = makeRun({
          status: 'FAILED', progress: 42.5, currentNodes: ['a', 'b'], step: 3, lastSeq: 17, priority: 3,
          state: { doc: { title: 'x', sections: [{ h: 1, body: 'ü' }] }, n: -0.25, flag: false, none: null },
          error: { code: 'NODE_FAILED', message: 'node b failed' },
          startedAt: '2025-01-02T03:04:06.000Z', finishedAt: '2025-01-02T03:04:07.000Z',
          graphHash: 'fedcba9876543210', timeoutMs: 60_000,
          breakpoints: [{ nodeId: 'a', when: 'BEFORE' }, { nodeId: 'b', when: 'AFTER' }],
        });
        const a = makeNode('a', { status: 'SUCCEEDED', iteration: 2, attempts: 1, startedAt: run.createdAt, finishedAt: run.updatedAt, durationMs: 12.25, input: { q: [1, { r: 's' }] }, output: { answer: { ok: true } } });
        const b = makeNode('b', { status: 'FAILED', iteration: 1, attempts: 3, error: { code: 'NODE_TIMEOUT', message: 'took too long' } });
        const c10 = makeNode('c10');
        const c9 = makeNode('c9');
        await store.createRun(run, [c9, b, c10, a]);
        expect(await store.getRun(run.id)).toStrictEqual(run);
        expect(await store.getNodes(run.id)).toStrictEqual([a, b, c10, c9]);
      });

      it('keeps PENDING nodes unlike a fresh one whole, and the last snapshot of a repeated node id', async () => {
        const run = makeRun();
        const p = makeNode('p', { iteration: 2, attempts: 1, output: { kept: true } });
        const q = makeNode('q');
        await store.createRun(run, [makeNode('q', { status: 'RUNNING' }), makeNode('p'), q, p]);
        expect(await store.getNodes(run.id)).toStrictEqual([p, q]);
        const r = makeNodeRow(run.id, 'q', { status: 'SUCCEEDED', iteration: 1, attempts: 1 });
        await store.commit(batch({ nodes: [r, makeNodeRow(run.id, 'p')] }));
        expect(await store.getNodes(run.id)).toStrictEqual([makeNode('p'), snapshot(r)]);
      });

      it('lists nodes in code point order, whether written with the run, by later commits or both', async () => {
        const run = makeRun();
        const ids = ['\u{1F600}', '\uE000', 'a', 'B', 'é'];
        await store.createRun(run, ids.map((id) => makeNode(id)));
        const first = makeNodeRow(run.id, 'a', { status: 'RUNNING' });
        await store.commit(batch({ events: makeEvents(run.id, 1, 1), runs: [{ ...run, status: 'RUNNING' }], nodes: [first] }));
        const order = ['B', 'a', 'é', '\uE000', '\u{1F600}'];
        expect((await store.getNodes(run.id)).map((n) => n.nodeId)).toStrictEqual(order);
        const later = makeNodeRow(run.id, '\u{1F600}', { status: 'SUCCEEDED', attempts: 1 });
        await store.commit(batch({ nodes: [later, makeNodeRow(run.id, 'z')] }));
        const nodes = await store.getNodes(run.id);
        expect(nodes.map((n) => n.nodeId)).toStrictEqual(['B', 'a', 'z', 'é', '\uE000', '\u{1F600}']);
        expect(nodes.find((n) => n.nodeId === 'a')).toStrictEqual(snapshot(first));
        expect(nodes.find((n) => n.nodeId === '\u{1F600}')).toStrictEqual(snapshot(later));
      });

      it('gives back the nodes of a run created and ended in one commit that marks them folded, and lets later node rows win', async () => {
        const record = makeRun();
        const run = { ...record, nodes: new Map(['a', 'b', 'c', 'd'].map((id) => [id, makeNode(id)])) };
        await store.createRun(record, [...run.nodes.values()]);
        const node = (seq: number, type: 'NodeStarted' | 'NodeCompleted' | 'NodeFailed' | 'NodeSkipped', nodeId: string, more: object = {}): RunEvent => ({ ...makeEvent(run.id, seq, type), nodeId, ...more }) as RunEvent;
        // a succeeds, b is skipped, c fails once then for good, d is still running when the run
        // fails (which fails it too); as the event log folds them.
        const events = [
          makeEvent(run.id, 1, 'RunStarted'), node(2, 'NodeStarted', 'a'), node(3, 'NodeCompleted', 'a'), node(4, 'NodeSkipped', 'b'),
          node(5, 'NodeStarted', 'c'), node(6, 'NodeFailed', 'c'), node(7, 'NodeStarted', 'c', { attempt: 2 }), node(8, 'NodeFailed', 'c', { attempt: 2, willRetry: false }),
          node(9, 'NodeStarted', 'd'), makeEvent(run.id, 10, 'RunFailed'),
        ];
        const touched = new Set<string>();
        for (const event of events) {
          const id = applyEvent(run, event);
          if (id !== undefined) touched.add(id);
        }
        const rows = [...touched].map((id) => ({ ...run.nodes.get(id)!, runId: run.id }));
        await store.commit({ events, runs: [toRecord(run)], nodes: rows, checkpoints: [], folded: new Set([run.id]) });
        const expected = [...run.nodes.values()].map((n) => ({ ...n }));
        expect(expected.map((n) => [n.status, n.attempts, n.finishedAt !== null])).toStrictEqual([['SUCCEEDED', 1, true], ['SKIPPED', 0, false], ['FAILED', 2, true], ['FAILED', 1, true]]);
        expect(await store.getNodes(run.id)).toStrictEqual(expected);
        expect(await store.readEvents(run.id, 0, 100)).toStrictEqual(events);
        const later = makeNodeRow(run.id, 'd', { status: 'SKIPPED' });
        await store.commit(batch({ nodes: [later] }));
        expect(await store.getNodes(run.id)).toStrictEqual([...expected.slice(0, 3), snapshot(later)]);
      });

      it('keeps null fields null', async () => {
        const run = makeRun();
        await store.createRun(run, [makeNode('only')]);
        const read = await store.getRun(run.id);
        expect(read).toStrictEqual(run);
        expect(read?.error).toBeNull();
        expect((await store.getNodes(run.id))[0]?.output).toBeNull();
      });

      it('rejects a second run with the same id and keeps the first', async () => {
        const run = makeRun();
        await store.createRun(run, [makeNode('a')]);
        await expectAppError(store.createRun({ ...run, status: 'RUNNING' }, [makeNode('z')]), 'INVALID_INPUT', /already exists/);
        expect(await store.getRun(run.id)).toStrictEqual(run);
        expect(await store.getNodes(run.id)).toStrictEqual([makeNode('a')]);
      });

      it('finds runs by concurrency and idempotency key, and keeps an idempotency key to one run', async () => {
        const tag = newId('key');
        const a = makeRun({ concurrencyKey: `c-${tag}`, idempotencyKey: `i-${tag}` });
        const b = makeRun({ concurrencyKey: `c-${tag}`, status: 'RUNNING' });
        await store.createRun(a, []);
        await store.createRun(b, []);
        await expectAppError(store.createRun(makeRun({ idempotencyKey: `i-${tag}` }), []), 'INVALID_INPUT', /idempotencyKey "i-key_.*" already names another run/);
        expect((await store.listRuns({ concurrencyKey: `c-${tag}` }, { first: 10 })).items.map((r) => r.id)).toStrictEqual([b.id, a.id]);
        expect((await store.listRuns({ concurrencyKey: `c-${tag}`, status: ['QUEUED'] }, { first: 10 })).items.map((r) => r.id)).toStrictEqual([a.id]);
        expect((await store.listRuns({ idempotencyKey: `i-${tag}` }, { first: 10 })).items).toStrictEqual([a]);
        expect((await store.listRuns({ idempotencyKey: `none-${tag}` }, { first: 10 })).items).toStrictEqual([]);
      });

      it('reports nothing for an unknown run', async () => {
        const id = newId('nope');
        expect(await store.getRun(id)).toBeUndefined();
        expect(await store.getNodes(id)).toStrictEqual([]);
        expect(await store.readEvents(id, 0, 10)).toStrictEqual([]);
        expect(await store.lastSeq(id)).toBe(0);
        expect(await store.latestCheckpoint(id)).toBeUndefined();
      });
    });

    describe('commit', () => {
      it('writes the events, run rows, node rows and checkpoints of a batch', async () => {
        const run = makeRun();
        await store.createRun(run, [makeNode('a'), makeNode('b')]);
        const updated: RunRecord = {
          ...run, status: 'PAUSED', step: 1, lastSeq: 3, currentNodes: ['b'], state: { done: ['a'] }, startedAt: run.createdAt, updatedAt: '2025-01-02T03:05:00.000Z',
          graphHash: null, breakpoints: [{ nodeId: 'b', when: 'AFTER' }],
          pause: { cause: 'INTERRUPT', nodeId: 'b', reason: 'node "b" asked for input', interrupts: [{ nodeId: 'b', payload: { question: 'go?' } }, { nodeId: 'c', payload: null }], at: '2025-01-02T03:05:00.000Z' },
        };
        const a = makeNodeRow(run.id, 'a', { status: 'SUCCEEDED', iteration: 1, attempts: 1, output: { done: ['a'] }, durationMs: 3 });
        const c = makeNodeRow(run.id, 'c', { status: 'SKIPPED' });
        const events = makeEvents(run.id, 1, 3);
        const checkpoint = makeCheckpoint(run.id, 1);
        await store.commit({ events, runs: [updated], nodes: [c, a], checkpoints: [checkpoint] });
        expect(await store.getRun(run.id)).toStrictEqual(updated);
        expect(await store.getNodes(run.id)).toStrictEqual([snapshot(a), makeNode('b'), snapshot(c)]);
        expect(await store.readEvents(run.id, 0, 100)).toStrictEqual(events);
        expect(await store.lastSeq(run.id)).toBe(3);
        expect(await store.latestCheckpoint(run.id)).toStrictEqual(checkpoint);
      });

      it('rejects a batch touching a run that createRun never wrote, and writes none of it', async () => {
        const run = makeRun();
        await store.createRun(run, [makeNode('a')]);
        const events = makeEvents(run.id, 1, 2);
        await store.commit(batch({ events }));
        const ghost = newId('ghost');
        const apart = makeStoredApart(run.id, 4);
        // Everything of the known run is fine; one part names the unknown one.
        const good = (): CommitBatch => ({
          events: [makeEvent(run.id, 3), apart.event],
          runs: [{ ...run, status: 'RUNNING', lastSeq: 4 }],
          nodes: [makeNodeRow(run.id, 'a', { status: 'RUNNING', iteration: 1, attempts: 1 })],
          checkpoints: [makeCheckpoint(run.id, 1)],
          blobs: [apart.blob],
        });
        const bad: CommitBatch[] = [
          { ...good(), events: [...makeEvents(run.id, 3, 4), makeEvent(ghost, 1)] },
          { ...good(), events: [makeEvent(ghost, 1), ...makeEvents(run.id, 3, 4)] },
          { ...good(), runs: [...good().runs, makeRun({ id: ghost, status: 'RUNNING' })] },
          { ...good(), nodes: [...good().nodes, makeNodeRow(ghost, 'a')] },
          { ...good(), checkpoints: [makeCheckpoint(ghost, 1), ...good().checkpoints] },
          { ...good(), blobs: [apart.blob, { ...apart.blob, runId: ghost }] },
        ];
        for (const attempt of bad) {
          const error = await expectAppError(store.commit(attempt), 'INTERNAL');
          expect(error.message).toContain(ghost);
          expect(await store.getRun(run.id)).toStrictEqual(run);
          expect(await store.getNodes(run.id)).toStrictEqual([makeNode('a')]);
          expect(await store.readEvents(run.id, 0, 100)).toStrictEqual(events);
          expect(await store.latestCheckpoint(run.id)).toBeUndefined();
          expect(await store.readBlob(run.id, apart.blob.ref)).toBeUndefined();
          expect(await store.getRun(ghost)).toBeUndefined();
          expect(await store.getNodes(ghost)).toStrictEqual([]);
          expect(await store.readEvents(ghost, 0, 100)).toStrictEqual([]);
          expect(await store.lastSeq(ghost)).toBe(0);
          expect(await store.latestCheckpoint(ghost)).toBeUndefined();
        }
        // Nothing was left half-open: the good part alone goes through.
        await store.commit(good());
        expect(await store.lastSeq(run.id)).toBe(4);
        expect(await store.readBlob(run.id, apart.blob.ref)).toStrictEqual(JSON.parse(apart.blob.json));
      });

      it('writes nothing of a batch holding an event whose seq is already stored', async () => {
        const run = makeRun();
        await store.createRun(run, [makeNode('a')]);
        const running: RunRecord = { ...run, status: 'RUNNING', lastSeq: 3 };
        const events = makeEvents(run.id, 1, 3);
        await store.commit({ events, runs: [running], nodes: [], checkpoints: [makeCheckpoint(run.id, 1)] });

        const bad: CommitBatch = {
          events: [makeEvent(run.id, 4), makeEvent(run.id, 5), makeEvent(run.id, 3, 'RunCompleted'), makeEvent(run.id, 6)],
          runs: [{ ...run, status: 'COMPLETED', lastSeq: 6 }],
          nodes: [makeNodeRow(run.id, 'a', { status: 'SUCCEEDED' }), makeNodeRow(run.id, 'new')],
          checkpoints: [makeCheckpoint(run.id, 2)],
        };
        await expect(store.commit(bad)).rejects.toThrow();
        expect(await store.getRun(run.id)).toStrictEqual(running);
        expect(await store.getNodes(run.id)).toStrictEqual([makeNode('a')]);
        expect(await store.readEvents(run.id, 0, 100)).toStrictEqual(events);
        expect(await store.lastSeq(run.id)).toBe(3);
        expect((await store.latestCheckpoint(run.id))?.step).toBe(1);

        // The failed batch left no transaction open: the corrected batch goes through.
        await store.commit(batch({ events: makeEvents(run.id, 4, 6) }));
        expect(await store.lastSeq(run.id)).toBe(6);
      });

      it('rejects a batch that repeats a seq within itself and writes none of it', async () => {
        const run = await created();
        const events = [makeEvent(run.id, 1), makeEvent(run.id, 2), makeEvent(run.id, 2, 'Progress')];
        await expect(store.commit(batch({ events, runs: [{ ...run, status: 'RUNNING', lastSeq: 2 }] }))).rejects.toThrow();
        expect(await store.readEvents(run.id, 0, 10)).toStrictEqual([]);
        expect(await store.getRun(run.id)).toStrictEqual(run);
      });

      it('stores every event type unchanged', async () => {
        const { id } = await created();
        const events = EVENT_TYPES.map((type, i) => makeEvent(id, i + 1, type));
        await store.commit(batch({ events }));
        expect(await store.readEvents(id, 0, 100)).toStrictEqual(events);
      });

      it("keeps each event's own graphId, also when it is not the run's or the run's changes", async () => {
        const run = await created({ graphId: 'graph-a' });
        // In the order the engine gives keys (which a store may use: SQLite packs such events).
        const makeEvent = (...args: Parameters<typeof makeFixtureEvent>): RunEvent => inEngineOrder(makeFixtureEvent(...args));
        const events = [makeEvent(run.id, 1, 'RunStarted', 'graph-a'), makeEvent(run.id, 2, 'Progress', 'graph-b'), makeEvent(run.id, 3, 'NodeStarted', 'graph-a')];
        await store.commit(batch({ events }));
        expect(await store.readEvents(run.id, 0, 100)).toStrictEqual(events);

        // The run moves to graph-b in the same batch as an event of each graph.
        const moved: RunRecord = { ...run, graphId: 'graph-b', lastSeq: 5 };
        const more = [makeEvent(run.id, 4, 'NodeCompleted', 'graph-a'), makeEvent(run.id, 5, 'Transition', 'graph-b')];
        await store.commit(batch({ events: more, runs: [moved] }));
        expect(await store.getRun(run.id)).toStrictEqual(moved);
        expect(await store.readEvents(run.id, 0, 100)).toStrictEqual([...events, ...more]);

        // A move that fails with its batch (here: a node row of an unknown run) changes nothing,
        // not even for the next batch.
        const failed = batch({
          events: [makeEvent(run.id, 6, 'Progress', 'graph-c')],
          runs: [{ ...moved, graphId: 'graph-c', lastSeq: 6 }],
          nodes: [makeNodeRow(newId('ghost'), 'x')],
        });
        await expect(store.commit(failed)).rejects.toThrow();
        const last = makeEvent(run.id, 6, 'Progress', 'graph-c');
        await store.commit(batch({ events: [last] }));
        expect(await store.getRun(run.id)).toStrictEqual(moved);
        expect(await store.readEvents(run.id, 0, 100)).toStrictEqual([...events, ...more, last]);
      });

      it('stores a large state update once, apart from the events that refer to it, and reads it back by run and ref', async () => {
        const run = await created();
        const other = await created();
        const update = { text: 'ü ☕ \u0000 \ud800 "quoted"', list: [1, 2.5, null, { deep: [true, 'x'.repeat(5000)] }] };
        const first = makeStoredApart(run.id, 2, update);
        const again = makeStoredApart(run.id, 3, update);
        expect(again.blob).toStrictEqual(first.blob);
        expect(first.event).not.toHaveProperty('stateUpdate');
        expect(first.event.stateUpdateRef).toBe(first.blob.ref);
        // The same payload twice in a batch, and again in a later one: stored once, the first kept.
        await store.commit(batch({ events: [makeEvent(run.id, 1), first.event], blobs: [first.blob, first.blob] }));
        await store.commit(batch({ events: [again.event], blobs: [{ ...again.blob, json: '{"replaced":true}' }] }));
        expect(await store.readEvents(run.id, 0, 10)).toStrictEqual([makeEvent(run.id, 1), first.event, again.event]);
        expect(await store.readBlob(run.id, first.blob.ref)).toStrictEqual(update);
        // A blob belongs to its run.
        expect(await store.readBlob(other.id, first.blob.ref)).toBeUndefined();
        expect(await store.readBlob(run.id, 'sha256:0000')).toBeUndefined();
        expect(await store.readBlob(newId('nope'), first.blob.ref)).toBeUndefined();
      });

      it('commits an empty batch as a no-op', async () => {
        await expect(store.commit(batch({}))).resolves.toBeUndefined();
      });
    });

    describe('event log', () => {
      it('reads 2,500 events in pages of exactly after+1..after+limit, without gaps', async () => {
        const { id: runId } = await created();
        const all = makeEvents(runId, 1, 2500);
        for (let i = 0; i < all.length; i += 100) await store.commit(batch({ events: all.slice(i, i + 100) }));
        expect(await store.lastSeq(runId)).toBe(2500);

        const read: RunEvent[] = [];
        let pages = 0;
        for (let after = 0; ; pages++) {
          if (pages > 8) throw new Error('readEvents keeps returning events past the end');
          const page = await store.readEvents(runId, after, 333);
          expect(page.map((e) => e.seq)).toStrictEqual(range(after + 1, Math.min(after + 333, 2500)));
          if (page.length === 0) break;
          read.push(...page);
          after = page.at(-1)?.seq ?? after;
        }
        expect(pages).toBe(8);
        expect(read).toStrictEqual(all);
        expect((await store.readEvents(runId, 1000, 5)).map((e) => e.seq)).toStrictEqual([1001, 1002, 1003, 1004, 1005]);
        expect(await store.readEvents(runId, 0, 0)).toStrictEqual([]);
      });

      it('keeps the events of two runs interleaved in one batch apart', async () => {
        const [{ id: a }, { id: b }] = [await created(), await created()];
        const ofA = makeEvents(a, 1, 3);
        const ofB = makeEvents(b, 1, 5);
        const interleaved = [ofB[0], ofA[0], ofA[1], ofB[1], ofB[2], ofA[2], ofB[3], ofB[4]].filter((e) => e !== undefined);
        await store.commit(batch({ events: interleaved }));
        expect(await store.readEvents(a, 0, 100)).toStrictEqual(ofA);
        expect(await store.readEvents(b, 0, 100)).toStrictEqual(ofB);
        expect(await store.lastSeq(a)).toBe(3);
        expect(await store.lastSeq(b)).toBe(5);
      });

      it('returns the checkpoint with the highest step, the same step replacing the old one', async () => {
        const { id: runId } = await created();
        const { id: other } = await created();
        for (const step of [2, 5, 3]) await store.commit(batch({ checkpoints: [makeCheckpoint(runId, step)] }));
        await store.commit(batch({ checkpoints: [makeCheckpoint(other, 9)] }));
        expect(await store.latestCheckpoint(runId)).toStrictEqual(makeCheckpoint(runId, 5));
        const replaced = makeCheckpoint(runId, 5, { state: { replaced: true }, next: [], joins: {} });
        await store.commit(batch({ checkpoints: [replaced] }));
        expect(await store.latestCheckpoint(runId)).toStrictEqual(replaced);
      });
    });

    describe('retention', () => {
      // Each test keeps its runs' finishedAt in a window of its own, long before the fixtures' 2025
      // and before what earlier tests leave behind, since a sweep deletes whatever is old enough.

      /** A run in `status` finished at `finishedAt`, with a node row, 3 events (the last with its update stored apart) and a checkpoint. */
      async function seeded(status: RunStatus, finishedAt: string | null): Promise<RunRecord> {
        const run = await created({ status, finishedAt, lastSeq: 3 });
        const apart = makeStoredApart(run.id, 3);
        await store.commit({ events: [...makeEvents(run.id, 1, 2), apart.event], runs: [], nodes: [makeNodeRow(run.id, 'a', { status: 'SUCCEEDED', iteration: 1, attempts: 1 })], checkpoints: [makeCheckpoint(run.id, 1)], blobs: [apart.blob] });
        return run;
      }
      async function expectWhole(run: RunRecord): Promise<void> {
        const apart = makeStoredApart(run.id, 3);
        expect(await store.getRun(run.id)).toStrictEqual(run);
        expect(await store.readEvents(run.id, 0, 10)).toStrictEqual([...makeEvents(run.id, 1, 2), apart.event]);
        expect(await store.readBlob(run.id, apart.blob.ref)).toStrictEqual(JSON.parse(apart.blob.json));
        expect((await store.getNodes(run.id)).map((n) => n.nodeId)).toStrictEqual(['a']);
        expect(await store.latestCheckpoint(run.id)).toStrictEqual(makeCheckpoint(run.id, 1));
      }
      async function expectGone(id: string): Promise<void> {
        expect(await store.getRun(id)).toBeUndefined();
        expect(await store.getNodes(id)).toStrictEqual([]);
        expect(await store.readEvents(id, 0, 10)).toStrictEqual([]);
        expect(await store.lastSeq(id)).toBe(0);
        expect(await store.latestCheckpoint(id)).toBeUndefined();
        expect(await store.readBlob(id, makeStoredApart(id, 3).blob.ref)).toBeUndefined();
      }

      it('deletes finished runs that finished before the cutoff, with their nodes, events, blobs and checkpoints, and nothing else', async () => {
        const cutoff = '1970-01-01T00:00:10.000Z';
        const kept = [
          await seeded('COMPLETED', cutoff), // finished at the cutoff, not before it
          await seeded('FAILED', '1970-01-02T00:00:00.000Z'),
          // Unfinished runs stay whatever their finishedAt says.
          await seeded('RUNNING', '1970-01-01T00:00:01.000Z'),
          await seeded('PAUSED', '1970-01-01T00:00:01.000Z'),
          await seeded('QUEUED', null),
        ];
        // Created last, so that the newest run is among the deleted (SQLite may give its key to the next run).
        const old = [await seeded('CANCELLED', '1970-01-01T00:00:03.000Z'), await seeded('FAILED', '1970-01-01T00:00:02.000Z'), await seeded('COMPLETED', '1970-01-01T00:00:09.999Z')];

        expect(await store.deleteFinishedBefore(cutoff, 100)).toBe(3);
        for (const run of old) await expectGone(run.id);
        for (const run of kept) await expectWhole(run);
        const listed = new Set((await store.listRuns({}, { first: 1000 })).items.map((r) => r.id));
        expect(old.some((run) => listed.has(run.id))).toBe(false);
        expect(await store.deleteFinishedBefore(cutoff, 100)).toBe(0);

        // A run created after the deletion starts with nothing of the deleted ones.
        const next = await created();
        await store.commit(batch({ events: makeEvents(next.id, 1, 2), nodes: [makeNodeRow(next.id, 'b')] }));
        expect(await store.readEvents(next.id, 0, 10)).toStrictEqual(makeEvents(next.id, 1, 2));
        expect((await store.getNodes(next.id)).map((n) => n.nodeId)).toStrictEqual(['b']);
        expect(await store.latestCheckpoint(next.id)).toBeUndefined();
        for (const run of old) await expectGone(run.id);
      });

      it('deletes the longest finished first, at most limit runs per call', async () => {
        const at = (second: number): string => `1960-01-01T00:00:0${second}.000Z`;
        const runs = [await seeded('COMPLETED', at(4)), await seeded('FAILED', at(1)), await seeded('COMPLETED', at(5)), await seeded('CANCELLED', at(2)), await seeded('COMPLETED', at(3))];
        const byAge = [...runs].sort((a, b) => (a.finishedAt! < b.finishedAt! ? -1 : 1));
        const cutoff = at(9);
        const left = async (): Promise<string[]> => {
          const present: string[] = [];
          for (const run of byAge) if (await store.getRun(run.id)) present.push(run.id);
          return present;
        };
        expect(await store.deleteFinishedBefore(cutoff, 2)).toBe(2);
        expect(await left()).toStrictEqual(byAge.slice(2).map((r) => r.id));
        expect(await store.deleteFinishedBefore(cutoff, 2)).toBe(2);
        expect(await left()).toStrictEqual(byAge.slice(4).map((r) => r.id));
        expect(await store.deleteFinishedBefore(cutoff, 2)).toBe(1);
        expect(await left()).toStrictEqual([]);
      });

      it('takes the cutoff in any ISO-8601 form and rejects a bad cutoff or limit with INVALID_INPUT, deleting nothing', async () => {
        const run = await seeded('COMPLETED', '1950-06-01T12:00:00.000Z');
        for (const before of ['', 'yesterday', '1950-13-45']) {
          await expectAppError(store.deleteFinishedBefore(before, 10), 'INVALID_INPUT', /before must be an ISO-8601 time/);
        }
        for (const limit of [0, -1, 1.5, 10_001, Number.NaN]) {
          await expectAppError(store.deleteFinishedBefore('1950-07-01T00:00:00.000Z', limit), 'INVALID_INPUT', /limit must be an integer from 1 to 10000/);
        }
        await expectWhole(run);
        // An offset and no milliseconds: the same instant as 1950-06-01T12:00:00.000Z, which is not before it.
        expect(await store.deleteFinishedBefore('1950-06-01T14:00:00+02:00', 10)).toBe(0);
        expect(await store.deleteFinishedBefore('1950-06-01T14:00:00.001+02:00', 10)).toBe(1);
        await expectGone(run.id);
      });
    });

    describe('listRuns', () => {
      async function seed(graphId: string, statuses: readonly RunStatus[]): Promise<RunRecord[]> {
        const runs: RunRecord[] = [];
        for (const status of statuses) runs.push(await created({ graphId, status }));
        return runs;
      }

      it('lists the runs of a graph newest first, whole', async () => {
        const graphId = newId('graph');
        const runs = await seed(graphId, ['QUEUED', 'RUNNING', 'COMPLETED', 'FAILED', 'QUEUED']);
        await seed(newId('graph'), ['QUEUED']);
        expect(await store.listRuns({ graphId }, { first: 100 })).toStrictEqual({ items: [...runs].reverse(), hasMore: false });
      });

      it('filters by a list of statuses', async () => {
        const graphId = newId('graph');
        const [q1, r, c, f, q2] = await seed(graphId, ['QUEUED', 'RUNNING', 'COMPLETED', 'FAILED', 'QUEUED']);
        const ids = async (status: RunStatus[]): Promise<string[]> => (await store.listRuns({ graphId, status }, { first: 10 })).items.map((run) => run.id);
        expect(await ids(['QUEUED', 'FAILED'])).toStrictEqual([q2?.id, f?.id, q1?.id]);
        expect(await ids(['CANCELLED'])).toStrictEqual([]);
        expect(await ids(['COMPLETED', 'RUNNING'])).toStrictEqual([c?.id, r?.id]);
        // A run that ends moves from its old status to the new one.
        await store.commit(batch({ runs: [{ ...r!, status: 'COMPLETED', finishedAt: r!.updatedAt }] }));
        expect(await ids(['RUNNING'])).toStrictEqual([]);
        expect(await ids(['COMPLETED'])).toStrictEqual([c?.id, r?.id]);
        // An empty list does not filter, like an absent one.
        expect(await ids([])).toStrictEqual([q2, f, c, r, q1].map((run) => run?.id));
      });

      it('filters by status alone, across graphs', async () => {
        const runs = [...(await seed(newId('graph'), ['PAUSED', 'RUNNING'])), ...(await seed(newId('graph'), ['PAUSED']))];
        const page = await store.listRuns({ status: ['PAUSED'] }, { first: 1000 });
        expect(page.items.every((r) => r.status === 'PAUSED')).toBe(true);
        const listed = new Set(page.items.map((r) => r.id));
        expect(runs.map((r) => listed.has(r.id))).toStrictEqual([true, false, true]);
      });

      it('pages with the after cursor without overlap or gap', async () => {
        const graphId = newId('graph');
        const expected = (await seed(graphId, ['QUEUED', 'RUNNING', 'QUEUED', 'FAILED', 'QUEUED', 'QUEUED', 'COMPLETED'])).map((r) => r.id).reverse();
        const seen: string[] = [];
        const more: boolean[] = [];
        let after: string | undefined;
        do {
          if (more.length > 3) throw new Error('listRuns keeps saying hasMore: the cursor does not advance');
          const page = await store.listRuns({ graphId }, after === undefined ? { first: 3 } : { first: 3, after });
          seen.push(...page.items.map((r) => r.id));
          more.push(page.hasMore);
          after = page.hasMore ? page.items.at(-1)?.id : undefined;
        } while (after !== undefined);
        expect(seen).toStrictEqual(expected);
        expect(more).toStrictEqual([true, true, false]);

        const queued = await store.listRuns({ graphId, status: ['QUEUED'] }, { first: 2, after: expected[1] ?? '' });
        expect(queued.items.map((run) => run.id)).toStrictEqual([expected[2], expected[4]]);
        expect(queued.hasMore).toBe(true);
      });

      it('says hasMore only when another item exists', async () => {
        const graphId = newId('graph');
        const ids = (await seed(graphId, ['QUEUED', 'QUEUED', 'QUEUED', 'QUEUED'])).map((r) => r.id).reverse();
        expect((await store.listRuns({ graphId }, { first: 4 })).hasMore).toBe(false);
        expect((await store.listRuns({ graphId }, { first: 3 })).hasMore).toBe(true);
        const last = await store.listRuns({ graphId }, { first: 2, after: ids[1] ?? '' });
        expect(last).toMatchObject({ hasMore: false, items: [{ id: ids[2] }, { id: ids[3] }] });
        expect(await store.listRuns({ graphId }, { first: 2, after: ids[3] ?? '' })).toStrictEqual({ items: [], hasMore: false });
      });

      it('rejects a page size outside 1..1000 with INVALID_INPUT', async () => {
        for (const first of [0, -1, 1001, 2.5, Number.NaN]) {
          await expectAppError(store.listRuns({}, { first }), 'INVALID_INPUT', /first/);
        }
        await expect(store.listRuns({ graphId: newId('graph') }, { first: 1000 })).resolves.toStrictEqual({ items: [], hasMore: false });
      });
    });
  });
}

function batch(parts: Partial<CommitBatch>): CommitBatch {
  return { events: [], runs: [], nodes: [], checkpoints: [], ...parts };
}

/** A node row as getNodes gives it back. */
export function snapshot(row: NodeRow): NodeSnapshot {
  const { runId: _runId, ...node } = row;
  return node;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}

function graphSpec(id: string, version: number): GraphSpec {
  return {
    id,
    name: `graph ${version}`,
    description: 'a graph with nested config',
    entry: 'a',
    state: [{ key: 'items', reducer: 'APPEND', default: [] }],
    nodes: [
      { id: 'a', kind: 'noop', config: { version, nested: { list: [1, 'two', null, { three: 3 }] } }, retry: { maxAttempts: 3 } },
      { id: 'b', kind: 'noop' },
    ],
    edges: [{ from: 'a', to: 'b', when: '$.items[0] > 1' }, { from: ['a', 'b'], to: 'END' }],
    maxSteps: 10,
  };
}

/** Awaits a promise that must reject with an AppError of `code` (and a message matching `message`). */
export async function expectAppError(promise: Promise<unknown>, code: ErrorCode, message?: RegExp): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  const appError = error as AppError;
  expect(appError.code).toBe(code);
  if (message) expect(appError.message).toMatch(message);
  return appError;
}
