/**
 * Unbalanced quotes in CSV/TSV: a quoted field that runs over lines and closes with a quote
 * followed by text is one rejected record naming its lines, not a merged row; a quote closed right
 * after a backslash (MySQL's \") names the escape option; the rest of the file reads on.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CsvFramer } from '../../src/load/_csv-framer.js';
import { loadCsv } from '../../src/load/index.js';
import { chunked, expectLoaded, runLoad, type LoadCase } from '../helpers/load-helpers.js';

const ESCAPE_HINT = /pass escape: '\\\\' \(CLI --escape '\\'\)/;

const cases: LoadCase[] = [
  {
    name: 'a stray quote swallowing lines 3–5 is one malformed_row naming them; line 6 reads on',
    text: 'question,answer\nL2 ok,a2\n"L3 stray,a3\nL4,a4\n"L5",a5\nL6,a6\n',
    rows: [
      [2, { question: 'L2 ok', answer: 'a2' }],
      [6, { question: 'L6', answer: 'a6' }],
    ],
    rejected: [[3, 'malformed_row', /^unbalanced quotes: a quote opens a field on line 3, and the quote that closes it, on line 5, is followed by text .*so lines 3–5 would be one field: they were rejected together\. Check the quotes on line 3: double a quote .*pass escape: '\\\\' \(CLI --escape '\\'\)$/]],
  },
  {
    name: 'the same in TSV (a quoted speech that opens on line 2 and a quoted word on line 4)',
    text: 'question\tanswer\n"Hi, he said. L2\tYes\nPlain L3\tNo\n"Bye," she said. L4\tMaybe\nL5\tok\n',
    file: 'speech.tsv',
    rows: [[5, { question: 'L5', answer: 'ok' }]],
    rejected: [[2, 'malformed_row', /a quote opens a field on line 2, and the quote that closes it, on line 4, .*lines 2–4 would be one field/]],
  },
  {
    name: 'CRLF line endings, blank lines, and rows after it keep their lines',
    text: 'q,a\r\n\r\n"x,1\r\ny,2\r\n\r\n"z" w,3\r\nok,4\r\n\r\nok,5\r\n',
    rows: [
      [7, { q: 'ok', a: '4' }],
      [9, { q: 'ok', a: '5' }],
    ],
    rejected: [[3, 'malformed_row', /line 3, .*on line 6, .*lines 3–6 would be one field/]],
  },
  {
    name: 'a closing quote followed by text on the line it opened is kept as csv-parse reads it',
    text: 'question\tanswer\n"Hi," he said. L2\tYes\nPlain L3\tNo\n',
    file: 'speech.tsv',
    rows: [
      [2, { question: '"Hi," he said. L2', answer: 'Yes' }],
      [3, { question: 'Plain L3', answer: 'No' }],
    ],
  },
  {
    name: 'a legitimate multi-line quoted field is untouched',
    text: 'q,a\n"one\ntwo",x\n"p ""q""\nr",y\n',
    rows: [
      [2, { q: 'one\ntwo', a: 'x' }],
      [4, { q: 'p "q"\nr', a: 'y' }],
    ],
  },
  {
    name: 'a stray quote in the header: one malformed_row, a warning, and the next record is the header',
    text: '"q,a\nb,c\n"x" y\nq,a\n1,2\n',
    file: 'head.csv',
    rows: [[5, { q: '1', a: '2' }]],
    rejected: [[1, 'malformed_row', /lines 1–3 would be one field/]],
    warnings: [/^head\.csv: the header row could not be read \(line 1\): unbalanced quotes/],
  },
  {
    name: 'MySQL \\" with a line break inside, no escape option: lines 2–3 are one rejection naming --escape, no fragment kept',
    text: 'question,answer\n"L2 \\"x\ny\\" z",a2\nL4,a4\n',
    rows: [[4, { question: 'L4', answer: 'a4' }]],
    rejected: [[2, 'malformed_row', /^a quote right after a backslash \(\\"\) on line 2 ends the quoted field that opens on line 2, .*MySQL.*runs over lines 2–3: they were rejected together\. Pass escape: '\\\\' \(CLI --escape '\\'\)/]],
  },
  {
    name: 'MySQL \\" on one line that splits a row: the field-count rejection names --escape',
    text: 'q,a\n"said \\"hi, there\\"",a2\nok,1\n',
    rows: [[3, { q: 'ok', a: '1' }]],
    rejected: [[2, 'malformed_row', /^expected 2 fields as in the header, got 3; .*right after a backslash .*pass escape: '\\\\' \(CLI --escape '\\'\)/]],
  },
  {
    name: 'MySQL \\" on one line, fields intact: kept as written with the warning',
    text: 'q,a\n"He said \\"hi\\"",ok\n',
    rows: [[2, { q: '"He said \\"hi\\""', a: 'ok' }]],
    warnings: [ESCAPE_HINT],
  },
  {
    name: "with escape: '\\\\' the same file reads whole",
    text: 'question,answer\n"L2 \\"x\ny\\" z",a2\nL4,a4\n',
    options: { escape: '\\' },
    rows: [
      [2, { question: 'L2 "x\ny" z', answer: 'a2' }],
      [4, { question: 'L4', answer: 'a4' }],
    ],
  },
  {
    name: "with escape: '\\\\' a stray quote over lines is rejected too, without the MySQL advice",
    text: 'q,a\n"x,1\ny,2\n"z" w,3\nok,4\n',
    options: { escape: '\\' },
    rows: [[5, { q: 'ok', a: '4' }]],
    rejected: [[2, 'malformed_row', /lines 2–4 would be one field.*with escape: '\\\\' a quote inside a quoted field is written \\"$/]],
  },
];

describe('loadCsv and unbalanced quotes', () => {
  it.each(cases)('$name', async (c) => {
    const { text, file = 'data.csv', options = {} } = c;
    // Whole, and cut into every chunk size up to 7 bytes: the result is the same.
    for (const size of [text.length, 1, 2, 3, 5, 7]) {
      expectLoaded(await runLoad((ctx) => loadCsv(chunked(file, ...pieces(text, size)), options, ctx)), c);
    }
  });

  it('gives the rejected record its lines as raw text', async () => {
    const result = await runLoad((ctx) => loadCsv(chunked('r.csv', 'q,a\n"L2,a\nL3,b\n"L4",c\r\nL5,d\n'), {}, ctx));
    expect(result.rejected.map((r) => r.raw)).toEqual(['"L2,a\nL3,b\n"L4",c']);
  });

  it('a MySQL quote never closed rejects the rest of the file at its first line, naming the lines with content', async () => {
    const result = await runLoad((ctx) => loadCsv(chunked('m.csv', 'q,a\nok,1\n"x\\" y\nz,1\nw,2\n\n'), {}, ctx));
    expect(result.lines).toEqual([2]);
    expect(result.rejected.map((r) => [r.source.line, r.reason])).toEqual([[3, 'malformed_row']]);
    expect(result.rejected[0]?.message).toMatch(/runs over lines 3–5 \(to the end of the file, where a quote is still open\)/);
  });

  it('every row is read as without the quote check wherever a record is cut, or rejected with its lines accounted', async () => {
    // Random text from the bytes that matter: each rejection for quotes names lines that no kept row starts on.
    const body = fc.array(fc.constantFrom('a', ' ', ',', '"', '""', '\\', '\\"', '\n', '\r\n', 'é'), { maxLength: 60 }).map((a) => a.join(''));
    await fc.assert(
      fc.asyncProperty(body, fc.integer({ min: 1, max: 20 }), async (text, size) => {
        const input = `h1,h2\n${text}`;
        const whole = await runLoad((ctx) => loadCsv(chunked('p.csv', input), { delimiter: ',' }, ctx));
        const cut = await runLoad((ctx) => loadCsv(chunked('p.csv', ...pieces(input, size)), { delimiter: ',' }, ctx));
        expect(whole.error).toBeUndefined();
        expect(cut.events).toEqual(whole.events);
        expect(cut.rejected).toEqual(whole.rejected);
        expect(cut.data).toEqual(whole.data);
        const lineCount = input.split(/\r\n|\r|\n/).length;
        for (const r of whole.rejected) {
          const span = /lines (\d+)–(\d+)/.exec(r.message);
          if (span === null) continue;
          const [from, to] = [Number(span[1]), Number(span[2])];
          expect(from).toBe(r.source.line);
          expect(to).toBeLessThanOrEqual(lineCount);
          for (const line of whole.lines) expect(line < from || line > to).toBe(true);
        }
      }),
      { numRuns: 400 },
    );
  });
});

describe('unbalanced quotes and maxLineBytes', () => {
  it('a record over the limit is line_too_long at its own line; every other record is as without the limit', async () => {
    const body = fc.array(fc.constantFrom('a', ',', '"', '\\', '\\"', '\n', '\r\n', 'é'), { maxLength: 60 }).map((a) => a.join(''));
    await fc.assert(
      fc.asyncProperty(body, fc.integer({ min: 6, max: 30 }), fc.integer({ min: 1, max: 20 }), async (text, maxLineBytes, size) => {
        const input = `h1,h2\n${text}`;
        const free = await runLoad((ctx) => loadCsv(chunked('f.csv', ...pieces(input, size)), { delimiter: ',' }, ctx));
        const capped = await runLoad((ctx) => loadCsv(chunked('f.csv', ...pieces(input, size)), { delimiter: ',', maxLineBytes }, ctx));
        const at = (e: string) => e.slice(e.lastIndexOf('@'));
        expect(capped.events.map(at)).toEqual(free.events.map(at));
        capped.events.forEach((event, i) => {
          if (event !== free.events[i]) expect(event).toMatch(/^reject:line_too_long@/);
        });
      }),
      { numRuns: 300 },
    );
  });
});

describe('CsvFramer and unbalanced quotes', () => {
  it('replaces a quoted field over lines closed by a quote followed by text, saying where', () => {
    const framer = new CsvFramer(Buffer.from(','), 1000, 10);
    const a = framer.push(Buffer.from('ok\n"x,1\ny,2\n"z" w,3\nnext\n'));
    const b = framer.end();
    expect(Buffer.concat([a.out, b.out]).toString()).toBe('ok\n""\n\n\nnext\n');
    expect(a.replaced).toEqual([
      { end: 6, bytes: 17, head: Buffer.from('"x,1\ny,2\n"z" w,3'), why: 'quote', fields: 2, unclosedQuote: false, quote: { opens: 0, closes: 2, breaks: 2, backslash: false } },
    ]);
  });

  it('lists a record passed on that holds a quote closed after a backslash', () => {
    const framer = new CsvFramer(Buffer.from(','), 1000, 10);
    const { out, replaced, backslashed } = framer.push(Buffer.from('a,b\n"x \\"y\\"",z\n'));
    expect(out.toString()).toBe('a,b\n"x \\"y\\"",z\n');
    expect(replaced).toEqual([]);
    expect(backslashed).toEqual([out.length]);
  });
});

describe('field_too_long messages', () => {
  it.each([
    ['an unquoted cell: no word of quotes', `q,a\n${'x'.repeat(40)},1\n`, /^column "q" holds 40 characters, over the limit of 30 \(maxFieldChars\)$/],
    ['a quoted cell over lines: check the quotes', `q,a\n"${'x'.repeat(20)}\n${'y'.repeat(20)}",1\n`, /over the limit of 30 \(maxFieldChars\); the quoted cell runs over several lines, as when a stray quote on this line swallows the rows after it: check the quotes$/],
  ])('%s', async (_name, text, message) => {
    const result = await runLoad((ctx) => loadCsv(chunked('long.csv', text), { maxFieldChars: 30 }, ctx));
    expect(result.rejected.map((r) => r.reason)).toEqual(['field_too_long']);
    expect(result.rejected[0]?.message).toMatch(message);
  });
});

function pieces(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}
