import { useId, useMemo, useState, type FormEvent } from 'react';
import { flowcast } from '../api.ts';
import { parseJsonObject } from '../model/json.ts';
import type { GraphDef } from '../model/layout.ts';

export type GraphOption = GraphDef & { name: string; description: string; builtIn: boolean };

/**
 * What to call a graph: the demos and other graphs in code by their id (what the API and CLI use),
 * graphs created through the API (ids like graph_0mwq…) by their name.
 */
export function graphLabel(graph: { id: string; name: string; builtIn: boolean }): string {
  return graph.builtIn || graph.name.trim() === '' ? graph.id : graph.name;
}

/** Inputs that show what the demo graphs do; any other graph starts from {}. */
const SAMPLE_INPUTS: Readonly<Record<string, unknown>> = {
  'code-review': {
    code: 'function review(x) {\n  if (x > 1 && x < 9) return x ? 1 : 2;\n  for (const y of x) if (y) return y;\n}',
    threshold: 85,
  },
  'content-pipeline': { topic: 'Streaming workflow graphs', speed: 1 },
  'fan-out': { value: 3, speed: 1 },
};

export function sampleInput(graphId: string): string {
  return JSON.stringify(SAMPLE_INPUTS[graphId] ?? {}, null, 2);
}

interface Props {
  graphs: readonly GraphOption[];
  graphId: string;
  onGraphChange(graphId: string): void;
  onStarted(runId: string): void;
}

/** Start a run of any graph with a JSON input, validated as it is typed; the server's objections are shown inline too. */
export function StartForm({ graphs, graphId, onGraphChange, onStarted }: Props) {
  const id = useId();
  const [inputs, setInputs] = useState<Record<string, string>>({});
  const [pauseBefore, setPauseBefore] = useState<string[]>([]);
  const [serverError, setServerError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const graph = graphs.find((g) => g.id === graphId);
  const text = inputs[graphId] ?? sampleInput(graphId);
  const parsed = useMemo(() => parseJsonObject(text), [text]);

  const submit = (event: FormEvent): void => {
    event.preventDefault();
    if (!parsed.ok || !graph) return;
    setBusy(true);
    setServerError(null);
    const options = pauseBefore.length > 0 ? { interruptBefore: pauseBefore } : undefined;
    flowcast
      .startRun(graph.id, parsed.value, options)
      .then((run) => onStarted(run.id))
      .catch((error: unknown) => setServerError(error instanceof Error ? error.message : String(error)))
      .finally(() => setBusy(false));
  };

  return (
    <form className="panel start-form" onSubmit={submit} aria-label="Start a run" noValidate>
      <div className="panel-title">
        <h2>Start a run</h2>
      </div>
      <label className="field">
        <span>Graph</span>
        <select
          name="graph"
          value={graphId}
          onChange={(e) => {
            onGraphChange(e.target.value);
            setPauseBefore([]);
            setServerError(null);
          }}
        >
          {graphs.map((g) => (
            <option key={g.id} value={g.id}>
              {graphLabel(g)}
            </option>
          ))}
        </select>
      </label>
      {graph?.description && <p className="muted small description">{graph.description}</p>}
      <label className="field">
        <span>Input (JSON object)</span>
        <textarea
          name="input"
          spellCheck={false}
          rows={6}
          value={text}
          onChange={(e) => {
            setInputs({ ...inputs, [graphId]: e.target.value });
            setServerError(null);
          }}
          aria-invalid={!parsed.ok}
          aria-describedby={`${id}-input-error`}
        />
      </label>
      <p id={`${id}-input-error`} className="error-text" role="alert" data-error="input" hidden={parsed.ok}>
        {parsed.ok ? '' : parsed.message}
      </p>
      {graph && graph.nodes.length > 0 && (
        <details className="options">
          <summary>Pause before… {pauseBefore.length > 0 && <span className="count">{pauseBefore.length}</span>}</summary>
          <div className="checks">
            {graph.nodes.map((node) => (
              <label key={node.id} className="check">
                <input
                  type="checkbox"
                  name="pause-before"
                  value={node.id}
                  checked={pauseBefore.includes(node.id)}
                  onChange={(e) => setPauseBefore(e.target.checked ? [...pauseBefore, node.id] : pauseBefore.filter((n) => n !== node.id))}
                />
                <code>{node.id}</code>
              </label>
            ))}
          </div>
          <p className="muted small">The run pauses before these nodes run; resume it from the run view, with a state edit if you like.</p>
        </details>
      )}
      {serverError && (
        <p className="error-text" role="alert" data-error="start">
          {serverError}
        </p>
      )}
      <div className="form-actions">
        <button type="submit" className="primary" disabled={!parsed.ok || !graph || busy}>
          {busy ? 'Starting…' : 'Start run'}
        </button>
        {inputs[graphId] !== undefined && (
          <button type="button" className="ghost" onClick={() => setInputs({ ...inputs, [graphId]: sampleInput(graphId) })}>
            Reset input
          </button>
        )}
      </div>
    </form>
  );
}
