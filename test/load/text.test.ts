import { appendFileSync, existsSync, readdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isLoraPrepError, type LoraPrepError } from '../../src/errors.js';
import { loadCsv, readText, READ_CHUNK_BYTES, type LoadSource, type ReadTextOptions } from '../../src/load/index.js';
import { chunked, latin1, runLoad, utf16le, writeTemp } from '../helpers/load-helpers.js';

async function textOf(source: LoadSource, options: ReadTextOptions = {}): Promise<string> {
  let text = '';
  for await (const chunk of readText(source, options)) text += chunk;
  return text;
}

async function errorOf(source: LoadSource, options: ReadTextOptions = {}): Promise<LoraPrepError> {
  try {
    await textOf(source, options);
  } catch (error) {
    if (isLoraPrepError(error)) return error;
    throw error;
  }
  throw new Error('expected readText to throw');
}

describe('readText decoding', () => {
  it.each([
    { name: 'UTF-8 without BOM', bytes: Buffer.from('héllo €'), options: {}, want: 'héllo €' },
    { name: 'UTF-8 BOM is dropped', bytes: Buffer.from('\uFEFFhéllo'), options: {}, want: 'héllo' },
    { name: 'only the BOM is dropped, a second U+FEFF stays', bytes: Buffer.from('\uFEFF\uFEFFx'), options: {}, want: '\uFEFFx' },
    { name: 'UTF-16 LE with BOM', bytes: utf16le('q,a\nhé,€😀\n', true), options: {}, want: 'q,a\nhé,€😀\n' },
    {
      name: 'UTF-16 BE with BOM',
      bytes: Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(utf16le('hé€', false)).swap16()]),
      options: {},
      want: 'hé€',
    },
    { name: 'UTF-16 LE without BOM when declared', bytes: utf16le('hé', false), options: { encoding: 'utf-16le' }, want: 'hé' },
    {
      name: 'windows-1252: 0xE9 is é and 0x80 is €',
      bytes: Uint8Array.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0x80, 0x35, 0x20, 0x93, 0x71, 0x94]),
      options: { encoding: 'windows-1252' },
      want: 'café €5 \u201Cq\u201D',
    },
    { name: "'latin1' reads as windows-1252", bytes: Uint8Array.from([0xe9, 0x80, 0x9f]), options: { encoding: 'latin1' }, want: 'é€Ÿ' },
    { name: 'a UTF-8 BOM wins over a declared windows-1252', bytes: Buffer.from('\uFEFFé€'), options: { encoding: 'windows-1252' }, want: 'é€' },
    { name: 'a UTF-16 BOM wins over a declared utf-8', bytes: utf16le('日本', true), options: { encoding: 'utf-8' }, want: '日本' },
    { name: 'an empty file', bytes: new Uint8Array(0), options: {}, want: '' },
    { name: 'a one-byte file', bytes: Buffer.from('x'), options: {}, want: 'x' },
  ] satisfies { name: string; bytes: Uint8Array; options: ReadTextOptions; want: string }[])(
    '$name',
    async ({ bytes, options, want }) => {
      const path = await writeTemp('t.txt', bytes);
      expect(await textOf(path, options)).toBe(want);
      // Byte by byte, every BOM, surrogate pair and multi-byte sequence is split across chunks.
      const pieces = Array.from(bytes, (b) => Uint8Array.of(b));
      expect(await textOf(chunked('t.txt', ...pieces), options)).toBe(want);
    },
  );

  it('decodes windows-1252 bytes in a CSV loaded with that encoding', async () => {
    const path = await writeTemp('excel.csv', latin1('name;price\nCaf\u00e9;\u00805\n'));
    const result = await runLoad((ctx) => loadCsv(path, { encoding: 'windows-1252' }, ctx));
    expect(result.data).toEqual([{ name: 'Café', price: '€5' }]);
  });

  it('loads a UTF-16 LE CSV with BOM', async () => {
    const path = await writeTemp('u16.csv', utf16le('q,a\r\nhé,"x\r\ny"\r\n€,2\r\n', true));
    const result = await runLoad((ctx) => loadCsv(path, {}, ctx));
    expect(result.rows.map((r) => [r.source.line, r.data])).toEqual([
      [2, { q: 'hé', a: 'x\r\ny' }],
      [4, { q: '€', a: '2' }],
    ]);
  });

  it('passes string chunks through, dropping a leading BOM', async () => {
    expect(await textOf(chunked('s.txt', '\uFEFFab', 'c\uFEFF'))).toBe('abc\uFEFF');
  });

  it('flushes a pending byte sequence before a string chunk', async () => {
    expect(await textOf(chunked('m.txt', Buffer.from('é'), 'x'))).toBe('éx');
    expect(await textOf(chunked('m.txt', Buffer.from('é').subarray(0, 1), 'x'))).toBe('\uFFFDx');
  });

  it('warns once about bytes that are not valid UTF-8, not about a real U+FFFD', async () => {
    const warnings: string[] = [];
    await textOf(chunked('bad.csv', Buffer.from('ok \uFFFD '), Uint8Array.of(0xe9, 0x20, 0x80)), { warn: (m) => warnings.push(m) });
    expect(warnings).toEqual([expect.stringMatching(/^bad\.csv: 2 byte sequences are not valid UTF-8.*encoding: 'windows-1252'/)]);
    const none: string[] = [];
    const split = Buffer.from('a\uFFFDb');
    await textOf(chunked('ok.csv', split.subarray(0, 2), split.subarray(2)), { warn: (m) => none.push(m) });
    expect(none).toEqual([]);
  });

  it('decodes UTF-8 cut anywhere into chunks exactly as one pass would, counting only the bad sequences', async () => {
    // Pieces: ASCII, 2/3/4-byte characters, a real U+FFFD, and invalid bytes (a lone continuation,
    // a truncated sequence, an overlong lead, 0xFF).
    const piece = fc.constantFrom(
      Buffer.from('a'), Buffer.from('\n'), Buffer.from('é'), Buffer.from('€'), Buffer.from('😀'), Buffer.from('\uFFFD'),
      Uint8Array.of(0x80), Uint8Array.of(0xe2, 0x82), Uint8Array.of(0xc0), Uint8Array.of(0xff), Uint8Array.of(0xf0, 0x9f),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(piece, { maxLength: 40 }), fc.array(fc.nat(), { maxLength: 6 }), async (pieces, cutsRaw) => {
        const bytes = Buffer.concat([Buffer.from('x'), ...pieces.map((p) => Buffer.from(p))]);
        const cuts = [...new Set(cutsRaw.map((c) => c % bytes.length))].sort((a, b) => a - b);
        const chunks: Uint8Array[] = [];
        let at = 0;
        for (const c of [...cuts, bytes.length]) {
          if (c > at) chunks.push(bytes.subarray(at, c));
          at = Math.max(at, c);
        }
        const warnings: string[] = [];
        const text = await textOf(chunked('p.txt', ...chunks), { warn: (m) => warnings.push(m) });
        const want = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
        expect(text).toBe(want);
        const realIn = bytes.toString('latin1').split('\xEF\xBF\xBD').length - 1;
        const bad = want.split('\uFFFD').length - 1 - realIn;
        expect(warnings).toEqual(bad > 0 ? [expect.stringContaining(`p.txt: ${bad} byte sequence`)] : []);
      }),
      { numRuns: 300 },
    );
  });
});

describe('readText with bad bytes and surrogates', () => {
  it("escapes bad bytes with invalidBytes: 'escape', telling onEscape once before the text that holds one", async () => {
    const events: string[] = [];
    const warnings: string[] = [];
    // The first 1 KiB is held back to sniff the encoding; the chunks after it pass one by one.
    const ok = `${'o'.repeat(1100)}\n`;
    for await (const chunk of readText(chunked('e.jsonl', Buffer.from(ok), Uint8Array.of(0x61, 0xe9), Uint8Array.of(0xff)), {
      invalidBytes: 'escape',
      onEscape: () => events.push('escape'),
      warn: (m) => warnings.push(m),
    })) {
      events.push(JSON.stringify(chunk));
    }
    // 0xE9 could start a 3-byte sequence, so it waits for the next chunk, where 0xFF shows it is bad.
    expect(events).toEqual([JSON.stringify(ok), '"a"', 'escape', '"\\udce9\\udcff"']);
    expect(warnings).toEqual([]);
  });

  it('tells the encoding chosen and the BOM dropped', async () => {
    const seen: unknown[] = [];
    await textOf(chunked('b.csv', Buffer.from('\uFEFFa')), { onDecoding: (info) => seen.push(info) });
    await textOf(chunked('u.csv', Uint8Array.of(0xff, 0xfe, 0x61, 0)), { onDecoding: (info) => seen.push(info) });
    expect(seen).toEqual([{ encoding: 'utf-8', bomBytes: 3 }, { encoding: 'utf-16le', bomBytes: 2 }]);
  });

  it('joins a surrogate pair split across string chunks', async () => {
    expect(await textOf(chunked('s.txt', 'a\uD83D', '\uDE00b'))).toBe('a😀b');
  });

  it("makes a caller's unpaired surrogates U+FFFD when replacing, and reports them when escaping", async () => {
    expect(await textOf(chunked('s.txt', 'a\uD800', 'b\uDC00'))).toBe('a\uFFFDb\uFFFD');
    let escaped = 0;
    expect(await textOf(chunked('s.txt', 'a\uD800'), { invalidBytes: 'escape', onEscape: () => escaped++ })).toBe('a\uD800');
    expect(escaped).toBe(1);
  });

  it('refuses UTF-16 without a BOM read as UTF-8 or windows-1252, naming the fix', async () => {
    const le = await errorOf(chunked('u.csv', utf16le('q,a\nx,y\n', false)));
    expect(le.code).toBe('INPUT_FORMAT');
    expect(le.message).toMatch(/^u\.csv: the file looks like UTF-16 little-endian .*Pass encoding: 'utf-16le'/);
    expect((await errorOf(chunked('u.csv', utf16le('q,a\nx,y\n', false)), { encoding: 'windows-1252' })).code).toBe('INPUT_FORMAT');
    expect(await textOf(chunked('u.csv', utf16le('q,a\n', false)), { encoding: 'utf-16le' })).toBe('q,a\n');
    // A few NULs in UTF-8 text are not UTF-16.
    expect(await textOf(chunked('n.csv', Buffer.from('a,b\n\0x,y\0\nsome more text here\n')))).toMatch(/^a,b/);
  });
});

describe('readText onBytes', () => {
  it('sees every raw chunk of a file, in order, before decoding', async () => {
    const rows = Math.ceil((READ_CHUNK_BYTES * 3) / 5); // 5 bytes a row: three chunks and more
    const bytes = Buffer.from(`\uFEFF${'é,x\n'.repeat(rows)}`);
    const path = await writeTemp('big.csv', bytes);
    const seen: Uint8Array[] = [];
    const text = await textOf(path, { onBytes: (c) => seen.push(c) });
    expect(seen.length).toBeGreaterThan(2);
    expect(Math.max(...seen.map((c) => c.length))).toBeLessThanOrEqual(READ_CHUNK_BYTES);
    expect(Buffer.concat(seen).equals(bytes)).toBe(true);
    expect(text).toBe('é,x\n'.repeat(rows));
  });

  it('reads a file that grows while read to its new end, and a small file in one read of its size', async () => {
    const path = await writeTemp('growing.jsonl', 'a\n'.repeat(500));
    const more = Buffer.from('b\n'.repeat(READ_CHUNK_BYTES)); // past the size the read began with, by a chunk and more
    const seen: number[] = [];
    let firstHeld = 0; // memory behind the first chunk: thousands of small inputs each held a full chunk
    const text = await textOf(path, {
      onBytes: (c) => {
        if (seen.length === 0) {
          appendFileSync(path, more);
          firstHeld = c.buffer.byteLength;
        }
        seen.push(c.length);
      },
    });
    expect(text).toBe('a\n'.repeat(500) + more.toString());
    expect(seen[0]).toBe(1000);
    expect(firstHeld).toBeLessThan(READ_CHUNK_BYTES / 4);
    expect(Math.max(...seen)).toBeLessThanOrEqual(READ_CHUNK_BYTES);
    expect(seen.reduce((a, b) => a + b, 0)).toBe(1000 + more.length);
  });

  it('sees the chunks of a stream source, strings as UTF-8', async () => {
    const seen: Uint8Array[] = [];
    await textOf(chunked('s', Uint8Array.of(1, 2), 'é'), { onBytes: (c) => seen.push(c) });
    expect(seen.map((c) => [...c])).toEqual([[1, 2], [0xc3, 0xa9]]);
  });
});

describe('readText errors', () => {
  it('throws INPUT_NOT_FOUND naming the path and what to do', async () => {
    const error = await errorOf('no/such/file.csv');
    expect(error.code).toBe('INPUT_NOT_FOUND');
    expect(error.location?.file).toBe('no/such/file.csv');
    expect(error.message).toMatch(/^no\/such\/file\.csv: input file not found .*Check the path;/);
  });

  it('throws INPUT_UNREADABLE for a folder', async () => {
    const path = join(dirname(await writeTemp('x', '')), 'folder.csv');
    await mkdir(path);
    const error = await errorOf(path);
    expect(error.code).toBe('INPUT_UNREADABLE');
    expect(error.message).toMatch(/is a folder, not a file/);
  });

  it('throws INPUT_UNREADABLE when a stream fails, keeping the cause', async () => {
    const boom = new Error('socket hang up');
    const source: LoadSource = {
      name: 'remote.jsonl',
      chunks: (async function* () {
        yield 'a';
        throw boom;
      })(),
    };
    const error = await errorOf(source);
    expect(error.code).toBe('INPUT_UNREADABLE');
    expect(error.message).toBe('remote.jsonl: reading the input stream failed: socket hang up');
    expect(error.cause).toBe(boom);
  });

  it('throws INPUT_UNREADABLE for a stream of objects', async () => {
    const source = { name: 'o.jsonl', chunks: (async function* () { yield { a: 1 }; })() } as unknown as LoadSource;
    const error = await errorOf(source);
    expect(error.code).toBe('INPUT_UNREADABLE');
    expect(error.message).toMatch(/must yield bytes .* got an object \(Object\)/);
  });

  it('throws OPTION_INVALID for an unknown encoding', async () => {
    const error = await errorOf(chunked('e.csv', 'x'), { encoding: 'ebcdic' as never });
    expect(error.code).toBe('OPTION_INVALID');
  });

  it('throws ABORTED promptly even while a stream is waiting', async () => {
    const controller = new AbortController();
    const source: LoadSource = {
      name: 'slow.csv',
      chunks: (async function* () {
        yield 'a,b\n';
        await new Promise(() => {}); // never resolves
      })(),
    };
    setTimeout(() => controller.abort(new Error('user cancelled')), 20);
    const error = await errorOf(source, { signal: controller.signal });
    expect(error.code).toBe('ABORTED');
    expect(error.message).toBe('slow.csv: loading stopped because the run was aborted.');
    expect((error.cause as Error).message).toBe('user cancelled');
  });

  it.runIf(existsSync('/proc/self/fd'))('closes the file when the reader stops early', async () => {
    const path = await writeTemp('early.csv', 'x'.repeat(3 * READ_CHUNK_BYTES));
    const before = readdirSync('/proc/self/fd').length;
    for await (const chunk of readText(path)) {
      expect(readdirSync('/proc/self/fd').length).toBe(before + 1);
      expect(chunk.length).toBeGreaterThan(0);
      break;
    }
    expect(readdirSync('/proc/self/fd').length).toBe(before);
  });
});
