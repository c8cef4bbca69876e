import { describe, expect, it } from 'vitest';
import { parseBatch } from '../../src/store/batch.ts';
import { ByteReader, ByteWriter, TAG } from '../../src/store/bytes.ts';
import { expectAppError } from './spec.ts';

/** `values` written by one ByteWriter, each as its tag and what follows. */
function write(...values: unknown[]): Buffer {
  const writer = new ByteWriter();
  for (const value of values) expect(writer.value(value)).toBe(true);
  return writer.take(0);
}

/** `count` values read back from `bytes`. */
function read(bytes: Buffer, count = 1): unknown[] {
  const reader = new ByteReader(bytes, 'the test bytes');
  const values = Array.from({ length: count }, () => reader.value());
  expect(reader.done).toBe(true);
  return values;
}

/** What JSON gives back for `value` in a list: what a value written and read must equal. */
const viaJson = (value: unknown): unknown => (JSON.parse(JSON.stringify([value])) as unknown[])[0];

class Point {
  constructor(readonly x: number, readonly y: number) {}
}

describe('ByteWriter and ByteReader', () => {
  it('give back every value as JSON.parse(JSON.stringify(value)) would', () => {
    const nullProto = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1 });
    const withToJson = { toJSON: () => ({ replaced: true }), hidden: 1 };
    const values: unknown[] = [
      0, 1, 127, 128, 300, 2 ** 31, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER, 2 ** 60, -1, -0, -(2 ** 40), 0.1 + 0.2, 1e21, 5e-324, -1.5,
      Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY,
      '', 'n0', 'x'.repeat(70_000), 'ü', '☕ and \u2028', 'lone \ud800 surrogate', '"quoted"\n\\\u0000',
      true, false, null,
      {}, { n: 1 }, { b: 1, a: 2, 2: 'two', 1: 'one' }, { skipped: undefined, fn: () => 1, sym: Symbol('s'), kept: 'yes' },
      { nested: { deeper: { list: [1, 'a', null, { x: [] }] } } }, [], [undefined, () => 1, Symbol('s'), 4],
      nullProto, withToJson, new Date(Date.UTC(2026, 0, 2)), new Map([['a', 1]]), new Point(1, 2), new String('boxed'), new Number(3),
      JSON.parse('{"__proto__": {"polluted": true}, "a": 1}'),
    ];
    for (const value of values) {
      const [back] = read(write(value));
      expect(back, String(typeof value === 'string' ? value.slice(0, 20) : JSON.stringify(value))).toStrictEqual(viaJson(value));
      // Key for key, in order, as JSON would give them.
      expect(JSON.stringify(back)).toBe(JSON.stringify(viaJson(value)));
    }
    // "__proto__" comes back as an own key, as JSON.parse gives it, not as the prototype.
    const [parsed] = read(write(JSON.parse('{"__proto__": {"polluted": true}}')));
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    expect(Object.keys(parsed as object)).toStrictEqual(['__proto__']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('writes small integers in one byte, ASCII strings without JSON, and what else JSON must write as JSON', () => {
    expect([...write(0, 127)]).toStrictEqual([0, 127]);
    expect([...write(128)]).toStrictEqual([TAG.UINT, 0x80, 0x01]);
    expect([...write('ab')]).toStrictEqual([TAG.STRING, 2, 0x61, 0x62]);
    expect([...write({ n: 1 })]).toStrictEqual([TAG.OBJECT, TAG.STRING, 1, 0x6e, 1, TAG.END]);
    expect(write('ü')[0]).toBe(TAG.JSON);
    expect(write(new Date(0))[0]).toBe(TAG.JSON);
    expect(write(Number.NaN)[0]).toBe(TAG.NULL);
    expect(write(0.5)[0]).toBe(TAG.FLOAT);
  });

  it('writes what int and str are given as value does, whatever its type', () => {
    const values: unknown[] = [0, 127, 128, -0, -1, 0.5, Number.NaN, 2 ** 32 + 5, 'n0', 'ü', null, { n: 1 }, [1], true];
    for (const value of values) {
      for (const method of ['int', 'str'] as const) {
        const writer = new ByteWriter();
        expect(writer[method](value)).toBe(true);
        expect(writer.take(0), `${method}(${String(value)})`).toStrictEqual(write(value));
      }
    }
    for (const method of ['int', 'str'] as const) expect(new ByteWriter()[method](undefined)).toBe(false);
  });

  it('leaves out undefined, functions and symbols, writing nothing, as JSON leaves them out of an object', () => {
    const writer = new ByteWriter();
    for (const value of [undefined, () => 1, Symbol('s')]) expect(writer.value(value)).toBe(false);
    expect(writer.pos).toBe(0);
  });

  it('writes lists and objects nested past 32 deep as JSON, so a cycle fails as JSON.stringify fails', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 40; i++) deep = i % 2 ? [deep] : { d: deep };
    expect(read(write(deep))).toStrictEqual([viaJson(deep)]);
    const cycle: Record<string, unknown> = { a: 1 };
    cycle['self'] = { again: cycle };
    expect(() => write(cycle)).toThrow(TypeError);
    expect(() => write({ big: 10n })).toThrow(/BigInt/);
  });

  it('grows its buffer for large values, and takes copies that a later write leaves alone', () => {
    const writer = new ByteWriter();
    writer.value('a');
    const first = writer.take(0);
    writer.reset();
    writer.value({ text: 'y'.repeat(2_000_000) });
    const large = writer.take(0);
    // Past 1 MiB, reset lets the grown buffer go; what was taken stays.
    writer.reset();
    writer.value('b');
    expect(read(first)).toStrictEqual(['a']);
    expect(read(large)).toStrictEqual([{ text: 'y'.repeat(2_000_000) }]);
    expect(read(writer.take(0))).toStrictEqual(['b']);
  });

  it('rejects bytes cut short or with an unknown tag, saying where', async () => {
    const fails = async (bytes: number[], message: RegExp): Promise<void> => {
      await expectAppError(Promise.resolve().then(() => read(Buffer.from(bytes))), 'INVALID_INPUT', message);
    };
    const whole = [...write({ list: [1, 'ab', 0.5] })];
    for (let cut = 1; cut < whole.length; cut++) await fails(whole.slice(0, cut), /the test bytes end early/);
    await fails([0xfe], /unknown value tag 0xfe at byte 0/);
    await fails([TAG.UINT, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], /more than 5 bytes/);
    await fails([TAG.ARRAY, 0xff, 0xff, 0x03], /end early/);
    await fails([TAG.OBJECT, 1, 2, TAG.END], /object key at byte 1 that is not a string/);
    await fails([TAG.JSON, 2, 0x7b, 0x7b], /JSON value at byte 1 that does not parse/);
  });
});

describe('binary event batches', () => {
  it('reject another format, an entry of no known type, and entries cut short', async () => {
    const fails = async (bytes: number[], message: RegExp): Promise<void> => {
      await expectAppError(Promise.resolve().then(() => parseBatch(Buffer.from(bytes), 'run-1', 5)), 'INVALID_INPUT', message);
    };
    await fails([2, 6], /events run-1#5… are in format 2; this Flowcast reads format 1/);
    await fails([1, 6, TAG.STRING, 1, 0x61, TAG.STRING, 1, 0x62, 1, 0], /end early/);
    await fails([1, 6, TAG.STRING, 1, 0x61, TAG.STRING, 1, 0x62, 1, TAG.SAME, 1, 40], /event run-1#6 starts with 40, which is neither a type's code nor 255/);
    expect(parseBatch(Buffer.from([1, 6, TAG.STRING, 1, 0x61, TAG.STRING, 1, 0x62, 1, TAG.SAME, 1]), 'run-1', 5)).toStrictEqual([[6, 'a', 'b', 1, 0, 1]]);
    expect(parseBatch(Buffer.from([1]), 'run-1', 5)).toStrictEqual([]);
  });
});
