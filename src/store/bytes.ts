import { AppError } from '../common/errors.ts';

/**
 * The bytes of a binary event batch (migration 012, see batch.ts): JSON values, each a tag byte
 * and what the tag says follows. What a value reads back as is what JSON.parse(JSON.stringify(v))
 * gives for it in a list, but most values take no JSON text and no call into V8's serializer:
 *
 * - 0x00–0x7f: that integer;
 * - UINT: an integer of 128 to 2^32 - 1, as a varint (7 bits a byte, low bits first);
 * - FLOAT: any other number, as a little-endian float64; NaN and ±Infinity are NULL, as JSON writes them;
 * - STRING: a varint length, then the string's bytes (ASCII strings only; any other is JSON);
 * - NULL, TRUE, FALSE;
 * - OBJECT: a plain object (its prototype Object.prototype or null, no toJSON): its keys, each a
 *   value (STRING or JSON) followed by its value, then END; keys whose values JSON leaves out
 *   (undefined, a function, a symbol) are left out too;
 * - ARRAY: a list (an Array with Array.prototype): a varint length, then its items, those JSON
 *   writes as null written NULL;
 * - JSON: a varint byte length, then the UTF-8 of the value's JSON.stringify: any other object (a
 *   Date, a Map, one with toJSON), a plain object or list nested MAX_DEPTH deep (where a cycle
 *   then fails as in JSON.stringify), and a string with any non-ASCII character (JSON escapes a
 *   lone surrogate, which UTF-8 cannot hold);
 * - SAME: not a JSON value; what batch.ts writes for an `at` equal to the entry before's.
 *
 * Why: on Node 20, JSON.stringify of a short run's events took 15-25 µs, more than a tenth of the
 * run stored; about 20 ns a value however small, 60-120 for each nested list or object, and 200
 * for a call on a small object such as a node's `{"n":1}`. JSON.parse of one took 270.
 */
export const TAG = { UINT: 0x80, FLOAT: 0x81, STRING: 0x82, NULL: 0x83, TRUE: 0x84, FALSE: 0x85, OBJECT: 0x86, END: 0x87, ARRAY: 0x88, JSON: 0x89, SAME: 0x8a } as const;
/** Plain objects and lists nested deeper than this are written as JSON. */
const MAX_DEPTH = 32;
const MAX_INLINE = 0x7f;
const MAX_UINT = 0xffff_ffff;

/** A ByteWriter's buffer to begin with, and the size past which `reset` lets a grown one go. */
const INITIAL_BYTES = 16 * 1024;
const KEPT_BYTES = 1024 * 1024;

/**
 * Writes into one growing buffer, reused for every batch: `take` copies out what was written
 * since `start`. Not reentrant: batch.ts keeps one, used within one synchronous call at a time.
 */
export class ByteWriter {
  #buffer = Buffer.allocUnsafeSlow(INITIAL_BYTES);
  #view = new DataView(this.#buffer.buffer, this.#buffer.byteOffset, this.#buffer.byteLength);
  pos = 0;

  /** Starts writing from the beginning again; a buffer that one large value grew past KEPT_BYTES is let go. */
  reset(): void {
    this.pos = 0;
    if (this.#buffer.length > KEPT_BYTES) this.#allocate(INITIAL_BYTES);
  }

  /** Makes room for `bytes` more. */
  reserve(bytes: number): void {
    if (this.pos + bytes <= this.#buffer.length) return;
    const old = this.#buffer;
    this.#allocate(Math.max(old.length * 2, this.pos + bytes));
    old.copy(this.#buffer, 0, 0, this.pos);
  }

  #allocate(bytes: number): void {
    this.#buffer = Buffer.allocUnsafeSlow(bytes);
    this.#view = new DataView(this.#buffer.buffer, this.#buffer.byteOffset, this.#buffer.byteLength);
  }

  /** A copy of the bytes from `start` to the end. */
  take(start: number): Buffer {
    return Buffer.from(this.#buffer.subarray(start, this.pos));
  }

  byte(value: number): void {
    this.reserve(1);
    this.#buffer[this.pos++] = value;
  }

  /** An integer of 0 to 2^32 - 1 as a varint; the caller reserved 5 bytes. */
  varint(value: number): void {
    const buffer = this.#buffer;
    while (value > 0x7f) {
      buffer[this.pos++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    buffer[this.pos++] = value;
  }

  /**
   * A JSON value, tagged. Returns false, writing nothing, for undefined, a function or a symbol:
   * values that JSON.stringify leaves out of an object and writes as null in a list. Throws what
   * JSON.stringify throws (a BigInt, a cycle).
   */
  value(value: unknown, depth = 0): boolean {
    switch (typeof value) {
      case 'number':
        this.number(value);
        return true;
      case 'string':
        this.string(value);
        return true;
      case 'boolean':
        this.byte(value ? TAG.TRUE : TAG.FALSE);
        return true;
      case 'object':
        if (value === null) this.byte(TAG.NULL);
        else this.#object(value, depth);
        return true;
      case 'bigint':
        this.json(value);
        return true;
      default:
        return false;
    }
  }

  /** A value that is usually a small integer (a step, an attempt): that case at once, any other as value(). */
  int(value: unknown): boolean {
    if (typeof value === 'number' && (value & 0x7f) === value) {
      this.reserve(1);
      this.#buffer[this.pos++] = value;
      return true;
    }
    return this.value(value);
  }

  /** A value that is usually a string (a node id): that case at once, any other as value(). */
  str(value: unknown): boolean {
    if (typeof value !== 'string') return this.value(value);
    this.string(value);
    return true;
  }

  /** A non-null object: OBJECT or ARRAY when it is a plain one within MAX_DEPTH, else JSON. */
  #object(value: object, depth: number): void {
    const proto: unknown = Object.getPrototypeOf(value);
    if (depth >= MAX_DEPTH) {
      this.json(value);
    } else if (proto === Array.prototype) {
      const list = value as unknown[];
      this.byte(TAG.ARRAY);
      this.reserve(5);
      this.varint(list.length);
      for (let i = 0; i < list.length; i++) if (!this.value(list[i], depth + 1)) this.byte(TAG.NULL);
    } else if ((proto === Object.prototype || proto === null) && (value as { toJSON?: unknown }).toJSON === undefined) {
      const object = value as Record<string, unknown>;
      this.byte(TAG.OBJECT);
      for (const key in object) {
        const start = this.pos;
        this.string(key);
        if (!this.value(object[key], depth + 1)) this.pos = start;
      }
      this.byte(TAG.END);
    } else {
      this.json(value);
    }
  }

  number(value: number): void {
    this.reserve(9);
    if (Number.isInteger(value) && value >= 0 && value <= MAX_UINT) {
      // -0 too: JSON writes it as 0.
      if (value <= MAX_INLINE) {
        this.#buffer[this.pos++] = value;
      } else {
        this.#buffer[this.pos++] = TAG.UINT;
        this.varint(value);
      }
    } else if (Number.isFinite(value)) {
      this.#buffer[this.pos++] = TAG.FLOAT;
      this.#view.setFloat64(this.pos, value, true);
      this.pos += 8;
    } else {
      this.#buffer[this.pos++] = TAG.NULL;
    }
  }

  /** A string: ASCII as STRING, anything else as JSON. */
  string(value: string): void {
    if (!this.#ascii(TAG.STRING, value)) this.json(value);
  }

  /** A value as the UTF-8 of its JSON text, or NULL when JSON.stringify gives none (a toJSON that returns undefined). */
  json(value: unknown): void {
    const text = JSON.stringify(value) as string | undefined;
    if (text === undefined) {
      this.byte(TAG.NULL);
    } else if (!this.#ascii(TAG.JSON, text)) {
      const length = Buffer.byteLength(text, 'utf8');
      this.reserve(length + 6);
      this.#buffer[this.pos++] = TAG.JSON;
      this.varint(length);
      this.pos += this.#buffer.write(text, this.pos, length, 'utf8');
    }
  }

  /**
   * `tag`, the length and the characters of `text` when they are all ASCII; else writes nothing
   * and returns false. A loop here: a call to Buffer's native write took about 100 ns, a 2-character id's loop 10.
   */
  #ascii(tag: number, text: string): boolean {
    const length = text.length;
    this.reserve(length + 6);
    const start = this.pos;
    const buffer = this.#buffer;
    buffer[this.pos++] = tag;
    this.varint(length);
    for (let i = 0; i < length; i++) {
      const code = text.charCodeAt(i);
      if (code > 0x7f) {
        this.pos = start;
        return false;
      }
      buffer[this.pos++] = code;
    }
    return true;
  }
}

/** Reads what ByteWriter wrote; AppError INVALID_INPUT, naming `what`, when the bytes are not such values or end early. */
export class ByteReader {
  readonly #buffer: Buffer;
  readonly #what: string;
  pos: number;

  constructor(buffer: Buffer, what: string, pos = 0) {
    this.#buffer = buffer;
    this.#what = what;
    this.pos = pos;
  }

  get done(): boolean {
    return this.pos >= this.#buffer.length;
  }

  byte(): number {
    if (this.pos >= this.#buffer.length) throw this.#cutShort();
    return this.#buffer[this.pos++]!;
  }

  varint(): number {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const byte = this.byte();
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
    throw new AppError('INVALID_INPUT', `${this.#what} have a length or number of more than 5 bytes at byte ${this.pos}`);
  }

  /** A value; SAME reads as 0 (the `at` of a packed entry that takes the one before's). */
  value(): unknown {
    const tag = this.byte();
    if (tag <= MAX_INLINE) return tag;
    switch (tag) {
      case TAG.UINT: return this.varint();
      case TAG.FLOAT: {
        this.#need(8);
        const value = this.#buffer.readDoubleLE(this.pos);
        this.pos += 8;
        return value;
      }
      case TAG.STRING: return this.#ascii();
      case TAG.NULL: return null;
      case TAG.TRUE: return true;
      case TAG.FALSE: return false;
      case TAG.OBJECT: return this.#objectValue();
      case TAG.ARRAY: {
        const length = this.varint();
        // Each item takes a byte at least: a length past the end is cut short, not a huge list.
        this.#need(length);
        const list: unknown[] = [];
        for (let i = 0; i < length; i++) list.push(this.value());
        return list;
      }
      case TAG.JSON: {
        const at = this.pos;
        const text = this.#text();
        try {
          return JSON.parse(text) as unknown;
        } catch (error) {
          throw new AppError('INVALID_INPUT', `${this.#what} have a JSON value at byte ${at} that does not parse: ${(error as Error).message}`);
        }
      }
      case TAG.SAME: return 0;
      default: throw new AppError('INVALID_INPUT', `${this.#what} have an unknown value tag 0x${tag.toString(16)} at byte ${this.pos - 1}`);
    }
  }

  /** An OBJECT's keys and values, up to END. */
  #objectValue(): Record<string, unknown> {
    const object: Record<string, unknown> = {};
    for (;;) {
      const at = this.pos;
      if (this.#buffer[at] === TAG.END) {
        this.pos++;
        return object;
      }
      const key = this.value();
      if (typeof key !== 'string') throw new AppError('INVALID_INPUT', `${this.#what} have an object key at byte ${at} that is not a string`);
      const value = this.value();
      // As JSON.parse does: "__proto__" is an own key, not the prototype.
      if (key === '__proto__') Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true });
      else object[key] = value;
    }
  }

  /**
   * A STRING's varint length, then that many bytes of ASCII. Short ones (node ids) are made in a
   * loop: a call to Buffer's native decoding took about 100 ns here, the loop for 2 characters 20.
   */
  #ascii(): string {
    const length = this.varint();
    this.#need(length);
    const buffer = this.#buffer;
    const start = this.pos;
    this.pos += length;
    if (length > 12) return buffer.toString('latin1', start, this.pos);
    let text = '';
    for (let i = start; i < this.pos; i++) text += String.fromCharCode(buffer[i]!);
    return text;
  }

  /** A varint length, then that many bytes of UTF-8. */
  #text(): string {
    const length = this.varint();
    this.#need(length);
    const text = this.#buffer.toString('utf8', this.pos, this.pos + length);
    this.pos += length;
    return text;
  }

  #need(bytes: number): void {
    if (this.pos + bytes > this.#buffer.length) throw this.#cutShort();
  }

  #cutShort(): AppError {
    return new AppError('INVALID_INPUT', `${this.#what} end early: ${this.#buffer.length} bytes, and the value at byte ${this.pos} needs more`);
  }
}
