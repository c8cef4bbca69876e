import pc from 'picocolors';
import { describe, expect, it } from 'vitest';
import type { EventBody, RunEvent } from '../../src/events/types.ts';
import { follow } from '../../src/cli/follow.ts';
import { formatDuration, renderFrame, RunPicture } from '../../src/cli/frame.ts';
import { formatRuns, parseLimit, parseStatuses, type RunRow } from '../../src/cli/runs.ts';

/** The live view's frame, the runs table and where following a run stops, in process: exact results for given events and times. */

const plain = pc.createColors(false);
const T0 = Date.parse('2026-03-01T10:00:00.000Z');
const at = (ms: number): string => new Date(T0 + ms).toISOString();

/** Events of run r1 of graph g, numbered from 1, each `ms` after T0. */
function events(...bodies: Array<[number, EventBody]>): RunEvent[] {
  return bodies.map(([ms, body], i) => ({ priority: 'NORMAL', ...body, seq: i + 1, runId: 'r1', graphId: 'g', at: at(ms) }) as RunEvent);
}

function picture(list: RunEvent[], nodes = ['a', 'b', 'c']): RunPicture {
  const p = new RunPicture('r1', 'g', nodes);
  for (const event of list) p.apply(event);
  return p;
}

describe('renderFrame', () => {
  it('shows pending nodes, a running one with its time so far and what it reported, and the progress so far', () => {
    const frame = renderFrame(
      picture(events(
        [0, { type: 'RunStarted', input: {}, maxSteps: 10 }],
        [1, { type: 'NodeStarted', nodeId: 'b', step: 1, iteration: 1, attempt: 1, input: {} }],
        [43, { type: 'NodeCompleted', nodeId: 'b', step: 1, iteration: 1, attempt: 1, stateUpdate: {}, bytes: 2, durationMs: 42 }],
        [44, { type: 'Progress', percent: 50, message: 'step 1 done', nodeId: null }],
        [45, { type: 'NodeStarted', nodeId: 'c', step: 2, iteration: 1, attempt: 1, input: {} }],
        [46, { type: 'Progress', percent: 30, message: 'reading', nodeId: 'c' }],
      )),
      { now: T0 + 1_545, colors: plain },
    );
    expect(frame.split('\n')).toEqual([
      'g  r1  RUNNING 1.5 s',
      '  ✔ b     succeeded   iter 1       42 ms',
      `  ${'⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏'[Math.floor((T0 + 1_545) / 80) % 10]} c     running     iter 1       1.5 s 30% reading`,
      '  · a     pending',
      '  ███████████████░░░░░░░░░░░░░░░  50%  1/3 nodes, step 2',
    ]);
  });

  it('ends with every node\'s final status, retries and errors, and the run\'s error', () => {
    const frame = renderFrame(
      picture(events(
        [0, { type: 'RunStarted', input: {}, maxSteps: 10 }],
        [1, { type: 'NodeStarted', nodeId: 'a', step: 1, iteration: 1, attempt: 1, input: {} }],
        [2, { type: 'NodeFailed', nodeId: 'a', step: 1, iteration: 1, attempt: 1, error: { code: 'NODE_FAILED', message: 'flaky' }, willRetry: true, retryInMs: 5, durationMs: 1 }],
        [8, { type: 'NodeStarted', nodeId: 'a', step: 1, iteration: 1, attempt: 2, input: {} }],
        [9, { type: 'NodeCompleted', nodeId: 'a', step: 1, iteration: 1, attempt: 2, stateUpdate: {}, bytes: 2, durationMs: 0.5 }],
        [10, { type: 'NodeSkipped', nodeId: 'b', step: 1, reason: 'branch not taken' }],
        [11, { type: 'NodeStarted', nodeId: 'c', step: 2, iteration: 1, attempt: 1, input: {} }],
        [1_300, { type: 'NodeFailed', nodeId: 'c', step: 2, iteration: 1, attempt: 1, error: { code: 'NODE_TIMEOUT', message: 'c timed out' }, willRetry: false, retryInMs: null, durationMs: 1_289 }],
        [1_301, { type: 'RunFailed', error: { code: 'NODE_TIMEOUT', message: 'c timed out' }, nodeId: 'c', durationMs: 1_301 }],
      )),
      { now: T0 + 60_000, colors: plain },
    );
    expect(frame.split('\n')).toEqual([
      'g  r1  FAILED in 1.3 s',
      '  ✔ a     succeeded   iter 1      0.5 ms attempt 2',
      '  ✖ c     failed      iter 1       1.3 s NODE_TIMEOUT: c timed out',
      '  ↷ b     skipped',
      '  ░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░   0%  3/3 nodes, step 2',
      '  NODE_TIMEOUT: c timed out',
    ]);
  });

  it('shows a completed run with a full bar, and a paused one with what its nodes ask', () => {
    const completed = renderFrame(
      picture(events(
        [0, { type: 'RunStarted', input: {}, maxSteps: 10 }],
        [1, { type: 'NodeStarted', nodeId: 'a', step: 1, iteration: 1, attempt: 1, input: {} }],
        [2, { type: 'NodeCompleted', nodeId: 'a', step: 1, iteration: 1, attempt: 1, stateUpdate: {}, bytes: 2, durationMs: 1 }],
        [3, { type: 'RunCompleted', finalState: {}, durationMs: 3 }],
      ), ['a']),
      { now: T0 + 10, colors: plain },
    );
    expect(completed.split('\n')).toEqual(['g  r1  COMPLETED in 3.0 ms', '  ✔ a     succeeded   iter 1      1.0 ms', `  ${'█'.repeat(30)} 100%  1/1 nodes, step 1`]);

    const paused = renderFrame(
      picture(events(
        [0, { type: 'RunStarted', input: {}, maxSteps: 10 }],
        [1, { type: 'NodeStarted', nodeId: 'a', step: 1, iteration: 1, attempt: 1, input: {} }],
        [2, { type: 'RunPaused', nodeId: 'a', reason: 'node "a" asked for input (interrupt)', cause: 'INTERRUPT', interrupts: [{ nodeId: 'a', payload: { q: 'ok?' } }] }],
      ), ['a']),
      { now: T0 + 10, colors: plain },
    );
    expect(paused.split('\n')).toEqual(['g  r1  PAUSED 10 ms', '  ⏸ a     interrupted iter 1', '  ░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░   0%  0/1 nodes, step 1', '  paused: node "a" asked for input (interrupt); a asks {"q":"ok?"}']);
  });

  it('sums up the nodes that do not fit the terminal, keeping the running ones', () => {
    const ids = Array.from({ length: 20 }, (_, i) => `n${String(i).padStart(2, '0')}`);
    const list = events(
      [0, { type: 'RunStarted', input: {}, maxSteps: 10 }],
      ...ids.slice(0, 12).flatMap((id): Array<[number, EventBody]> => [
        [1, { type: 'NodeStarted', nodeId: id, step: 1, iteration: 1, attempt: 1, input: {} }],
        [2, { type: 'NodeCompleted', nodeId: id, step: 1, iteration: 1, attempt: 1, stateUpdate: {}, bytes: 2, durationMs: 1 }],
      ]),
      [3, { type: 'NodeStarted', nodeId: 'n12', step: 2, iteration: 1, attempt: 1, input: {} }],
    );
    const lines = renderFrame(picture(list, ids), { now: T0 + 5, colors: plain, height: 10 }).split('\n');
    expect(lines).toHaveLength(9);
    expect(lines.at(-1)).toBe('  ░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░   0%  12/20 nodes, step 2');
    expect(lines.filter((line) => / n\d\d /.test(line))).toHaveLength(6);
    expect(lines.some((line) => /n12 +running/.test(line))).toBe(true);
    expect(lines).toContain('  … 14 more: 7 succeeded, 7 pending');
  });
});

describe('formatDuration', () => {
  it('reads like a person would say it', () => {
    expect([0.04, 9.96, 42.4, 999, 1_000, 59_940, 125_000].map(formatDuration)).toEqual(['0.0 ms', '10.0 ms', '42 ms', '999 ms', '1.0 s', '59.9 s', '2m 05s']);
  });
});

describe('the runs table', () => {
  const row = (id: string, status: RunRow['status'], started: number | null, finished: number | null, progress: number): RunRow => ({
    id, graphId: 'fan-out', status, progress, createdAt: at(0), startedAt: started === null ? null : at(started), finishedAt: finished === null ? null : at(finished),
  });

  it('lists id, graph, status, progress, local start time and duration, to now for a run still going', () => {
    const lines = formatRuns([row('run_3', 'QUEUED', null, null, 0), row('run_2', 'RUNNING', 0, null, 40), row('run_1', 'COMPLETED', 0, 1_234, 100)], T0 + 2_500).split('\n');
    expect(lines[0]).toBe('ID     GRAPH    STATUS     PROGRESS  STARTED              DURATION');
    expect(lines[1]).toBe('run_3  fan-out  QUEUED           0%  -                           -');
    // The start is in local time: only its seconds are known here.
    const started = (line: string | undefined): string | undefined => line?.replace(/\d{4}-\d\d-\d\d \d\d:\d\d:00/, 'YYYY-MM-DD hh:mm:00');
    expect(started(lines[2])).toBe('run_2  fan-out  RUNNING         40%  YYYY-MM-DD hh:mm:00    2.5 s…');
    expect(started(lines[3])).toBe('run_1  fan-out  COMPLETED      100%  YYYY-MM-DD hh:mm:00     1.2 s');
  });

  it('takes statuses in any case, comma-separated or repeated, and says which exist', () => {
    expect(parseStatuses(['failed,Cancelled', 'FAILED'])).toEqual(['FAILED', 'CANCELLED']);
    expect(() => parseStatuses(['done'])).toThrow('--status "DONE" is not a run status; use one or more of QUEUED, RUNNING, PAUSED, COMPLETED, FAILED, CANCELLED');
    expect(parseLimit(undefined)).toBe(20);
    expect(() => parseLimit('0')).toThrow('--limit must be a whole number from 1 to 1000, got "0"');
  });
});

describe('follow', () => {
  async function* from(list: RunEvent[]): AsyncGenerator<RunEvent> {
    yield* list;
  }
  const seen: number[] = [];
  const sink = { event: (event: RunEvent) => void seen.push(event.seq), end: () => void seen.push(-1) };
  const started: [number, EventBody] = [0, { type: 'RunStarted', input: {}, maxSteps: 10 }];
  const paused: [number, EventBody] = [1, { type: 'RunPaused', nodeId: 'a', reason: 'breakpoint before node "a"', cause: 'BEFORE', interrupts: [] }];
  const resumed: [number, EventBody] = [2, { type: 'RunResumed', nodeId: 'a', stateUpdate: null, resume: null }];
  const notice: [number, EventBody] = [3, { type: 'SystemNotice', message: 'the server restarted', level: 'WARN', code: 'RECOVERY', nodeId: null }];

  it('goes past a pause that was resumed, and stops at the one the run is in once it is up to now', async () => {
    seen.length = 0;
    const list = events(started, paused, resumed, paused, notice, [4, { type: 'RunCancelled', reason: 'never reached', durationMs: 4 }]);
    const followed = await follow(from(list), sink, { upToNow: (event) => event.seq >= 5, onInterrupt: () => undefined });
    expect(seen).toEqual([1, 2, 3, 4, 5, -1]);
    expect(followed).toMatchObject({ last: { seq: 5, type: 'SystemNotice' }, pause: { seq: 4 }, interrupted: false });
  });

  it('reports the pause a stored run ends in, and the terminal event of one that finished', async () => {
    seen.length = 0;
    expect(await follow(from(events(started, paused, notice)), sink, { upToNow: (event) => event.seq >= 9, onInterrupt: () => undefined })).toMatchObject({ pause: { seq: 2 }, last: { seq: 3 } });
    expect(await follow(from(events(started, paused, resumed, [3, { type: 'RunCompleted', finalState: {}, durationMs: 3 }])), sink, { upToNow: (event) => event.seq >= 4, onInterrupt: () => undefined })).toMatchObject({ pause: undefined, last: { seq: 4, type: 'RunCompleted' } });
  });
});
