import { AppError } from '../common/errors.ts';
import type { PageRequest } from './types.ts';

/** Every adapter's check of a page request: `first` 1–1000. */
export function checkPage(page: PageRequest): void {
  if (!Number.isInteger(page.first) || page.first < 1 || page.first > 1000) {
    throw new AppError('INVALID_INPUT', `first must be an integer from 1 to 1000 (got ${String(page.first)})`);
  }
}

/**
 * The `before` and `limit` of Store.deleteFinishedBefore, checked (AppError INVALID_INPUT) and
 * `before` normalized to the form stored times have (toISOString), so that they compare as strings.
 */
export function retentionCutoff(before: string, limit: number): string {
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new AppError('INVALID_INPUT', `limit must be an integer from 1 to 10000, got ${String(limit)}`);
  const ms = typeof before === 'string' ? Date.parse(before) : Number.NaN;
  if (Number.isNaN(ms)) throw new AppError('INVALID_INPUT', `before must be an ISO-8601 time such as 2025-01-31T00:00:00.000Z, got ${JSON.stringify(before)}`);
  return new Date(ms).toISOString();
}

/**
 * Orders strings by Unicode code point, as SQLite's BINARY collation and PostgreSQL's "C" order
 * UTF-8 text, so that every store lists things in the same order. (`<` on strings compares UTF-16
 * code units, which puts astral characters before U+E000–U+FFFF.)
 */
export function byCodePoint(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/** A UTF-16 code unit moved so that surrogates (astral code points) rank above U+E000–U+FFFF. */
function codePointRank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit <= 0xdfff ? unit + 0x2000 : unit - 0x800;
}
