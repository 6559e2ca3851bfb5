/**
 * splitPlainRecords against csv-parse itself: the CSV loader splits plain records on its own and
 * hands the rest of each batch to csv-parse, so together they must give csv-parse's records and
 * offsets on any text, whole or cut at a record boundary.
 */
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { csvParseOptions, PLAIN_RUN, splitPlainRecords, splitRecords } from '../../src/load/_csv-split.js';

type Event = { fields: string[]; end: number } | { error: string };

/** csv-parse with the loader's options (the ones the splitter matches), as events: records with their end offsets, and skipped records. */
function csvParse(bytes: Buffer, delimiter: string, base = 0, to?: number): Event[] {
  const events: Event[] = [];
  parse(bytes, {
    ...csvParseOptions(delimiter),
    ...(to === undefined ? {} : { to }),
    on_record: (fields: string[], info) => {
      events.push({ fields, end: base + info.bytes });
      return null;
    },
    on_skip: (error) => {
      if (error !== undefined) events.push({ error: error.code });
      return undefined;
    },
  });
  return events;
}

/** What the loader does with one batch: plain records split here, csv-parse from each other one to its first record. */
function loader(bytes: Buffer, delimiter: string, base: number, final: boolean): Event[] {
  const events: Event[] = [];
  splitRecords(bytes, Buffer.from(delimiter), base, final, events, (rest, at, one) => {
    const parsed = csvParse(rest, delimiter, at, one ? 1 : undefined);
    events.push(...parsed);
    const last = parsed.at(-1);
    return one && last !== undefined && 'end' in last ? last.end - at : rest.length;
  });
  return events;
}

const DELIMITERS = [',', ';', '\t', '||'];

const csvText = (delimiter: string) =>
  fc
    .array(
      fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom('a', 'bc', 'é', '合同', ' ', 'x y', '12.5') },
        { weight: 4, arbitrary: fc.constantFrom(delimiter, '\n', '\r\n') },
        { weight: 2, arbitrary: fc.constantFrom('"', '""', '"q"', '"a,b\nc"', '"d""e"') },
        { weight: 1, arbitrary: fc.constantFrom('\r', '\t', '|', 'x"y', '" ') },
      ),
      { maxLength: 40 },
    )
    .map((parts) => parts.join(''));

describe('splitPlainRecords with csv-parse for the rest', () => {
  it.each(DELIMITERS)('gives csv-parse’s records and offsets on any text, delimiter %j (property)', (delimiter) => {
    fc.assert(
      fc.property(csvText(delimiter), (text) => {
        const bytes = Buffer.from(text, 'utf8');
        expect(loader(bytes, delimiter, 0, true)).toEqual(csvParse(bytes, delimiter));
      }),
      { numRuns: 1000 },
    );
  });

  it.each(DELIMITERS)('gives the same, the text cut at any record boundary, delimiter %j (property)', (delimiter) => {
    fc.assert(
      fc.property(csvText(delimiter), fc.nat(), (text, pick) => {
        const bytes = Buffer.from(text, 'utf8');
        const whole = csvParse(bytes, delimiter);
        const ends = whole.flatMap((e) => ('end' in e && e.end < bytes.length ? [e.end] : []));
        if (ends.length === 0) return;
        // The framer passes on whole records only, so a batch ends where a record does.
        const cut = ends[pick % ends.length] as number;
        const first = loader(bytes.subarray(0, cut), delimiter, 0, false);
        const second = loader(bytes.subarray(cut), delimiter, cut, true);
        expect([...first, ...second]).toEqual(whole);
      }),
      { numRuns: 1000 },
    );
  });

  it('splits plain records itself, and stops at the first record that is not plain', () => {
    const bytes = Buffer.from('a,"b ""c"""\r\n\n"x",\nd"e,f\ng,h\n');
    const records: { fields: string[]; end: number }[] = [];
    const rest = splitPlainRecords(bytes, Buffer.from(','), 100, false, records);
    expect(records).toEqual([
      { fields: ['a', 'b "c"'], end: 113 },
      { fields: ['x', ''], end: 119 },
    ]);
    // 'd"e': a quote inside an unquoted field, relaxed by csv-parse.
    expect(rest).toBe(19);
  });

  it('goes on splitting after a record csv-parse read', () => {
    const bytes = Buffer.from('a,b\nd"e,f\ng,h\ni,j\n');
    const events: { fields: string[]; end: number }[] = [];
    const irregular: Array<[number, number]> = [];
    splitRecords(bytes, Buffer.from(','), 0, true, events, (rest, at, one) => {
      irregular.push([at, rest.length]);
      expect(one).toBe(true);
      const parsed = csvParse(rest, ',', at, 1) as { fields: string[]; end: number }[];
      events.push(...parsed);
      return (parsed.at(-1)?.end ?? at + rest.length) - at;
    });
    expect(irregular).toEqual([[4, 14]]);
    expect(events.map((e) => e.fields)).toEqual([['a', 'b'], ['d"e', 'f'], ['g', 'h'], ['i', 'j']]);
    expect(events.map((e) => e.end)).toEqual([4, 10, 14, 18]);
  });

  it('gives the rest to csv-parse at once where records that are not plain come close together', () => {
    const rows = ['a,b', 'c"d,e', ...Array.from({ length: PLAIN_RUN - 1 }, (_, i) => `p${i},q`), 'f"g,h', 'i,j', 'k"l,m', 'n,o'];
    const bytes = Buffer.from(rows.join('\n') + '\n');
    const calls: boolean[] = [];
    const events: Event[] = [];
    splitRecords(bytes, Buffer.from(','), 0, true, events, (rest, at, one) => {
      calls.push(one);
      const parsed = csvParse(rest, ',', at, one ? 1 : undefined);
      events.push(...parsed);
      const last = parsed.at(-1);
      return one && last !== undefined && 'end' in last ? last.end - at : rest.length;
    });
    // The first alone; the second after fewer than PLAIN_RUN plain records: the rest at once.
    expect(calls).toEqual([true, false]);
    expect(events).toEqual(csvParse(bytes, ','));
  });
});
