import { AppError } from '../common/errors.ts';
import type { PageRequest } from './types.ts';

/** Every adapter's check of a page request: `first` 1–1000. */
export function checkPage(page: PageRequest): void {
  if (!Number.isInteger(page.first) || page.first < 1 || page.first > 1000) {
    throw new AppError('INVALID_INPUT', `first must be an integer from 1 to 1000 (got ${String(page.first)})`);
  }
}
