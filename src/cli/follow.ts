import type { RunEvent, RunPaused } from '../events/types.ts';
import type { EventSink } from './view.ts';

export interface FollowOptions {
  /**
   * Whether the events so far bring the run up to now: true from the seq the run had reached when
   * we attached (or always, for a run this process started). Following ends when it is paused and
   * up to now: nobody answers a pause here. A pause seen before that was resumed since.
   */
  upToNow(event: RunEvent): boolean;
  /**
   * Called on the first Ctrl-C (SIGINT) while following: cancel the run, or stop the stream. A
   * second Ctrl-C exits at once with 130.
   */
  onInterrupt(): void;
}

export interface Followed {
  /** The last event handed to the sink. */
  last: RunEvent | undefined;
  /** The pause the run is in, when the following stopped at one. */
  pause: RunPaused | undefined;
  /** Ctrl-C was pressed while following. */
  interrupted: boolean;
}

/**
 * Hands each event of `events` to `sink` until the terminal event, the pause the run is in now
 * (see `upToNow`), or the end of the stream; then ends the sink (also when the stream throws,
 * which `follow` rethrows).
 */
export async function follow(events: AsyncIterable<RunEvent>, sink: EventSink, options: FollowOptions): Promise<Followed> {
  let last: RunEvent | undefined;
  let pause: RunPaused | undefined;
  let interrupted = false;
  const forceExit = (): never => process.exit(130);
  const onSigint = (): void => {
    interrupted = true;
    process.once('SIGINT', forceExit);
    options.onInterrupt();
  };
  process.once('SIGINT', onSigint);
  try {
    for await (const event of events) {
      sink.event(event);
      last = event;
      // Events may follow a pause while the run stays paused (a server restart's notice).
      if (event.type === 'RunPaused') pause = event;
      else if (event.type === 'RunResumed') pause = undefined;
      if (pause && options.upToNow(event)) return { last, pause, interrupted };
    }
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGINT', forceExit);
    sink.end();
  }
  // The stream ended: a stored run that is paused has no more events. (After Ctrl-C, a pause seen
  // while catching up may have been resumed since: say nothing of it.)
  return { last, pause: interrupted ? undefined : pause, interrupted };
}

/**
 * The exit code of a followed run, with a one-line message on stderr unless it completed: 0
 * completed; 1 failed, cancelled or paused (`pausedHint` says what now); 130 when Ctrl-C stopped
 * the watching and the run goes on (`detachedHint` says how to watch again).
 */
export function outcome(runId: string, followed: Followed, hints: { paused: string; detached: string }): number {
  const { last, pause } = followed;
  if (pause) {
    console.error(`flowcast: run ${runId} paused (${pause.reason}); ${hints.paused}`);
    return 1;
  }
  switch (last?.type) {
    case 'RunCompleted':
      return 0;
    case 'RunFailed':
      console.error(`flowcast: run ${runId} failed: ${last.error.message}`);
      return 1;
    case 'RunCancelled':
      console.error(`flowcast: run ${runId} cancelled: ${last.reason}`);
      return 1;
    default:
      if (followed.interrupted) {
        console.error(`flowcast: stopped watching run ${runId} after seq ${last?.seq ?? 0}; ${hints.detached}`);
        return 130;
      }
      console.error(`flowcast: the events of run ${runId} ended at seq ${last?.seq ?? 0} without a terminal event`);
      return 1;
  }
}
