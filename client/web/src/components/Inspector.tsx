import type { ReactNode } from 'react';
import { ATTEMPT_COLORS, NODE_COLORS } from '../model/colors.ts';
import { formatMs, type NodeAttempt, type RunPicture } from '../model/fold.ts';
import { clock } from '../model/time.ts';
import { JsonView } from './JsonView.tsx';

interface Props {
  picture: RunPicture | null;
  version: number;
  nodeKinds: ReadonlyMap<string, string>;
  selectedNodeId: string | null;
  /** The attempt picked in the timeline; else the node's latest. */
  selectedKey: string | null;
  onSelectAttempt(attempt: NodeAttempt): void;
  onClose(): void;
  /** The state to show and what it is. */
  state: { value: unknown; caption: string } | null;
}

/** The selected node (input, output, error, attempts) and the run (state, input, notices). */
export function Inspector({ picture, nodeKinds, selectedNodeId, selectedKey, onSelectAttempt, onClose, state }: Props) {
  return (
    <aside className="inspector" aria-label="Inspector">
      {selectedNodeId !== null ? (
        <NodeDetails picture={picture} nodeId={selectedNodeId} kind={nodeKinds.get(selectedNodeId) ?? ''} selectedKey={selectedKey} onSelectAttempt={onSelectAttempt} onClose={onClose} />
      ) : (
        <section className="panel inspector-hint">
          <h2>Inspector</h2>
          <p className="muted small">Click a node on the canvas, or a bar of the timeline, to see what went in and what came out.</p>
        </section>
      )}
      {picture && <RunDetails picture={picture} state={state} />}
    </aside>
  );
}

function NodeDetails({ picture, nodeId, kind, selectedKey, onSelectAttempt, onClose }: { picture: RunPicture | null; nodeId: string; kind: string; selectedKey: string | null; onSelectAttempt(attempt: NodeAttempt): void; onClose(): void }) {
  const node = picture?.nodes.get(nodeId);
  const attempts = picture?.attempts.filter((a) => a.nodeId === nodeId) ?? [];
  const attempt = attempts.find((a) => a.key === selectedKey) ?? attempts.at(-1);
  const status = node?.status ?? 'pending';
  return (
    <section className="panel node-details" data-inspector-node={nodeId} aria-label={`Node ${nodeId}`}>
      <div className="panel-title">
        <h2>
          <code>{nodeId}</code>
        </h2>
        <button type="button" className="ghost icon" onClick={onClose} aria-label="Close node details">
          ✕
        </button>
      </div>
      <div className="facts">
        <span className="pill" style={{ ['--pill' as string]: NODE_COLORS[status] }} data-inspector-status={status}>
          {status}
        </span>
        {kind && <span className="muted small">kind {kind}</span>}
        {node && node.iteration > 0 && <span className="muted small">iteration {node.iteration}</span>}
        {node && node.attempts > 1 && <span className="muted small">attempt {node.attempts}</span>}
      </div>
      {attempts.length === 0 ? (
        <p className="muted small">This node has not run{picture?.endedAt ? '' : ' yet'}.</p>
      ) : (
        <>
          {attempts.length > 1 && (
            <div className="attempt-chips" role="group" aria-label="Runs of this node">
              {attempts.map((a) => (
                <button
                  key={a.key}
                  type="button"
                  className={`chip${a === attempt ? ' selected' : ''}`}
                  style={{ ['--chip' as string]: ATTEMPT_COLORS[a.status] }}
                  onClick={() => onSelectAttempt(a)}
                  title={`iteration ${a.iteration}, attempt ${a.attempt}: ${a.status}`}
                >
                  #{a.iteration}
                  {a.attempt > 1 ? `.${a.attempt}` : ''}
                </button>
              ))}
            </div>
          )}
          {attempt && <AttemptDetails attempt={attempt} />}
          <Section title={`Attempts (${attempts.length})`} open={false}>
            <table className="attempts">
              <thead>
                <tr>
                  <th>iter.</th>
                  <th>try</th>
                  <th>step</th>
                  <th>status</th>
                  <th>started</th>
                  <th>took</th>
                </tr>
              </thead>
              <tbody>
                {attempts.map((a) => (
                  <tr key={a.key}>
                    <td>{a.iteration}</td>
                    <td>{a.attempt}</td>
                    <td>{a.step}</td>
                    <td style={{ color: ATTEMPT_COLORS[a.status] }}>{a.status}</td>
                    <td>{clock(a.startedAt)}</td>
                    <td>{formatMs(a.durationMs)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Section>
        </>
      )}
    </section>
  );
}

function AttemptDetails({ attempt }: { attempt: NodeAttempt }) {
  return (
    <div className="attempt" data-attempt-key={attempt.key}>
      <p className="small">
        Iteration {attempt.iteration}, attempt {attempt.attempt}, step {attempt.step}: <strong style={{ color: ATTEMPT_COLORS[attempt.status] }}>{attempt.status}</strong>
        {attempt.durationMs !== null && <> in {formatMs(attempt.durationMs)}</>}
      </p>
      {attempt.error && (
        <div className="error-box" data-inspector-section="error">
          <strong>{attempt.error.code}</strong> {attempt.error.message}
        </div>
      )}
      <Section title="Output — state update" open section="output">
        {attempt.status === 'succeeded' ? <JsonView value={attempt.stateUpdate} /> : <p className="muted small">{attempt.status === 'running' ? 'Not yet: the node is running.' : 'None: the attempt did not complete.'}</p>}
      </Section>
      <Section title="Input — the state it saw" open={false} section="input">
        <JsonView value={attempt.input} openDepth={1} />
      </Section>
    </div>
  );
}

function RunDetails({ picture, state }: { picture: RunPicture; state: { value: unknown; caption: string } | null }) {
  return (
    <section className="panel run-details" aria-label="Run">
      <h2>Run</h2>
      {picture.error && (
        <div className="error-box" data-run-error>
          <strong>{picture.error.code}</strong> {picture.error.message}
        </div>
      )}
      <Section title="State" open section="state" caption={state?.caption}>
        {state ? <JsonView value={state.value} openDepth={1} /> : <p className="muted small">No state yet.</p>}
      </Section>
      <Section title="Input" open={false} section="run-input">
        <JsonView value={picture.input} openDepth={1} />
      </Section>
      {picture.notices.length > 0 && (
        <Section title={`Notices (${picture.notices.length})`} open section="notices">
          <ul className="notices">
            {picture.notices.map((notice) => (
              <li key={notice.seq} className={`notice notice-${notice.level.toLowerCase()}`}>
                {notice.nodeId && <code>{notice.nodeId}</code>} {notice.message}
              </li>
            ))}
          </ul>
        </Section>
      )}
    </section>
  );
}

function Section({ title, open, children, section, caption }: { title: string; open: boolean; children: ReactNode; section?: string; caption?: string | undefined }) {
  return (
    <details className="section" open={open} data-inspector-section={section}>
      <summary>
        {title}
        {caption && <span className="muted small caption"> · {caption}</span>}
      </summary>
      <div className="section-body">{children}</div>
    </details>
  );
}
