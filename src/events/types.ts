import type { SerializedError } from '../common/errors.ts';
import type { JsonObject, JsonValue } from '../common/json.ts';

/**
 * The run event model: the wire contract every transport, store and client shares. One run has
 * one gapless sequence `seq` = 1, 2, 3 …; the terminal event (RunCompleted, RunFailed or
 * RunCancelled) is the last one.
 */
export type Priority = 'LOW' | 'NORMAL' | 'HIGH' | 'CRITICAL';
export const PRIORITIES: readonly Priority[] = ['LOW', 'NORMAL', 'HIGH', 'CRITICAL'];

interface Base<T extends string> {
  seq: number;
  runId: string;
  graphId: string;
  /** ISO-8601 time the engine recorded the event. */
  at: string;
  type: T;
  priority: Priority;
}

export interface RunQueued extends Base<'RunQueued'> { input: JsonObject }
export interface RunStarted extends Base<'RunStarted'> { input: JsonObject; maxSteps: number }
export interface NodeStarted extends Base<'NodeStarted'> { nodeId: string; step: number; iteration: number; attempt: number; input: JsonObject }
export interface NodeCompleted extends Base<'NodeCompleted'> {
  nodeId: string;
  step: number;
  iteration: number;
  attempt: number;
  /**
   * The update the node returned. Absent when it was larger than the event log's threshold: it is
   * then stored once, apart from the event, and `stateUpdateRef` names it (Store.readBlob).
   */
  stateUpdate?: JsonObject;
  /** Set instead of `stateUpdate` for a large update: the key of its stored copy. */
  stateUpdateRef?: string;
  /** UTF-8 size of the JSON state update, inline or not. */
  bytes: number;
  durationMs: number;
}
export interface NodeFailed extends Base<'NodeFailed'> {
  nodeId: string;
  step: number;
  iteration: number;
  attempt: number;
  error: SerializedError;
  willRetry: boolean;
  /** Delay before the next attempt when willRetry. */
  retryInMs: number | null;
  durationMs: number;
}
export interface NodeSkipped extends Base<'NodeSkipped'> { nodeId: string; step: number; reason: string }
export interface Transition extends Base<'Transition'> { from: string; to: string; step: number }
export interface DataFlow extends Base<'DataFlow'> { from: string; to: string; step: number; bytes: number }
export interface Progress extends Base<'Progress'> { percent: number; message: string | null; nodeId: string | null }
export type NoticeLevel = 'INFO' | 'WARN';
export interface SystemNotice extends Base<'SystemNotice'> { message: string; level: NoticeLevel; code: string | null; nodeId: string | null }
/** Why a run paused: a breakpoint before or after a node, or a node that called `ctx.interrupt()`. */
export type PauseCause = 'BEFORE' | 'AFTER' | 'INTERRUPT';
export const PAUSE_CAUSES: readonly PauseCause[] = ['BEFORE', 'AFTER', 'INTERRUPT'];
/** A node that called `ctx.interrupt(payload)`: what it asks for. */
export interface Interrupt { nodeId: string; payload: JsonValue }
export interface RunPaused extends Base<'RunPaused'> {
  /** The node paused at (the first, by id, when several are). */
  nodeId: string | null;
  /** Readable: which breakpoint or interrupt, and at which node(s). */
  reason: string;
  cause: PauseCause;
  /** With cause INTERRUPT, each interrupted node and its payload (those nodes run again on resume); else empty. */
  interrupts: Interrupt[];
}
export interface RunResumed extends Base<'RunResumed'> {
  nodeId: string | null;
  /** The edit applied to the state (through the reducers) before the run went on, if any. */
  stateUpdate: JsonObject | null;
  /** The value the interrupted node(s) get from `ctx.interrupt()`; null when none was given. */
  resume: JsonValue;
}
export interface RunCompleted extends Base<'RunCompleted'> { finalState: JsonObject; durationMs: number }
export interface RunFailed extends Base<'RunFailed'> { error: SerializedError; nodeId: string | null; durationMs: number }
export interface RunCancelled extends Base<'RunCancelled'> { reason: string; durationMs: number }

export type RunEvent =
  | RunQueued
  | RunStarted
  | NodeStarted
  | NodeCompleted
  | NodeFailed
  | NodeSkipped
  | Transition
  | DataFlow
  | Progress
  | SystemNotice
  | RunPaused
  | RunResumed
  | RunCompleted
  | RunFailed
  | RunCancelled;

export type RunEventType = RunEvent['type'];
export type TerminalEvent = RunCompleted | RunFailed | RunCancelled;

export const EVENT_TYPES: readonly RunEventType[] = [
  'RunQueued', 'RunStarted', 'NodeStarted', 'NodeCompleted', 'NodeFailed', 'NodeSkipped', 'Transition',
  'DataFlow', 'Progress', 'SystemNotice', 'RunPaused', 'RunResumed', 'RunCompleted', 'RunFailed', 'RunCancelled',
];

export function isTerminal(event: RunEvent): event is TerminalEvent {
  return event.type === 'RunCompleted' || event.type === 'RunFailed' || event.type === 'RunCancelled';
}

/** An event before the log gives it its seq. */
export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type NewRunEvent = DistributiveOmit<RunEvent, 'seq'>;

/** The default priority of each event type. */
export const DEFAULT_PRIORITY: Readonly<Record<RunEventType, Priority>> = {
  RunQueued: 'NORMAL',
  RunStarted: 'HIGH',
  NodeStarted: 'NORMAL',
  NodeCompleted: 'NORMAL',
  NodeFailed: 'HIGH',
  NodeSkipped: 'LOW',
  Transition: 'NORMAL',
  DataFlow: 'LOW',
  Progress: 'LOW',
  SystemNotice: 'NORMAL',
  RunPaused: 'HIGH',
  RunResumed: 'HIGH',
  RunCompleted: 'CRITICAL',
  RunFailed: 'CRITICAL',
  RunCancelled: 'CRITICAL',
};

/** What an emitter supplies; the run, time and default priority are filled in. */
export type EventBody = DistributiveOmit<RunEvent, 'seq' | 'runId' | 'graphId' | 'at' | 'priority'> & { priority?: Priority };
