import { useEffect, useState } from 'react';
import { ATTEMPT_COLORS } from '../model/colors.ts';
import { formatMs, type NodeAttempt, type RunPicture } from '../model/fold.ts';

interface Props {
  picture: RunPicture;
  version: number;
  /** Following a live run (the clock ticks for the running bars). */
  live: boolean;
  /** Browser clock minus server clock (estimated), so running bars grow on the server's clock. */
  clockOffset: number;
  selectedKey: string | null;
  onSelect(attempt: NodeAttempt): void;
}

/**
 * One bar per node attempt, placed on the run's clock (Gantt-like), with its duration; the running
 * ones are striped and grow with the clock.
 */
export function Timeline({ picture, live, clockOffset, selectedKey, onSelect }: Props) {
  const running = picture.attempts.some((a) => a.status === 'running');
  const now = useNow(live && running && picture.endedAt === null) - clockOffset;
  // The run's clock starts when it started, not when it was queued.
  const start = picture.runStartedAt ?? picture.startedAt ?? now;
  const end = picture.endedAt ?? (live ? Math.max(now, lastMoment(picture)) : lastMoment(picture));
  const span = Math.max(1, end - start);
  const totalMs = picture.durationMs;

  return (
    <section className="timeline" aria-label="Timeline">
      <div className="panel-title">
        <h2>Timeline</h2>
        <span className="muted small">
          {picture.attempts.length} node run{picture.attempts.length === 1 ? '' : 's'}
          {totalMs !== null ? ` · run took ${formatMs(totalMs)}` : ''}
        </span>
      </div>
      {picture.attempts.length === 0 ? (
        <p className="muted small empty">Node runs appear here as they start.</p>
      ) : (
        <ol className="tl-rows">
          {picture.attempts.map((attempt) => {
            // Event times have millisecond precision; the engine's duration is finer, so it sets the width.
            const ended = attempt.durationMs !== null && attempt.endedAt !== null ? attempt.startedAt + attempt.durationMs : (attempt.endedAt ?? (live ? now : end));
            const left = ((attempt.startedAt - start) / span) * 100;
            const width = ((Math.max(ended, attempt.startedAt) - attempt.startedAt) / span) * 100;
            const isRunning = attempt.status === 'running';
            return (
              <li
                key={attempt.key}
                className={`tl-row status-${attempt.status}${attempt.key === selectedKey ? ' selected' : ''}`}
                data-timeline-node={attempt.nodeId}
                data-iteration={attempt.iteration}
                data-attempt={attempt.attempt}
                data-status={attempt.status}
                data-running={isRunning ? 'true' : undefined}
                onClick={() => onSelect(attempt)}
                onKeyDown={(event) => {
                  if (event.key === 'Enter' || event.key === ' ') {
                    event.preventDefault();
                    onSelect(attempt);
                  }
                }}
                tabIndex={0}
                aria-current={attempt.key === selectedKey ? 'true' : undefined}
                title={`${attempt.nodeId}, iteration ${attempt.iteration}, attempt ${attempt.attempt}: ${attempt.status}${attempt.durationMs !== null ? ` in ${formatMs(attempt.durationMs)}` : ''}`}
              >
                <span className="tl-label">
                  <span className="tl-node">{attempt.nodeId}</span>
                  <span className="tl-iter">
                    #{attempt.iteration}
                    {attempt.attempt > 1 ? `.${attempt.attempt}` : ''}
                  </span>
                </span>
                <span className="tl-track">
                  <span
                    className={`tl-bar${isRunning ? ' running' : ''}`}
                    style={{ left: `${Math.min(99.5, left)}%`, width: `${Math.max(0.5, Math.min(100 - left, width))}%`, background: ATTEMPT_COLORS[attempt.status] }}
                  />
                </span>
                <span className="tl-duration">{isRunning ? <span className="tl-running">running {formatMs(Math.max(0, now - attempt.startedAt))}</span> : attempt.status === 'succeeded' ? formatMs(attempt.durationMs) : `${attempt.status}${attempt.durationMs !== null ? ` · ${formatMs(attempt.durationMs)}` : ''}`}</span>
              </li>
            );
          })}
        </ol>
      )}
    </section>
  );
}

/** The latest moment the picture knows of: the last start or end of an attempt. */
function lastMoment(picture: RunPicture): number {
  let last = picture.startedAt ?? 0;
  for (const attempt of picture.attempts) last = Math.max(last, attempt.endedAt ?? attempt.startedAt);
  return last;
}

/** The clock, ticking every 250 ms while `ticking`. */
function useNow(ticking: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!ticking) return;
    const tick = (): void => setNow(Date.now());
    const first = setTimeout(tick, 0);
    const timer = setInterval(tick, 250);
    return () => {
      clearTimeout(first);
      clearInterval(timer);
    };
  }, [ticking]);
  return now;
}
