import { describe, expect, it } from 'vitest';
import { newNodeSnapshot, type NodeSnapshot } from '../../src/events/snapshot.ts';
import { isUntouched, nodeJson } from '../../src/store/rows.ts';

/** A value unlike the one newNodeSnapshot gives, of a type the field may hold. */
const CHANGED: { [K in keyof NodeSnapshot]: NodeSnapshot[K] } = {
  nodeId: 'other', status: 'RUNNING', iteration: 1, attempts: 1, startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:00:00.001Z',
  durationMs: 0, input: {}, output: {}, error: { code: 'NODE_FAILED', message: 'x' },
};

describe('SQL rows: untouched nodes', () => {
  it('takes a node as newNodeSnapshot makes it as untouched, stored as null', () => {
    expect(isUntouched(newNodeSnapshot('a'))).toBe(true);
    expect(nodeJson(newNodeSnapshot('a'))).toBeNull();
  });

  // Walks the keys newNodeSnapshot gives, so a field added to NodeSnapshot is checked too.
  it.each(Object.keys(newNodeSnapshot('a')).filter((key) => key !== 'nodeId'))('takes a node whose %s changed as touched', (key) => {
    const node: Record<string, unknown> = { ...newNodeSnapshot('a') };
    expect(key in CHANGED, `give CHANGED a value for ${key}`).toBe(true);
    node[key] = CHANGED[key as keyof NodeSnapshot];
    expect(isUntouched(node as unknown as NodeSnapshot)).toBe(false);
    expect(JSON.parse(nodeJson(node as unknown as NodeSnapshot)!)).toMatchObject({ [key]: CHANGED[key as keyof NodeSnapshot] });
  });
});
