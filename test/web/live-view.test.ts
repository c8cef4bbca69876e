import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureWebBuilt } from '../../client/web/build.ts';
import { startTestServer, type TestServer } from '../utils/server.ts';
import { openBrowser, requireChromium, screenshot, type Browser } from './browser.ts';

/**
 * The live view at / in a real Chromium against a real server: start runs from the page, watch
 * them, lose the connection, replay, pause and resume; and GraphiQL at /graphql. Every wait is for a
 * state of the page, never for a time. Screenshots go to test-artifacts/web/.
 */

const chromiumPath = requireChromium('the live view browser tests');
const WAIT = { timeout: 30_000 };
const POLL = { timeout: 30_000, interval: 100 };

describe.skipIf(chromiumPath === undefined)('the live view in a browser', { timeout: 120_000 }, () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    await ensureWebBuilt({ log: console.log });
    server = await startTestServer();
    browser = await openBrowser(chromiumPath!);
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  async function open(path = '/', viewport?: { width: number; height: number }): Promise<Page> {
    const page = await browser.page(viewport);
    await page.goto(`${server.url}${path}`);
    return page;
  }

  /** Fills in the start form and starts the run; resolves with its id (from the URL the page moves to). */
  async function startFromPage(page: Page, graphId: string, input?: string, pauseBefore: string[] = []): Promise<string> {
    await page.locator(`select[name="graph"] option[value="${graphId}"]`).waitFor({ state: 'attached', ...WAIT });
    await page.selectOption('select[name="graph"]', graphId);
    if (input !== undefined) await page.fill('textarea[name="input"]', input);
    if (pauseBefore.length > 0) {
      await page.click('.start-form summary');
      for (const nodeId of pauseBefore) await page.check(`input[name="pause-before"][value="${nodeId}"]`);
    }
    await page.click('.start-form button[type="submit"]');
    await page.waitForURL(/[?&]run=run_/, WAIT);
    return new URL(page.url()).searchParams.get('run')!;
  }

  /** data-status of every node element, by data-node-id. */
  function nodeStatuses(page: Page): Promise<Record<string, string>> {
    return page.locator('[data-node-id]').evaluateAll((elements) => Object.fromEntries(elements.map((e) => [e.getAttribute('data-node-id'), e.getAttribute('data-status')])));
  }

  /** The timeline's entries as node#iteration.attempt, top to bottom. */
  function timeline(page: Page): Promise<string[]> {
    return page.locator('[data-timeline-node]').evaluateAll((elements) => elements.map((e) => `${e.getAttribute('data-timeline-node')}#${e.getAttribute('data-iteration')}.${e.getAttribute('data-attempt')}`));
  }

  async function runStatus(page: Page): Promise<string | null> {
    return page.locator('.run-header[data-run-status]').getAttribute('data-run-status');
  }

  /** What the server stored: each NodeStarted as node#iteration.attempt with its seq, and the last seq. */
  async function stored(runId: string): Promise<{ starts: Array<{ entry: string; seq: number }>; lastSeq: number; nodes: Array<{ nodeId: string; output: unknown }>; state: Record<string, unknown> }> {
    const result = await server.gql<{ run: { lastSeq: number; state: Record<string, unknown>; nodes: Array<{ nodeId: string; output: unknown }>; events: { nodes: Array<{ seq: number; type: string; nodeId?: string; iteration?: number; attempt?: number }> } } }>(
      'query ($id: ID!) { run(id: $id) { lastSeq state nodes { nodeId output } events(first: 500) { nodes { seq type ... on NodeStarted { nodeId iteration attempt } } } } }',
      { id: runId },
    );
    if (!result.data?.run) throw new Error(`run ${runId}: ${JSON.stringify(result)}`);
    const run = result.data.run;
    const starts = run.events.nodes.filter((e) => e.type === 'NodeStarted').map((e) => ({ entry: `${e.nodeId}#${e.iteration}.${e.attempt}`, seq: e.seq }));
    return { starts, lastSeq: run.lastSeq, nodes: run.nodes, state: run.state };
  }

  async function createGraph(input: Record<string, unknown>): Promise<string> {
    const result = await server.gql<{ createGraph: { __typename: string; id?: string; message?: string } }>('mutation ($input: GraphInput!) { createGraph(input: $input) { __typename ... on Graph { id } ... on Error { message } } }', { input });
    if (result.data?.createGraph.__typename !== 'Graph') throw new Error(`createGraph failed: ${JSON.stringify(result)}`);
    return result.data.createGraph.id!;
  }

  /** a → b → c → d, b slow enough (1.5 s) to act while it runs. */
  function createSlowChain(name: string): Promise<string> {
    return createGraph({
      name,
      entry: 'a',
      nodes: [
        { id: 'a', kind: 'delay', config: { ms: 200 } },
        { id: 'b', kind: 'delay', config: { ms: 1_500 } },
        { id: 'c', kind: 'delay', config: { ms: 200 } },
        { id: 'd', kind: 'noop' },
      ],
      edges: [
        { from: 'a', to: 'b' },
        { from: 'b', to: 'c' },
        { from: 'c', to: 'd' },
        { from: 'd', to: 'END' },
      ],
    });
  }

  it('starts code-review from the page: every node succeeds, the loop shows its iterations, the timeline fills, the inspector shows a node\'s output', async () => {
    const page = await open();
    // Before any run: a preview of the selected graph, every node pending.
    await expect.poll(() => nodeStatuses(page), POLL).toEqual({ extract: 'pending', analyze: 'pending', score: 'pending', improve: 'pending' });
    await screenshot(page, 'home-preview');

    const runId = await startFromPage(page, 'code-review');
    await expect.poll(() => nodeStatuses(page), POLL).toEqual({ extract: 'succeeded', analyze: 'succeeded', score: 'succeeded', improve: 'succeeded' });
    await expect.poll(() => runStatus(page), POLL).toBe('completed');

    const { starts, lastSeq, nodes } = await stored(runId);
    // The sample input makes the review loop: 1 extract, 3 analyze and score, 2 improve.
    expect(starts.map((s) => s.entry)).toEqual(['extract#1.1', 'analyze#1.1', 'score#1.1', 'improve#1.1', 'analyze#2.1', 'score#2.1', 'improve#2.1', 'analyze#3.1', 'score#3.1']);
    await expect.poll(() => timeline(page), POLL).toEqual(starts.map((s) => s.entry));
    expect(await page.locator('[data-replay-total]').getAttribute('data-replay-total')).toBe(String(lastSeq));
    expect(await page.locator('[data-node-id="score"]').getAttribute('data-iteration')).toBe('3');
    expect(await page.locator('[data-node-id="score"] [data-badge="iteration"]').innerText()).toContain('3');
    expect(await page.locator('[data-node-id="extract"] [data-badge="iteration"]').count()).toBe(0);
    // The path taken: all six edges (START → extract … score → END), and nothing flows any more.
    await expect.poll(() => page.locator('.react-flow__edge.taken').count(), POLL).toBe(6);
    expect(await page.locator('.react-flow__edge.flowing').count()).toBe(0);
    expect(await page.locator('[role="progressbar"]').getAttribute('aria-valuenow')).toBe('100');
    await expect.poll(() => page.locator(`[data-run-id="${runId}"].run-item`).getAttribute('data-run-status'), POLL).toBe('completed');

    await page.click('[data-node-id="score"]');
    const output = page.locator('[data-inspector-node="score"] [data-inspector-section="output"]');
    await output.waitFor(WAIT);
    const scored = nodes.find((n) => n.nodeId === 'score')!.output as { quality_score: number; decision: string };
    expect(scored.decision).toBe('accept');
    const text = await output.innerText();
    expect(text).toContain(`quality_score: ${scored.quality_score}`);
    expect(text).toContain('decision: "accept"');
    // An earlier iteration of the same node, picked from the timeline.
    await page.click('[data-timeline-node="score"][data-iteration="1"]');
    await expect.poll(() => output.innerText(), POLL).toContain('decision: "improve"');
    await page.click('[data-node-id="score"]');
    await screenshot(page, 'code-review-completed');
  });

  it('loses its WebSocket mid-run, reconnects, and catches up with no timeline entry missing', async () => {
    const graphId = await createSlowChain('slow chain');
    const page = await open();
    const runId = await startFromPage(page, graphId, '{}');
    await page.locator('[data-node-id="b"][data-status="running"]').waitFor(WAIT);
    await page.locator('[data-timeline-node="b"][data-running="true"]').waitFor(WAIT);
    await expect.poll(() => page.locator('[data-connection]').getAttribute('data-connection'), POLL).toBe('live');
    await screenshot(page, 'slow-chain-running');
    const reconnects = Number(await page.locator('[data-connection]').getAttribute('data-reconnects'));

    // While b runs, c and d are still to come: their events can only arrive after the view reconnects.
    expect(server.cutStreams()).toBeGreaterThan(0);

    await expect.poll(() => runStatus(page), POLL).toBe('completed');
    await expect.poll(() => nodeStatuses(page), POLL).toEqual({ a: 'succeeded', b: 'succeeded', c: 'succeeded', d: 'succeeded' });
    const { starts, lastSeq } = await stored(runId);
    expect(starts.map((s) => s.entry)).toEqual(['a#1.1', 'b#1.1', 'c#1.1', 'd#1.1']);
    expect(await timeline(page)).toEqual(starts.map((s) => s.entry));
    expect(await page.locator('[data-timeline-node][data-status="succeeded"]').count()).toBe(4);
    expect(await page.locator('[data-replay-total]').getAttribute('data-replay-total')).toBe(String(lastSeq));
    await expect.poll(async () => Number(await page.locator('[data-connection]').getAttribute('data-reconnects')), POLL).toBeGreaterThan(reconnects);
    await expect.poll(() => page.locator('[data-connection]').getAttribute('data-connection'), POLL).toBe('live');
    await screenshot(page, 'slow-chain-after-reconnect');
  });

  it('opens a finished run from a deep link and replays it event by event with the scrubber; the picker filters by graph and status', async () => {
    const finished = await server.gql<{ runGraph: { id: string; lastSeq: number } }>('mutation { runGraph(graphId: "code-review", input: {code: "function f(a) { if (a && a > 1) return 1; }", threshold: 99}) { ... on Run { id lastSeq } } }');
    const { id: runId } = finished.data!.runGraph;
    const { starts, lastSeq } = await stored(runId);

    const page = await open(`/?run=${runId}`);
    await expect.poll(() => runStatus(page), POLL).toBe('completed');
    await expect.poll(() => timeline(page), POLL).toEqual(starts.map((s) => s.entry));
    expect(Object.values(await nodeStatuses(page)).every((status) => status === 'succeeded')).toBe(true);

    await page.click('button[aria-label="Replay from the start"]');
    await expect.poll(() => nodeStatuses(page), POLL).toEqual({ extract: 'pending', analyze: 'pending', score: 'pending', improve: 'pending' });
    expect(await timeline(page)).toEqual([]);
    expect(await page.locator('[data-replay-position]').getAttribute('data-replay-position')).toBe('0');

    // Step forward one event at a time until extract runs: one running bar, nothing else yet.
    for (let step = 1; step <= starts[0]!.seq; step++) await page.click('button[aria-label="One event forward"]');
    await expect.poll(() => page.locator('[data-replay-position]').getAttribute('data-replay-position'), POLL).toBe(String(starts[0]!.seq));
    expect((await nodeStatuses(page))['extract']).toBe('running');
    expect(await timeline(page)).toEqual(['extract#1.1']);

    // Drag to the middle: the timeline holds exactly the node runs that had started by then.
    const middle = Math.floor(lastSeq / 2);
    await page.locator('input[aria-label="Events shown"]').fill(String(middle));
    await expect.poll(() => page.locator('[data-replay-position]').getAttribute('data-replay-position'), POLL).toBe(String(middle));
    expect(await timeline(page)).toEqual(starts.filter((s) => s.seq <= middle).map((s) => s.entry));
    await screenshot(page, 'replay-midway');

    await page.click('.live-button');
    await expect.poll(() => timeline(page), POLL).toEqual(starts.map((s) => s.entry));
    expect(Object.values(await nodeStatuses(page)).every((status) => status === 'succeeded')).toBe(true);

    const item = page.locator(`.run-item[data-run-id="${runId}"]`);
    await item.waitFor(WAIT);
    await page.selectOption('select[name="status-filter"]', 'FAILED');
    await expect.poll(() => item.count(), POLL).toBe(0);
    await page.selectOption('select[name="status-filter"]', 'COMPLETED');
    await page.selectOption('select[name="graph-filter"]', 'fan-out');
    await expect.poll(() => item.count(), POLL).toBe(0);
    await page.selectOption('select[name="graph-filter"]', 'code-review');
    await expect.poll(() => item.count(), POLL).toBe(1);
  });

  it('pauses before a node, and resumes from the page with a state edit', async () => {
    const graphId = await createGraph({
      name: 'greeter',
      entry: 'prepare',
      nodes: [
        { id: 'prepare', kind: 'noop' },
        { id: 'greet', kind: 'transform', config: { expression: '{ "greeting": "hello " & name }' } },
      ],
      edges: [
        { from: 'prepare', to: 'greet' },
        { from: 'greet', to: 'END' },
      ],
    });
    const page = await open();
    const runId = await startFromPage(page, graphId, '{"name": "nobody"}', ['greet']);
    await expect.poll(() => runStatus(page), POLL).toBe('paused');
    await page.locator('.fc-node.paused-here[data-node-id="greet"][data-status="pending"]').waitFor(WAIT);
    const panel = page.locator('form.resume-panel[data-pause-cause="before"]');
    await panel.waitFor(WAIT);

    await page.fill('textarea[name="state-edit"]', '{"name": ');
    await page.locator('[data-error="state-edit"]').waitFor(WAIT);
    expect(await panel.locator('button[type="submit"]').isDisabled()).toBe(true);
    await page.fill('textarea[name="state-edit"]', '{"name": "Ada"}');
    expect(await page.locator('[data-error="state-edit"]').count()).toBe(0);
    await screenshot(page, 'paused-before-greet');
    await panel.locator('button[type="submit"]').click();

    await expect.poll(() => runStatus(page), POLL).toBe('completed');
    await expect.poll(() => nodeStatuses(page), POLL).toEqual({ prepare: 'succeeded', greet: 'succeeded' });
    expect((await stored(runId)).state).toMatchObject({ name: 'Ada', greeting: 'hello Ada' });
    await page.click('[data-node-id="greet"]');
    await expect.poll(() => page.locator('[data-inspector-node="greet"] [data-inspector-section="output"]').innerText(), POLL).toContain('greeting: "hello Ada"');
    await expect.poll(() => page.locator('[data-inspector-section="state"]').innerText(), POLL).toContain('greeting: "hello Ada"');
  });

  it('checks the input as it is typed, and shows a failed run in red with its error', async () => {
    const page = await open();
    await page.locator('select[name="graph"] option[value="code-review"]').waitFor({ state: 'attached', ...WAIT });
    await page.selectOption('select[name="graph"]', 'code-review');
    const submit = page.locator('.start-form button[type="submit"]');
    const error = page.locator('[data-error="input"]');

    await page.fill('textarea[name="input"]', '{"code": ');
    await expect.poll(() => error.innerText(), POLL).toMatch(/^invalid JSON/);
    expect(await submit.isDisabled()).toBe(true);
    expect(await page.locator('textarea[name="input"]').getAttribute('aria-invalid')).toBe('true');
    await page.fill('textarea[name="input"]', '[1, 2]');
    await expect.poll(() => error.innerText(), POLL).toBe('must be a JSON object ({…}), not an array');
    await page.fill('textarea[name="input"]', '{"code": ""}');
    expect(await error.isVisible()).toBe(false);
    expect(await submit.isDisabled()).toBe(false);

    await submit.click();
    await page.waitForURL(/[?&]run=run_/, WAIT);
    await expect.poll(() => runStatus(page), POLL).toBe('failed');
    expect((await nodeStatuses(page))['extract']).toBe('failed');
    await page.click('[data-node-id="extract"]');
    await expect.poll(() => page.locator('[data-inspector-node="extract"] .error-box').innerText(), POLL).toContain('input.code must be a non-empty string');
    await screenshot(page, 'failed-run');

    // Played from the start, the replay runs to the last event and ends where the run ended.
    const total = await page.locator('[data-replay-total]').getAttribute('data-replay-total');
    await page.click('button[aria-label="Replay from the start"]');
    await expect.poll(() => nodeStatuses(page), POLL).toMatchObject({ extract: 'pending' });
    await page.click('button[aria-label="Play replay"]');
    await expect.poll(() => page.locator('[data-replay-position]').getAttribute('data-replay-position'), POLL).toBe(total);
    expect((await nodeStatuses(page))['extract']).toBe('failed');
    await page.locator('button[aria-label="Play replay"]').waitFor(WAIT);
  });

  it('cancels a running run from the page', async () => {
    const graphId = await createSlowChain('cancelled chain');
    const page = await open();
    await startFromPage(page, graphId, '{}');
    await page.locator('[data-node-id="b"][data-status="running"]').waitFor(WAIT);
    await page.click('button:has-text("Cancel run")');
    await expect.poll(() => runStatus(page), POLL).toBe('cancelled');
    // As the server's run picture has it, a node running when its run is cancelled has failed; its timeline entry says why.
    expect(await nodeStatuses(page)).toEqual({ a: 'succeeded', b: 'failed', c: 'pending', d: 'pending' });
    expect(await page.locator('[data-timeline-node="b"]').getAttribute('data-status')).toBe('cancelled');
    expect(await page.locator('button:has-text("Cancel run")').count()).toBe(0);
  });

  it('follows runs over SSE when the browser has no WebSocket', async () => {
    const page = await browser.page();
    await page.addInitScript('delete window.WebSocket');
    await page.goto(`${server.url}/`);
    const runId = await startFromPage(page, 'fan-out', '{"value": 4, "speed": 5}');
    await expect.poll(() => runStatus(page), POLL).toBe('completed');
    await expect.poll(() => timeline(page), POLL).toEqual((await stored(runId)).starts.map((s) => s.entry));
    await expect.poll(() => page.locator('[data-connection]').getAttribute('data-transport'), POLL).toBe('sse');
    await expect.poll(() => page.locator('[data-connection]').getAttribute('data-connection'), POLL).toBe('live');
  });

  it('is readable on a narrow screen: one column, nothing wider than the screen', async () => {
    const finished = await server.gql<{ runGraph: { id: string } }>('mutation { runGraph(graphId: "content-pipeline", input: {topic: "narrow screens", speed: 0}) { ... on Run { id } } }');
    const page = await open(`/?run=${finished.data!.runGraph.id}`, { width: 390, height: 844 });
    await expect.poll(() => runStatus(page), POLL).toBe('completed');
    await expect.poll(async () => Object.values(await nodeStatuses(page)).filter((s) => s === 'succeeded').length, POLL).toBe(6);
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    const canvas = await page.locator('.canvas').boundingBox();
    expect(canvas!.width).toBeGreaterThan(300);
    await screenshot(page, 'narrow-run', { fullPage: true });
  });

  it('runs a subscription typed into GraphiQL at /graphql and shows its results as they stream', async () => {
    const graphId = await createSlowChain('graphiql chain');
    const page = await open('/graphql');
    const editor = page.locator('.graphiql-query-editor .monaco-editor').first();
    await editor.waitFor(WAIT);
    await editor.click();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText(`subscription { runExecution(graphId: "${graphId}", input: {}) { seq type } }`);
    await page.click('.graphiql-execute-button');

    // Each result replaces the one before: read the pane until the terminal event is there.
    const response = page.locator('.graphiql-response');
    const seen = new Set<number>();
    await expect
      .poll(async () => {
        const text = await response.innerText();
        const seq = /"seq":\s*(\d+)/.exec(text);
        if (seq) seen.add(Number(seq[1]));
        return text;
      }, POLL)
      .toContain('"RunCompleted"');
    const runs = await server.gql<{ runs: { nodes: Array<{ id: string; status: string; lastSeq: number }> } }>('query ($g: String) { runs(filter: {graphId: $g}) { nodes { id status lastSeq } } }', { g: graphId });
    const [run] = runs.data!.runs.nodes;
    expect(run).toMatchObject({ status: 'COMPLETED' });
    expect(await response.innerText()).toMatch(new RegExp(`"seq":\\s*${run!.lastSeq}\\b`));
    // Seen while streaming: results before the last one.
    expect([...seen].filter((seq) => seq < run!.lastSeq).length).toBeGreaterThan(0);
    await screenshot(page, 'graphiql-subscription');
  });
});
