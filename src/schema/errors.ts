import { AppError, type Problem } from '../common/errors.ts';
import { builder } from './builder.ts';

/**
 * Expected failures of mutations are data: each is an object type in the result union, and all
 * implement `interface Error { message }`, whose message says what to fix. Anything else becomes
 * a GraphQL error (masked outside development by the server).
 */
export class GraphNotFoundError extends Error {
  constructor(message: string, readonly graphId: string) {
    super(message);
  }
}
export class RunNotFoundError extends Error {
  constructor(message: string, readonly runId: string) {
    super(message);
  }
}
export class RunNotPausedError extends Error {
  constructor(message: string, readonly runId: string, readonly status: string) {
    super(message);
  }
}
export class InvalidInputError extends Error {}

export class ConcurrencyConflictError extends Error {
  constructor(message: string, readonly runId: string, readonly concurrencyKey: string) {
    super(message);
  }
}
export class InvalidGraphError extends Error {
  constructor(message: string, readonly problems: Problem[]) {
    super(message);
  }
}

/** Rethrows an AppError as the typed error class the schema knows, so the errors plugin returns it as data. */
export function typed(error: unknown): never {
  if (error instanceof AppError) {
    switch (error.code) {
      case 'GRAPH_NOT_FOUND':
        throw new GraphNotFoundError(error.message, String(error.details['graphId'] ?? ''));
      case 'RUN_NOT_FOUND':
        throw new RunNotFoundError(error.message, String(error.details['runId'] ?? ''));
      case 'INVALID_GRAPH':
        throw new InvalidGraphError(error.message, (error.details['problems'] as Problem[] | undefined) ?? []);
      case 'RUN_NOT_PAUSED':
        throw new RunNotPausedError(error.message, String(error.details['runId'] ?? ''), String(error.details['status'] ?? ''));
      case 'INVALID_INPUT':
        throw new InvalidInputError(error.message);
      case 'CONCURRENCY_CONFLICT':
        throw new ConcurrencyConflictError(error.message, String(error.details['runId'] ?? ''), String(error.details['concurrencyKey'] ?? ''));
      default:
        break;
    }
  }
  throw error;
}

/** Runs `work`, turning expected AppErrors into typed errors. */
export async function expected<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    typed(error);
  }
}

export const ErrorInterface = builder.interfaceRef<Error>('Error').implement({
  description: 'An expected failure; the message says what to fix.',
  fields: (t) => ({ message: t.exposeString('message') }),
});

builder.objectType(GraphNotFoundError, {
  name: 'GraphNotFoundError',
  interfaces: [ErrorInterface],
  fields: (t) => ({ graphId: t.exposeString('graphId') }),
});

builder.objectType(RunNotFoundError, {
  name: 'RunNotFoundError',
  interfaces: [ErrorInterface],
  fields: (t) => ({ runId: t.exposeString('runId') }),
});

builder.objectType(RunNotPausedError, {
  name: 'RunNotPausedError',
  description: 'The run is not PAUSED (it runs, waits or has ended), so it cannot be resumed.',
  interfaces: [ErrorInterface],
  fields: (t) => ({ runId: t.exposeString('runId'), status: t.exposeString('status', { description: 'The status the run has.' }) }),
});

builder.objectType(ConcurrencyConflictError, {
  name: 'ConcurrencyConflictError',
  description: 'startRun with onConflict REJECT (the default) found its concurrencyKey held by an unfinished run.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    runId: t.exposeString('runId', { description: 'The unfinished run that holds the key.' }),
    concurrencyKey: t.exposeString('concurrencyKey'),
  }),
});

builder.objectType(InvalidInputError, {
  name: 'InvalidInputError',
  interfaces: [ErrorInterface],
});

export const GraphProblem = builder.objectRef<Problem>('GraphProblem').implement({
  description: 'One problem of a graph definition: where it is and what to do about it.',
  fields: (t) => ({ path: t.exposeString('path'), message: t.exposeString('message') }),
});

builder.objectType(InvalidGraphError, {
  name: 'InvalidGraphError',
  interfaces: [ErrorInterface],
  fields: (t) => ({ problems: t.field({ type: [GraphProblem], resolve: (e) => e.problems }) }),
});
