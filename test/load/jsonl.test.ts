import fc from 'fast-check';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { isLoraPrepError } from '../../src/errors.js';
import { loadJsonl, loadRecords, RAW_EXCERPT_CHARS } from '../../src/load/index.js';
import { splitLines } from '../../src/load/_lines.js';
import { fakeIo } from '../helpers/cli.js';
import { tempDir } from '../helpers/index.js';
import { chunked, lazySource, runLoad, writeTemp } from '../helpers/load-helpers.js';

type Row = [line: number, data: Record<string, unknown>];
type Rej = [line: number, reason: string, message: string | RegExp];

interface Case {
  name: string;
  text: string | Uint8Array;
  rows: Row[];
  rejected?: Rej[];
  warnings?: RegExp[];
}

const cases: Case[] = [
  {
    name: 'one object per line, LF',
    text: '{"a":1}\n{"a":2}\n',
    rows: [
      [1, { a: 1 }],
      [2, { a: 2 }],
    ],
  },
  {
    name: 'CRLF and no newline at the end',
    text: '{"a":1}\r\n{"a":"x\\r\\ny"}',
    rows: [
      [1, { a: 1 }],
      [2, { a: 'x\r\ny' }],
    ],
  },
  {
    name: 'blank and whitespace-only lines are skipped but counted',
    text: '\n{"a":1}\n\n  \t \r\n{"a":2}\n\n',
    rows: [
      [2, { a: 1 }],
      [5, { a: 2 }],
    ],
  },
  {
    name: 'a UTF-8 BOM is stripped',
    text: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"é":"ü"}\n')]),
    rows: [[1, { é: 'ü' }]],
  },
  {
    name: 'a line that does not parse is invalid_json with the parser message',
    text: '{"a":1}\n{"a":1,}\n{"a":3}\n',
    rows: [
      [1, { a: 1 }],
      [3, { a: 3 }],
    ],
    rejected: [[2, 'invalid_json', /^the line is not valid JSON: .*JSON at position 7/]],
  },
  {
    name: 'a truncated last line is invalid_json',
    text: '{"a":1}\n{"a":',
    rows: [[1, { a: 1 }]],
    rejected: [[2, 'invalid_json', /Unexpected end of JSON input/]],
  },
  {
    name: 'lines that parse to non-objects are invalid_record',
    text: '[1,2]\n"text"\n42\nnull\ntrue\n{"ok":1}\n',
    rows: [[6, { ok: 1 }]],
    rejected: [
      [1, 'invalid_record', 'expected a JSON object on each line, got an array'],
      [2, 'invalid_record', 'expected a JSON object on each line, got a string'],
      [3, 'invalid_record', 'expected a JSON object on each line, got a number'],
      [4, 'invalid_record', 'expected a JSON object on each line, got null'],
      [5, 'invalid_record', 'expected a JSON object on each line, got a boolean (true)'],
    ],
  },
  {
    name: 'a __proto__ key stays an own key',
    text: '{"__proto__":{"polluted":1},"x":1}\n',
    rows: [[1, JSON.parse('{"__proto__":{"polluted":1},"x":1}') as Record<string, unknown>]],
  },
  {
    name: 'a lone CR in a file with line feeds does not end a line (JSON treats it as whitespace); the message says it is there',
    text: '{"a":1}\r{"b":2}\n{"c":3}\n',
    rows: [[2, { c: 3 }]],
    rejected: [[1, 'invalid_json', /^the line is not valid JSON: .*; the line holds a carriage return \(CR\) that does not end it: .*convert them to LF$/]],
  },
  {
    name: 'CR line endings (classic Mac OS) are read as line breaks, with a warning',
    text: '{"a":1}\r\r{"a":2}\rbad\r{"a":3}',
    rows: [
      [1, { a: 1 }],
      [3, { a: 2 }],
      [5, { a: 3 }],
    ],
    rejected: [[4, 'invalid_json', /^the line is not valid JSON: [^;]*$/]],
    warnings: [/^data\.jsonl: the file ends its lines with a carriage return alone \(CR, as classic Mac OS wrote them\), .*each lone CR was read as a line break\.$/],
  },
  {
    name: "NaN or Infinity as a value (Python's json.dumps of a missing float) is rejected with a hint to write null",
    text: '{"q":"a","score":NaN}\n{"q":"b","score":-Infinity}\n{"q":"NaN in text, fine","score":null}\n',
    rows: [[3, { q: 'NaN in text, fine', score: null }]],
    rejected: [
      [1, 'invalid_json', /^the line is not valid JSON: .*; NaN is no JSON value \(Python's json\.dumps writes it .*write null instead/],
      [2, 'invalid_json', /; -Infinity is no JSON value/],
    ],
  },
  {
    name: 'a record pretty-printed over lines, and one with a comma after it, are rejected with a hint; a BOM where files were joined is stripped',
    text: '{"q":"a"}\n{\n  "q": "b",\n  "a": "c"\n}\n{"q":"d"},\n\uFEFF{"q":"e"}\n{"q": "f", broken}\n',
    rows: [
      [1, { q: 'a' }],
      [7, { q: 'e' }],
    ],
    rejected: [
      [2, 'invalid_json', /; the line looks like part of a record pretty-printed over several lines \(as jq writes without -c\)/],
      [3, 'invalid_json', /pretty-printed/],
      [4, 'invalid_json', /pretty-printed/],
      [5, 'invalid_json', /pretty-printed/],
      [6, 'invalid_json', /; the line ends with a comma after its record: JSONL has nothing between records$/],
      [8, 'invalid_json', /^the line is not valid JSON: [^;]*$/],
    ],
  },
  {
    name: "a Python dict as print() writes it and MongoDB shell output are rejected with a hint to export JSON",
    text: `{'prompt': 'p1', 'ok': True}\n{"_id": ObjectId("64f1"), "q": "a"}\n{"q":"it's {'x': 1} in text"}\n`,
    rows: [[3, { q: "it's {'x': 1} in text" }]],
    rejected: [
      [1, 'invalid_json', /; the line looks like a Python dict as print\(\) or str\(\) writes it .*json\.dumps/],
      [2, 'invalid_json', /; the line looks like MongoDB shell output .*mongoexport/],
    ],
  },
  {
    name: 'an empty file: no rows, a warning',
    text: '\n\n',
    rows: [],
    warnings: [/^data\.jsonl: the file is empty/],
  },
];

describe('loadJsonl', () => {
  it.each(cases)('$name', async ({ text, rows, rejected = [], warnings = [] }) => {
    const path = await writeTemp('data.jsonl', text);
    const result = await runLoad((ctx) => loadJsonl(path, {}, ctx));
    expect(result.error).toBeUndefined();
    expect(result.rows.map((r) => [r.source.line, r.data])).toEqual(rows);
    for (const row of result.rows) expect(row.source.file).toBe(path);
    expect(result.rejected.map((r) => [r.source.line, r.reason])).toEqual(rejected.map(([l, reason]) => [l, reason]));
    result.rejected.forEach((r, i) => {
      const want = (rejected[i] as Rej)[2];
      if (typeof want === 'string') expect(r.message).toBe(want);
      else expect(r.message).toMatch(want);
    });
    expect(result.warnings.map((w) => w.replace(path, 'data.jsonl'))).toEqual(
      warnings.map((w) => expect.stringMatching(w)),
    );
  });

  it('gives a bad line its raw text, capped', async () => {
    const line = `{"a": "${'x'.repeat(3000)}`;
    const result = await runLoad((ctx) => loadJsonl(chunked('raw.jsonl', `${line}\n`), {}, ctx));
    expect(result.rejected[0]?.raw).toBe(`${line.slice(0, RAW_EXCERPT_CHARS)}…`);
  });

  it('joins a line split across many chunks and a CRLF split across two', async () => {
    const result = await runLoad((ctx) =>
      loadJsonl(chunked('c.jsonl', '{"a"', ':', '"b"}\r', '\n', '\r\n{"c":', '1}\r', '\n'), {}, ctx),
    );
    expect(result.rows.map((r) => [r.source.line, r.data])).toEqual([
      [1, { a: 'b' }],
      [3, { c: 1 }],
    ]);
  });

  it('reads CR line endings however the text is cut, a CRLF among them as one break, past the first 64 Ki characters', async () => {
    const lines = Array.from({ length: 3000 }, (_, i) => `{"n": ${i}, "t": "${'é'.repeat(i % 40)}"}`);
    const text = `${lines.slice(0, 2000).join('\r')}\r\n${lines.slice(2000).join('\r')}\r`;
    for (const size of [1, 7, 4096]) {
      const pieces: string[] = [];
      for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size));
      const result = await runLoad((ctx) => loadJsonl(chunked('mac.jsonl', ...pieces), {}, ctx));
      expect(result.rejected).toEqual([]);
      expect(result.lines).toEqual(lines.map((_, i) => i + 1));
      expect(result.data[2999]).toEqual({ n: 2999, t: 'é'.repeat(2999 % 40) });
      expect(result.warnings).toHaveLength(1);
    }
  });

  it('keeps byte offsets exact in a file with CR line endings', async () => {
    const bytes = Buffer.concat([Buffer.from('{"a":"é"}\r{"a":"'), Buffer.from([0xff]), Buffer.from('"}\r')]);
    const result = await runLoad((ctx) => loadJsonl(chunked('mac.jsonl', bytes), {}, ctx));
    expect(result.rejected.map((r) => [r.source.line, r.reason])).toEqual([[2, 'invalid_encoding']]);
    expect(result.rejected[0]?.message).toContain('at byte offset 17 of the file');
  });

  it('warns that recordsKey applies to JSON files only, and reads the file as JSONL', async () => {
    const result = await runLoad((ctx) => loadJsonl(chunked('rows.jsonl', '{"a":1}\n'), { recordsKey: 'data' }, ctx));
    expect(result.data).toEqual([{ a: 1 }]);
    expect(result.warnings).toEqual([
      'rows.jsonl: recordsKey "data" applies to JSON files only (one object holding the records under that key); ' +
        "this file is read as JSONL, so it was ignored. If the file is such an object, name it .json or pass format: 'json'.",
    ]);
  });

  it('says so in the run\'s warnings when --records-key is given for a .jsonl input', async () => {
    const path = await writeTemp('chat.jsonl', '{"prompt": "What is a lien?", "completion": "A right to keep property."}\n');
    const dir = await tempDir();
    const io = fakeIo();
    expect(await runCli(['prepare', path, '--records-key', 'data', '--out', join(dir, 'o'), '--validation', '0', '--json', '--quiet'], io)).toBe(0);
    const out = JSON.parse(io.out) as { counts: { input: number; kept: number }; warnings: string[] };
    expect(out.counts).toMatchObject({ input: 1, kept: 1 });
    expect(out.warnings).toContainEqual(expect.stringMatching(/chat\.jsonl: recordsKey "data" applies to JSON files only/));
  });

  it('decodes a multi-byte character split across byte chunks', async () => {
    const bytes = Buffer.from('{"t":"😀 é"}\n', 'utf8');
    const result = await runLoad((ctx) =>
      loadJsonl(chunked('mb.jsonl', bytes.subarray(0, 8), bytes.subarray(8, 9), bytes.subarray(9)), {}, ctx),
    );
    expect(result.data).toEqual([{ t: '😀 é' }]);
  });

  it('streams: the first row comes before the source is read to the end', async () => {
    const { source, state } = lazySource('lazy.jsonl', '{"a":0}\n', () => '{"a":1}\n'.repeat(1000), 50);
    for await (const row of loadJsonl(source, {}, { reject: () => {}, warn: () => {} })) {
      expect(row.source.line).toBe(1);
      break;
    }
    expect(state.pulled).toBeLessThanOrEqual(2);
  });

  it('stops with ABORTED when the signal is already aborted', async () => {
    const path = await writeTemp('a.jsonl', '{"a":1}\n');
    const result = await runLoad((ctx) => loadJsonl(path, {}, ctx), AbortSignal.abort());
    expect(isLoraPrepError(result.error) && result.error.code).toBe('ABORTED');
    expect(result.rows).toEqual([]);
  });

  it('is reached through loadRecords for .jsonl and .ndjson', async () => {
    for (const name of ['x.jsonl', 'x.NDJSON']) {
      const path = await writeTemp(name, '{"a":1}\n');
      expect((await runLoad((ctx) => loadRecords(path, {}, ctx))).data).toEqual([{ a: 1 }]);
    }
  });
});

describe('splitLines', () => {
  async function lines(chunks: string[], max?: number) {
    const out = [];
    for await (const l of splitLines(
      (async function* () {
        yield* chunks;
      })(),
      max,
    ))
      out.push('text' in l ? { line: l.line, text: l.text, offset: l.offset.get() } : l);
    return out;
  }

  it.each([
    { name: 'empty', chunks: [''], want: [] },
    { name: 'no trailing newline', chunks: ['a\nb'], want: [{ line: 1, text: 'a', offset: 0 }, { line: 2, text: 'b', offset: 2 }] },
    { name: 'trailing newline adds no line', chunks: ['a\n'], want: [{ line: 1, text: 'a', offset: 0 }] },
    { name: 'CRLF split', chunks: ['a\r', '\nb\r\n'], want: [{ line: 1, text: 'a', offset: 0 }, { line: 2, text: 'b', offset: 3 }] },
    { name: 'only one CR dropped', chunks: ['a\r\r\n'], want: [{ line: 1, text: 'a\r', offset: 0 }] },
    {
      name: 'blank lines kept',
      chunks: ['\n\n', 'x'],
      want: [{ line: 1, text: '', offset: 0 }, { line: 2, text: '', offset: 1 }, { line: 3, text: 'x', offset: 2 }],
    },
    {
      name: 'offsets count UTF-8 bytes, an escaped bad byte as one',
      chunks: ['é€😀\n\uDCE9x\n', 'y'],
      want: [{ line: 1, text: 'é€😀', offset: 0 }, { line: 2, text: '\uDCE9x', offset: 10 }, { line: 3, text: 'y', offset: 13 }],
    },
  ])('$name', async ({ chunks, want }) => {
    expect(await lines(chunks)).toEqual(want);
  });

  it('reports a line over the limit by its bytes and head, and goes on', async () => {
    expect(await lines(['ab', 'cdef', 'gh\nok\n'], 5)).toEqual([
      { line: 1, bytes: 8, head: 'abcdef' },
      { line: 2, text: 'ok', offset: 9 },
    ]);
  });

  it('measures the limit in UTF-8 bytes, not characters', async () => {
    // 4 characters, 8 bytes: over a limit of 6 bytes although under 6 characters.
    expect(await lines(['éééé\nab\n'], 6)).toEqual([
      { line: 1, bytes: 8, head: 'éééé' },
      { line: 2, text: 'ab', offset: 9 },
    ]);
  });
});

describe('loadJsonl properties', () => {
  type Item = { kind: 'good'; value: Record<string, unknown> } | { kind: 'blank'; text: string } | { kind: 'bad'; text: string } | { kind: 'scalar'; text: string };
  const item: fc.Arbitrary<Item> = fc.oneof(
    fc.dictionary(fc.string(), fc.jsonValue()).map((value) => ({ kind: 'good' as const, value })),
    fc.constantFrom('', ' ', '\t', '  \t ').map((text) => ({ kind: 'blank' as const, text })),
    fc.oneof(
      fc.constantFrom('{', '{"a":}', 'nope', '{"a":1}}', "{'a':1}", '[1,', '{"a":1,}'),
      fc
        .string({ unit: 'grapheme' })
        .map((s) => `{${s}`)
        .filter((s) => !/[\r\n]/.test(s) && !parses(s)),
    ).map((text) => ({ kind: 'bad' as const, text })),
    fc.oneof(fc.integer(), fc.array(fc.integer()), fc.string(), fc.constant(null)).map((v) => ({ kind: 'scalar' as const, text: JSON.stringify(v) })),
  );

  it('accounts for exactly the non-blank lines, each at its line', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(item, fc.constantFrom('\n', '\r\n')), { maxLength: 30 }),
        fc.integer({ min: 1, max: 40 }),
        async (items, chunk) => {
          const text = items.map(([it, eol]) => (it.kind === 'good' ? JSON.stringify(it.value) : it.text) + eol).join('');
          const pieces: string[] = [];
          for (let i = 0; i < text.length; i += chunk) pieces.push(text.slice(i, i + chunk));
          const result = await runLoad((ctx) => loadJsonl(chunked('p.jsonl', ...pieces), {}, ctx));
          expect(result.error).toBeUndefined();
          const goodLines = items.flatMap(([it], i) => (it.kind === 'good' ? [i + 1] : []));
          const badLines = items.flatMap(([it], i) => (it.kind === 'bad' ? [i + 1] : []));
          const scalarLines = items.flatMap(([it], i) => (it.kind === 'scalar' ? [i + 1] : []));
          expect(result.lines).toEqual(goodLines);
          expect(result.data).toEqual(items.flatMap(([it]) => (it.kind === 'good' ? [JSON.parse(JSON.stringify(it.value))] : [])));
          expect(result.rejected.filter((r) => r.reason === 'invalid_json').map((r) => r.source.line)).toEqual(badLines);
          expect(result.rejected.filter((r) => r.reason === 'invalid_record').map((r) => r.source.line)).toEqual(scalarLines);
          expect(result.rows.length + result.rejected.length).toBe(items.filter(([it]) => it.kind !== 'blank').length);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('loadJsonl properties, CR line endings', () => {
  it('reads a file with CR line endings as the same lines, however it is cut', async () => {
    const item = fc.oneof(
      fc.dictionary(fc.string(), fc.jsonValue()).map((value) => ({ good: true, text: JSON.stringify(value) })),
      fc.constantFrom('', ' ', '{"a":}', 'nope').map((text) => ({ good: false, text })),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(item, { minLength: 1, maxLength: 20 }), fc.integer({ min: 1, max: 40 }), async (items, chunk) => {
        const text = items.map((it) => `${it.text}\r`).join('');
        const pieces: string[] = [];
        for (let i = 0; i < text.length; i += chunk) pieces.push(text.slice(i, i + chunk));
        const result = await runLoad((ctx) => loadJsonl(chunked('mac.jsonl', ...pieces), {}, ctx));
        expect(result.lines).toEqual(items.flatMap((it, i) => (it.good ? [i + 1] : [])));
        expect(result.rejected.map((r) => r.source.line)).toEqual(items.flatMap((it, i) => (!it.good && it.text.trim() !== '' ? [i + 1] : [])));
        expect(result.warnings[0]).toMatch(/carriage return alone/);
      }),
      { numRuns: 150 },
    );
  });
});

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
