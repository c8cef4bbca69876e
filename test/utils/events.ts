import { expect } from 'vitest';
import { isTerminal, type RunEvent } from '../../src/events/types.ts';

/** `type` or `type(node)` or `type(from->to)`: a compact picture of an event for exact-order asserts. */
export function label(event: RunEvent): string {
  switch (event.type) {
    case 'NodeStarted':
    case 'NodeCompleted':
    case 'NodeFailed':
    case 'NodeSkipped':
      return `${event.type}(${event.nodeId})`;
    case 'Transition':
    case 'DataFlow':
      return `${event.type}(${event.from}->${event.to})`;
    default:
      return event.type;
  }
}

/**
 * The contract every run's event list must meet, whatever the graph. A SystemNotice with code
 * RECOVERY (a restart took the run up) may come before RunStarted, and abandons the node attempts
 * then in flight (they start again); a RunPaused with interrupts ends those nodes' attempts.
 */
export function expectWellFormed(events: RunEvent[]): void {
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  const first = events.findIndex((e) => e.type !== 'RunQueued' && !isRecovery(e));
  expect(events[first]?.type).toBe('RunStarted');
  expect(events.filter(isTerminal)).toHaveLength(1);
  expect(isTerminal(events[events.length - 1]!)).toBe(true);
  const open = new Map<string, number>();
  const completedAt = new Map<string, number>();
  for (const e of events) {
    if (e.type === 'NodeStarted') {
      expect(open.has(e.nodeId), `${e.nodeId} started twice without finishing`).toBe(false);
      open.set(e.nodeId, e.seq);
    } else if (e.type === 'NodeCompleted' || e.type === 'NodeFailed') {
      expect(open.has(e.nodeId), `${e.type} of ${e.nodeId} at seq ${e.seq} without NodeStarted`).toBe(true);
      open.delete(e.nodeId);
      if (e.type === 'NodeCompleted') completedAt.set(e.nodeId, e.seq);
    } else if (isRecovery(e)) {
      open.clear();
    } else if (e.type === 'RunPaused') {
      for (const { nodeId } of e.interrupts) {
        expect(open.has(nodeId), `${nodeId} interrupted at seq ${e.seq} without NodeStarted`).toBe(true);
        open.delete(nodeId);
      }
      expect(open.size, `RunPaused at seq ${e.seq} while ${[...open.keys()].join(', ')} still run`).toBe(0);
    } else if (e.type === 'Transition' || e.type === 'DataFlow') {
      const done = completedAt.get(e.from);
      expect(done !== undefined && done < e.seq, `${label(e)} at seq ${e.seq} before ${e.from} completed`).toBe(true);
    }
  }
}

function isRecovery(event: RunEvent): boolean {
  return event.type === 'SystemNotice' && event.code === 'RECOVERY';
}

/** Events without what differs between two identical runs (ids, times, durations). */
export function comparable(events: RunEvent[]): unknown[] {
  return events.map((e) => {
    const { at: _at, runId: _runId, ...rest } = e as RunEvent & { durationMs?: number };
    if ('durationMs' in rest) delete (rest as { durationMs?: number }).durationMs;
    if (e.type === 'RunStarted') return { ...rest };
    return rest;
  });
}
