import jsonata from 'jsonata';
import { AppError } from '../common/errors.ts';
import type { JsonValue } from '../common/json.ts';

/** Limits every expression evaluation: a runaway or deeply recursive expression fails, it never hangs a run. */
const LIMITS = { timeout: 1_000, stack: 500 } as const;

export interface Expression {
  source: string;
  /** Evaluates over `input`; undefined when the expression selects nothing. Throws AppError EXPRESSION_FAILED. */
  evaluate(input: unknown): Promise<JsonValue | undefined>;
}

/** Parses a JSONata expression; returns a message instead when it does not parse. */
export function parseExpression(source: string): { ok: true; expression: Expression } | { ok: false; error: string } {
  if (source.trim() === '') return { ok: false, error: 'expression is empty' };
  let compiled: jsonata.Expression;
  try {
    compiled = jsonata(source, LIMITS);
  } catch (error) {
    return { ok: false, error: `invalid JSONata expression: ${jsonataMessage(error)}` };
  }
  return {
    ok: true,
    expression: {
      source,
      async evaluate(input) {
        try {
          return (await compiled.evaluate(input)) as JsonValue | undefined;
        } catch (error) {
          throw new AppError('EXPRESSION_FAILED', `expression ${JSON.stringify(source)} failed: ${jsonataMessage(error)}`);
        }
      },
    },
  };
}

function jsonataMessage(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const e = error as { message?: unknown; position?: unknown; code?: unknown };
    const position = typeof e.position === 'number' ? ` (at character ${e.position})` : '';
    if (typeof e.message === 'string') return `${e.message}${position}`;
    if (typeof e.code === 'string') return `JSONata error ${e.code}${position}`;
  }
  return String(error);
}

/** JSONata truthiness, as its boolean() function defines it. */
export function isTruthy(value: JsonValue | undefined): boolean {
  if (value === undefined || value === null || value === false || value === 0 || value === '') return false;
  if (Array.isArray(value)) return value.some((v) => isTruthy(v));
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}
