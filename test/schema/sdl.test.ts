import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { printSdl } from '../../src/schema/index.ts';
import { SDL_PATH } from '../../src/schema/print.ts';

describe('schema/schema.graphql', () => {
  it('matches the schema the code builds (run npm run generate after changing src/schema)', () => {
    expect(readFileSync(SDL_PATH, 'utf8')).toBe(printSdl());
  });

  it('keeps the shapes clients rely on', () => {
    const sdl = printSdl();
    for (const line of [
      'union StartRunResult = ConcurrencyConflictError | GraphNotFoundError | InvalidInputError | Run',
      'interface RunEvent {',
      '  runEvents(\n',
      '  ): RunEvent!',
      'runExecution(graphId: ID!, input: JSON, options: RunOptions): RunEvent!',
      'createGraph(input: GraphInput!): CreateGraphResult!',
      'resumeRun(id: ID!, resume: JSON, stateUpdate: JSON): ResumeRunResult!',
      'union ResumeRunResult = InvalidInputError | Run | RunNotFoundError | RunNotPausedError',
      'setBreakpoint(nodeId: String!, runId: ID!, when: BreakpointWhen!): SetBreakpointResult!',
      'clearBreakpoint(nodeId: String!, runId: ID!, when: BreakpointWhen!): ClearBreakpointResult!',
    ]) expect(sdl).toContain(line);
  });
});
