import type { IncomingMessage, ServerResponse } from 'node:http';
import { GraphQLError, getOperationAST, type ExecutionArgs, type ExecutionResult } from 'graphql';
import { createHandler } from 'graphql-sse';
import type { YogaServerInstance } from 'graphql-yoga';
import { AppError } from '../common/errors.ts';
import { corkForTick, drainedBelowHighWater, hasRoom } from './writes.ts';
import type { Mask } from './masking.ts';
import { closingIterator, sinkRoot, type DirectSink } from './shared.ts';

interface RequestContext {
  res: ServerResponse;
  sink: ResponseSink;
}

const NEXT = Buffer.from('event: next\ndata: ');
const END = Buffer.from('\n\n');
/** Distinct-connections `next` frames are the same for every subscriber of an event: built once. */
const frames = new WeakMap<Buffer, Buffer>();

/**
 * A distinct-connections stream's `next` messages, written straight to the Node response once its
 * head is out (until then they wait, and so does the subscription).
 */
class ResponseSink implements DirectSink {
  readonly #res: ServerResponse;
  #open = false;
  #opened: (() => void) | undefined;

  constructor(res: ServerResponse) {
    this.#res = res;
  }

  /** The head is written: subscriptions may write. */
  open(): void {
    this.#open = true;
    this.#opened?.();
  }

  send(json: Buffer): boolean {
    const res = this.#res;
    if (!this.#open) return false;
    if (!res.writable) return true;
    let frame = frames.get(json);
    if (!frame) frames.set(json, (frame = Buffer.concat([NEXT, json, END])));
    if (res.socket) corkForTick(res.socket);
    res.write(frame);
    return hasRoom(res);
  }

  drained(): Promise<void> {
    if (!this.#open) return new Promise((resolve) => (this.#opened = resolve));
    return drainedBelowHighWater(this.#res);
  }
}

/**
 * A stream that fails (FELL_BEHIND, say) ends with a `next` carrying the masked error, then
 * `complete`, so the client learns why and where to resume instead of seeing the connection drop.
 */
function endWithError(stream: AsyncIterableIterator<ExecutionResult>, mask: Mask): AsyncIterableIterator<ExecutionResult> {
  let failed = false;
  // closingIterator has throw() too: graphql-sse releases only what looks like an async generator.
  return closingIterator(stream, async function nextOrError() {
    if (failed) return { done: true, value: undefined };
    try {
      return await stream.next();
    } catch (error) {
      failed = true;
      return { done: false, value: { errors: [mask(error)] } };
    }
  });
}

/**
 * graphql-sse (distinct-connections and single-connection modes) at its own endpoint, through the
 * yoga pipeline like every other transport, served straight from node:http (graphql-sse's core
 * handler, no fetch Response in between). A query that the limits reject while parsing or
 * validating gets a GraphQL error in the stream, not a 500. In distinct-connections mode, live
 * subscriptions write their `next` frames to the response themselves (see shared.ts).
 */
export function createSseHandler<C extends object>(yoga: YogaServerInstance<Record<string, unknown>, C>, options: { mask: Mask; maxBodyBytes: number }) {
  const handler = createHandler<IncomingMessage, RequestContext>({
    async onSubscribe(req, params) {
      const enveloped = yoga.getEnveloped({ req: req.raw, res: req.context.res, params });
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
        // Only a distinct-connections stream carries an operation with accept: text/event-stream.
        ...(req.headers.get('accept') === 'text/event-stream' ? { rootValue: sinkRoot(req.context.sink) } : {}),
        variableValues: params.variables ?? null,
        operationName: params.operationName ?? null,
      };
      const operation = getOperationAST(document, params.operationName);
      if (operation?.operation !== 'subscription') return (await enveloped.execute(args)) as ExecutionResult;
      const result = (await enveloped.subscribe(args)) as AsyncIterableIterator<ExecutionResult> | ExecutionResult;
      return Symbol.asyncIterator in result ? endWithError(result, options.mask) : result;
    },
  });

  return async function handleSse(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const sink = new ResponseSink(res);
    // Read here rather than by graphql-sse, so a body over the limit is our INVALID_INPUT (a 400).
    const text = req.method === 'POST' ? await readBody(req, options.maxBodyBytes) : null;
    const [body, init] = await handler({
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: { get: (key) => [req.headers[key] ?? null].flat().join('\n') || null },
      body: text,
      raw: req,
      context: { res, sink },
    });
    res.writeHead(init.status, init.statusText, init.headers);
    if (!body || typeof body === 'string') {
      res.end(body ?? undefined);
      return;
    }
    sink.open();
    const stop = (): void => void body.return(undefined);
    res.once('close', stop);
    try {
      for await (const chunk of body) {
        if (!res.writable) break;
        if (res.socket) corkForTick(res.socket);
        if (!res.write(chunk)) await sink.drained();
      }
    } finally {
      res.off('close', stop);
      res.end();
    }
  };
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      // Keep reading (and dropping) the rest, so the client gets the 400 rather than a reset.
      req.off('data', onData);
      req.resume();
      reject(new AppError('INVALID_INPUT', `request body is larger than ${limit} bytes`));
    };
    req.on('data', onData);
    req.once('error', reject);
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}
