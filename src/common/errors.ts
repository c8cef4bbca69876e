/**
 * The one error type of Flowcast. Every expected failure carries a code from a closed union and a
 * message that tells the reader what to fix; `details` holds structured extras (for example the
 * list of graph validation problems, or the seq to resume after).
 */
export type ErrorCode =
  | 'INVALID_INPUT'
  | 'INVALID_GRAPH'
  | 'INVALID_CONFIG'
  | 'GRAPH_NOT_FOUND'
  | 'RUN_NOT_FOUND'
  | 'RUN_NOT_PAUSED'
  | 'CONCURRENCY_CONFLICT'
  | 'NODE_KIND_NOT_FOUND'
  | 'NODE_FAILED'
  | 'NODE_TIMEOUT'
  | 'RUN_TIMEOUT'
  | 'MAX_STEPS'
  | 'CANCELLED'
  | 'FELL_BEHIND'
  | 'RECOVERY_FAILED'
  | 'EXPRESSION_FAILED'
  | 'INTERNAL';

export interface Problem {
  /** Where the problem is, e.g. `nodes[2].kind` or `edges[0].to`. */
  path: string;
  /** What is wrong and what to do about it. */
  message: string;
}

export class AppError extends Error {
  override readonly name = 'AppError';
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.details = details;
  }

  toJSON(): SerializedError {
    return { code: this.code, message: this.message };
  }
}

/** The shape an error takes inside events, snapshots and the API. */
export interface SerializedError {
  code: ErrorCode;
  message: string;
}

/** Wraps anything thrown into an AppError, keeping AppErrors as they are. */
export function toAppError(error: unknown, fallback: ErrorCode = 'INTERNAL'): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof Error) return new AppError(fallback, error.message || error.name, {}, { cause: error });
  return new AppError(fallback, typeof error === 'string' ? error : `non-Error value thrown: ${safeString(error)}`);
}

function safeString(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Formats a list of problems as one readable block, one `path: message` per line. */
export function formatProblems(problems: readonly Problem[]): string {
  return problems.map((p) => `${p.path}: ${p.message}`).join('\n');
}
