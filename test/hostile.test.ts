/**
 * Hostile input for the loaders: each case either finishes with every row it could read accounted
 * for (yielded or rejected, with a reason), or throws LoraPrepError with a code. Never an uncaught
 * exception, a hang, prototype pollution, or memory that grows with one bad line. Big inputs (the
 * 30 MB line, 200,000 levels of nesting) are generated at test time.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isLoraPrepError, type ErrorCode } from '../src/errors.js';
import { prepareDataset } from '../src/index.js';
import { loadRecords, MAX_JSON_DEPTH, RAW_EXCERPT_CHARS, type InputEncoding, type InputFormat, type LoadOptions, type LoadSource } from '../src/load/index.js';
import type { Rejection } from '../src/types.js';
import { tempDir } from './helpers/index.js';
import { chunked, runLoad, utf16le, writeTemp, type LoadResult } from './helpers/load-helpers.js';

// --- helpers ---

/** A global `gc` without restarting node with --expose-gc (undefined if the runtime refuses). */
const gc: (() => void) | undefined = (() => {
  try {
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
})();

/** Deterministic bytes (mulberry32), so a failing case is the same on every run. */
function randomBytes(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let a = seed >>> 0;
  for (let i = 0; i < length; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) & 0xff;
  }
  return out;
}

const bytes = (...parts: Array<string | number[] | Buffer>): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));

/** An upper bound on the lines of a file: every LF and every CR ends one. */
function lineBound(content: string | Uint8Array): number {
  const b = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);
  let n = 1;
  for (const byte of b) if (byte === 0x0a || byte === 0x0d) n++;
  return n;
}

const POLLUTION_KEYS = ['polluted', 'isAdmin', 'x'];

/** Throws when anything was planted on Object.prototype (or Array.prototype). */
function expectNoPollution(): void {
  const probe = {} as Record<string, unknown>;
  for (const key of POLLUTION_KEYS) {
    expect(probe[key]).toBeUndefined();
    expect(([] as unknown as Record<string, unknown>)[key]).toBeUndefined();
  }
  expect(Object.getPrototypeOf(probe)).toBe(Object.prototype);
  expect(Object.keys(Object.prototype)).toEqual([]);
}

/** The invariants every load must keep, whatever the input. */
function expectSane(result: LoadResult, content: string | Uint8Array): void {
  if (result.error !== undefined) {
    expect(isLoraPrepError(result.error), String((result.error as Error)?.stack ?? result.error)).toBe(true);
    expect(typeof (result.error as { code?: unknown }).code).toBe('string');
  }
  const bound = lineBound(content);
  for (const line of [...result.lines, ...result.rejected.map((r) => r.source.line)]) {
    expect(Number.isInteger(line)).toBe(true);
    expect(line).toBeGreaterThanOrEqual(1);
    expect(line).toBeLessThanOrEqual(bound);
  }
  for (const r of result.rejected) expectSerialisable(r);
  expectNoPollution();
}

/** A rejection serialises, to well-formed JSON, with its raw excerpt capped. */
function expectSerialisable(r: Rejection): void {
  const json = JSON.stringify(r);
  expect(json.length).toBeGreaterThan(0);
  expect(json).not.toMatch(/\\ud[89a-f][0-9a-f]{2}/i); // no unpaired surrogate escaped into the output
  expect(typeof r.reason).toBe('string');
  expect(r.message.length).toBeGreaterThan(5);
  if (r.raw !== undefined) {
    expect(typeof r.raw).toBe('string');
    expect((r.raw as string).length).toBeLessThanOrEqual(RAW_EXCERPT_CHARS + 1);
  }
}

async function load(name: string, content: string | Uint8Array, options: LoadOptions = {}): Promise<LoadResult> {
  const path = await writeTemp(name, content);
  return runLoad((ctx) => loadRecords(path, options, ctx));
}

const reasons = (r: LoadResult): string[] => r.rejected.map((x) => `${x.reason}@${x.source.line}`);

// --- the table ---

interface HostileCase {
  name: string;
  file: string;
  content: () => string | Uint8Array;
  options?: LoadOptions;
  /** Records in the file (yielded + rejected), where countable. */
  records?: number;
  /** The rows yielded, as `line`s. */
  lines?: number[];
  /** The rejections, as `reason@line`. */
  rejected?: string[];
  /** The LoraPrepError code expected instead of a result. */
  error?: ErrorCode;
  /** Only the invariants: either outcome (rows, or a coded error) is right. */
  any?: boolean;
  /** Patterns that the rejection messages (in order) must match. */
  messages?: RegExp[];
  warnings?: RegExp[];
  check?: (r: LoadResult) => void;
}

const BAD = 0xe9; // é in windows-1252, never valid alone in UTF-8
const DEEP = 200_000;
const deep = (n: number): string => '['.repeat(n) + ']'.repeat(n);
const protoJson = '{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}},"prototype":{"isAdmin":true},"q":"x"}';

const cases: HostileCase[] = [
  // Random bytes: nothing to count, only the invariants.
  ...(['csv', 'tsv', 'jsonl', 'json'] as const).flatMap((ext) =>
    [1, 2, 3].map((seed) => ({ name: `random bytes (${seed}) as .${ext}`, file: `random.${ext}`, content: () => randomBytes(64 * 1024, seed), any: true })),
  ),
  {
    name: 'random bytes as .json: the top level is not an array',
    file: 'random.json',
    content: () => randomBytes(4096, 7),
    error: 'INPUT_FORMAT',
  },

  // Invalid UTF-8: the row holding it is rejected with the byte and its offset; the rest is kept.
  {
    name: 'invalid UTF-8 in a JSONL line',
    file: 'bad.jsonl',
    content: () => bytes('{"a":"ok"}\n{"a":"caf', [BAD], '"}\n{"a":"fine"}\n'),
    records: 3,
    lines: [1, 3],
    rejected: ['invalid_encoding@2'],
    messages: [/^byte 0xE9 at byte offset 20 of the file \(9 bytes into the line\) is not valid UTF-8$/],
    warnings: [/1 row was rejected as invalid_encoding.*byte offset 20.*on line 2.*windows-1252.*onInvalidEncoding: 'replace'/],
  },
  {
    name: 'invalid UTF-8 in a CSV record, the offset counting the BOM',
    file: 'bad.csv',
    content: () => bytes('\uFEFFq,a\nhi,there\nok,caf', [BAD], '\nok,ok\n'),
    records: 3,
    lines: [2, 4],
    rejected: ['invalid_encoding@3'],
    messages: [/^byte 0xE9 at byte offset 22 of the file \(6 bytes into the record\) is not valid UTF-8$/],
  },
  {
    name: 'invalid UTF-8 in CSV after a record replaced for its length: offsets still count in the file',
    file: 'bad2.csv',
    options: { maxLineBytes: 20 },
    content: () => bytes('q,a\n', 'x'.repeat(50), ',', [BAD], 'y\ncaf', [BAD], ',z\nok,ok\n'),
    records: 3,
    lines: [4],
    rejected: ['line_too_long@2', 'invalid_encoding@3'],
    messages: [/54 bytes long/, /^byte 0xE9 at byte offset 61 of the file \(3 bytes into the record\)/],
  },
  {
    name: 'invalid UTF-8 in a JSON array element',
    file: 'bad.json',
    content: () => bytes('[{"a":"ok"},\n{"a":"caf', [BAD], '"},{"a":"fine"}]'),
    records: 3,
    lines: [1, 2],
    rejected: ['invalid_encoding@2'],
    messages: [/^byte 0xE9 at byte offset 22 of the file \(9 bytes into the element\)/],
  },
  {
    name: 'invalid UTF-8 kinds: overlong, encoded surrogate, cut sequence at the end',
    file: 'kinds.jsonl',
    content: () => bytes('{"a":"', [0xc0, 0x80], '"}\n{"a":"', [0xed, 0xa0, 0x80], '"}\n{"a":"ok"}\n{"a":"', [0xe2, 0x82]),
    records: 4,
    lines: [3],
    rejected: ['invalid_encoding@1', 'invalid_encoding@2', 'invalid_encoding@4'],
    messages: [/byte 0xC0 at byte offset 6 /, /byte 0xED at byte offset 17 /, /byte 0xE2 at byte offset 40 /],
  },
  {
    name: "invalid UTF-8 with onInvalidEncoding: 'replace' keeps the row with U+FFFD and warns once",
    file: 'bad.jsonl',
    options: { onInvalidEncoding: 'replace' },
    content: () => bytes('{"a":"caf', [BAD], '"}\n{"a":"', [0xff, 0xfe], '"}\n'),
    records: 2,
    lines: [1, 2],
    rejected: [],
    warnings: [/3 byte sequences are not valid UTF-8 and were read as "\uFFFD"/],
    check: (r) => expect(r.data).toEqual([{ a: 'caf\uFFFD' }, { a: '\uFFFD\uFFFD' }]),
  },
  {
    name: "invalid UTF-8 in CSV with onInvalidEncoding: 'replace'",
    file: 'bad.csv',
    options: { onInvalidEncoding: 'replace' },
    content: () => bytes('q,a\ncaf', [BAD], ',x\n'),
    records: 1,
    lines: [2],
    check: (r) => expect(r.data).toEqual([{ q: 'caf\uFFFD', a: 'x' }]),
  },
  {
    name: 'a header with invalid UTF-8 is read with U+FFFD and a warning; rows go on',
    file: 'badhead.csv',
    content: () => bytes('q,caf', [BAD], '\n1,2\n'),
    records: 1,
    lines: [2],
    warnings: [/the header \(line 1\) holds bytes that are not valid UTF-8/],
    check: (r) => expect(r.data).toEqual([{ q: '1', 'caf\uFFFD': '2' }]),
  },

  // NUL bytes: valid UTF-8, so a row stands or falls by its format.
  {
    name: 'NUL bytes in JSONL: raw NULs are not JSON',
    file: 'nul.jsonl',
    content: () => '{"a":"x\0y"}\n{"a":1}\0\n\0\n{"b":2}\n',
    records: 4,
    lines: [4],
    rejected: ['invalid_json@1', 'invalid_json@2', 'invalid_json@3'],
  },
  {
    name: 'NUL bytes in CSV are kept as text',
    file: 'nul.csv',
    content: () => 'q,a\nx\0y,z\n\0,\0\n',
    records: 2,
    lines: [2, 3],
    check: (r) => expect(r.data[0]).toEqual({ q: 'x\0y', a: 'z' }),
  },
  {
    name: 'NUL bytes in a JSON array',
    file: 'nul.json',
    // The NUL after the comma starts an element of its own, which runs to the next closing brace.
    content: () => '[{"a":"x\0"},\0{"b":1},{"c":2}]',
    records: 3,
    lines: [1],
    rejected: ['invalid_json@1', 'invalid_json@1'],
    check: (r) => expect(r.data).toEqual([{ c: 2 }]),
  },
  {
    name: 'a file of NUL bytes as CSV',
    file: 'zeros.csv',
    content: () => Buffer.alloc(10_000),
    records: 0,
    warnings: [/holds a header but no data rows/],
  },

  // UTF-16 without a byte-order mark read as UTF-8: refused with the fix, not read as NUL-riddled text.
  ...(['csv', 'jsonl', 'json'] as const).map((ext) => ({
    name: `UTF-16 LE without BOM as .${ext}`,
    file: `u16.${ext}`,
    content: () => utf16le(ext === 'csv' ? 'q,a\nhi,there\n' : ext === 'jsonl' ? '{"a":1}\n{"a":2}\n' : '[{"a":1}]', false),
    error: 'INPUT_FORMAT' as const,
    messages: [/UTF-16 little-endian.*encoding: 'utf-16le'/],
  })),
  {
    name: 'UTF-16 BE without BOM',
    file: 'u16be.jsonl',
    content: () => Buffer.from(utf16le('{"a":1}\n{"a":2}\n', false)).swap16(),
    error: 'INPUT_FORMAT',
    messages: [/UTF-16 big-endian/],
  },
  {
    name: 'UTF-16 LE without BOM read as utf-16le works',
    file: 'u16ok.csv',
    options: { encoding: 'utf-16le' },
    content: () => utf16le('q,a\nhé,there\n', false),
    records: 1,
    lines: [2],
    check: (r) => expect(r.data).toEqual([{ q: 'hé', a: 'there' }]),
  },

  // Truncated files.
  {
    name: 'JSON array cut mid-element',
    file: 'cut.json',
    content: () => '[{"a":1},\n{"a":2},\n{"a":"thr',
    records: 3,
    lines: [1, 2],
    rejected: ['invalid_json@3'],
    warnings: [/ended before the array's closing "\]"/],
  },
  {
    name: 'CSV cut mid-quote',
    file: 'cut.csv',
    content: () => 'q,a\nx,1\ny,"two\nlines',
    records: 2,
    lines: [2],
    rejected: ['malformed_row@3'],
    messages: [/quote opened in this record is never closed/],
  },
  {
    name: 'JSONL cut mid-line',
    file: 'cut.jsonl',
    content: () => '{"a":1}\n{"a":2}\n{"a":"thr',
    records: 3,
    lines: [1, 2],
    rejected: ['invalid_json@3'],
  },
  {
    name: 'JSONL cut inside a multi-byte character',
    file: 'cutmb.jsonl',
    content: () => Buffer.from('{"a":1}\n{"a":"é').subarray(0, -1),
    records: 2,
    lines: [1],
    rejected: ['invalid_encoding@2'],
  },
  {
    name: 'an unterminated CSV quote in the middle swallows the rest as one record',
    file: 'quote.csv',
    content: () => 'q,a\nx,1\ny,"oops\nz,3\nw,4\n',
    records: 2,
    lines: [2],
    rejected: ['malformed_row@3'],
    messages: [/lines 3–5/],
  },

  // Deep nesting: rejected before anything recursive sees it.
  {
    name: `JSONL nested ${DEEP.toLocaleString('en-US')} levels`,
    file: 'deep.jsonl',
    content: () => `{"a":${deep(DEEP)}}\n${deep(DEEP)}\n{"b":1}\n`,
    records: 3,
    lines: [3],
    rejected: ['invalid_record@1', 'invalid_record@2'],
    messages: [/nested 200,001 levels deep, over the limit of 890/, /nested 200,000 levels/],
  },
  {
    name: `JSON array element nested ${DEEP.toLocaleString('en-US')} levels`,
    file: 'deep.json',
    content: () => `[{"a":${deep(DEEP)}},\n${deep(DEEP)},\n{"b":1}]`,
    records: 3,
    lines: [3],
    rejected: ['invalid_record@1', 'invalid_record@2'],
  },
  {
    name: 'JSON array of 1 MB of unclosed brackets (cut off)',
    file: 'open.json',
    content: () => `[{"b":1},\n${'['.repeat(1 << 20)}`,
    records: 2,
    lines: [1],
    rejected: ['invalid_json@2'],
  },
  {
    name: 'JSON array nested exactly at the limit is read',
    file: 'limit.json',
    content: () => `[{"a":${deep(MAX_JSON_DEPTH - 1)}}]`,
    records: 1,
    lines: [1],
  },

  // Keys that could pollute prototypes stay plain own keys.
  {
    name: '__proto__, constructor, prototype keys in JSONL',
    file: 'proto.jsonl',
    content: () => `${protoJson}\n`,
    records: 1,
    lines: [1],
    check: (r) => expectOwnKeys(r.data[0] as Record<string, unknown>, ['__proto__', 'constructor', 'prototype', 'q']),
  },
  {
    name: '__proto__, constructor, prototype keys in JSON',
    file: 'proto.json',
    content: () => `[${protoJson}]`,
    records: 1,
    lines: [1],
    check: (r) => expectOwnKeys(r.data[0] as Record<string, unknown>, ['__proto__', 'constructor', 'prototype', 'q']),
  },
  {
    name: '__proto__, constructor, prototype as CSV header names',
    file: 'proto.csv',
    content: () => '__proto__,constructor,prototype,hasOwnProperty\n{"polluted":1},b,c,d\n',
    records: 1,
    lines: [2],
    check: (r) => {
      const row = r.data[0] as Record<string, unknown>;
      expectOwnKeys(row, ['__proto__', 'constructor', 'prototype', 'hasOwnProperty']);
      expect(row.__proto__).toBe('{"polluted":1}');
      expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
    },
  },

  // Too wide, too long.
  {
    name: 'a CSV record of 200,000 delimiters',
    file: 'wide.csv',
    content: () => `a,b\n${','.repeat(200_000)}\nx,y\n`,
    records: 2,
    lines: [3],
    rejected: ['malformed_row@2'],
    messages: [/over 100,000 fields/],
  },
  {
    name: 'a CSV field over maxFieldChars',
    file: 'field.csv',
    options: { maxFieldChars: 10 },
    content: () => 'q,a\nshort,"a much longer field"\nok,ok\n',
    records: 2,
    lines: [3],
    rejected: ['field_too_long@2'],
    messages: [/column "a" holds 19 characters, over the limit of 10 \(maxFieldChars\)/],
  },
];

function expectOwnKeys(row: Record<string, unknown>, keys: string[]): void {
  for (const key of keys) expect(Object.hasOwn(row, key)).toBe(true);
  expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
}

describe('hostile input: each case ends accounted for or with a coded LoraPrepError', () => {
  it.each(cases)('$name', async (c) => {
    const content = c.content();
    const result = await load(c.file, content, c.options);
    expectSane(result, content);
    if (c.any) return;
    if (c.error !== undefined) {
      expect(isLoraPrepError(result.error) && result.error.code).toBe(c.error);
      for (const m of c.messages ?? []) expect((result.error as Error).message).toMatch(m);
      return;
    }
    expect(result.error).toBeUndefined();
    if (c.records !== undefined) expect(result.rows.length + result.rejected.length).toBe(c.records);
    if (c.lines !== undefined) expect(result.lines).toEqual(c.lines);
    if (c.rejected !== undefined) expect(reasons(result)).toEqual(c.rejected);
    (c.messages ?? []).forEach((m, i) => expect(result.rejected[i]?.message).toMatch(m));
    for (const w of c.warnings ?? []) expect(result.warnings.some((x) => w.test(x)), `${w} in ${JSON.stringify(result.warnings)}`).toBe(true);
    c.check?.(result);
  });

  it('rejects an unpaired surrogate from a caller string source', async () => {
    const result = await runLoad((ctx) => loadRecords(chunked('s.jsonl', '{"a":"x\uD800"}\n{"a":"', 'y"}\n'), {}, ctx));
    expect(reasons(result)).toEqual(['invalid_encoding@1']);
    expect(result.rejected[0]?.message).toMatch(/unpaired surrogate/);
    expect(result.data).toEqual([{ a: 'y' }]);
  });

  it('joins a surrogate pair that a caller split across string chunks (CSV)', async () => {
    const result = await runLoad((ctx) => loadRecords(chunked('s.csv', 'q\n\uD83D', '\uDE00\n'), {}, ctx));
    expect(result.data).toEqual([{ q: '😀' }]);
  });

  it('checks the limit options', async () => {
    for (const options of [{ maxLineBytes: 0 }, { maxFieldChars: -1 }, { maxLineBytes: 1.5 }, { onInvalidEncoding: 'drop' }] as LoadOptions[]) {
      const result = await load('x.jsonl', '{"a":1}\n', options);
      expect(isLoraPrepError(result.error) && result.error.code).toBe('OPTION_INVALID');
    }
  });
});

describe('a 30 MB line is rejected as line_too_long without being held whole', () => {
  const SIZE = 30 * 1024 * 1024;
  const big = 'x'.repeat(SIZE);
  const lineCases: Array<{ name: string; file: string; content: () => string; lines: number[]; rejected: string[] }> = [
    { name: 'JSONL', file: 'long.jsonl', content: () => `{"a":1}\n{"a":"${big}"}\n{"b":1}\n`, lines: [1, 3], rejected: ['line_too_long@2'] },
    { name: 'JSONL without any newline', file: 'flat.jsonl', content: () => big, lines: [], rejected: ['line_too_long@1'] },
    { name: 'CSV, unquoted', file: 'long.csv', content: () => `q,a\n${big},y\nhello,world\n`, lines: [3], rejected: ['line_too_long@2'] },
    {
      name: 'CSV, one quoted field of 30,000 lines (the next record keeps its line)',
      file: 'longq.csv',
      content: () => `q,a\n"${`${'y'.repeat(1023)}\n`.repeat(SIZE / 1024)}",y\nhello,world\n`,
      lines: [2 + SIZE / 1024 + 1],
      rejected: ['line_too_long@2'],
    },
    {
      name: 'CSV with a quote that never closes',
      file: 'open.csv',
      content: () => `q,a\nok,1\nx,"${`${'y'.repeat(99)}\n`.repeat(SIZE / 100)}`,
      lines: [2],
      rejected: ['line_too_long@3'],
    },
    { name: 'JSON array element', file: 'long.json', content: () => `[{"a":1},\n{"a":"${big}"},\n{"b":1}]`, lines: [1, 3], rejected: ['line_too_long@2'] },
    { name: 'JSON array of 30 MB of [', file: 'brackets.json', content: () => `[${'['.repeat(SIZE)}`, lines: [], rejected: ['line_too_long@1'] },
  ];

  it.each(lineCases)('$name', async ({ file, content, lines, rejected }) => {
    const text = content();
    const path = await writeTemp(file, text);
    gc?.();
    const before = process.memoryUsage().heapUsed;
    let peak = before;
    const sample = (): void => {
      peak = Math.max(peak, process.memoryUsage().heapUsed);
    };
    // Sampled from inside the read: the source is the file, chunk by chunk.
    const source: LoadSource = {
      name: path,
      chunks: (async function* () {
        const { createReadStream } = await import('node:fs');
        for await (const chunk of createReadStream(path, { highWaterMark: 64 * 1024 })) {
          sample();
          yield chunk as Buffer;
        }
      })(),
    };
    const result = await runLoad((ctx) => loadRecords(source, {}, ctx));
    sample();
    expectSane(result, text);
    expect(result.error).toBeUndefined();
    expect(result.lines).toEqual(lines);
    expect(reasons(result)).toEqual(rejected);
    const long = result.rejected.find((r) => r.reason === 'line_too_long') as Rejection;
    expect(long.message).toMatch(/bytes long, over the limit of 16,777,216 \(maxLineBytes\)/);
    expect((long.raw as string).length).toBeLessThanOrEqual(RAW_EXCERPT_CHARS + 1);
    // The line itself is 30 MB; holding it whole (plus its joined copy) would take 60 MB or more.
    expect((peak - before) / 2 ** 20).toBeLessThan(56);
    if (gc !== undefined) {
      gc();
      expect((process.memoryUsage().heapUsed - before) / 2 ** 20).toBeLessThan(8);
    }
  });

  it('honours a smaller maxLineBytes', async () => {
    const result = await load('small.jsonl', `{"a":"${'x'.repeat(2000)}"}\n{"b":1}\n`, { maxLineBytes: 1000 });
    expect(reasons(result)).toEqual(['line_too_long@1']);
    expect(result.rejected[0]?.message).toMatch(/2,008 bytes long, over the limit of 1,000/);
    expect(result.lines).toEqual([2]);
  });
});

// --- fuzzing ---

const FIXTURES = ['finance', 'legal', 'medical'].flatMap((domain) =>
  readdirSync(join('fixtures', domain)).map((name) => ({ name, bytes: readFileSync(join('fixtures', domain, name)) })),
);

const FORMATS: InputFormat[] = ['csv', 'tsv', 'jsonl', 'json'];
const INSERTS = ['"', '\n', '\r', '\0', ',', '\t', '{', '[', ']', '}', '\\', [0xe9], [0xff], [0xc3], [0xef, 0xbb, 0xbf], [0xfe, 0xff]].map((x) =>
  typeof x === 'string' ? Buffer.from(x) : Buffer.from(x),
);

type Mutation = { kind: 'flip'; at: number; value: number } | { kind: 'cut'; at: number } | { kind: 'insert'; at: number; what: number } | { kind: 'delete'; at: number; length: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), what: fc.nat({ max: INSERTS.length - 1 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 64 }) }),
);

function mutate(input: Buffer, mutations: Mutation[]): Buffer {
  let b = input;
  for (const m of mutations) {
    const at = b.length === 0 ? 0 : m.at % (b.length + 1);
    if (m.kind === 'flip' && b.length > 0) {
      b = Buffer.from(b);
      b[at % b.length] = m.value;
    } else if (m.kind === 'cut') b = b.subarray(0, at);
    else if (m.kind === 'insert') b = Buffer.concat([b.subarray(0, at), INSERTS[m.what] as Buffer, b.subarray(at)]);
    else if (m.kind === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.length)]);
  }
  return b;
}

const loadOptions: fc.Arbitrary<LoadOptions> = fc.record(
  {
    format: fc.constantFrom(...FORMATS),
    encoding: fc.constantFrom<InputEncoding>('utf-8', 'windows-1252', 'utf-16le'),
    onInvalidEncoding: fc.constantFrom<'reject' | 'replace'>('reject', 'replace'),
    maxLineBytes: fc.integer({ min: 1, max: 4096 }),
    maxFieldChars: fc.integer({ min: 1, max: 512 }),
  },
  { requiredKeys: [] },
);

async function fuzzOnce(content: Buffer, name: string, options: LoadOptions, chunkSize: number): Promise<void> {
  const pieces: Buffer[] = [];
  for (let i = 0; i < content.length; i += chunkSize) pieces.push(content.subarray(i, i + chunkSize));
  const source = chunked(name, ...pieces);
  let result: LoadResult;
  try {
    result = await runLoad((ctx) => loadRecords(source, options, ctx));
  } catch (error) {
    // loadRecords itself throws only for a format it cannot tell, and only LoraPrepError.
    expect(isLoraPrepError(error)).toBe(true);
    return;
  }
  expectSane(result, content);
}

/**
 * Runs per property and the seed: fixed in CI; for a longer hunt, e.g.
 * LORA_PREP_FUZZ_RUNS=10000 LORA_PREP_FUZZ_SEED=$RANDOM npx vitest run test/hostile.test.ts
 */
const RUNS = Number(process.env.LORA_PREP_FUZZ_RUNS ?? 200);
const SEED = Number(process.env.LORA_PREP_FUZZ_SEED ?? 6);

describe('fuzzing the loaders (fixed budget)', () => {
  it('random bytes: terminates, throws only LoraPrepError, lines within the file', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), fc.constantFrom(...FORMATS), loadOptions, fc.integer({ min: 1, max: 2048 }), async (data, ext, options, chunk) => {
        await fuzzOnce(Buffer.from(data), `fuzz.${ext}`, options, chunk);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  it('mutated fixtures: terminates, throws only LoraPrepError, lines within the file', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: FIXTURES.length - 1 }),
        fc.array(mutation, { minLength: 1, maxLength: 6 }),
        loadOptions,
        fc.integer({ min: 1, max: 4096 }),
        async (which, mutations, options, chunk) => {
          const fixture = FIXTURES[which] as (typeof FIXTURES)[number];
          const content = mutate(fixture.bytes.subarray(0, 2048), mutations);
          const { format: _format, ...rest } = options;
          await fuzzOnce(content, fixture.name, rest, chunk);
        },
      ),
      { numRuns: RUNS, seed: SEED + 60 },
    );
  });
});

describe('hostile input through prepareDataset: every row accounted for', () => {
  async function prepare(name: string, content: string | Uint8Array) {
    const path = await writeTemp(name, content);
    const outDir = join(await tempDir(), 'out');
    return prepareDataset({ inputs: [path], outDir, split: { validation: 0 }, dedup: false });
  }

  function expectAccounted(counts: { input: number; train: number; validation: number; test: number; rejected: number; byReason: Record<string, number> }): void {
    expect(counts.train + counts.validation + counts.test + counts.rejected).toBe(counts.input);
    expect(Object.values(counts.byReason).reduce((a, b) => a + b, 0)).toBe(counts.rejected);
  }

  it.each([
    {
      name: 'invalid UTF-8, deep nesting and prototype keys in JSONL',
      file: 'mixed.jsonl',
      content: bytes(
        '{"question":"caf', [BAD], '?","answer":"yes it is"}\n',
        `{"a":${deep(DEEP)}}\n`,
        '{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}},"question":"What is a coupon?","answer":"Interest a bond pays."}\n',
        '{"question":"What is a bond?","answer":"A loan to an issuer."}\n',
      ),
      byReason: { invalid_encoding: 1, invalid_record: 1 },
    },
    {
      name: 'prototype keys and a too-wide record in CSV',
      file: 'mixed.csv',
      content: `__proto__,constructor,question,answer\n{"polluted":1},x,What is equity?,Ownership in a company.\n${','.repeat(150_000)}\n`,
      byReason: { malformed_row: 1 },
    },
  ])('$name', async ({ file, content, byReason }) => {
    const result = await prepare(file, content);
    expectAccounted(result.counts);
    expect(result.counts.byReason).toMatchObject(byReason);
    expectNoPollution();
  });

  it('mutated fixtures: input = train + validation + test + rejected, or a coded error', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: FIXTURES.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), async (which, mutations) => {
        const fixture = FIXTURES[which] as (typeof FIXTURES)[number];
        try {
          const result = await prepare(fixture.name, mutate(fixture.bytes.subarray(0, 2048), mutations));
          expectAccounted(result.counts);
        } catch (error) {
          expect(isLoraPrepError(error), String((error as Error)?.stack ?? error)).toBe(true);
        }
        expectNoPollution();
      }),
      { numRuns: Math.max(10, Math.round(RUNS / 10)), seed: SEED + 600 },
    );
  });
});
