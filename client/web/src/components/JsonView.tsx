import type { ReactNode } from 'react';

/** A collapsible JSON tree: objects and arrays fold (open to `openDepth` levels), values are coloured by type. */
export function JsonView({ value, openDepth = 2, label }: { value: unknown; openDepth?: number; label?: string }) {
  return (
    <div className="json" data-json>
      <JsonNode value={value} depth={0} openDepth={openDepth} name={label} />
    </div>
  );
}

function JsonNode({ value, depth, openDepth, name }: { value: unknown; depth: number; openDepth: number; name?: string | undefined }): ReactNode {
  const key = name === undefined ? null : <span className="json-key">{name}: </span>;
  if (value !== null && typeof value === 'object') {
    const entries: Array<[string, unknown]> = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
    const [open, close] = Array.isArray(value) ? ['[', ']'] : ['{', '}'];
    if (entries.length === 0) {
      return (
        <div className="json-line">
          {key}
          <span className="json-punct">{open + close}</span>
        </div>
      );
    }
    const summary = Array.isArray(value) ? `${entries.length} item${entries.length === 1 ? '' : 's'}` : `${entries.length} key${entries.length === 1 ? '' : 's'}`;
    return (
      <details className="json-branch" open={depth < openDepth}>
        <summary>
          {key}
          <span className="json-punct">{open}</span>
          <span className="json-summary">{summary}</span>
          <span className="json-punct json-close-inline">{close}</span>
        </summary>
        <div className="json-children">
          {entries.map(([k, v]) => (
            <JsonNode key={k} value={v} depth={depth + 1} openDepth={openDepth} name={k} />
          ))}
        </div>
      </details>
    );
  }
  return (
    <div className="json-line">
      {key}
      <JsonScalar value={value} />
    </div>
  );
}

function JsonScalar({ value }: { value: unknown }) {
  if (value === null || value === undefined) return <span className="json-null">null</span>;
  if (typeof value === 'string') return <span className="json-string">{JSON.stringify(value)}</span>;
  if (typeof value === 'number') return <span className="json-number">{String(value)}</span>;
  if (typeof value === 'boolean') return <span className="json-boolean">{String(value)}</span>;
  return <span>{String(value)}</span>;
}
