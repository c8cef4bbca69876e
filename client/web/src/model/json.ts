/** The result of reading a JSON object typed into a text box. */
export type JsonObjectResult = { ok: true; value: Record<string, unknown> } | { ok: false; message: string };

/**
 * Reads `text` as a JSON object (a run's input, a state edit). Blank text is `{}` when `blank` is
 * 'empty', an error otherwise. The error says what is wrong and where (line and column), or that the
 * value is not an object.
 */
export function parseJsonObject(text: string, blank: 'empty' | 'error' = 'empty'): JsonObjectResult {
  if (text.trim() === '') return blank === 'empty' ? { ok: true, value: {} } : { ok: false, message: 'enter a JSON object, e.g. {"key": "value"}' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, message: describeSyntaxError(text, error) };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const what = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    return { ok: false, message: `must be a JSON object ({…}), not ${what}` };
  }
  return { ok: true, value: value as Record<string, unknown> };
}

/** Parses any JSON value; blank text is `undefined` (nothing given). */
export function parseJsonValue(text: string): { ok: true; value: unknown } | { ok: false; message: string } {
  if (text.trim() === '') return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, message: describeSyntaxError(text, error) };
  }
}

function describeSyntaxError(text: string, error: unknown): string {
  const raw = error instanceof Error ? error.message : String(error);
  // Engines word it differently; some give a position, some a line and column, some neither.
  const lineColumn = /line (\d+) column (\d+)/.exec(raw);
  const position = /position (\d+)/.exec(raw);
  const reason = raw
    .replace(/, ".*" is not valid JSON$/s, '')
    .replace(/\s*(in JSON )?at position \d+.*$/, '')
    .replace(/\s*\(line \d+ column \d+\)/, '');
  let where = '';
  if (lineColumn) where = ` at line ${lineColumn[1]}, column ${lineColumn[2]}`;
  else if (position) {
    const before = text.slice(0, Number(position[1]));
    const line = before.split('\n').length;
    where = ` at line ${line}, column ${before.length - before.lastIndexOf('\n')}`;
  }
  return `invalid JSON${where}: ${reason}`;
}
