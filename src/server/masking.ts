import { GraphQLError, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { AppError } from '../common/errors.ts';

export type Mask = (error: unknown) => GraphQLError;

/**
 * Expected failures (AppError) keep their message, with `extensions.code` and details; anything
 * else becomes "Unexpected error." unless `dev`. The same GraphQLError object is returned where it
 * can be, so nothing is copied for errors that need no change.
 */
export function makeMask(dev: boolean): Mask {
  return function mask(error) {
    const located = error instanceof GraphQLError ? error : undefined;
    const original = located ? located.originalError : error;
    if (original instanceof AppError) {
      const extensions = { code: original.code, ...original.details };
      if (located) return Object.assign(located, { extensions: { ...located.extensions, ...extensions } });
      return new GraphQLError(original.message, { extensions });
    }
    // GraphQL's own errors (syntax, validation, coercion) carry no originalError and are for the client.
    if (located && !located.originalError) return located;
    if (dev) return located ?? new GraphQLError(error instanceof Error ? error.message : String(error));
    return new GraphQLError('Unexpected error.', { ...(located?.nodes ? { nodes: located.nodes } : {}), ...(located?.path ? { path: located.path } : {}), extensions: { code: 'INTERNAL' } });
  };
}

export function maskResult(result: ExecutionResult, mask: Mask): ExecutionResult {
  return result.errors ? { ...result, errors: result.errors.map(mask) } : result;
}

/**
 * Error masking for results of queries, mutations and subscription setup. Unlike yoga's built-in
 * masking it does not wrap every subscription stream in a per-subscriber iterator (a promise chain
 * per event per subscriber): subscription events, and the errors that end a stream, are masked
 * where they are executed, once, by the shared execution (see shared.ts).
 */
export function useMasking(mask: Mask): Plugin {
  return {
    onExecute() {
      return {
        onExecuteDone({ result, setResult }) {
          if (!(Symbol.asyncIterator in result) && result.errors) setResult(maskResult(result, mask));
        },
      };
    },
    onSubscribe() {
      return {
        onSubscribeResult({ result, setResult }) {
          // A subscription whose setup failed yields { errors } without data; graphql-sse only
          // recognises a result that has a data key (else: "Unable to detect operation AST"), so
          // it gets data: null, as the GraphQL spec allows.
          if (!(Symbol.asyncIterator in result) && result.errors) setResult({ data: null, ...maskResult(result, mask) });
        },
        // No onSubscribeError: envelop would wrap every stream in one more iterator (a pending
        // promise per idle subscriber) to call it, and the streams of the shared execution (the
        // only subscribe function, see shared.ts) already throw masked errors.
      };
    },
  };
}
