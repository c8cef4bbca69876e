/**
 * What the SDK throws. `code` is the server's error code (`RUN_NOT_FOUND`, `GRAPH_NOT_FOUND`,
 * `INVALID_INPUT`, …; from a typed error in the schema or a GraphQL error's `extensions.code`), or
 * one of the SDK's own: `DISCONNECTED` (gave up reconnecting), `NETWORK` (a request failed),
 * `GRAPHQL` (an error without a code).
 */
export class FlowcastError extends Error {
  override name = 'FlowcastError';
  readonly code: string;
  /** The GraphQL error's extensions, or the typed error object. */
  readonly details: Record<string, unknown>;

  constructor(code: string, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.details = details;
  }

  /** From the errors of a GraphQL response: the first one's message and code. */
  static fromGraphQLErrors(errors: ReadonlyArray<{ message: string; extensions?: Record<string, unknown> | undefined }>): FlowcastError {
    const first = errors[0];
    const extensions = first?.extensions ?? {};
    const code = typeof extensions['code'] === 'string' ? extensions['code'] : 'GRAPHQL';
    return new FlowcastError(code, errors.map((e) => e.message).join('; ') || 'GraphQL error', extensions);
  }
}
