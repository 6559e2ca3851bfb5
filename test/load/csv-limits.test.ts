import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CsvFramer } from '../../src/load/_csv-framer.js';
import { loadCsv } from '../../src/load/index.js';
import { chunked, runLoad } from '../helpers/load-helpers.js';

function pieces(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

describe('CsvFramer', () => {
  it('passes records through unchanged while they are within the limits', () => {
    const framer = new CsvFramer(Buffer.from(','), 100, 10);
    const a = framer.push(Buffer.from('a,"b\n'));
    expect(a.out.toString()).toBe(''); // the quoted field is still open: nothing is complete yet
    const b = framer.push(Buffer.from('c",d\r\ne,f\r'));
    expect(b.out.toString()).toBe('a,"b\nc",d\r\n'); // e,f waits: its CR may be the start of a CRLF
    const c = framer.end();
    expect(c.out.toString()).toBe('e,f\r');
    expect([...a.replaced, ...b.replaced, ...c.replaced]).toEqual([]);
  });

  it('replaces a record over the byte limit by "" and its line breaks', () => {
    const framer = new CsvFramer(Buffer.from(','), 8, 10);
    const { out, replaced } = framer.push(Buffer.from('ok\n"0123\n456789",x\nok\n'));
    const rest = framer.end();
    expect(Buffer.concat([out, rest.out]).toString()).toBe('ok\n""\n\nok\n');
    expect(replaced).toEqual([{ end: 6, bytes: 16, head: Buffer.from('"0123\n456789"'), why: 'bytes', fields: 2, unclosedQuote: false }]);
  });

  it('replaces a record with too many fields', () => {
    const framer = new CsvFramer(Buffer.from(','), 100, 3);
    const { out, replaced } = framer.push(Buffer.from('a,b,c,d\n'));
    expect(out.toString()).toBe('""\n');
    expect(replaced.map((r) => r.why)).toEqual(['fields']);
  });

  it('replaces an overlong blank line by line breaks alone', () => {
    const framer = new CsvFramer(Buffer.from(','), 4, 10);
    const { out, replaced } = framer.push(Buffer.from(`${' '.repeat(10)}\nok\n`));
    expect(out.toString()).toBe('\nok\n');
    expect(replaced).toEqual([]);
  });
});

describe('CSV limits agree with csv-parse', () => {
  // Short texts from the bytes that matter to CSV framing.
  const body = fc.array(fc.constantFrom('a', 'b', 'é', ' ', ',', ';', '\t', '"', '""', '\n', '\r', '\r\n', '\0'), { maxLength: 80 }).map((a) => a.join(''));

  it('a record over maxLineBytes is rejected as line_too_long at its own line; every other record is as without the limit', async () => {
    await fc.assert(
      fc.asyncProperty(body, fc.constantFrom(',', ';;', '\t'), fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 40 }), async (text, delimiter, limit, size) => {
        const header = `h1${delimiter}h2\n`;
        const input = header + text;
        const maxLineBytes = Math.max(limit, Buffer.byteLength(header));
        const free = await runLoad((ctx) => loadCsv(chunked('f.csv', ...pieces(input, size)), { delimiter }, ctx));
        const capped = await runLoad((ctx) => loadCsv(chunked('f.csv', ...pieces(input, size)), { delimiter, maxLineBytes }, ctx));
        expect(free.error).toBeUndefined();
        expect(capped.error).toBeUndefined();
        const at = (e: string) => e.slice(e.lastIndexOf('@'));
        expect(capped.events.map(at)).toEqual(free.events.map(at));
        capped.events.forEach((event, i) => {
          if (event !== free.events[i]) expect(event).toMatch(/^reject:line_too_long@/);
        });
        const kept = new Map(free.rows.map((r) => [r.source.line, r.data]));
        for (const row of capped.rows) expect(row.data).toEqual(kept.get(row.source.line));
      }),
      { numRuns: 300 },
    );
  });
});
