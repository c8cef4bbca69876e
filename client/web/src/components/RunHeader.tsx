import { useState } from 'react';
import type { RunEvent } from '../../../sdk/index.ts';
import { flowcast } from '../api.ts';
import { RUN_COLORS } from '../model/colors.ts';
import { describeEvent, formatMs, isActive, type RunPicture } from '../model/fold.ts';
import { clock } from '../model/time.ts';

interface Props {
  runId: string;
  graphId: string;
  /** What to call the graph (its id, or the name of a graph created through the API). */
  graphLabel: string;
  picture: RunPicture;
  /** The live picture's status (a replay may show an earlier one). */
  liveStatus: RunPicture['status'];
  events: readonly RunEvent[];
  /** Events shown: null follows the run live. */
  cursor: number | null;
  onCursor(cursor: number | null): void;
  playing: boolean;
  onPlaying(playing: boolean): void;
  followError: string | null;
}

/** The run's title, status, progress bar and controls: cancel, and the replay scrubber. */
export function RunHeader({ runId, graphId, graphLabel, picture, liveStatus, events, cursor, onCursor, playing, onPlaying, followError }: Props) {
  const [cancelError, setCancelError] = useState<string | null>(null);
  const [cancelling, setCancelling] = useState(false);
  const [copied, setCopied] = useState(false);
  const status = picture.status;
  const progress = Math.round(picture.progress);
  const total = events.length;
  const shown = cursor ?? total;
  const replaying = cursor !== null;
  const duration = picture.durationMs;

  const cancel = (): void => {
    setCancelling(true);
    setCancelError(null);
    flowcast
      .cancelRun(runId)
      .catch((error: unknown) => setCancelError(error instanceof Error ? error.message : String(error)))
      .finally(() => setCancelling(false));
  };
  const go = (to: number): void => {
    onPlaying(false);
    onCursor(Math.max(0, Math.min(total, to)));
  };

  return (
    <section className="run-header" aria-label="Run" data-run-id={runId} data-graph-id={graphId} data-run-status={status?.toLowerCase() ?? 'unknown'}>
      <div className="run-title">
        <div className="run-title-main">
          <h1>
            <span title={`graph ${graphId}`}>{graphLabel}</span> <code className="run-id" title={runId}>{runId}</code>
          </h1>
          <div className="run-facts small muted">
            {status && (
              <span className="pill" style={{ ['--pill' as string]: RUN_COLORS[status] }} data-status-pill>
                {status.toLowerCase()}
              </span>
            )}
            {picture.startedAt !== null && <span>started {clock(picture.startedAt)}</span>}
            {duration !== null && <span>took {formatMs(duration)}</span>}
            <span>
              {total} event{total === 1 ? '' : 's'}
            </span>
          </div>
        </div>
        <div className="run-actions">
          <button
            type="button"
            className="ghost"
            onClick={() => {
              navigator.clipboard
                ?.writeText(window.location.href)
                .then(() => {
                  setCopied(true);
                  setTimeout(() => setCopied(false), 1_500);
                })
                .catch(() => undefined);
            }}
            title="Copy a link that opens this run"
          >
            {copied ? 'Copied' : 'Copy link'}
          </button>
          {isActive(liveStatus) && (
            <button type="button" className="danger" onClick={cancel} disabled={cancelling}>
              {cancelling ? 'Cancelling…' : 'Cancel run'}
            </button>
          )}
        </div>
      </div>
      <div className="progress" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={progress} aria-label="Run progress">
        <div className="progress-fill" style={{ width: `${progress}%`, background: status ? RUN_COLORS[status] : undefined }} />
        <span className="progress-label">
          {progress}%{picture.progressMessage ? ` · ${picture.progressMessage}` : ''}
        </span>
      </div>
      {cancelError && (
        <p className="error-text" role="alert">
          {cancelError}
        </p>
      )}
      {followError && (
        <p className="error-text" role="alert">
          Stopped following this run: {followError}
        </p>
      )}
      <div className="scrubber" aria-label="Replay">
        <div className="scrubber-buttons">
          <button type="button" className="ghost icon" onClick={() => go(0)} disabled={total === 0 || shown === 0} title="To the start" aria-label="Replay from the start">
            <Icon name="first" />
          </button>
          <button type="button" className="ghost icon" onClick={() => go(shown - 1)} disabled={shown === 0} title="One event back" aria-label="One event back">
            <Icon name="back" />
          </button>
          <button
            type="button"
            className="ghost icon"
            onClick={() => {
              if (playing) return onPlaying(false);
              if (shown >= total) onCursor(0);
              else if (cursor === null) onCursor(shown);
              onPlaying(true);
            }}
            disabled={total === 0}
            title={playing ? 'Pause the replay' : 'Play the run step by step'}
            aria-label={playing ? 'Pause replay' : 'Play replay'}
          >
            <Icon name={playing ? 'pause' : 'play'} />
          </button>
          <button type="button" className="ghost icon" onClick={() => go(shown + 1)} disabled={shown >= total} title="One event forward" aria-label="One event forward">
            <Icon name="forward" />
          </button>
          <button
            type="button"
            className={`live-button${replaying ? '' : ' on'}`}
            onClick={() => {
              onPlaying(false);
              onCursor(null);
            }}
            disabled={!replaying}
            title={isActive(liveStatus) ? 'Follow the run live' : 'Show the whole run'}
          >
            {isActive(liveStatus) ? 'Live' : 'End'}
          </button>
        </div>
        <input
          type="range"
          className="scrubber-range"
          min={0}
          max={total}
          value={shown}
          onChange={(e) => go(Number(e.target.value))}
          aria-label="Events shown"
          aria-valuetext={`event ${shown} of ${total}`}
          disabled={total === 0}
        />
        <span className="scrubber-label small" data-replay-position={shown} data-replay-total={total}>
          {replaying ? (
            <>
              <strong>
                {shown}/{total}
              </strong>{' '}
              {shown > 0 ? describeEvent(events[shown - 1]!) : 'before the first event'}
            </>
          ) : (
            <span className="muted">{isActive(liveStatus) ? 'following live' : 'whole run'} · step or drag to replay</span>
          )}
        </span>
      </div>
    </section>
  );
}

const ICONS = {
  first: 'M5 4h2v12H5zM16 4v12L8 10z',
  back: 'M14 4v12L6 10z',
  play: 'M6 4v12l10-6z',
  pause: 'M5 4h3.5v12H5zM11.5 4H15v12h-3.5z',
  forward: 'M6 4v12l8-6zM15 4h2v12h-2z',
} as const;

/** Drawn, not taken from a font: every machine has these. */
function Icon({ name }: { name: keyof typeof ICONS }) {
  return (
    <svg viewBox="0 0 20 20" width="14" height="14" aria-hidden="true" fill="currentColor">
      <path d={ICONS[name]} />
    </svg>
  );
}
