import type { RunStatus } from '../../../sdk/index.ts';
import { isActive } from '../model/fold.ts';
import { RUN_COLORS } from '../model/colors.ts';
import { timeAgo } from '../model/time.ts';

export interface RunSummary {
  id: string;
  graphId: string;
  status: RunStatus;
  progress: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export type StatusFilter = 'ALL' | 'ACTIVE' | RunStatus;

export const STATUS_FILTERS: ReadonlyArray<{ value: StatusFilter; label: string }> = [
  { value: 'ALL', label: 'Any status' },
  { value: 'ACTIVE', label: 'Active (queued, running, paused)' },
  { value: 'QUEUED', label: 'Queued' },
  { value: 'RUNNING', label: 'Running' },
  { value: 'PAUSED', label: 'Paused' },
  { value: 'COMPLETED', label: 'Completed' },
  { value: 'FAILED', label: 'Failed' },
  { value: 'CANCELLED', label: 'Cancelled' },
];

interface Props {
  runs: readonly RunSummary[];
  loading: boolean;
  error: string | null;
  /** Every graph's id and what to call it. */
  graphs: ReadonlyArray<{ id: string; label: string }>;
  graphFilter: string;
  statusFilter: StatusFilter;
  onGraphFilter(graphId: string): void;
  onStatusFilter(status: StatusFilter): void;
  selectedRunId: string | null;
  onSelect(runId: string): void;
  now: number;
}

/** Active runs first, then recent ones, newest first; filtered by graph and status. */
export function RunPicker(props: Props) {
  const active = props.runs.filter((run) => isActive(run.status));
  const recent = props.runs.filter((run) => !isActive(run.status));
  return (
    <section className="panel runs" aria-label="Runs">
      <div className="panel-title">
        <h2>Runs</h2>
        {props.loading && <span className="muted small">updating…</span>}
      </div>
      <div className="filters">
        <label>
          <span className="sr-only">Graph</span>
          <select value={props.graphFilter} onChange={(e) => props.onGraphFilter(e.target.value)} aria-label="Filter runs by graph" name="graph-filter">
            <option value="">All graphs</option>
            {props.graphs.map((graph) => (
              <option key={graph.id} value={graph.id}>
                {graph.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          <span className="sr-only">Status</span>
          <select value={props.statusFilter} onChange={(e) => props.onStatusFilter(e.target.value as StatusFilter)} aria-label="Filter runs by status" name="status-filter">
            {STATUS_FILTERS.map((f) => (
              <option key={f.value} value={f.value}>
                {f.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      {props.error && <p className="error-text" role="alert">{props.error}</p>}
      <RunGroup {...props} title="Active" runs={active} empty="No run is queued, running or paused." />
      <RunGroup {...props} title="Recent" runs={recent} empty={props.runs.length === 0 && !props.loading ? 'No runs yet. Start one above.' : 'None.'} />
    </section>
  );
}

function RunGroup({ title, runs, selectedRunId, onSelect, empty, now, graphs }: Props & { title: string; empty: string }) {
  const labels = new Map(graphs.map((graph) => [graph.id, graph.label]));
  return (
    <div className="run-group">
      <h3>
        {title} <span className="count">{runs.length}</span>
      </h3>
      {runs.length === 0 ? (
        <p className="muted small empty">{empty}</p>
      ) : (
        <ul className="run-list">
          {runs.map((run) => (
            <li key={run.id}>
              <button
                type="button"
                className={`run-item${run.id === selectedRunId ? ' selected' : ''}`}
                onClick={() => onSelect(run.id)}
                data-run-id={run.id}
                data-run-status={run.status.toLowerCase()}
                aria-current={run.id === selectedRunId ? 'true' : undefined}
              >
                <span className="run-item-dot" style={{ background: RUN_COLORS[run.status] }} aria-hidden="true" />
                <span className="run-item-main">
                  <span className="run-item-graph" title={run.graphId}>
                    {labels.get(run.graphId) ?? run.graphId}
                  </span>
                  <span className="run-item-meta">
                    <code>{shortId(run.id)}</code> · {timeAgo(run.createdAt, now)}
                  </span>
                </span>
                <span className="run-item-status" style={{ color: RUN_COLORS[run.status] }}>
                  {run.status === 'RUNNING' ? `${Math.round(run.progress)}%` : run.status.toLowerCase()}
                </span>
                {run.status === 'RUNNING' && (
                  <span className="run-item-progress" aria-hidden="true">
                    <span style={{ width: `${Math.max(2, run.progress)}%` }} />
                  </span>
                )}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** run_01HZX…: the tail is what tells runs apart. */
export function shortId(id: string): string {
  return id.length > 14 ? `…${id.slice(-8)}` : id;
}
