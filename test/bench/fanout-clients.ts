/**
 * The client side of the fan-out benchmark (fanout.ts): thousands of subscribers in one process,
 * written on raw TCP sockets so that the client process is never what limits the measurement.
 *
 * - WsClient: a WebSocket client (RFC 6455 by hand: upgrade request, masked frames out, unmasked
 *   frames in, pong for ping) that speaks graphql-transport-ws (connection_init → connection_ack →
 *   subscribe → next… → complete) or, for the raw baseline, just receives text frames. It never
 *   parses JSON: a frame's type comes from its first bytes.
 * - SseClient: one raw HTTP/1.1 POST with `accept: text/event-stream` (graphql-sse's distinct
 *   connections mode), decoding chunked transfer encoding and counting `event: next` frames with
 *   Buffer.indexOf.
 *
 * Counting is per `Round`: each client counts the `next` messages of its current round; the first
 * `skip` (the run's events replayed on subscribe) mark the client ready, the `target`-th marks it
 * done, and the round records when the last client got there. One chosen client can capture the
 * texts of the messages it counts (so the raw baselines send exactly what Flowcast sent), and a
 * round can collect latencies from a `"t=<ms since epoch>` timestamp in each message.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { deferred, type Deferred } from '../../src/common/async.ts';

/** Milliseconds since the epoch, sub-millisecond, comparable across processes of this machine. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

/** The timestamp the paced benchmark nodes put in their messages: `t=` + 17 characters. */
export function stamp(): string {
  return `t=${now().toFixed(3)}`;
}

function settled<T>(d: Deferred<T>): Deferred<T> {
  d.promise.catch(() => undefined); // failures are observed by whoever awaits; never unhandled
  return d;
}

export interface RoundOptions {
  /** `next` messages per client that are not part of the measurement (the replay on subscribe). */
  skip: number;
  /** Counted messages per client after `skip`. */
  count: number;
  /** Collect receipt − emit latencies from `"t=` stamps, ignoring the first `warm` messages. */
  latency?: { warm: number };
}

/** One measured broadcast across many clients. */
export class Round {
  readonly skip: number;
  readonly target: number;
  readonly warm: number;
  readonly latencies: number[] | undefined;
  /** Texts of the counted messages of the capturing client (WebSocket message or SSE frame). */
  readonly captured: string[] = [];
  /** When the last client received its last counted message (ms since epoch). */
  lastAt = 0;
  readonly ready: Deferred<void> = settled(deferred<void>());
  readonly done: Deferred<void> = settled(deferred<void>());
  readonly completed: Deferred<void> = settled(deferred<void>());
  #readyLeft: number;
  #doneLeft: number;
  #completeLeft: number;

  constructor(clients: number, options: RoundOptions) {
    this.skip = options.skip;
    this.target = options.skip + options.count;
    this.warm = options.latency?.warm ?? 0;
    this.latencies = options.latency ? [] : undefined;
    this.#readyLeft = this.#doneLeft = this.#completeLeft = clients;
    if (clients === 0) {
      this.ready.resolve();
      this.done.resolve();
      this.completed.resolve();
    }
  }

  markReady(): void {
    if (--this.#readyLeft === 0) this.ready.resolve();
  }

  markDone(at: number): void {
    if (at > this.lastAt) this.lastAt = at;
    if (--this.#doneLeft === 0) this.done.resolve();
  }

  markComplete(): void {
    if (--this.#completeLeft === 0) this.completed.resolve();
  }

  fail(reason: string): void {
    const error = new Error(reason);
    this.ready.reject(error);
    this.done.reject(error);
    this.completed.reject(error);
  }
}

/** Counts one client's messages of a round; shared by both client kinds. */
class Counter {
  round: Round | undefined;
  count = 0;
  capture = false;

  attach(round: Round, capture: boolean): void {
    this.round = round;
    this.count = 0;
    this.capture = capture;
    if (round.skip === 0) round.markReady();
  }

  /** Counts one `next`; `text()` gives its text (only called when capturing), `at()` the receipt time. */
  next(text: () => string, at: () => number, stampAt: () => number | undefined): void {
    const round = this.round;
    if (!round) return;
    const n = ++this.count;
    if (n <= round.skip) {
      if (n === round.skip) round.markReady();
      return;
    }
    if (n > round.target) return;
    if (this.capture) round.captured.push(text());
    if (round.latencies && n - round.skip > round.warm) {
      const sent = stampAt();
      if (sent !== undefined) round.latencies.push(at() - sent);
    }
    if (n === round.target) round.markDone(at());
  }
}

const STAMP_MARK = Buffer.from('"t=');
const TYPE_NEXT = Buffer.from('"type":"next"');
const QUOTE = 0x22;

/** The `"t=<ms>` stamp in buf[start, end), if any. */
function stampIn(buf: Buffer, start: number, end: number): number | undefined {
  const at = buf.indexOf(STAMP_MARK, start);
  if (at === -1 || at >= end) return undefined;
  const close = buf.indexOf(QUOTE, at + 3);
  const value = Number(buf.toString('latin1', at + 3, close === -1 || close > end ? end : close));
  return Number.isFinite(value) ? value : undefined;
}

/** Every client socket reads into this one buffer (net's `onread`): no stream, no allocation per read. */
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

interface Opened {
  socket: Socket;
  /** The response head, without the final CRLF CRLF. */
  head: string;
  /** Where body bytes go from now on (bytes that came with the head are replayed into it). Called with a
   *  view of the shared read buffer: copy what must outlive the call. */
  setSink(sink: (bytes: Buffer) => void): void;
}

/** Connects, writes `request`, and resolves with the response head. */
function openRaw(port: number, request: string): Promise<Opened> {
  return new Promise((resolve, reject) => {
    let head: Buffer = Buffer.alloc(0);
    let headDone = false;
    let sink: ((bytes: Buffer) => void) | undefined;
    let early: Buffer[] = [];
    const socket = connect({
      host: '127.0.0.1',
      port,
      noDelay: true,
      onread: {
        buffer: READ_BUFFER,
        callback(n) {
          const bytes = READ_BUFFER.subarray(0, n);
          if (headDone) {
            if (sink) sink(bytes);
            else early.push(Buffer.from(bytes));
            return true;
          }
          head = Buffer.concat([head, bytes]);
          const end = head.indexOf('\r\n\r\n');
          if (end === -1) return true;
          headDone = true;
          if (end + 4 < head.length) early.push(head.subarray(end + 4));
          socket.off('error', onError).off('close', onClose);
          resolve({
            socket,
            head: head.toString('latin1', 0, end),
            setSink(next) {
              sink = next;
              for (const chunk of early) next(chunk);
              early = [];
            },
          });
          return true;
        },
      },
    });
    const onError = (error: Error): void => reject(error);
    const onClose = (): void => reject(new Error(`connection closed before the response head; got ${JSON.stringify(head.toString('latin1').slice(0, 200))}`));
    socket.once('connect', () => socket.write(request)).on('error', onError).on('close', onClose);
  });
}

/** A masked client frame (FIN set) with the given opcode. */
function clientFrame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const head = len < 126 ? 2 : len < 65_536 ? 4 : 10;
  const out = Buffer.allocUnsafe(head + 4 + len);
  out[0] = 0x80 | opcode;
  if (len < 126) out[1] = 0x80 | len;
  else if (len < 65_536) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeBigUInt64BE(BigInt(len), 2);
  }
  const mask = randomBytes(4);
  mask.copy(out, head);
  for (let i = 0; i < len; i++) out[head + 4 + i] = payload[i]! ^ mask[i & 3]!;
  return out;
}

/** A WebSocket client that counts text messages; speaks graphql-transport-ws when asked to. */
export class WsClient {
  readonly #socket: Socket;
  readonly #counter = new Counter();
  #rest: Buffer | undefined;
  #ack: Deferred<void> | undefined;
  #closedByUs = false;
  /** Messages that were neither next, complete nor connection_ack (errors), for diagnostics. */
  readonly unexpected: string[] = [];

  private constructor(socket: Socket) {
    this.#socket = socket;
  }

  /** Connects and upgrades; `protocol` is the Sec-WebSocket-Protocol to ask for. */
  static async open(port: number, path: string, protocol?: string): Promise<WsClient> {
    const key = randomBytes(16).toString('base64');
    const request =
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${protocol ? `Sec-WebSocket-Protocol: ${protocol}\r\n` : ''}\r\n`;
    const { socket, head, setSink } = await openRaw(port, request);
    if (!head.startsWith('HTTP/1.1 101')) {
      socket.destroy();
      throw new Error(`WebSocket upgrade refused: ${head.split('\r\n')[0]}`);
    }
    const client = new WsClient(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (!client.#closedByUs) client.#counter.round?.fail('a WebSocket closed during the round');
    });
    setSink((bytes) => client.#onData(bytes));
    return client;
  }

  sendText(text: string): void {
    this.#socket.write(clientFrame(0x1, Buffer.from(text)));
  }

  /** graphql-transport-ws: connection_init, resolved on connection_ack. */
  init(): Promise<void> {
    this.#ack = settled(deferred<void>());
    this.sendText('{"type":"connection_init"}');
    return this.#ack.promise;
  }

  /** graphql-transport-ws subscribe; its next messages count towards `round`. */
  subscribe(id: string, query: string, variables: Record<string, unknown>, round: Round, capture = false): void {
    this.#counter.attach(round, capture);
    this.sendText(JSON.stringify({ id, type: 'subscribe', payload: { query, variables } }));
  }

  /** Raw baseline: every text frame from now on counts towards `round`. */
  attach(round: Round, capture = false): void {
    this.#counter.attach(round, capture);
  }

  close(): void {
    this.#closedByUs = true;
    this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    const buf = this.#rest ? Buffer.concat([this.#rest, chunk]) : chunk;
    this.#rest = undefined;
    let receivedAt = 0;
    const at = (): number => (receivedAt ||= now());
    let pos = 0;
    while (buf.length - pos >= 2) {
      const b0 = buf[pos]!;
      let len = buf[pos + 1]! & 0x7f;
      let head = 2;
      if (len === 126) {
        if (buf.length - pos < 4) break;
        len = buf.readUInt16BE(pos + 2);
        head = 4;
      } else if (len === 127) {
        if (buf.length - pos < 10) break;
        len = Number(buf.readBigUInt64BE(pos + 2));
        head = 10;
      }
      if (buf.length - pos < head + len) break;
      this.#onFrame(b0 & 0x0f, buf, pos + head, pos + head + len, at);
      pos += head + len;
    }
    // `chunk` is a view of the shared read buffer: keep a copy of an incomplete frame.
    if (pos < buf.length) this.#rest = Buffer.from(buf.subarray(pos));
  }

  #onFrame(opcode: number, buf: Buffer, start: number, end: number, at: () => number): void {
    if (opcode === 0x9) {
      this.#socket.write(clientFrame(0xa, buf.subarray(start, end)));
      return;
    }
    if (opcode === 0x8) {
      this.#socket.end(); // the server closed; 'close' fails the round if that was not expected
      return;
    }
    if (opcode !== 0x1) return;
    // graphql-ws writes `{"id":"…","type":"next",…`: the type is within the first few dozen bytes
    // (the payload's own "type" fields hold event type names, never "next").
    const next = buf.indexOf(TYPE_NEXT, start);
    if (next !== -1 && next < start + 48 && next < end) {
      this.#counter.next(() => buf.toString('utf8', start, end), at, () => stampIn(buf, start, end));
      return;
    }
    const head = buf.toString('latin1', start, Math.min(end, start + 48));
    if (head.includes('"type":"complete"')) {
      this.#counter.round?.markComplete();
    } else if (head.includes('"type":"connection_ack"')) {
      this.#ack?.resolve();
    } else {
      this.unexpected.push(buf.toString('utf8', start, Math.min(end, start + 500)));
      this.#counter.round?.fail(`unexpected message: ${this.unexpected.at(-1)}`);
    }
  }
}

const NEXT = Buffer.from('event: next\n');
const LF = 0x0a;
const noText = (): string => ''; // SSE capture cuts frames from the kept body text instead
const noStamp = (): undefined => undefined;

/**
 * One graphql-sse subscription in distinct connections mode: a POST whose response is the event
 * stream. Counts `event: next` frames; with `capture`, keeps the decoded stream so fanout.ts can
 * take Flowcast's frames for the raw baseline.
 */
export class SseClient {
  readonly #socket: Socket;
  readonly #counter = new Counter();
  readonly #chunked: boolean;
  /** Chunked decoding: data bytes of the current chunk still to come (0: reading a size line). */
  #left = 0;
  /** Bytes to skip (the CRLF after a chunk's data). */
  #skip = 0;
  #size = 0;
  #sizeDone = false;
  /** How many bytes of the `event: next` marker the last body piece ended with. */
  #partial = 0;
  #keepText = false;
  #text = '';
  #ended = false;

  private constructor(socket: Socket, chunked: boolean) {
    this.#socket = socket;
    this.#chunked = chunked;
  }

  /**
   * POSTs `body` to `path` asking for text/event-stream; resolves once the response head (status
   * 200) is in. `round` counts from the first byte of the body.
   */
  static async open(port: number, path: string, body: string, round: Round, capture = false): Promise<SseClient> {
    const request =
      `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
      `Accept: text/event-stream\r\nConnection: keep-alive\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    const { socket, head, setSink } = await openRaw(port, request);
    if (!/^HTTP\/1\.1 200/.test(head)) {
      socket.destroy();
      throw new Error(`SSE request refused: ${head.split('\r\n')[0]}`);
    }
    const client = new SseClient(socket, /\r\ntransfer-encoding:\s*chunked/i.test(head));
    client.#counter.attach(round, false);
    client.#keepText = capture;
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (!client.#ended) client.#counter.round?.fail('an SSE response closed before it ended');
    });
    setSink((bytes) => client.#onData(bytes));
    return client;
  }

  /** Raw baseline: from now on `next` frames count towards `round`. */
  attach(round: Round): void {
    this.#counter.attach(round, false);
  }

  /** The decoded response body so far (only kept when opened with `capture`). */
  get text(): string {
    return this.#text;
  }

  close(): void {
    this.#ended = true;
    this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    let receivedAt = 0;
    const at = (): number => (receivedAt ||= now());
    if (!this.#chunked) {
      this.#payload(chunk, 0, chunk.length, at);
      return;
    }
    // Chunked transfer encoding, decoded in place: no strings, no copies.
    let pos = 0;
    const length = chunk.length;
    while (pos < length) {
      if (this.#left > 0) {
        const end = Math.min(length, pos + this.#left);
        this.#payload(chunk, pos, end, at);
        this.#left -= end - pos;
        pos = end;
        if (this.#left === 0) this.#skip = 2; // the CRLF after the data
        continue;
      }
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, length - pos);
        this.#skip -= n;
        pos += n;
        continue;
      }
      // The size line: hex digits, maybe extensions, CRLF.
      const c = chunk[pos++]!;
      if (c === LF) {
        const size = this.#size;
        this.#size = 0;
        this.#sizeDone = false;
        if (size === 0) {
          this.#ended = true;
          this.#counter.round?.markComplete();
          this.#socket.destroy();
          return;
        }
        this.#left = size;
      } else if (!this.#sizeDone) {
        const digit = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
        if (digit === -1) this.#sizeDone = true;
        else this.#size = this.#size * 16 + digit;
      }
    }
  }

  /** Counts `event: next` markers in body bytes buf[start, end), including one split across reads. */
  #payload(buf: Buffer, start: number, end: number, at: () => number): void {
    if (start === end) return;
    const counter = this.#counter;
    if (this.#keepText) this.#text += buf.toString('utf8', start, end);
    let from = start;
    if (this.#partial > 0) {
      // The previous piece ended with the first #partial bytes of the marker.
      const need = Math.min(NEXT.length - this.#partial, end - start);
      const matches = NEXT.compare(buf, start, start + need, this.#partial, this.#partial + need) === 0;
      this.#partial = matches ? this.#partial + need : 0;
      if (this.#partial === NEXT.length) {
        this.#partial = 0;
        from = start + need;
        counter.next(noText, at, noStamp);
      } else if (this.#partial > 0) return;
    }
    let i = buf.indexOf(NEXT, from);
    for (; i !== -1 && i + NEXT.length <= end; i = buf.indexOf(NEXT, i + NEXT.length)) counter.next(noText, at, noStamp);
    // Does the piece end with the beginning of a marker?
    for (let k = Math.min(NEXT.length - 1, end - from); k > 0; k--) {
      if (buf[end - k] === NEXT[0] && NEXT.compare(buf, end - k, end, 0, k) === 0) {
        this.#partial = k;
        break;
      }
    }
  }
}

/** Opens `count` things with at most `concurrency` attempts in flight (the listen backlog is finite). */
export async function openAll<T>(count: number, concurrency: number, open: (index: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array<T>(count);
  let nextIndex = 0;
  const worker = async (): Promise<void> => {
    while (nextIndex < count) {
      const i = nextIndex++;
      out[i] = await open(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return out;
}
