import type { Server } from 'node:http';
import { GraphQLError, getOperationAST, type ExecutionArgs } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import { sharedJsonReplacer, spliceSharedPayloads } from './shared.ts';

interface Enveloped {
  execute: (args: ExecutionArgs) => unknown;
  subscribe: (args: ExecutionArgs) => unknown;
}

/**
 * graphql-ws (subprotocol graphql-transport-ws) on the same port and path as HTTP, through the
 * same yoga pipeline (`getEnveloped`): context, query limits and error masking are the HTTP ones.
 * A rejected operation gets an error for that operation only; the socket stays up. Malformed
 * messages close the socket with graphql-ws's codes (4400 and friends), never a crash.
 */
export function attachWebSocket<C extends object>(server: Server, yoga: YogaServerInstance<Record<string, unknown>, C>, options: { path: string; maxPayload: number }) {
  const wss = new WebSocketServer({ server, path: options.path, maxPayload: options.maxPayload });
  // Registered before graphql-ws's own connection listener, so it wraps send before first use.
  spliceSharedPayloads(wss);
  const disposable = useServer(
    {
      jsonMessageReplacer: sharedJsonReplacer,
      execute: (args) => (args.rootValue as Enveloped).execute(args as ExecutionArgs) as never,
      subscribe: (args) => (args.rootValue as Enveloped).subscribe(args as ExecutionArgs) as never,
      onSubscribe: async function envelopWsOperation(ctx, _id, payload) {
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params: payload,
        });
        let document;
        try {
          document = parse(payload.query);
          const errors = validate(schema, document);
          if (errors.length > 0) return errors;
        } catch (error) {
          // Query limits reject while parsing or validating; that ends this operation, not the socket.
          return [error instanceof GraphQLError ? error : new GraphQLError(error instanceof Error ? error.message : String(error))];
        }
        if (!getOperationAST(document, payload.operationName)) return [new GraphQLError('no operation to run; check operationName')];
        return {
          schema,
          operationName: payload.operationName,
          document,
          variableValues: payload.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        };
      },
    },
    wss,
  );
  return { wss, dispose: () => disposable.dispose() };
}
