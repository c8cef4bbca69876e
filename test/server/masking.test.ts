import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/common/errors.ts';
import { makeMask } from '../../src/server/masking.ts';

describe('error masking', () => {
  const mask = makeMask(false);

  it('keeps expected failures with their code and details', () => {
    const error = new GraphQLError('no run "x"', { path: ['run'], originalError: new AppError('RUN_NOT_FOUND', 'no run "x"', { runId: 'x' }) });
    expect(mask(error).toJSON()).toEqual({ message: 'no run "x"', path: ['run'], extensions: { code: 'RUN_NOT_FOUND', runId: 'x' } });
  });

  it("keeps GraphQL's own errors (syntax, validation) as they are", () => {
    const error = new GraphQLError('Syntax Error: Unexpected Name "x".');
    expect(mask(error)).toBe(error);
  });

  it('hides unexpected errors outside development, keeping where they happened', () => {
    const error = new GraphQLError('connection string postgres://secret', { path: ['runs'], originalError: new Error('connection string postgres://secret') });
    expect(mask(error).toJSON()).toEqual({ message: 'Unexpected error.', path: ['runs'], extensions: { code: 'INTERNAL' } });
    expect(mask(new TypeError('x is undefined')).message).toBe('Unexpected error.');
    expect(makeMask(true)(new TypeError('x is undefined')).message).toBe('x is undefined');
  });
});
