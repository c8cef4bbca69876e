import type { RunEvent } from '../events/types.ts';

const MAX_JSON = 120;

function brief(value: unknown): string {
  const text = JSON.stringify(value) ?? '';
  return text.length > MAX_JSON ? `${text.slice(0, MAX_JSON - 1)}…` : text;
}

/** One readable line per event: seq, type, then what matters for that type. */
export function formatEvent(event: RunEvent): string {
  const head = `${String(event.seq).padStart(4)}  ${event.type.padEnd(13)}`;
  switch (event.type) {
    case 'RunQueued':
      return `${head} ${event.graphId} ${brief(event.input)}`;
    case 'RunStarted':
      return `${head} ${event.graphId} run ${event.runId} (maxSteps ${event.maxSteps}) input ${brief(event.input)}`;
    case 'NodeStarted':
      return `${head} ${event.nodeId} step ${event.step}, iteration ${event.iteration}${event.attempt > 1 ? `, attempt ${event.attempt}` : ''}`;
    case 'NodeCompleted':
      return `${head} ${event.nodeId} in ${event.durationMs.toFixed(1)} ms -> ${event.stateUpdate === undefined ? `(${event.bytes} B, stored apart)` : brief(event.stateUpdate)}`;
    case 'NodeFailed':
      return `${head} ${event.nodeId} attempt ${event.attempt}: ${event.error.message}${event.willRetry ? ` (retry in ${event.retryInMs} ms)` : ''}`;
    case 'NodeSkipped':
      return `${head} ${event.nodeId} (${event.reason})`;
    case 'Transition':
      return `${head} ${event.from} -> ${event.to}`;
    case 'DataFlow':
      return `${head} ${event.from} -> ${event.to} ${event.bytes} B`;
    case 'Progress':
      return `${head} ${event.percent.toFixed(0).padStart(3)}%${event.nodeId ? ` ${event.nodeId}` : ''}${event.message ? ` ${event.message}` : ''}`;
    case 'SystemNotice':
      return `${head} ${event.level}${event.nodeId ? ` ${event.nodeId}` : ''}: ${event.message}`;
    case 'RunPaused':
      return `${head} ${event.reason}${event.interrupts.map((i) => `; ${i.nodeId} asks ${brief(i.payload)}`).join('')}`;
    case 'RunResumed':
      return `${head} ${event.nodeId ?? ''}${event.stateUpdate ? ` state edit ${brief(event.stateUpdate)}` : ''}${event.resume !== null ? ` resume ${brief(event.resume)}` : ''}`;
    case 'RunCompleted':
      return `${head} in ${event.durationMs} ms, final state ${brief(event.finalState)}`;
    case 'RunFailed':
      return `${head} ${event.error.code}: ${event.error.message}`;
    case 'RunCancelled':
      return `${head} ${event.reason}`;
  }
}
