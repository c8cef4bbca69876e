import { describe, expect, it } from 'vitest';
import { LazyAbort } from '../../src/engine/abort.ts';

describe('LazyAbort', () => {
  it('gives a signal made after the abort that is already aborted with its reason', () => {
    const abort = new LazyAbort();
    const reason = new Error('stop');
    abort.abort(reason);
    expect(abort.aborted).toBe(true);
    expect(abort.reason).toBe(reason);
    expect(abort.signal.aborted).toBe(true);
    expect(abort.signal.reason).toBe(reason);
  });

  it('aborts a signal made before the abort, once, with the first reason', () => {
    const abort = new LazyAbort();
    const signal = abort.signal;
    expect(abort.signal).toBe(signal);
    const seen: unknown[] = [];
    signal.addEventListener('abort', () => seen.push(signal.reason));
    expect(signal.aborted).toBe(false);
    abort.abort('first');
    abort.abort('second');
    expect(seen).toEqual(['first']);
    expect(abort.reason).toBe('first');
  });

  it('calls listeners once, in order; one added after the abort at once; a removed one never', () => {
    const abort = new LazyAbort();
    const calls: string[] = [];
    abort.onAbort(() => calls.push('a'));
    const removeB = abort.onAbort(() => calls.push('b'));
    abort.onAbort(() => calls.push('c'));
    removeB();
    abort.abort('x');
    abort.abort('y');
    expect(calls).toEqual(['a', 'c']);
    abort.onAbort(() => calls.push('late'));
    expect(calls).toEqual(['a', 'c', 'late']);
  });

  it('follows its parent until unlinked', () => {
    const parent = new LazyAbort();
    const followed = LazyAbort.following(parent);
    const left = LazyAbort.following(parent);
    left.unlink();
    parent.abort('parent stopped');
    expect(followed.abort.aborted).toBe(true);
    expect(followed.abort.reason).toBe('parent stopped');
    expect(left.abort.aborted).toBe(false);
    // A child of an aborted parent starts aborted.
    expect(LazyAbort.following(parent).abort.reason).toBe('parent stopped');
  });

  it('aborts a child on its own without touching the parent', () => {
    const parent = new LazyAbort();
    const child = LazyAbort.following(parent);
    child.abort.abort('timeout');
    expect(parent.aborted).toBe(false);
    parent.abort('later');
    expect(child.abort.reason).toBe('timeout');
  });
});
