import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isLoraPrepError } from '../../src/errors.js';
import { loadJson, loadRecords } from '../../src/load/index.js';
import { JsonArrayScanner, type ArrayScanEvent } from '../../src/load/_json-array.js';
import { chunked, lazySource, runLoad, writeTemp } from '../helpers/load-helpers.js';

type Row = [line: number, data: Record<string, unknown>];
type Rej = [line: number, reason: string, message: string | RegExp];

interface Case {
  name: string;
  text: string;
  rows: Row[];
  rejected?: Rej[];
  warnings?: RegExp[];
}

const cases: Case[] = [
  {
    name: 'a pretty-printed array: each element at the line it starts on',
    text: '[\n  {\n    "a": 1\n  },\n  {"a": 2},\n\n  {"a": {"b": [1, 2]}}\n]\n',
    rows: [
      [2, { a: 1 }],
      [5, { a: 2 }],
      [7, { a: { b: [1, 2] } }],
    ],
  },
  {
    name: 'a one-line array',
    text: '[{"a":1},{"a":2}]',
    rows: [
      [1, { a: 1 }],
      [1, { a: 2 }],
    ],
  },
  {
    name: 'an empty array gives no rows and no warning',
    text: ' [ \n ] \n',
    rows: [],
  },
  {
    name: 'leading whitespace, CRLF and a BOM before the array',
    text: '\uFEFF\r\n\r\n[\r\n{"a":1},\r\n{"a":2}]',
    rows: [
      [4, { a: 1 }],
      [5, { a: 2 }],
    ],
  },
  {
    name: 'brackets, braces, commas and escaped quotes inside strings',
    text: '[{"t": "a]},{[\\"\\\\"}, {"u": "\\\\"}\n]',
    rows: [
      [1, { t: 'a]},{["\\' }],
      [1, { u: '\\' }],
    ],
  },
  {
    name: 'non-object elements are invalid_record at their lines',
    text: '[\n[1],\n"s",\n42,\nnull,\nfalse,\n{"ok":true}\n]',
    rows: [[7, { ok: true }]],
    rejected: [
      [2, 'invalid_record', 'expected an object as each element of the array, got an array'],
      [3, 'invalid_record', 'expected an object as each element of the array, got a string'],
      [4, 'invalid_record', 'expected an object as each element of the array, got a number'],
      [5, 'invalid_record', 'expected an object as each element of the array, got null'],
      [6, 'invalid_record', 'expected an object as each element of the array, got a boolean (false)'],
    ],
  },
  {
    name: 'a malformed element is invalid_json; the next one is read',
    text: '[\n{"a":1,},\n{"a":2}\n]',
    rows: [[3, { a: 2 }]],
    rejected: [[2, 'invalid_json', /^the array element is not valid JSON: .*position 7/]],
  },
  {
    name: 'mismatched brackets end the broken element early',
    text: '[\n{"a":[1,2},\n{"a":3}\n]',
    rows: [[3, { a: 3 }]],
    rejected: [[2, 'invalid_json', /not valid JSON/]],
  },
  {
    name: 'an unclosed string ends at the line end, so the next element is found',
    text: '[\n{"a":"broken\n},\n{"a":3}\n]',
    rows: [[4, { a: 3 }]],
    rejected: [[2, 'invalid_json', /not valid JSON/]],
  },
  {
    name: 'a truncated file: rows before kept, the cut element rejected, a warning',
    text: '[\n{"a":1},\n{"b":\n  [1, 2',
    rows: [[2, { a: 1 }]],
    rejected: [[3, 'invalid_json', /^the file ends inside this array element \(lines 3–4\), so it is incomplete: /]],
    warnings: [/^data\.json: the file ended before the array's closing "\]"/],
  },
  {
    name: 'a file cut right after an element: that element is kept, a warning',
    text: '[{"a":1},\n{"a":2}',
    rows: [
      [1, { a: 1 }],
      [2, { a: 2 }],
    ],
    warnings: [/file ended before the array's closing/],
  },
  {
    name: 'a missing comma: both elements read, one warning',
    text: '[\n{"a":1}\n{"a":2}\n{"a":3}\n]',
    rows: [
      [2, { a: 1 }],
      [3, { a: 2 }],
      [4, { a: 3 }],
    ],
    warnings: [/^data\.json:3: expected "," or "\]" after an array element/],
  },
  {
    name: 'a trailing comma is tolerated',
    text: '[{"a":1},\n]',
    rows: [[1, { a: 1 }]],
  },
  {
    name: 'an object after the closing ] is rejected at its line, not dropped',
    text: '[{"a":1}]\n\n{"b":2}',
    rows: [[1, { a: 1 }]],
    rejected: [[3, 'invalid_json', 'this object follows the array\'s closing "]", outside the array, so it was not read: move it into the array (after a comma, before the "]")']],
  },
  {
    name: 'other text after the closing ] is rejected line by line',
    text: '[{"a":1}] extra words\n// a comment\n',
    rows: [[1, { a: 1 }]],
    rejected: [
      [1, 'invalid_json', /^this text follows the array's closing "\]", where another array \[ … \] or the end of the file should come, so it was not read$/],
      [2, 'invalid_json', /^this text follows/],
    ],
  },
  {
    name: 'a cut-off value after the closing ] is rejected',
    text: '[{"a":1}]\n{"b":\n',
    rows: [[1, { a: 1 }]],
    rejected: [[2, 'invalid_json', /^this text follows .* \(the file ends inside it\)$/]],
  },
  {
    name: 'arrays written one after another (cat a.json b.json): every array is read, one warning',
    text: '[{"a":1}]\n[{"a":2},\n{"a":3}]\n[]\n,[{"a":4}]',
    rows: [
      [1, { a: 1 }],
      [2, { a: 2 }],
      [3, { a: 3 }],
      [5, { a: 4 }],
    ],
    warnings: [/^data\.json:2: another JSON array starts after the first one's closing "\]" .*; the elements of every array were read\.$/],
  },
  {
    name: 'CR line endings (classic Mac OS): each element at its own line, with a warning',
    text: '[\r  {"a":1},\r\r  {"a":2},\r  "x"\r]\r',
    rows: [
      [2, { a: 1 }],
      [4, { a: 2 }],
    ],
    rejected: [[5, 'invalid_record', /^expected an object/]],
    warnings: [/^data\.json: the file ends its lines with a carriage return alone .*each lone CR was read as a line break\.$/],
  },
  {
    name: 'a raw line break inside a string costs that element only; the next keep their lines',
    text: '[\n{"prompt": "raw\nnewline", "completion": "c1"},\n{"prompt": "p2", "completion": "c2"},\n{"prompt": "p3", "completion": "c3"}\n]\n',
    rows: [
      [4, { prompt: 'p2', completion: 'c2' }],
      [5, { prompt: 'p3', completion: 'c3' }],
    ],
    rejected: [[2, 'invalid_json', /^the array element \(lines 2–3\) is not valid JSON: Bad control character .*; a string runs over a line break, which JSON does not allow: write the break as \\n$/]],
  },
  {
    name: 'raw line breaks in a code sample, one line starting with }, another with {',
    text: '[\n{"completion": "function f() {\n  return 1;\n}\n{x}\n", "prompt": "p"},\n{"a":2}\n]',
    rows: [[7, { a: 2 }]],
    rejected: [[2, 'invalid_json', /lines 2–6.*write the break as/]],
  },
  {
    name: 'a raw line break in an unindented pretty-printed element',
    text: '[\n{\n"messages": [\n{"role": "user", "content": "raw\nline"},\n{"role": "assistant", "content": "a"}\n]\n},\n{\n"messages": []\n}\n]',
    rows: [[9, { messages: [] }]],
    rejected: [[2, 'invalid_json', /lines 2–8.*write the break as/]],
  },
  {
    name: 'a raw line break in a one-line array: the element ends where its string does',
    text: '[{"a":"x\ny"}, {"a": 2}\n,{"a":3}]',
    rows: [
      [2, { a: 2 }],
      [3, { a: 3 }],
    ],
    rejected: [[1, 'invalid_json', /write the break as/]],
  },
  {
    name: 'a string left open at its line end, the element closing on the next line',
    text: '[{"a":"broken\n}, {"a":3}]',
    rows: [[2, { a: 3 }]],
    rejected: [[1, 'invalid_json', /\(lines 1–2\).*; a string is not closed before the end of its line$/]],
  },
  {
    name: 'strings left open at two line ends, the element closing on the third line',
    text: '[{"a":"x\n, "b":"y\n}, {"c":1}]',
    rows: [[3, { c: 1 }]],
    rejected: [[1, 'invalid_json', /\(lines 1–3\).*; a string is not closed before the end of its line$/]],
  },
  {
    name: 'a string read as left open must be followed by , or ]: here the line break was part of it',
    text: '[{"prompt":"\n}"},\n{"a":2}]',
    rows: [[3, { a: 2 }]],
    rejected: [[1, 'invalid_json', /\(lines 1–2\).*write the break as/]],
  },
  {
    name: 'a missing closing quote: the element ends before the next line that starts like one',
    text: '[\n{"prompt": "hello,\n "completion": "c"},\n{"prompt": "p2"}\n]\n',
    rows: [[4, { prompt: 'p2' }]],
    rejected: [[2, 'invalid_json', /\(lines 2–3\).*; its quotes or brackets do not pair up, so it was taken to end before the next line that starts like an element$/]],
  },
  {
    name: 'a missing closing quote in a pretty-printed array',
    text: '[\n  {\n    "prompt": "hello,\n    "completion": "c"\n  },\n  {\n    "prompt": "p2",\n    "completion": "c2"\n  }\n]\n',
    rows: [[6, { prompt: 'p2', completion: 'c2' }]],
    rejected: [[2, 'invalid_json', /\(lines 2–5\).*do not pair up/]],
  },
  {
    name: 'a missing closing quote in the last element: the array still closes',
    text: '[\n{"a": 1},\n{"a": "x, "b": 1}\n]\n',
    rows: [[2, { a: 1 }]],
    rejected: [[3, 'invalid_json', /^the array element is not valid JSON: .*do not pair up/]],
  },
  {
    name: 'a missing } ends the element before the { where a key must stand',
    text: '[\n{"a": {"b": 1},\n{"a": 3},\n{"a": 4}\n]',
    rows: [
      [3, { a: 3 }],
      [4, { a: 4 }],
    ],
    rejected: [[2, 'invalid_json', /^the array element is not valid JSON: .*; a "\{" or "\[" follows where a key must stand, so the element was taken to end before it \(is a closing "\}" missing\?\)$/]],
  },
  {
    name: 'a missing } in a one-line array',
    text: '[{"a":{"b":1},{"a":3},{"a":4}]',
    rows: [
      [1, { a: 3 }],
      [1, { a: 4 }],
    ],
    rejected: [[1, 'invalid_json', /where a key must stand/]],
  },
  {
    name: 'JSONL saved as .json is read as JSONL with a warning',
    text: '{"a":1}\n\n{"a":2}\nnot json\n',
    rows: [
      [1, { a: 1 }],
      [3, { a: 2 }],
    ],
    rejected: [[4, 'invalid_json', /not valid JSON/]],
    warnings: [/^data\.json: the file holds one JSON object per line \(JSONL\).*pass format: 'jsonl'/],
  },
  {
    name: 'an empty file: no rows, a warning',
    text: ' \n',
    rows: [],
    warnings: [/^data\.json: the file is empty/],
  },
];

describe('loadJson', () => {
  it.each(cases)('$name', async ({ text, rows, rejected = [], warnings = [] }) => {
    const path = await writeTemp('data.json', text);
    const result = await runLoad((ctx) => loadJson(path, {}, ctx));
    expect(result.error).toBeUndefined();
    expect(result.rows.map((r) => [r.source.line, r.data])).toEqual(rows);
    for (const row of result.rows) expect(row.source.file).toBe(path);
    expect(result.rejected.map((r) => [r.source.line, r.reason])).toEqual(rejected.map(([l, reason]) => [l, reason]));
    result.rejected.forEach((r, i) => {
      const want = (rejected[i] as Rej)[2];
      if (typeof want === 'string') expect(r.message).toBe(want);
      else expect(r.message).toMatch(want);
    });
    expect(result.warnings.map((w) => w.replace(path, 'data.json'))).toEqual(
      warnings.map((w) => expect.stringMatching(w)),
    );
  });

  it.each([
    {
      name: 'an object whose array of objects holds the records',
      text: '{\n  "version": 2,\n  "data": [\n    {"q": 1}\n  ],\n  "tags": ["x"]\n}\n',
      message: /must be an array of objects.*holds one object with keys \["version", "data", "tags"\]\. The records seem to be the array under "data"/,
    },
    {
      name: 'an object with an array of strings only',
      text: '{"tags": ["x"], "n": 1}',
      message: /keys \["tags", "n"\]\. The records seem to be the array under "tags"/,
    },
    {
      name: 'columns, not records: a Dataset.to_dict() or pandas orient=list',
      text: '{"question": ["What is APR?", "What is a lien?"], "answer": ["The yearly rate.", "A claim."]}',
      message: /keys \["question", "answer"\]\. The keys look like columns, each holding every row's value \(pandas' to_json\(\) without orient='records', a Dataset's to_dict\(\)\): write records instead, df\.to_json\(path, orient='records', lines=True\)/,
    },
    {
      name: "columns keyed by row index: pandas' to_json() default",
      text: '{"question": {"0": "What is APR?", "1": "What is a lien?"}, "answer": {"0": "The yearly rate.", "1": "A claim."}}',
      message: /The keys look like columns/,
    },
    {
      name: 'an object without arrays (one record)',
      text: '{"q": "hi", "a": "hello"}',
      message: /keys \["q", "a"\]\. If the object is one record, put it inside \[ \]/,
    },
    {
      name: 'an object that never closes',
      text: '{"items": [{"q": 1},',
      message: /keys \["items"\] that never closes/,
    },
    {
      name: 'two objects on one line (not JSONL)',
      text: '{"a":1} {"a":2}',
      message: /keys \["a"\], followed by more text/,
    },
    { name: 'a string', text: '"hello"', message: /but the file holds a string\./ },
    { name: 'a number', text: '-12.5', message: /but the file holds a number\./ },
    { name: 'CSV text', text: 'q,a\nx,y\n', message: /holds text that is not JSON \(it starts with "q"\)/ },
  ])('throws INPUT_FORMAT for $name', async ({ text, message }) => {
    const path = await writeTemp('bad.json', text);
    const result = await runLoad((ctx) => loadJson(path, {}, ctx));
    expect(isLoraPrepError(result.error) && result.error.code).toBe('INPUT_FORMAT');
    expect((result.error as Error).message.startsWith(`${path}: a JSON input must be an array of objects`)).toBe(true);
    expect((result.error as Error).message).toMatch(message);
    expect(result.rows).toEqual([]);
  });

  it('lists at most ten keys', async () => {
    const keys = Array.from({ length: 13 }, (_, i) => `"k${i}": ${i}`).join(', ');
    const result = await runLoad((ctx) => loadJson(chunked('k.json', `{${keys}}`), {}, ctx));
    expect((result.error as Error).message).toMatch(/\["k0", .*"k9", … 3 more\]/);
  });

  it('reads chunks split inside strings, escapes and between \\r and \\n', async () => {
    const result = await runLoad((ctx) =>
      loadJson(chunked('c.json', '[\r', '\n{"t":"a\\', '"b', '"},\r', '\n{"u', '":1}', ']'), {}, ctx),
    );
    expect(result.rows.map((r) => [r.source.line, r.data])).toEqual([
      [2, { t: 'a"b' }],
      [3, { u: 1 }],
    ]);
  });

  it('streams: the first row comes before the source is read to the end', async () => {
    const { source, state } = lazySource('lazy.json', '[{"a":0},\n', () => '{"a":1},\n'.repeat(1000), 50);
    for await (const row of loadJson(source, {}, { reject: () => {}, warn: () => {} })) {
      expect(row.source.line).toBe(1);
      break;
    }
    expect(state.pulled).toBeLessThanOrEqual(2);
  });

  it('is reached through loadRecords for .json', async () => {
    const path = await writeTemp('x.JSON', '[{"a":1}]');
    expect((await runLoad((ctx) => loadRecords(path, {}, ctx))).data).toEqual([{ a: 1 }]);
  });
});

/** Scanner events with `offset()` called, for comparing. */
function plain(events: ArrayScanEvent[]) {
  return events.map((e) => ('offset' in e ? { ...e, offset: e.offset.get() } : e));
}

describe('JsonArrayScanner', () => {
  it('reports an element over the limit by length and start, and goes on', () => {
    const scanner = new JsonArrayScanner(10);
    const events = plain([...scanner.push('[{"a":"0123'), ...scanner.push('456789"},\n{"b":1}]'), ...scanner.end()]);
    expect(events).toEqual([
      { kind: 'overlong', line: 1, endLine: 1, bytes: 18, head: '{"a":"0123456789"}' },
      { kind: 'element', line: 2, text: '{"b":1}', offset: 21, depth: 1 },
    ]);
  });

  it('gives each element its byte offset and depth, counting bytes across chunks', () => {
    const scanner = new JsonArrayScanner();
    const events = plain([...scanner.push('[{"é":[[1]]}, '), ...scanner.push('\uDCE9 {"a":{}}]'), ...scanner.end()]);
    expect(events).toEqual([
      { kind: 'element', line: 1, text: '{"é":[[1]]}', offset: 1, depth: 3 },
      { kind: 'element', line: 1, text: '\uDCE9', offset: 15, depth: 0 },
      { kind: 'missing-comma', line: 1 },
      { kind: 'element', line: 1, text: '{"a":{}}', offset: 17, depth: 2 },
    ]);
  });

  it('keeps no more than the depth limit of brackets, and still finds the element end', () => {
    const scanner = new JsonArrayScanner();
    const deep = '['.repeat(5000) + ']'.repeat(5000);
    const events = [...scanner.push(`[${deep},{"a":1}]`), ...scanner.end()];
    expect(events.map((e) => (e.kind === 'element' ? [e.kind, e.depth, e.text.length] : [e.kind]))).toEqual([
      ['element', 5000, 10_000],
      ['element', 1, 7],
    ]);
  });

  it('ends numbers and literals at , ] or whitespace', () => {
    const scanner = new JsonArrayScanner();
    expect(plain([...scanner.push('[1,true ,\nnull]'), ...scanner.end()])).toEqual([
      { kind: 'element', line: 1, text: '1', offset: 1, depth: 0 },
      { kind: 'element', line: 1, text: 'true', offset: 3, depth: 0 },
      { kind: 'element', line: 2, text: 'null', offset: 10, depth: 0 },
    ]);
  });
});

describe('loadJson properties', () => {
  const element = fc.oneof(
    { weight: 5, arbitrary: fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 })) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  );

  it('round-trips randomly pretty-printed arrays with each element at its line', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            value: element,
            indent: fc.constantFrom(0, 1, 2, 4, '\t'),
            before: fc.constantFrom('', ' ', '\n', '\n  ', '\r\n', '\n\n\t'),
            after: fc.constantFrom('', ' ', '\n', '\r\n '),
          }),
          { maxLength: 15 },
        ),
        fc.constantFrom('', '\n', ' \n'),
        fc.integer({ min: 1, max: 50 }),
        async (elements, close, chunk) => {
          let text = '[';
          const lines: number[] = [];
          elements.forEach(({ value, indent, before, after }, i) => {
            text += before;
            lines.push(text.split('\n').length);
            text += JSON.stringify(value, null, indent) + after + (i < elements.length - 1 ? ',' : '');
          });
          text += `${close}]`;
          const pieces: string[] = [];
          for (let i = 0; i < text.length; i += chunk) pieces.push(text.slice(i, i + chunk));
          const result = await runLoad((ctx) => loadJson(chunked('p.json', ...pieces), {}, ctx));
          expect(result.error).toBeUndefined();
          expect(result.warnings).toEqual([]);
          const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
          expect(result.data).toEqual(elements.filter((e) => isObject(e.value)).map((e) => JSON.parse(JSON.stringify(e.value))));
          expect(result.lines).toEqual(lines.filter((_, i) => isObject(elements[i]?.value)));
          expect(result.rejected.map((r) => [r.reason, r.source.line])).toEqual(
            lines.flatMap((line, i) => (isObject(elements[i]?.value) ? [] : [['invalid_record', line]])),
          );
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('loadJson recovery properties', () => {
  const element = fc.oneof(
    { weight: 5, arbitrary: fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 })) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  );
  const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
  /** Marks where the raw line break goes; no generated string holds it. */
  const MARK = '\u2603\u2604\u2603';

  it('a raw line break inside one string costs that element only, however the array is laid out and cut', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            value: element,
            indent: fc.constantFrom(0, 1, 2, '\t'),
            before: fc.constantFrom('', ' ', '\n', '\n  ', '\r\n', '\n\n\t'),
          }),
          { minLength: 1, maxLength: 10 },
        ),
        fc.nat(),
        fc.record({ left: fc.string(), right: fc.string(), rest: fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }) }),
        fc.integer({ min: 1, max: 50 }),
        async (elements, at, broken, chunk) => {
          const k = at % elements.length;
          let text = '[';
          const lines: number[] = [];
          elements.forEach(({ value, indent, before }, i) => {
            text += before;
            lines.push(text.split('\n').length);
            const json =
              i === k
                ? JSON.stringify({ ...broken.rest, prompt: `${broken.left}${MARK}${broken.right}` }, null, indent).replace(MARK, '\n')
                : JSON.stringify(value, null, indent);
            text += json + (i < elements.length - 1 ? ',' : '');
          });
          text += '\n]\n';
          const pieces: string[] = [];
          for (let i = 0; i < text.length; i += chunk) pieces.push(text.slice(i, i + chunk));
          const result = await runLoad((ctx) => loadJson(chunked('r.json', ...pieces), {}, ctx));
          expect(result.error).toBeUndefined();
          expect(result.warnings).toEqual([]);
          const kept = elements.map((e, i) => ({ ...e, line: lines[i] as number, i })).filter((e) => e.i !== k);
          expect(result.rows.map((r) => [r.source.line, r.data])).toEqual(
            kept.filter((e) => isObject(e.value)).map((e) => [e.line, JSON.parse(JSON.stringify(e.value))]),
          );
          expect(result.rejected.map((r) => [r.reason, r.source.line])).toEqual(
            elements.flatMap((e, i) => (i === k ? [['invalid_json', lines[i]]] : isObject(e.value) ? [] : [['invalid_record', lines[i]]])),
          );
          expect(result.rejected.find((r) => r.reason === 'invalid_json')?.message).toMatch(/write the break as \\n$/);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('arrays written one after another are all read, with their lines, however they are cut', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 })), { maxLength: 4 }), { minLength: 1, maxLength: 4 }),
        fc.constantFrom('', '\n', '\r\n', ' ', ',\n', '\n\n'),
        fc.boolean(),
        fc.integer({ min: 1, max: 40 }),
        async (arrays, separator, pretty, chunk) => {
          let text = '';
          const lines: number[] = [];
          const arrayLines: number[] = [];
          arrays.forEach((records, a) => {
            if (a > 0) text += separator;
            arrayLines.push(text.split('\n').length);
            text += '[';
            records.forEach((record, i) => {
              if (pretty) text += '\n  ';
              lines.push(text.split('\n').length);
              text += JSON.stringify(record) + (i < records.length - 1 ? ',' : '');
            });
            text += pretty ? '\n]' : ']';
          });
          const pieces: string[] = [];
          for (let i = 0; i < text.length; i += chunk) pieces.push(text.slice(i, i + chunk));
          const result = await runLoad((ctx) => loadJson(chunked('cat.json', ...pieces), {}, ctx));
          expect(result.error).toBeUndefined();
          expect(result.rejected).toEqual([]);
          expect(result.data).toEqual(arrays.flat().map((r) => JSON.parse(JSON.stringify(r))));
          expect(result.lines).toEqual(lines);
          expect(result.warnings).toEqual(
            arrays.length > 1 ? [expect.stringMatching(new RegExp(`^cat\\.json:${arrayLines[1]}: another JSON array starts`))] : [],
          );
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('JsonArrayScanner recovery', () => {
  it('steps back to the end found for elements with an unclosed quote, keeping lines and byte offsets exact however the text is cut', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            q: fc.string({ unit: fc.constantFrom('a', 'é', '😀', '{', '"', ' ', '\\') }),
            n: fc.integer(),
            // Whole, or broken: its first string lacks its closing quote, and its line goes on
            // (next-line), or the element closes on the next line (open-string).
            how: fc.constantFrom('whole', 'whole', 'next-line', 'open-string'),
          }),
          { minLength: 1, maxLength: 12 },
        ),
        fc.constantFrom('', '  ', '\t'),
        fc.constantFrom('\n', '\r\n'),
        fc.integer({ min: 1, max: 30 }),
        (records, indent, eol, chunk) => {
          let text = `[${eol}`;
          const want: Array<{ line: number; text: string; offset: number; recovered?: string }> = [];
          records.forEach(({ how, ...record }, i) => {
            text += indent;
            const open = `{"q": ${JSON.stringify(record.q).slice(0, -1)}`;
            const json = how === 'whole' ? JSON.stringify(record) : how === 'next-line' ? `${open}, "n": ${record.n}}` : `${open}${eol}${indent}}`;
            const comma = i < records.length - 1 ? ',' : '';
            want.push({
              line: text.split('\n').length,
              text: how === 'next-line' ? json + comma : json,
              offset: Buffer.byteLength(text),
              ...(how === 'whole' ? {} : { recovered: how }),
            });
            text += json + comma + eol;
          });
          text += ']';
          const scanner = new JsonArrayScanner();
          const events: ArrayScanEvent[] = [];
          // Cut anywhere but inside a surrogate pair, as decoded text never is.
          for (let i = 0, j = 0; i < text.length; i = j) {
            j = Math.min(text.length, i + chunk);
            if (/[\uD800-\uDBFF]/.test(text.charAt(j - 1))) j++;
            events.push(...scanner.push(text.slice(i, j)));
          }
          events.push(...scanner.end());
          expect(
            events.map((e) => (e.kind === 'element' ? { line: e.line, text: e.text, offset: e.offset.get(), ...(e.recovered ? { recovered: e.recovered } : {}) } : e)),
          ).toEqual(want);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('gives up a reading that runs on past 8 more lines starting like an element, or 1,000 lines: the rest streams', () => {
    const startsAfter = new JsonArrayScanner();
    const short = startsAfter.push(`[\n{"q": "open, "n": -1},\n${Array.from({ length: 20 }, (_, i) => `{"n": ${i}},`).join('\n')}\n`);
    expect(short.map((e) => (e.kind === 'element' ? [e.line, e.recovered ?? 'whole'] : [e.kind]))).toEqual([
      [2, 'next-line'],
      ...Array.from({ length: 20 }, (_, i) => [i + 3, 'whole']),
    ]);
    const linesAfter = new JsonArrayScanner();
    const long = linesAfter.push(`[\n{"q": "open, "n": -1},\n{\n${'  "k": 1,\n'.repeat(1_100)}`);
    expect(long.map((e) => (e.kind === 'element' ? [e.line, e.recovered] : [e.kind]))).toEqual([[2, 'next-line']]);
  });

  it('ends a broken element at the line found for it in a long file, so the rest is read', async () => {
    const body = Array.from({ length: 3000 }, (_, i) => `{"n": ${i}}`).join(',\n');
    const result = await runLoad((ctx) => loadJson(chunked('long.json', `[\n{"q": "open, "n": -1},\n${body}\n]\n`), {}, ctx));
    expect(result.rejected.map((r) => [r.source.line, r.reason])).toEqual([[2, 'invalid_json']]);
    expect(result.data).toHaveLength(3000);
    expect(result.lines[0]).toBe(3);
    expect(result.lines[2999]).toBe(3002);
    expect(result.warnings).toEqual([]);
  });

  it('steps back rather than pass the length limit while a broken element has a line to end at', async () => {
    const body = Array.from({ length: 50 }, (_, i) => `{"n": ${i}, "pad": "${'x'.repeat(40)}"}`).join(',\n');
    const result = await runLoad((ctx) => loadJson(chunked('limit.json', `[\n{"q": "open, "n": -1},\n`, body, '\n]\n'), { maxLineBytes: 500 }, ctx));
    expect(result.rejected.map((r) => [r.source.line, r.reason])).toEqual([[2, 'invalid_json']]);
    expect(result.data).toHaveLength(50);
  });

  it('gives an element past the length limit its lines', () => {
    const scanner = new JsonArrayScanner(10);
    const events = [...scanner.push('[\n{"a":\n"0123456789"},\n{"b":1}]'), ...scanner.end()];
    expect(events[0]).toEqual({ kind: 'overlong', line: 2, endLine: 3, bytes: 19, head: '{"a":\n"0123456789"}', trailing: undefined });
  });
});
