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
