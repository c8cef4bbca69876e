export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export function isPlainObject(value: unknown): value is JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Checks that a value survives JSON round-trip unchanged in meaning: plain objects, arrays,
 * finite numbers, strings, booleans and null. Returns the path of the first offending value.
 */
export function findNonJson(value: unknown, path = '$', seen = new Set<unknown>()): string | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : path;
  if (typeof value !== 'object') return path;
  if (seen.has(value)) return path;
  seen.add(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const bad = findNonJson(value[i], `${path}[${i}]`, seen);
      if (bad) return bad;
    }
  } else {
    if (!isPlainObject(value)) return path;
    for (const [key, v] of Object.entries(value)) {
      const bad = findNonJson(v, `${path}.${key}`, seen);
      if (bad) return bad;
    }
  }
  seen.delete(value);
  return undefined;
}

/** UTF-8 byte length of the JSON encoding of a value. */
export function jsonBytes(value: unknown): number {
  const text = JSON.stringify(value);
  return text === undefined ? 0 : Buffer.byteLength(text, 'utf8');
}

/** Parses JSON, returning a friendly error message instead of throwing. */
export function parseJson(text: string): { ok: true; value: JsonValue } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(text) as JsonValue };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * JSON with object keys sorted at every level, so that equal values always give the same text
 * (for fingerprints). Array order is kept; undefined object values are left out, as JSON.stringify does.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, function sortKeys(_key, v: unknown) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}
