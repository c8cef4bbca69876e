import { GraphQLError, getOperationAST, type ExecutionArgs } from 'graphql';
import { createHandler } from 'graphql-sse/lib/use/fetch';
import type { Plugin, YogaInitialContext } from 'graphql-yoga';

/**
 * graphql-sse (distinct-connections and single-connection modes) at its own endpoint, through the
 * yoga pipeline like every other transport. It follows yoga's own graphql-sse plugin, with one
 * difference: a query that the limits reject while parsing or validating gets a GraphQL error in
 * the stream, where yoga's plugin lets the throw become a 500 carrying a stack trace.
 */
export function useSse(endpoint = '/graphql/stream'): Plugin<YogaInitialContext> {
  const contextOf = new WeakMap<Request, Record<string, unknown>>();
  let handler: ((request: Request) => Promise<Response>) | undefined;
  return {
    onYogaInit({ yoga }) {
      handler = createHandler(
        {
          async onSubscribe(req, params) {
            const enveloped = yoga.getEnveloped({ ...contextOf.get(req.raw), request: req.raw, params });
            let document;
            try {
              document = enveloped.parse(params.query);
              const errors = enveloped.validate(enveloped.schema, document);
              if (errors.length > 0) return { data: null, errors };
            } catch (error) {
              return { data: null, errors: [error instanceof GraphQLError ? error : new GraphQLError(error instanceof Error ? error.message : String(error))] };
            }
            const args: ExecutionArgs = {
              schema: enveloped.schema,
              document,
              contextValue: await enveloped.contextFactory(),
              variableValues: params.variables ?? null,
              operationName: params.operationName ?? null,
            };
            const operation = getOperationAST(document, params.operationName);
            return (operation?.operation === 'subscription' ? enveloped.subscribe(args) : enveloped.execute(args)) as never;
          },
        },
        yoga.fetchAPI,
      );
    },
    onRequest({ request, endResponse, serverContext }) {
      const path = request.url.split('?')[0] ?? '';
      if (!path.endsWith(endpoint) || !handler) return;
      contextOf.set(request, serverContext as Record<string, unknown>);
      return handler(request).then(endResponse);
    },
  };
}
