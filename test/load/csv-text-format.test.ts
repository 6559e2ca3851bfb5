/**
 * PostgreSQL's text format (`COPY ... TO` without CSV; also `mysql -B`): read with `quote: false`
 * and `escape: '\\'`, each field's backslash escapes are decoded after the row is split, except a
 * field that is just `\N` (NULL), left for `nullValues`. Without `escape: '\\'`, backslashes stay text.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeTextEscapes } from '../../src/load/csv.js';
import { loadCsv } from '../../src/load/index.js';
import { chunked, expectLoaded, runLoad, type LoadCase } from '../helpers/load-helpers.js';

const PG = { quote: false, escape: '\\' } as const;
/** A tab, the delimiter, inside the String.raw rows. */
const T = '\t';

/** A field as PostgreSQL's COPY TO writes it in text format (CopyAttributeOutText). */
function pgEncode(text: string): string {
  return text.replace(/[\\\b\f\n\r\t\v]/g, (c) => PG_ESCAPES[c] as string);
}
const PG_ESCAPES: Record<string, string> = { '\\': '\\\\', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v' };

describe('decodeTextEscapes', () => {
  it.each([
    ['no backslash', 'plain text', 'plain text'],
    ['the one-letter escapes', String.raw`a\bb\fc\nd\re\tf\vg`, 'a\bb\fc\nd\re\tf\vg'],
    ['a doubled backslash is one', String.raw`C:\\dir\\file`, 'C:\\dir\\file'],
    ['octal: one to three digits, the low eight bits', String.raw`\101\60x\0|\1011|\777`, 'A0x\u0000|A1|\u00ff'],
    ['hex: one or two digits', String.raw`\x41\x4a2\xfz\x7`, 'AJ2\u000fz\u0007'],
    ['\\x without a hex digit is x', String.raw`\xg`, 'xg'],
    ['any other escaped character is itself', String.raw`\N/A \| \" \é`, 'N/A | " é'],
    ['a field that is just \\N stays \\N (NULL)', String.raw`\N`, '\\N'],
    ['\\N inside a longer field is N', String.raw`\No`, 'No'],
    ['\\\\N is the text \\N', String.raw`\\N`, '\\N'],
    ['a backslash at the end is kept', 'end\\', 'end\\'],
    ['an escaped character outside the BMP', '\\\u{1F600}', '\u{1F600}'],
  ])('%s', (_name, field, decoded) => {
    expect(decodeTextEscapes(field)).toBe(decoded);
  });

  it('decodes any text as PostgreSQL encodes it back to that text', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', 'N', '\\', '\n', '\r', '\t', '\b', '\f', '\v', '0', '7', 'x', 'é', '😀') }), (text) => {
        expect(decodeTextEscapes(pgEncode(text))).toBe(text);
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.string(), (text) => {
        expect(decodeTextEscapes(pgEncode(text))).toBe(text);
      }),
      { numRuns: 300 },
    );
  });

  it('octal and hex escapes of any byte value decode to that character', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.constantFrom('', 'a', '9', 'g'), (byte, after) => {
        const octal = `\\${byte.toString(8).padStart(3, '0')}${after}`;
        const hex = `\\x${byte.toString(16).padStart(2, '0')}${after}`;
        expect(decodeTextEscapes(octal)).toBe(String.fromCharCode(byte) + after);
        expect(decodeTextEscapes(hex)).toBe(String.fromCharCode(byte) + after);
      }),
    );
  });
});

const cases: LoadCase[] = [
  {
    name: 'a COPY TO text TSV: escapes decoded, \\N kept for nullValues, quotes are text',
    text: ['question\tanswer\tsystem', String.raw`Two lines?${T}line1\nline2${T}\N`, String.raw`Where?${T}C:\\dir\\sub, "as is"${T}Be brief.\tTabbed.`, String.raw`Null answer?${T}\N${T}\N`, ''].join('\n'),
    file: 'export.tsv',
    options: PG,
    rows: [
      [2, { question: 'Two lines?', answer: 'line1\nline2', system: '\\N' }],
      [3, { question: 'Where?', answer: 'C:\\dir\\sub, "as is"', system: 'Be brief.\tTabbed.' }],
      [4, { question: 'Null answer?', answer: '\\N', system: '\\N' }],
    ],
  },
  {
    name: 'the header names are decoded too; the row count and lines are those of the file',
    text: ['q\\tx\tanswer', String.raw`a\\b${T}c\rd`, ''].join('\n'),
    file: 'h.tsv',
    options: PG,
    rows: [[2, { 'q\tx': 'a\\b', answer: 'c\rd' }]],
  },
  {
    name: 'quote: false alone keeps backslashes as text',
    text: ['question\tanswer', String.raw`Two lines?${T}line1\nline2 C:\\dir`, ''].join('\n'),
    file: 'plain.tsv',
    options: { quote: false },
    rows: [[2, { question: 'Two lines?', answer: String.raw`line1\nline2 C:\\dir` }]],
  },
  {
    name: "escape: '\\\\' with quotes (MySQL CSV) decodes only inside quotes; an unquoted \\N stays \\N",
    text: ['question,answer', String.raw`"He said \"hi\"",\N`, String.raw`plain\nq,"a\\b"`, ''].join('\n'),
    file: 'mysql.csv',
    options: { escape: '\\' },
    rows: [
      [2, { question: 'He said "hi"', answer: '\\N' }],
      [3, { question: String.raw`plain\nq`, answer: 'a\\b' }],
    ],
  },
  {
    name: 'a row with the wrong field count is still rejected on its line (decoding comes after the check)',
    text: ['question\tanswer', String.raw`only one\n`, String.raw`ok${T}fine\\`, ''].join('\n'),
    file: 'short.tsv',
    options: PG,
    rows: [[3, { question: 'ok', answer: 'fine\\' }]],
    rejected: [[2, 'malformed_row', /^expected 2 fields as in the header, got 1/]],
  },
];

describe('loadCsv: PostgreSQL text format', () => {
  it.each(cases)('$name', async (c) => {
    const result = await runLoad((ctx) => loadCsv(chunked(c.file ?? 'data.csv', c.text), c.options ?? {}, ctx));
    expectLoaded(result, c);
  });

  it('decodes the same whatever the chunking', async () => {
    const text = ['question\tanswer', ...Array.from({ length: 30 }, (_, i) => String.raw`q${i}\t\\x${T}a${i}\n\101\\`), ''].join('\n');
    const whole = await runLoad((ctx) => loadCsv(chunked('c.tsv', text), PG, ctx));
    expect(whole.data[0]).toEqual({ question: 'q0\t\\x', answer: 'a0\nA\\' });
    for (const size of [1, 3, 7]) {
      const parts: string[] = [];
      for (let i = 0; i < text.length; i += size) parts.push(text.slice(i, i + size));
      const split = await runLoad((ctx) => loadCsv(chunked('c.tsv', ...parts), PG, ctx));
      expect(split.rows.map((r) => [r.source.line, r.data])).toEqual(whole.rows.map((r) => [r.source.line, r.data]));
    }
  });
});
