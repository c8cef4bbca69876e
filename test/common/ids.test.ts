import { describe, expect, it } from 'vitest';
import { newId } from '../../src/common/async.ts';

describe('newId', () => {
  it('gives the prefix, a time part that sorts by creation, and 14 random base-36 characters', () => {
    const before = Date.now();
    const id = newId('run');
    expect(id).toMatch(/^run_[0-9a-z]{9}[0-9a-z]{14}$/);
    expect(parseInt(id.slice(4, 13), 36)).toBeGreaterThanOrEqual(before);
    expect(newId('run').slice(0, 13) >= id.slice(0, 13)).toBe(true);
  });

  it('never repeats, across many refills of its pool of random words', () => {
    const ids = Array.from({ length: 5_000 }, () => newId('x'));
    expect(new Set(ids).size).toBe(ids.length);
    // The random parts differ too, not only ids made in different milliseconds.
    expect(new Set(ids.map((id) => id.slice(-14))).size).toBe(ids.length);
  });
});
