import { describe, expect, it } from 'vitest';
import { decodeEvent } from '../../src/events/codec.ts';

const completed = { seq: 3, runId: 'run_1', graphId: 'g', at: '2025-01-02T03:04:05.678Z', type: 'NodeCompleted', priority: 'NORMAL', nodeId: 'a', step: 1, iteration: 1, attempt: 1, bytes: 7, durationMs: 1.5 };

describe('decodeEvent: NodeCompleted', () => {
  it('takes a state update inline or a ref to its stored copy', () => {
    expect(decodeEvent({ ...completed, stateUpdate: { x: 1 } })).toMatchObject({ stateUpdate: { x: 1 } });
    expect(decodeEvent({ ...completed, stateUpdateRef: 'sha256:ab' })).toMatchObject({ stateUpdateRef: 'sha256:ab' });
  });

  it('refuses both, neither, or either of the wrong type, saying which', () => {
    const both = 'NodeCompleted must have either stateUpdate or stateUpdateRef, not both or neither';
    expect(() => decodeEvent(completed)).toThrow(both);
    expect(() => decodeEvent({ ...completed, stateUpdate: {}, stateUpdateRef: 'sha256:ab' })).toThrow(both);
    expect(() => decodeEvent({ ...completed, stateUpdate: [1] })).toThrow('NodeCompleted.stateUpdate must be object');
    expect(() => decodeEvent({ ...completed, stateUpdateRef: 42 })).toThrow('NodeCompleted.stateUpdateRef must be string');
  });
});
