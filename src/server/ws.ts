import type { IncomingMessage, Server } from 'node:http';
import { GraphQLError, getOperationAST, type ExecutionArgs } from 'graphql';
import { CloseCode, handleProtocols, makeServer } from 'graphql-ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Socket } from 'node:net';
import { corkForTick, drainedBelowHighWater, hasRoom } from './writes.ts';
import { sinkRoot, sharedJsonReplacer, spliceSharedJson, type DirectSink } from './shared.ts';


/**
 * Writes `next` messages of one subscription straight to the socket, formatted as graphql-ws
 * formats them: each is one unmasked, uncompressed WebSocket text frame built in one buffer from
 * the subscription's prefix and the event's shared JSON, written to the TCP socket directly (ws
 * writes every frame of its own whole and synchronously, so frames never interleave). The socket
 * is corked until the end of the current tick, so the events of one published batch leave in one
 * system call rather than one each.
 */
function socketSink(socket: WebSocket, raw: Socket, id: string): DirectSink {
  // A string, not a Buffer: a small Buffer is a slice of a shared 8 KiB pool slab, and one kept per
  // subscription keeps whole slabs alive.
  const prefix = `{"id":${JSON.stringify(id)},"type":"next","payload":`;
  const prefixBytes = Buffer.byteLength(prefix);
  return {
    send(json) {
      if (socket.readyState !== socket.OPEN) return true;
      corkForTick(raw);
      raw.write(textFrame(prefix, prefixBytes, json));
      return hasRoom(raw);
    },
    drained: () => drainedBelowHighWater(raw),
  };
}

/** An unmasked, final text frame (RFC 6455 §5.2) whose payload is prefix + body + '}'. */
function textFrame(prefix: string, prefixBytes: number, body: Buffer): Buffer {
  const length = prefixBytes + body.length + 1;
  const header = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = 0x81; // FIN, opcode 1 (text)
  if (header === 2) frame[1] = length;
  else if (header === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  frame.write(prefix, header, prefixBytes, 'utf8');
  body.copy(frame, header + prefixBytes);
  frame[header + length - 1] = 0x7d; // '}'
  return frame;
}



interface Extra {
  socket: WebSocket;
  raw: Socket;
}

/**
 * graphql-ws (subprotocol graphql-transport-ws) on the same port and path as HTTP, through the
 * same yoga pipeline (`getEnveloped`): context, query limits and error masking are the HTTP ones.
 * A rejected operation gets an error for that operation only; the socket stays up. Malformed
 * messages close the socket with graphql-ws's codes (4400 and friends), never a crash.
 *
 * This is graphql-ws's server (`makeServer`) on our own small `ws` adapter rather than its
 * use/ws, for what thousands of idle subscribers cost: the adapter keeps no upgrade request per
 * connection, pings every socket from one timer (a socket that has not answered the previous ping
 * by the next is terminated) and sends without a promise per message. The yoga pipeline and its
 * context are built once for all sockets: the context is the server's services, which hold no
 * per-connection state; what is per operation (the socket to write to) is its root value.
 */
export function attachWebSocket<C extends object>(server: Server, yoga: YogaServerInstance<Record<string, unknown>, C>, options: { path: string; maxPayload: number; keepAliveMs?: number }) {
  // No permessage-deflate: subscriptions write their frames uncompressed, straight to the socket.
  const wss = new WebSocketServer({ server, path: options.path, maxPayload: options.maxPayload, perMessageDeflate: false, handleProtocols });
  const enveloped = yoga.getEnveloped({});
  let context: Promise<unknown> | undefined;
  const graphqlWs = makeServer<Record<string, unknown> | undefined, Extra>({
    jsonMessageReplacer: sharedJsonReplacer,
    execute: (args) => enveloped.execute(args as ExecutionArgs) as never,
    subscribe: (args) => enveloped.subscribe(args as ExecutionArgs) as never,
    onSubscribe: async function envelopWsOperation(ctx, id, payload) {
      const { schema, contextFactory, parse, validate } = enveloped;
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
      context ??= Promise.resolve(contextFactory());
      return {
        schema,
        operationName: payload.operationName,
        document,
        variableValues: payload.variables,
        contextValue: (await context) as object,
        rootValue: sinkRoot(socketSink(ctx.extra.socket, ctx.extra.raw, id)),
      };
    },
  });

  const alive = new WeakSet<WebSocket>();
  wss.on('connection', function openGraphqlWs(socket: WebSocket, request: IncomingMessage) {
    const raw = request.socket;
    alive.add(socket);
    socket.on('pong', () => alive.add(socket));
    // ws closes the socket itself on protocol errors (1002, 1009 for an oversized message) and
    // reports them here; nothing else is to be done.
    socket.on('error', () => undefined);
    const closed = graphqlWs.opened(
      {
        protocol: socket.protocol,
        send(data) {
          if (socket.readyState === socket.OPEN) socket.send(spliceSharedJson(data));
        },
        close: (code, reason) => socket.close(code, reason),
        onMessage(cb) {
          socket.on('message', function onGraphqlWsMessage(data) {
            cb(String(data)).catch(function internalError(error: unknown) {
              console.error('flowcast: graphql-ws message handling failed', error);
              socket.close(CloseCode.InternalServerError, 'Internal server error');
            });
          });
        },
      },
      { socket, raw },
    );
    socket.once('close', (code, reason) => void closed(code, String(reason)));
  });

  // One timer pings every socket; one that has not answered since the last round is gone.
  const keepAlive = setInterval(function pingAll() {
    for (const socket of wss.clients) {
      if (!alive.has(socket)) socket.terminate();
      else {
        alive.delete(socket);
        socket.ping();
      }
    }
  }, options.keepAliveMs ?? 12_000).unref();

  return {
    wss,
    async dispose() {
      clearInterval(keepAlive);
      for (const client of wss.clients) client.close(1001, 'Going away');
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
