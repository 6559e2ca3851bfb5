/**
 * Fields of plainly well-formed CSV records, split here instead of by csv-parse. The CSV loader
 * gives csv-parse whole records (its framer passes nothing else on), and most records of most
 * files are plain: each field either holds no quote at all, or is quoted from its first byte to a
 * quote right before a delimiter or a line break, with `""` for a quote inside. Such records are
 * split here, with the fields and end offsets csv-parse gives them under the loader's options
 * (`csvParseOptions`: quote and escape `"`, record delimiters CRLF, LF and CR, empty lines
 * skipped, no trimming, no casting); csv-parse spent most of the time of reading a CSV file (1.25 of 1.84 s for 50,000
 * rows). A record that is not plain (a quote inside an unquoted field, bytes after a closing
 * quote, a quote that does not close by the end of the bytes given) goes to csv-parse, which has
 * the last word on everything irregular, and splitting goes on after it. A property test compares
 * the records and offsets with csv-parse's own on random CSV text.
 */

import type { Options as CsvParseOptions } from 'csv-parse';

/**
 * The loader's csv-parse options, which plain records are split to match. Quote and escape `"`;
 * all three line endings, always (auto-discovery would fix the first one seen and then glue
 * together the records of a file whose line endings are mixed); quotes inside unquoted fields
 * kept; field counts not checked (the loader checks them against the header); empty lines and
 * records with errors skipped (the loader reports the errors).
 *
 * @example
 * parse(bytes, { ...csvParseOptions(','), on_record: (fields, info) => ... });
 */
export function csvParseOptions(delimiter: string, escape: '"' | '\\' = '"', quotes = true): CsvParseOptions {
  return {
    delimiter,
    // No quoting at all (quote: false): a quote is text, as in a TSV from mysql -B or psql.
    quote: quotes ? '"' : false,
    escape,
    record_delimiter: ['\r\n', '\n', '\r'],
    relax_quotes: true,
    relax_column_count: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
  };
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const CR = 0x0d;
const LF = 0x0a;

/**
 * A record: its fields, and the offset just past its record delimiter (csv-parse's `info.bytes`),
 * counted from the start of the stream.
 *
 * @example
 * const record: SplitRecord = { fields: ['a', 'b'], end: 4 }; // 'a,b\n'
 */
export interface SplitRecord {
  fields: string[];
  end: number;
}

/** Where records go, in file order (the loader's queue also holds csv-parse's events). */
export interface RecordQueue {
  push(record: SplitRecord): unknown;
}

/**
 * Splits the plain records at the start of `bytes` (whole records: all of them, or up to the end
 * of the input when `final`), pushing each onto `records`, and returns where the first record it
 * leaves to csv-parse starts (`bytes.length` when there is none). Empty lines are skipped, as
 * csv-parse skips them.
 *
 * @param bytes - whole records, as the framer passes them on.
 * @param delimiter - the field delimiter's bytes (no quote or line break in it).
 * @param base - the stream offset of `bytes[0]`.
 * @param final - true when `bytes` ends the input, so a record may end without a line break.
 * @param escape - the escape character inside quotes: `"` (RFC 4180: `""` is a quote) or a backslash (a
 *   quoted field holding one is left to csv-parse).
 *
 * @example
 * const records: SplitRecord[] = [];
 * splitPlainRecords(Buffer.from('a,"b ""c"""\n'), Buffer.from(','), 0, false, records); // 11
 * records[0] // { fields: ['a', 'b "c"'], end: 11 }
 */
export function splitPlainRecords(bytes: Buffer, delimiter: Buffer, base: number, final: boolean, records: RecordQueue, escape: '"' | '\\' = '"', quotes = true): number {
  const backslash = escape === '\\';
  const n = bytes.length;
  const first = delimiter[0] as number;
  const width = delimiter.length;
  const delimiterAt = (i: number): boolean => {
    if (bytes[i] !== first) return false;
    for (let k = 1; k < width; k++) if (bytes[i + k] !== delimiter[k]) return false;
    return true;
  };
  // The offset past the line break at `i` (a CR followed by an LF is one).
  const pastBreak = (i: number): number => (bytes[i] === CR && bytes[i + 1] === LF ? i + 2 : i + 1);

  let i = 0;
  records: while (i < n) {
    const start = i;
    const b = bytes[i] as number;
    if (b === LF || b === CR) {
      i = pastBreak(i);
      continue;
    }
    const fields: string[] = [];
    for (;;) {
      if (quotes && bytes[i] === QUOTE) {
        // A quoted field: to the quote that is not doubled.
        let from = i + 1;
        let doubled = false;
        let close: number;
        for (;;) {
          close = bytes.indexOf(QUOTE, from);
          if (close < 0) return start;
          if (bytes[close + 1] !== QUOTE) break;
          // With a backslash escape, "" is no quote: csv-parse reads the record.
          if (backslash) return start;
          doubled = true;
          from = close + 2;
        }
        // A backslash inside quotes escapes the next byte: csv-parse reads the record.
        if (backslash) {
          const slash = bytes.indexOf(BACKSLASH, i + 1);
          if (slash >= 0 && slash < close) return start;
        }
        const value = bytes.toString('utf8', i + 1, close);
        fields.push(doubled ? value.replaceAll('""', '"') : value);
        i = close + 1;
        if (i >= n) {
          if (!final) return start;
          records.push({ fields, end: base + i });
          return n;
        }
        if (delimiterAt(i)) {
          i += width;
          continue;
        }
        const c = bytes[i] as number;
        if (c !== LF && c !== CR) return start;
        i = pastBreak(i);
        records.push({ fields, end: base + i });
        continue records;
      }
      // An unquoted field: to a delimiter or a line break; a quote in it is left to csv-parse.
      let j = i;
      for (; j < n; j++) {
        const c = bytes[j] as number;
        if (c === QUOTE && quotes) return start;
        if (c === LF || c === CR || (c === first && delimiterAt(j))) break;
      }
      fields.push(bytes.toString('utf8', i, j));
      if (j >= n) {
        if (!final) return start;
        records.push({ fields, end: base + j });
        return n;
      }
      if (bytes[j] === LF || bytes[j] === CR) {
        i = pastBreak(j);
        records.push({ fields, end: base + i });
        continue records;
      }
      i = j + width;
    }
  }
  return n;
}

/**
 * Reads every record of `bytes` (whole records, as for `splitPlainRecords`): plain ones split
 * here, and from a record that is not plain, `irregular` (csv-parse) reads on until it has given
 * one record, then splitting resumes. Where records that are not plain come close together (fewer
 * than {@link PLAIN_RUN} plain ones between two), the rest of `bytes` goes to `irregular` in one
 * call: a file where most records are irregular is read as fast as csv-parse reads it alone,
 * rather than one parser per record.
 *
 * @param irregular - reads records from its `bytes` (at stream offset `base`) into the caller's
 * queue, all of them, or with `one` only up to the first record it gives; returns how many bytes
 * that took (all of them when it gave none).
 *
 * @example
 * splitRecords(bytes, Buffer.from(','), base, final, queue, (rest, at, one) => csvParse(rest, at, one));
 */
export function splitRecords(
  bytes: Buffer,
  delimiter: Buffer,
  base: number,
  final: boolean,
  records: RecordQueue,
  irregular: (bytes: Buffer, base: number, one: boolean) => number,
  escape: '"' | '\\' = '"',
  quotes = true,
): void {
  let plain = PLAIN_RUN;
  const counted: RecordQueue = {
    push(record) {
      plain++;
      return records.push(record);
    },
  };
  let at = 0;
  while (at < bytes.length) {
    const part = at === 0 ? bytes : bytes.subarray(at);
    const stop = at + splitPlainRecords(part, delimiter, base + at, final, counted, escape, quotes);
    if (stop >= bytes.length) return;
    const one = plain >= PLAIN_RUN;
    at = stop + Math.max(1, irregular(bytes.subarray(stop), base + stop, one));
    if (!one) return;
    plain = 0;
  }
}

/** Plain records between two that are not, below which the rest of a batch goes to csv-parse at once. */
export const PLAIN_RUN = 16;
