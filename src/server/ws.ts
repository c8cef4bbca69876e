import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import { GraphQLError, getOperationAST, type DocumentNode, type ExecutionArgs, type OperationTypeNode } from 'graphql';
import { CloseCode, MessageType, handleProtocols, makeServer, parseMessage, type Context, type Message, type SubscribeMessage, type SubscribePayload, type WebSocket as GraphqlWsSocket } from 'graphql-ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { WsSubscription, type SubscriptionSocket } from './ws-subscriptions.ts';

function ignoreError(): void {}

/** graphql-ws's default: a socket that has not sent connection_init by then is closed with 4408. */
const CONNECTION_INIT_WAIT_MS = 3_000;

type WsContext = Context<Record<string, unknown> | undefined, Connection>;

/** Parses, validates and picks the operation through the yoga pipeline; errors are for this operation only. */
type Prepare = (payload: SubscribePayload) => { document: DocumentNode; operation: OperationTypeNode } | readonly GraphQLError[];

/** Serves one subscription operation itself; false when `message` is not one (graphql-ws then handles it). */
type Subscribe = (connection: Connection, ctx: WsContext, message: SubscribeMessage) => boolean;

/**
 * One socket: graphql-ws's WebSocket (what makeServer talks to) and the owner of the
 * subscriptions served here. Everything graphql-ws's `opened()` would keep per socket beyond its
 * own handler lives in this one object's fields, none in closures.
 */
class Connection implements GraphqlWsSocket, SubscriptionSocket {
  readonly socket: WebSocket;
  readonly raw: Socket;
  readonly #subscribe: Subscribe;
  /** Answered the last keep-alive ping (or is new). */
  alive = true;
  #handle: ((data: string) => Promise<void>) | undefined;
  #closed: ((code?: number, reason?: string) => Promise<void>) | undefined;
  /** graphql-ws's context, known from connection_init on (see `initialised`). */
  #ctx: WsContext | undefined;
  #initWait: NodeJS.Timeout | undefined;

  constructor(socket: WebSocket, raw: Socket, subscribe: Subscribe) {
    this.socket = socket;
    this.raw = raw;
    this.#subscribe = subscribe;
    this.#initWait = setTimeout(() => {
      if (!this.#ctx) this.close(CloseCode.ConnectionInitialisationTimeout, 'Connection initialisation timeout');
    }, CONNECTION_INIT_WAIT_MS);
  }

  get protocol(): string {
    return this.socket.protocol;
  }

  send(data: string): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(data);
  }

  close(code: number, reason: string): void {
    this.socket.close(code, reason);
  }

  onMessage(handle: (data: string) => Promise<void>): void {
    this.#handle = handle;
  }

  fail(error: unknown): void {
    console.error('flowcast: graphql-ws message handling failed', error);
    this.close(CloseCode.InternalServerError, 'Internal server error');
  }

  /** graphql-ws's `opened()` result: what to call when the socket closes. */
  opened(closed: (code?: number, reason?: string) => Promise<void>): void {
    this.#closed = closed;
  }

  /** connection_init arrived (graphql-ws's onConnect): no more init timeout; its context is ours to read. */
  initialised(ctx: WsContext): void {
    this.#ctx = ctx;
    clearTimeout(this.#initWait);
    this.#initWait = undefined;
  }

  /** A subscribe of a subscription operation, once acknowledged, is served here; anything else goes to graphql-ws. */
  receive(data: string): void {
    const ctx = this.#ctx;
    if (ctx?.acknowledged) {
      let message: Message | undefined;
      try {
        message = parseMessage(data);
      } catch {
        // graphql-ws closes the socket for it (4400).
      }
      if (message?.type === MessageType.Subscribe && !(message.id in ctx.subscriptions) && this.#subscribe(this, ctx, message)) return;
    }
    this.#handle?.(data).catch((error: unknown) => this.fail(error));
  }

  closed(code: number, reason: string): void {
    clearTimeout(this.#initWait);
    this.#initWait = undefined;
    void this.#closed?.(code, reason);
  }
}

/**
 * graphql-ws (subprotocol graphql-transport-ws) on the same port and path as HTTP, through the
 * same yoga pipeline (`getEnveloped`): context, query limits and error masking are the HTTP ones.
 * A rejected operation gets an error for that operation only; the socket stays up. Malformed
 * messages close the socket with graphql-ws's codes (4400 and friends), never a crash.
 *
 * graphql-ws's server (`makeServer`) handles connection_init, ping/pong, complete, queries,
 * mutations and every operation that fails to parse or validate, on our own small `ws` adapter
 * rather than its use/ws, for what thousands of idle subscribers cost: the adapter keeps no upgrade
 * request per connection, pings every socket from one timer (a socket that has not answered the
 * previous ping by the next is terminated), sends without a promise per message, and clears the
 * connection_init timer once init arrives. Subscription operations are served by WsSubscription
 * (see there), with graphql-ws's protocol rules and its context's subscription registry. The yoga
 * pipeline and its context are built once for all sockets: the context is the server's services,
 * which hold no per-connection state; what is per operation (the socket to write to) is its root
 * value.
 */
export function attachWebSocket<C extends object>(server: Server, yoga: YogaServerInstance<Record<string, unknown>, C>, options: { path: string; maxPayload: number; keepAliveMs?: number }) {
  // No permessage-deflate: subscriptions write their frames uncompressed, straight to the socket.
  const wss = new WebSocketServer({ server, path: options.path, maxPayload: options.maxPayload, perMessageDeflate: false, handleProtocols });
  const enveloped = yoga.getEnveloped({});
  const { schema } = enveloped;
  let context: Promise<object> | undefined;
  const sharedContext = (): Promise<object> => (context ??= Promise.resolve(enveloped.contextFactory() as object));
  const subscribeFn = (args: ExecutionArgs): Promise<unknown> => Promise.resolve(enveloped.subscribe(args));

  const prepare: Prepare = function prepareOperation(payload) {
    let document;
    try {
      document = enveloped.parse(payload.query);
      const errors = enveloped.validate(schema, document);
      if (errors.length > 0) return errors;
    } catch (error) {
      // Query limits reject while parsing or validating; that ends this operation, not the socket.
      return [error instanceof GraphQLError ? error : new GraphQLError(error instanceof Error ? error.message : String(error))];
    }
    const operation = getOperationAST(document, payload.operationName);
    if (!operation) return [new GraphQLError('no operation to run; check operationName')];
    return { document, operation: operation.operation };
  };

  const subscribe: Subscribe = function subscribeOperation(connection, ctx, { id, payload }) {
    const prepared = prepare(payload);
    if (!('document' in prepared) || prepared.operation !== 'subscription') return false;
    const subscription = new WsSubscription(connection, ctx.subscriptions, id);
    const { document } = prepared;
    sharedContext()
      .then((contextValue) => subscription.start(subscribeFn, { schema, document, operationName: payload.operationName, variableValues: payload.variables, contextValue }))
      .catch((error: unknown) => connection.fail(error));
    return true;
  };

  const graphqlWs = makeServer<Record<string, unknown> | undefined, Connection>({
    connectionInitWaitTimeout: 0, // Connection keeps its own, cleared at connection_init
    execute: (args) => enveloped.execute(args as ExecutionArgs) as never,
    subscribe: (args) => enveloped.subscribe(args as ExecutionArgs) as never,
    onConnect(ctx) {
      ctx.extra.initialised(ctx);
    },
    onSubscribe: async function envelopWsOperation(_ctx, _id, payload) {
      const prepared = prepare(payload);
      if (!('document' in prepared)) return [...prepared];
      return { schema, operationName: payload.operationName, document: prepared.document, variableValues: payload.variables, contextValue: await sharedContext() };
    },
  });

  // The socket's listeners are shared by every socket (`this` is the socket), not closures per socket.
  const connections = new WeakMap<WebSocket, Connection>();
  function receiveMessage(this: WebSocket, data: RawData): void {
    connections.get(this)?.receive(String(data));
  }
  function closeConnection(this: WebSocket, code: number, reason: Buffer): void {
    connections.get(this)?.closed(code, String(reason));
  }
  function answeredPing(this: WebSocket): void {
    const connection = connections.get(this);
    if (connection) connection.alive = true;
  }
  wss.on('connection', function openGraphqlWs(socket: WebSocket, request: IncomingMessage) {
    const connection = new Connection(socket, request.socket, subscribe);
    connections.set(socket, connection);
    socket.on('pong', answeredPing);
    // ws closes the socket itself on protocol errors (1002, 1009 for an oversized message) and
    // reports them here; nothing else is to be done.
    socket.on('error', ignoreError);
    socket.on('message', receiveMessage);
    socket.on('close', closeConnection);
    connection.opened(graphqlWs.opened(connection, connection));
  });

  // One timer pings every socket; one that has not answered since the last round is gone.
  const keepAlive = setInterval(function pingAll() {
    for (const socket of wss.clients) {
      const connection = connections.get(socket);
      if (!connection) continue;
      if (!connection.alive) socket.terminate();
      else {
        connection.alive = false;
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
