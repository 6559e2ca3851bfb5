import { describe, expect, it } from 'vitest';
import { CsvLineCursor } from '../../src/load/_csv-cursor.js';
import { sniffDelimiter } from '../../src/load/_delimiter.js';
import { normalizeHeader } from '../../src/load/_header.js';

describe('CsvLineCursor', () => {
  /** Feeds `text` in `size`-byte chunks and returns the cursor. */
  function cursorOver(text: string, size: number): CsvLineCursor {
    const cursor = new CsvLineCursor();
    const bytes = Buffer.from(text);
    for (let i = 0; i < bytes.length; i += size) cursor.push(bytes.subarray(i, i + size));
    return cursor;
  }

  it.each([1, 2, 3, 100])('walks records and blank lines (chunks of %i bytes)', (size) => {
    // Records end at bytes 5 ("a,b\r\n"), 17 ("\r\n\n1,\"x\r\ny\"\r"), 21 ("\n2,3" then EOF).
    const text = 'a,b\r\n\r\n\n1,"x\r\ny"\r\n2,3';
    const cursor = cursorOver(text, size);
    expect(cursor.startAt(5)).toEqual({ line: 1, offset: 0 });
    cursor.advanceTo(5);
    expect(cursor.startAt(18)).toEqual({ line: 4, offset: 8 });
    expect(cursor.text(8, 18, 100)).toBe('1,"x\r\ny"');
    cursor.advanceTo(18);
    expect(cursor.startAt(21)).toEqual({ line: 6, offset: 18 });
  });

  it('counts a CRLF split across two chunks once', () => {
    const cursor = new CsvLineCursor();
    cursor.push(Buffer.from('a\r'));
    cursor.push(Buffer.from('\nb\r'));
    cursor.push(Buffer.from('\rc'));
    cursor.advanceTo(3);
    expect(cursor.startAt(7)).toEqual({ line: 2, offset: 3 });
    cursor.advanceTo(5);
    expect(cursor.startAt(7)).toEqual({ line: 4, offset: 6 });
  });

  it('counts a record start backwards from its end when the walk lost track', () => {
    const text = 'h\nskipped "x\ny"\n"p\r\nq",r\n';
    const cursor = cursorOver(text, 4);
    cursor.advanceTo(2);
    cursor.startAt(10); // the parser skipped a record somewhere after line 2
    expect(cursor.startLineBackwards(text.length, 1)).toBe(4);
  });

  it('finds the last line with content before trailing blank lines', () => {
    const text = 'h\n"open\nmore\r\n\r\n\n';
    const cursor = cursorOver(text, 3);
    cursor.advanceTo(2);
    const { line, offset } = cursor.startAt(text.length);
    expect(line).toBe(2);
    expect(cursor.lastLineBefore(offset, text.length)).toBe(3);
  });

  it('cuts text to the excerpt length and drops only the trailing delimiter', () => {
    const cursor = cursorOver('x'.repeat(50) + '\r\n', 7);
    expect(cursor.text(0, 52, 10)).toBe('x'.repeat(33));
    expect(cursor.text(0, 52, 100)).toBe('x'.repeat(50));
  });
});

describe('sniffDelimiter', () => {
  it.each([
    ['a,b\n1,2\n', ','],
    ['a;b\n1;2\n', ';'],
    ['a\tb\n1\t2\n', '\t'],
    ['a|b\n1|2\n', '|'],
    ['no delimiter\n', ','],
    ['', ','],
    ['name;price\nfoo;1,5\n', ';'],
    ['"a,b";c\n"1,2";3\n', ';'],
    ['"multi\nline,with,commas";x\n"y";z\n', ';'],
    ['a,b;c\n1,2;3\n', ','],
    ['a,b;c;d\n1,2;3;4\n', ';'],
  ])('%j → %j', (text, want) => {
    expect(sniffDelimiter(text, true)).toBe(want);
  });

  it('ignores a record cut off by the end of the prefix', () => {
    expect(sniffDelimiter('a;b\n1;2\n3;4\n5,6,7,8,9', false)).toBe(';');
  });
});

describe('normalizeHeader', () => {
  it.each([
    [['a', 'b'], ['a', 'b'], 0],
    [[' a ', '\uFEFFb'], ['a', 'b'], 0],
    [['', 'x', ' '], ['column_1', 'x', 'column_3'], 0],
    [['a', 'a', 'a'], ['a', 'a_2', 'a_3'], 2],
    [['a', 'a', 'a_2'], ['a', 'a_3', 'a_2'], 1],
    [['', 'column_1'], ['column_1', 'column_1_2'], 1],
  ])('%j → %j', (fields, names, renamed) => {
    const result = normalizeHeader(fields);
    expect(result.names).toEqual(names);
    expect(result.renamed).toHaveLength(renamed);
  });
});
