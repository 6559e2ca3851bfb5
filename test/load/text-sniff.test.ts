/**
 * What the first bytes of an input say: UTF-8 declared as UTF-16 LE, binary files under a text
 * name, gzip under another name; and UTF-16 that is not valid (unpaired surrogates, an odd last
 * byte), rejected row by row as invalid UTF-8 is.
 */
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { isLoraPrepError } from '../../src/errors.js';
import { loadCsv, loadJsonl, loadRecords, readText, type LoadOptions, type LoadSource } from '../../src/load/index.js';
import { chunked, runLoad, utf16le, writeTemp } from '../helpers/load-helpers.js';

async function textOf(source: LoadSource, options: LoadOptions = {}): Promise<string> {
  let text = '';
  for await (const chunk of readText(source, options)) text += chunk;
  return text;
}

async function formatError(source: LoadSource, options: LoadOptions = {}): Promise<string> {
  try {
    await textOf(source, options);
  } catch (error) {
    expect(isLoraPrepError(error) && error.code).toBe('INPUT_FORMAT');
    return (error as Error).message;
  }
  throw new Error('expected readText to throw INPUT_FORMAT');
}

/** `bytes` as a source cut into one-byte chunks (the worst a caller's stream can do). */
function byteByByte(name: string, bytes: Uint8Array): LoadSource {
  return chunked(name, ...Array.from(bytes, (b) => Uint8Array.of(b)));
}

describe('a file read as UTF-16 LE that is not', () => {
  it('stops with INPUT_FORMAT for UTF-8 text, naming the CLI flag', async () => {
    const bytes = Buffer.from('question,answer\nq1,a1\nq2,a2\n');
    for (const source of [chunked('t1.csv', bytes), byteByByte('t1.csv', bytes), await writeTemp('t1.csv', bytes)]) {
      const message = await formatError(source, { encoding: 'utf-16le' });
      expect(message).toMatch(/t1\.csv: the file is read as UTF-16 little-endian \(encoding: 'utf-16le'\) but is not: .*It looks like UTF-8: pass encoding: 'utf-8' \(CLI --encoding utf-8\)/);
    }
  });

  it('says windows-1252 for bytes that are not UTF-8, and UTF-16 BE for zeros in the other place', async () => {
    expect(await formatError(chunked('w.csv', Buffer.from('q,a\ncaf\xe9,1\n', 'latin1')), { encoding: 'utf-16le' })).toMatch(/single-byte encoding: pass encoding: 'windows-1252' \(CLI --encoding windows-1252\)/);
    expect(await formatError(chunked('b.csv', Buffer.from(utf16le('q,a\nx,1\n', false)).swap16()), { encoding: 'utf-16le' })).toMatch(/looks like UTF-16 big-endian/);
  });

  it('is the same for every loader, since they share the reader', async () => {
    const path = await writeTemp('t.jsonl', '{"q":"x","a":"y"}\n');
    const result = await runLoad((ctx) => loadJsonl(path, { encoding: 'utf-16le' }, ctx));
    expect(isLoraPrepError(result.error) && result.error.code).toBe('INPUT_FORMAT');
  });

  it('still reads real UTF-16 LE without a BOM, CJK and all', async () => {
    expect(await textOf(chunked('u.csv', utf16le('问题,答案\n上海,北京\n', false)), { encoding: 'utf-16le' })).toBe('问题,答案\n上海,北京\n');
    expect(await textOf(byteByByte('u.csv', utf16le('q\n上\n', false)), { encoding: 'utf-16le' })).toBe('q\n上\n');
  });
});

describe('invalid UTF-16', () => {
  // A BOM, a header, a good row, a row holding an unpaired surrogate (U+D800), a good row.
  const bad = Buffer.concat([
    utf16le('question,answer\r\nL2,a2\r\n', true),
    Uint8Array.of(0x4c, 0x00, 0x00, 0xd8, 0x2c, 0x00, 0x61, 0x00, 0x0d, 0x00, 0x0a, 0x00),
    utf16le('L4,a4\r\n', false),
  ]);

  it('rejects the row with an unpaired surrogate as invalid_encoding, with its byte offset, and warns once', async () => {
    for (const source of [chunked('u16bad.csv', bad), byteByByte('u16bad.csv', bad)]) {
      const result = await runLoad((ctx) => loadCsv(source, {}, ctx));
      expect(result.lines).toEqual([2, 4]);
      expect(result.rejected.map((r) => [r.source.line, r.reason, r.message])).toEqual([
        [3, 'invalid_encoding', 'an unpaired surrogate (U+D800) at byte offset 52 of the file (2 bytes into the record) is not valid UTF-16'],
      ]);
      expect(bad.readUInt16LE(52)).toBe(0xd800);
      expect(result.warnings).toEqual([expect.stringMatching(/^u16bad\.csv: 1 row was rejected as invalid_encoding .*not valid UTF-16.*onInvalidEncoding: 'replace' \(CLI --on-invalid-encoding replace\)\.$/)]);
    }
  });

  it("keeps it with U+FFFD and a warning with onInvalidEncoding: 'replace'", async () => {
    const result = await runLoad((ctx) => loadCsv(chunked('u16bad.csv', bad), { onInvalidEncoding: 'replace' }, ctx));
    expect(result.data).toEqual([{ question: 'L2', answer: 'a2' }, { question: 'L\uFFFD', answer: 'a' }, { question: 'L4', answer: 'a4' }]);
    expect(result.warnings).toEqual([expect.stringMatching(/^u16bad\.csv: 1 character is not valid UTF-16 .*read as "\uFFFD"/)]);
  });

  it('rejects the row holding an odd last byte, saying the file may be cut short', async () => {
    const odd = Buffer.concat([utf16le('q,a\nL2,a2\nL3,a', true), Uint8Array.of(0x33)]);
    const result = await runLoad((ctx) => loadCsv(chunked('odd.csv', odd), {}, ctx));
    expect(result.lines).toEqual([2]);
    expect(result.rejected.map((r) => [r.source.line, r.reason])).toEqual([[3, 'invalid_encoding']]);
    expect(result.rejected[0]?.message).toBe(
      `the odd last byte (0x33) at byte offset ${odd.length - 1} of the file (8 bytes into the record) is not valid UTF-16: UTF-16 text has an even number of bytes, so the file may be cut short`,
    );
  });

  it('does the same for JSONL through the shared reader, placing it in characters', async () => {
    const jsonl = Buffer.concat([utf16le('{"q":"a","a":"b"}\n{"q":"', true), Uint8Array.of(0x00, 0xdc), utf16le('","a":"b"}\n', false)]);
    const result = await runLoad((ctx) => loadJsonl(chunked('u.jsonl', jsonl), {}, ctx));
    expect(result.lines).toEqual([1]);
    expect(result.rejected.map((r) => [r.source.line, r.reason, r.message])).toEqual([
      [2, 'invalid_encoding', 'an unpaired surrogate (U+DC00) (6 characters into the line) is not valid UTF-16'],
    ]);
  });

  it('reads UTF-16 BE with a BOM the same way, pairs split across chunks included', async () => {
    const be = Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(utf16le('q,a\n😀,1\n', false)).swap16(), Uint8Array.of(0xd8, 0x00, 0x00, 0x2c, 0x00, 0x32, 0x00, 0x0a)]);
    const result = await runLoad((ctx) => loadCsv(byteByByte('be.csv', be), {}, ctx));
    expect(result.data).toEqual([{ q: '😀', a: '1' }]);
    expect(result.rejected.map((r) => [r.source.line, r.reason])).toEqual([[3, 'invalid_encoding']]);
  });
});

describe('binary files under a text name', () => {
  const zip = (first: string) => Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0, 0, 8, 0]), Buffer.alloc(20), Buffer.from(first), Buffer.alloc(40, 0x9c)]);

  it.each([
    ['an .xlsx saved as .csv', 'book.csv', zip('[Content_Types].xml'), /book\.csv: the file is not text, whatever its name says \(its first bytes are those of a zip archive \(an Excel \.xlsx workbook\)\): an Excel workbook is not text: save the sheet as "CSV UTF-8"/],
    ['an .ods saved as .csv', 'calc.csv', zip('mimetypeapplication/vnd.oasis.opendocument.spreadsheet'), /a spreadsheet is not text: save the sheet as CSV/],
    ['a zip saved as .jsonl', 'data.jsonl', zip('data/part-0.jsonl'), /a zip archive\): a zip archive: unpack it/],
    ['an .xls saved as .csv', 'old.csv', Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0, 0, 0]), /an OLE compound file .*an Excel workbook is not text/],
    ['a Parquet file saved as .json', 'part.json', Buffer.concat([Buffer.from('PAR1'), Buffer.from([0x15, 0x04, 0x15])]), /a Parquet file is not text: write it out as JSONL first/],
    ['a 7z archive', 'a.csv', Buffer.from([0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c, 0, 4]), /a 7-Zip archive: unpack it/],
    ['bzip2 data', 'a.tsv', Buffer.from('BZh91AY&SY\x01\x02', 'latin1'), /a bzip2-compressed file: decompress it first/],
    ['xz data', 'a.csv', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0, 4]), /an xz-compressed file: decompress it first/],
    ['zstd data', 'a.csv', Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x24, 0x04]), /a zstd-compressed file/],
    ['gzip inside a .gz', 'twice.csv.gz', gzipSync(gzipSync('q,a\n1,2\n')), /gzip data inside gzip data\): the file was compressed twice/],
  ])('%s stops with INPUT_FORMAT and the advice its extension would get', async (_name, file, bytes, advice) => {
    const path = await writeTemp(file, bytes);
    for (const source of [path, byteByByte(file, bytes)]) {
      const result = await runLoad((ctx) => loadRecords(source, {}, ctx));
      expect(isLoraPrepError(result.error) && result.error.code).toBe('INPUT_FORMAT');
      expect((result.error as Error).message).toMatch(advice);
      expect((result.error as Error).message).toMatch(/; lora-prep reads CSV, TSV, JSONL and JSON text\.$/);
      expect((result.error as Error).message).not.toMatch(/windows-1252/);
    }
  });

  it('reads text that only starts like a magic number', async () => {
    const result = await runLoad((ctx) => loadCsv(chunked('p.csv', 'PAR1,BZh9\nx,y\n'), {}, ctx));
    expect(result.data).toEqual([{ PAR1: 'x', BZh9: 'y' }]);
  });

  it('reads a gzip file whose name does not end in .gz through gzip, hashing the compressed bytes', async () => {
    const bytes = gzipSync('q,a\nx,1\n');
    const path = await writeTemp('data.csv', bytes);
    const seen: Uint8Array[] = [];
    const result = await runLoad((ctx) => loadCsv(path, { onBytes: (c) => seen.push(c) }, ctx));
    expect(result.data).toEqual([{ q: 'x', a: '1' }]);
    expect(Buffer.concat(seen).equals(bytes)).toBe(true);
    expect(await textOf(byteByByte('x.jsonl', gzipSync('{"a":1}\n')))).toBe('{"a":1}\n');
  });
});

describe('encoding advice names the CLI flags', () => {
  it('for UTF-16 without a BOM read as UTF-8', async () => {
    expect(await formatError(chunked('u.csv', utf16le('q,a\nx,y\n', false)))).toMatch(/Pass encoding: 'utf-16le' \(CLI --encoding utf-16le\)/);
  });

  it('for bytes that are not UTF-8, replaced or rejected', async () => {
    const warnings: string[] = [];
    await textOf(chunked('b.csv', Uint8Array.of(0x61, 0xe9, 0x0a)), { warn: (m: string) => warnings.push(m) } as LoadOptions);
    expect(warnings).toEqual([expect.stringMatching(/pass encoding: 'windows-1252' \(CLI --encoding windows-1252\) for it\.$/)]);
    const result = await runLoad((ctx) => loadCsv(chunked('r.csv', Buffer.from('q,a\ncaf\xe9,1\n', 'latin1')), {}, ctx));
    expect(result.warnings).toEqual([
      expect.stringMatching(/pass encoding: 'windows-1252' \(CLI --encoding windows-1252\) for it; .*pass onInvalidEncoding: 'replace' \(CLI --on-invalid-encoding replace\)\.$/),
    ]);
  });
});

describe('UTF-8 read as Windows-1252', () => {
  it('warns, per file, naming the first garbled row, when the text reads as UTF-8 read in that encoding', async () => {
    const utf8 = Buffer.from('{"q":"Déjà vu?","a":"Très bien — merci"}\n{"q":"plain","a":"text"}\n{"q":"Café","a":"oui"}\n', 'utf8');
    for (const encoding of ['windows-1252', 'latin1'] as const) {
      const result = await runLoad((ctx) => loadRecords(chunked('data.jsonl', utf8), { encoding }, ctx));
      expect(result.data[0]).toEqual({ q: 'DÃ©jÃ\u00a0 vu?', a: 'TrÃ¨s bien â€” merci' });
      expect(result.warnings).toEqual([
        `data.jsonl: 2 rows read as ${encoding} hold what UTF-8 text becomes when read so (the first on line 1: "DÃ©jÃ\u00a0 vu?"): if the file is UTF-8, leave encoding out for it (in a config file, set encoding on the one input that needs it).`,
      ]);
    }
    // A real Windows-1252 file (é as one byte) reads right, with no warning; so does Portuguese capitals' Ã.
    const cp1252 = Buffer.from('q,a\ncafé,SÃO PAULO\n', 'latin1');
    const good = await runLoad((ctx) => loadRecords(chunked('w.csv', cp1252), { encoding: 'windows-1252' }, ctx));
    expect(good.data).toEqual([{ q: 'café', a: 'SÃO PAULO' }]);
    expect(good.warnings).toEqual([]);
  });
});
