import type { RunEvent, RunStatus } from '../../../sdk/index.ts';

/**
 * The picture of a run that the live view draws, folded from its events alone (seq 1, 2, …). The
 * same fold serves the live view (every event so far) and the replay (the first N events), so what
 * a replay shows at event N is what the live view showed when event N arrived.
 */

/** A node's status on the canvas (`data-status`): the schema's NodeStatus, lowercase. */
export type NodeStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'interrupted';

/** How one attempt of one node ended: one bar of the timeline. */
export type AttemptStatus = 'running' | 'succeeded' | 'failed' | 'retrying' | 'interrupted' | 'cancelled' | 'abandoned';

export interface RunError {
  code: string;
  message: string;
}

/** One attempt of one node (a NodeStarted and what ended it). */
export interface NodeAttempt {
  /** Unique within the run: the node and the seq of its NodeStarted. */
  key: string;
  nodeId: string;
  iteration: number;
  attempt: number;
  step: number;
  status: AttemptStatus;
  /** Epoch ms of NodeStarted. */
  startedAt: number;
  /** Epoch ms of the event that ended it; null while running. */
  endedAt: number | null;
  /** As the engine measured it (NodeCompleted/NodeFailed), else endedAt - startedAt. */
  durationMs: number | null;
  /** The state the node saw. */
  input: unknown;
  stateUpdate: unknown;
  error: RunError | null;
  startSeq: number;
  endSeq: number | null;
}

export interface NodePicture {
  nodeId: string;
  status: NodeStatus;
  /** Times started (0 = never); counts iterations, not retries. */
  iteration: number;
  /** Attempts within the latest iteration. */
  attempts: number;
  /** What the node last reported with ctx.progress while running. */
  progress: { percent: number; message: string | null } | null;
}

export interface EdgePicture {
  /** `${from}->${to}`, to may be END. */
  id: string;
  /** Transitions along it so far: > 0 means it is on the path taken. */
  taken: number;
  /** Control or data passed along it and its target has not finished with it yet. */
  flowing: boolean;
  bytes: number;
}

export interface Notice {
  seq: number;
  level: string;
  message: string;
  nodeId: string | null;
  code: string | null;
}

export interface PausePicture {
  /** The seq of its RunPaused. */
  seq: number;
  cause: string;
  nodeId: string | null;
  reason: string;
  interrupts: Array<{ nodeId: string; payload: unknown }>;
}

export interface RunPicture {
  status: RunStatus | null;
  /** Overall progress 0–100 (100 once completed). */
  progress: number;
  progressMessage: string | null;
  /** Epoch ms of the first event (RunQueued or RunStarted), of RunStarted, of the terminal event. */
  startedAt: number | null;
  runStartedAt: number | null;
  endedAt: number | null;
  /** As the engine measured it (the terminal event's durationMs). */
  durationMs: number | null;
  lastSeq: number;
  lastEvent: RunEvent | null;
  input: unknown;
  nodes: Map<string, NodePicture>;
  edges: Map<string, EdgePicture>;
  /** Every node attempt, in the order they started. */
  attempts: NodeAttempt[];
  pause: PausePicture | null;
  error: RunError | null;
  notices: Notice[];
  /** The state as the latest step began (the input of its NodeStarted events). */
  stepState: unknown;
  /** RunCompleted's final state. */
  finalState: unknown;
}

export function emptyPicture(): RunPicture {
  return {
    status: null,
    progress: 0,
    progressMessage: null,
    startedAt: null,
    runStartedAt: null,
    endedAt: null,
    durationMs: null,
    lastSeq: 0,
    lastEvent: null,
    input: null,
    nodes: new Map(),
    edges: new Map(),
    attempts: [],
    pause: null,
    error: null,
    notices: [],
    stepState: null,
    finalState: null,
  };
}

/** The picture after the first `count` events (all of them by default). */
export function foldEvents(events: readonly RunEvent[], count = events.length): RunPicture {
  const picture = emptyPicture();
  for (let i = 0; i < Math.min(count, events.length); i++) applyEvent(picture, events[i]!);
  return picture;
}

const time = (at: string): number => Date.parse(at);

function nodeOf(picture: RunPicture, nodeId: string): NodePicture {
  let node = picture.nodes.get(nodeId);
  if (!node) picture.nodes.set(nodeId, (node = { nodeId, status: 'pending', iteration: 0, attempts: 0, progress: null }));
  return node;
}

function edgeOf(picture: RunPicture, from: string, to: string): EdgePicture {
  const id = `${from}->${to}`;
  let edge = picture.edges.get(id);
  if (!edge) picture.edges.set(id, (edge = { id, taken: 0, flowing: false, bytes: 0 }));
  return edge;
}

/** The attempt of `nodeId` still open (started, not ended), if any. */
function openAttempt(picture: RunPicture, nodeId: string): NodeAttempt | undefined {
  for (let i = picture.attempts.length - 1; i >= 0; i--) {
    const attempt = picture.attempts[i]!;
    if (attempt.nodeId === nodeId) return attempt.endedAt === null ? attempt : undefined;
  }
  return undefined;
}

function endAttempt(attempt: NodeAttempt, status: AttemptStatus, event: RunEvent, durationMs?: number): void {
  attempt.status = status;
  attempt.endedAt = time(event.at);
  attempt.endSeq = event.seq;
  attempt.durationMs = durationMs ?? Math.max(0, attempt.endedAt - attempt.startedAt);
}

/** The target has finished with what came along its edges: they stop flowing. */
function settleInto(picture: RunPicture, nodeId: string): void {
  const suffix = `->${nodeId}`;
  for (const edge of picture.edges.values()) if (edge.flowing && edge.id.endsWith(suffix)) edge.flowing = false;
}

function finish(picture: RunPicture, status: RunStatus, event: RunEvent, attemptStatus: AttemptStatus): void {
  picture.status = status;
  picture.endedAt = time(event.at);
  picture.pause = null;
  for (const edge of picture.edges.values()) edge.flowing = false;
  // As the server's run picture has it: a node still running when the run ends has failed.
  for (const node of picture.nodes.values()) if (node.status === 'running') node.status = 'failed';
  for (const attempt of picture.attempts) if (attempt.endedAt === null) endAttempt(attempt, attemptStatus, event);
}

/** Folds one event into the picture, in place. Events must come in seq order, each once. */
export function applyEvent(picture: RunPicture, event: RunEvent): void {
  picture.lastSeq = event.seq;
  picture.lastEvent = event;
  picture.startedAt ??= time(event.at);
  switch (event.__typename) {
    case 'RunQueued':
      picture.status = 'QUEUED';
      picture.input = event.input;
      return;
    case 'RunStarted':
      picture.status = 'RUNNING';
      picture.input = event.input;
      picture.stepState ??= event.input;
      picture.runStartedAt ??= time(event.at);
      return;
    case 'NodeStarted': {
      const node = nodeOf(picture, event.nodeId);
      // A start while an attempt is open: the process that ran it stopped (recovery) and it starts again.
      const stale = openAttempt(picture, event.nodeId);
      if (stale) endAttempt(stale, 'abandoned', event);
      node.status = 'running';
      if (event.attempt === 1) node.iteration = event.iteration;
      node.attempts = event.attempt;
      node.progress = null;
      picture.stepState = event.input;
      picture.attempts.push({
        key: `${event.nodeId}#${event.seq}`,
        nodeId: event.nodeId,
        iteration: event.iteration,
        attempt: event.attempt,
        step: event.step,
        status: 'running',
        startedAt: time(event.at),
        endedAt: null,
        durationMs: null,
        input: event.input,
        stateUpdate: null,
        error: null,
        startSeq: event.seq,
        endSeq: null,
      });
      return;
    }
    case 'NodeCompleted': {
      const node = nodeOf(picture, event.nodeId);
      node.status = 'succeeded';
      node.progress = null;
      const attempt = openAttempt(picture, event.nodeId);
      if (attempt) {
        endAttempt(attempt, 'succeeded', event, event.durationMs);
        attempt.stateUpdate = event.stateUpdate;
      }
      settleInto(picture, event.nodeId);
      return;
    }
    case 'NodeFailed': {
      const node = nodeOf(picture, event.nodeId);
      node.status = event.willRetry ? 'running' : 'failed';
      const attempt = openAttempt(picture, event.nodeId);
      if (attempt) {
        // A node aborted by a cancel fails with CANCELLED: the run's fate, not the node's fault.
        endAttempt(attempt, event.willRetry ? 'retrying' : event.error.code === 'CANCELLED' ? 'cancelled' : 'failed', event, event.durationMs);
        attempt.error = event.error;
      }
      if (!event.willRetry) settleInto(picture, event.nodeId);
      return;
    }
    case 'NodeSkipped': {
      const node = nodeOf(picture, event.nodeId);
      if (node.status === 'pending') node.status = 'skipped';
      return;
    }
    case 'Transition': {
      const edge = edgeOf(picture, event.from, event.to);
      edge.taken++;
      edge.flowing = true;
      return;
    }
    case 'DataFlow': {
      const edge = edgeOf(picture, event.from, event.to);
      edge.bytes += event.bytes;
      edge.flowing = true;
      return;
    }
    case 'Progress':
      if (event.nodeId === null) {
        picture.progress = event.percent;
        picture.progressMessage = event.message;
      } else {
        nodeOf(picture, event.nodeId).progress = { percent: event.percent, message: event.message };
      }
      return;
    case 'SystemNotice':
      picture.notices.push({ seq: event.seq, level: event.level, message: event.message, nodeId: event.nodeId, code: event.code });
      return;
    case 'RunPaused':
      picture.status = 'PAUSED';
      picture.pause = { seq: event.seq, cause: event.cause, nodeId: event.nodeId, reason: event.reason, interrupts: event.interrupts };
      for (const { nodeId } of event.interrupts) {
        nodeOf(picture, nodeId).status = 'interrupted';
        const attempt = openAttempt(picture, nodeId);
        if (attempt) endAttempt(attempt, 'interrupted', event);
      }
      return;
    case 'RunResumed':
      picture.status = 'RUNNING';
      picture.pause = null;
      return;
    case 'RunCompleted':
      finish(picture, 'COMPLETED', event, 'failed');
      picture.durationMs = event.durationMs;
      picture.progress = 100;
      picture.finalState = event.finalState;
      return;
    case 'RunFailed':
      finish(picture, 'FAILED', event, 'failed');
      picture.durationMs = event.durationMs;
      picture.error = event.error;
      return;
    case 'RunCancelled':
      finish(picture, 'CANCELLED', event, 'cancelled');
      picture.durationMs = event.durationMs;
      picture.error = { code: 'CANCELLED', message: event.reason };
      return;
  }
}

/** A run that can still change: QUEUED, RUNNING or PAUSED. */
export function isActive(status: RunStatus | null | undefined): boolean {
  return status === 'QUEUED' || status === 'RUNNING' || status === 'PAUSED';
}

/** One line saying what an event is, for the replay scrubber. */
export function describeEvent(event: RunEvent): string {
  switch (event.__typename) {
    case 'NodeStarted':
      return `${event.nodeId} started (iteration ${event.iteration}${event.attempt > 1 ? `, attempt ${event.attempt}` : ''})`;
    case 'NodeCompleted':
      return `${event.nodeId} completed in ${formatMs(event.durationMs)}`;
    case 'NodeFailed':
      return `${event.nodeId} failed: ${event.error.message}${event.willRetry ? ' (will retry)' : ''}`;
    case 'NodeSkipped':
      return `${event.nodeId} skipped`;
    case 'Transition':
      return `${event.from} → ${event.to}`;
    case 'DataFlow':
      return `data ${event.from} → ${event.to} (${event.bytes} B)`;
    case 'Progress':
      return `${event.nodeId ?? 'run'} ${Math.round(event.percent)}%${event.message ? `: ${event.message}` : ''}`;
    case 'SystemNotice':
      return event.message;
    case 'RunPaused':
      return `paused: ${event.reason}`;
    case 'RunResumed':
      return 'resumed';
    case 'RunFailed':
      return `run failed: ${event.error.message}`;
    case 'RunCancelled':
      return `run cancelled: ${event.reason}`;
    default:
      return event.type.replace(/^Run/, 'run ').toLowerCase();
  }
}

/** 0.4 ms, 12 ms, 1.25 s, 2 min 5 s. */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms % 60_000) / 1_000)} s`;
}
