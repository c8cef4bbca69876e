import { describe, expect, it } from 'vitest';
import { backoffDelay, classify } from '../../client/sdk/watch.ts';

/** The two pure rules under RunEventStream: what to do with an event's seq, and how long to wait before subscribing again. */

describe('classify(cursor, seq)', () => {
  it('delivers the next seq, drops what was seen (a replay) and calls anything further a gap', () => {
    expect(classify(0, 1)).toBe('deliver');
    expect(classify(41, 42)).toBe('deliver');
    expect(classify(41, 41)).toBe('drop');
    expect(classify(41, 1)).toBe('drop');
    expect(classify(41, 43)).toBe('gap');
    expect(classify(0, 2)).toBe('gap');
  });
});

describe('backoffDelay(attempt)', () => {
  const retry = { initialDelayMs: 100, maxDelayMs: 1_000, attempts: 10 };

  it('waits between half and all of initialDelayMs × 2^attempt, capped at maxDelayMs', () => {
    for (const [attempt, ceiling] of [[0, 100], [1, 200], [2, 400], [3, 800], [4, 1_000], [20, 1_000]] as const) {
      const delays = Array.from({ length: 200 }, () => backoffDelay(attempt, retry));
      expect(Math.min(...delays)).toBeGreaterThanOrEqual(ceiling / 2);
      expect(Math.max(...delays)).toBeLessThanOrEqual(ceiling);
      // Jittered: 200 waits are not all the same.
      expect(new Set(delays).size).toBeGreaterThan(1);
    }
  });
});
