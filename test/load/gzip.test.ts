import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { isLoraPrepError } from '../../src/errors.js';
import { prepareDataset } from '../../src/index.js';
import { detectFormat, loadRecords, type InputFormat } from '../../src/load/index.js';
import { TokenizerPool } from '../../src/tokenizers/pool.js';
import { tempDir } from '../helpers/index.js';
import { chunked, runLoad, writeTemp } from '../helpers/load-helpers.js';

// Worker threads from 4 MiB of input (the line's own setting), so that the tests that run
// prepareDataset with workers keep their inputs small.
process.env.LORA_PREP_WORKERS_FROM_BYTES = String(4 * 1024 * 1024);

const TEXTS: Record<InputFormat, string> = {
  jsonl: '{"q":"a, \\"b\\"","n":1}\n\n{"q":"é日😀","n":2}\r\nnot json\n{"q":"last","n":3}',
  csv: 'q,n\n"multi\nline",1\n\nbad row,2,3\nplain,3\n',
  tsv: 'q\tn\nx\t1\ny\t2\n',
  json: '[\n  {"q": "x", "n": 1},\n  {"q": "y",\n   "n": 2}\n]\n',
};

/** What a load gave, as comparable plain data. */
async function loaded(path: string | Parameters<typeof loadRecords>[0]) {
  const r = await runLoad((ctx) => loadRecords(path, {}, ctx));
  return { events: r.events, data: r.data, rejected: r.rejected.map((x) => [x.source.line, x.reason, x.message]), error: r.error };
}

describe('.gz inputs', () => {
  it('take their format from the name before .gz', () => {
    expect(detectFormat('rows.jsonl.gz')).toBe('jsonl');
    expect(detectFormat('dump/TABLE.CSV.GZ')).toBe('csv');
    expect(detectFormat('a.tab.gz')).toBe('tsv');
    expect(() => detectFormat('data.gz')).toThrow(/cannot tell the file format because it has no extension before \.gz/);
    expect(() => detectFormat('notes.txt.gz')).toThrow(/its extension "\.txt" before \.gz is not one lora-prep knows/);
    expect(detectFormat('notes.txt.gz', 'csv')).toBe('csv');
  });

  it.each(Object.keys(TEXTS) as InputFormat[])('a .%s.gz file reads as the same file uncompressed: rows, lines, rejections', async (format) => {
    const text = TEXTS[format];
    const plain = await loaded(await writeTemp(`t.${format}`, text));
    const gz = await loaded(await writeTemp(`t.${format}.gz`, gzipSync(text)));
    expect(plain.error).toBeUndefined();
    expect(plain.data.length).toBeGreaterThan(0);
    expect(gz).toEqual(plain);
  });

  it('reads several gzip members one after the other, as cat a.gz b.gz makes', async () => {
    const path = await writeTemp('two.jsonl.gz', Buffer.concat([gzipSync('{"n":1}\n{"n":2}\n'), gzipSync('{"n":3}\n')]));
    expect((await loaded(path)).events).toEqual(['row@1', 'row@2', 'row@3']);
  });

  it('onBytes sees the compressed bytes, all of them, in order', async () => {
    const bytes = gzipSync(TEXTS.jsonl);
    const path = await writeTemp('b.jsonl.gz', bytes);
    const seen: Uint8Array[] = [];
    await runLoad((ctx) => loadRecords(path, { onBytes: (c) => void seen.push(Uint8Array.from(c)) }, ctx));
    expect(Buffer.concat(seen)).toEqual(bytes);
  });

  it('any cut of the compressed stream into chunks reads the same rows', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ q: fc.string(), n: fc.integer() }), { minLength: 1, maxLength: 20 }), fc.integer({ min: 1, max: 97 }), async (rows, size) => {
        const bytes = gzipSync(rows.map((r) => JSON.stringify(r)).join('\n'));
        const pieces: Uint8Array[] = [];
        for (let i = 0; i < bytes.length; i += size) pieces.push(bytes.subarray(i, i + size));
        const r = await runLoad((ctx) => loadRecords(chunked('s.jsonl.gz', ...pieces), {}, ctx));
        expect(r.error).toBeUndefined();
        expect(r.data).toEqual(rows);
        expect(r.lines).toEqual(rows.map((_, i) => i + 1));
      }),
      { numRuns: 60 },
    );
  });

  it('a damaged or cut-short stream stops the load with INPUT_UNREADABLE, after the rows before it', async () => {
    const whole = gzipSync(Array.from({ length: 2000 }, (_, n) => JSON.stringify({ n, text: `row ${n} ${'x'.repeat(n % 50)}` })).join('\n'));
    const cut = await runLoad((ctx) => loadRecords(chunked('cut.jsonl.gz', whole.subarray(0, Math.floor(whole.length / 2))), {}, ctx));
    expect(isLoraPrepError(cut.error) && cut.error.code).toBe('INPUT_UNREADABLE');
    expect((cut.error as Error).message).toMatch(/^cut\.jsonl\.gz: the gzip data is damaged or cut short \(unexpected end of file\); `gzip -t cut\.jsonl\.gz` tests it\.$/);
    expect(cut.rows.length).toBeGreaterThan(0);
    expect(cut.lines).toEqual(cut.rows.map((_, i) => i + 1));

    const notGzip = await runLoad((ctx) => loadRecords(chunked('plain.jsonl.gz', '{"n":1}\n'), {}, ctx));
    expect(isLoraPrepError(notGzip.error) && notGzip.error.code).toBe('INPUT_UNREADABLE');
    expect((notGzip.error as Error).message).toMatch(/stream yielded text/);

    const garbage = await runLoad((ctx) => loadRecords(chunked('junk.jsonl.gz', Buffer.from('{"n":1}\n')), {}, ctx));
    expect((garbage.error as Error).message).toMatch(/damaged or cut short \(incorrect header check\)/);

    const absent = join(await tempDir(), 'none.jsonl.gz');
    const missing = await runLoad((ctx) => loadRecords(absent, {}, ctx));
    expect(isLoraPrepError(missing.error) && missing.error.code).toBe('INPUT_NOT_FOUND');
  });

  it('validate and its --fix refuse a .gz, saying to check the file a trainer reads', async () => {
    const { fixFile, validateFile } = await import('../../src/index.js');
    const path = await writeTemp('train.jsonl.gz', gzipSync('{"messages":[]}\n'));
    for (const run of [() => validateFile(path, { target: 'openai' }), () => fixFile(path, undefined, { target: 'openai' })]) {
      const error = await run().then(() => undefined, (e: unknown) => e);
      expect(isLoraPrepError(error) && error.code).toBe('INPUT_FORMAT');
      expect((error as Error).message).toMatch(/validate checks the JSONL file a trainer reads, not a compressed one; `gunzip -k .*train\.jsonl\.gz`/);
    }
  });

  it('prepareDataset writes the same dataset from a .gz input, and the manifest names the compressed file', async () => {
    const source = await readFile('fixtures/medical/clinical-qa.jsonl');
    const dir = await tempDir();
    const gz = gzipSync(source);
    const path = await writeTemp('clinical-qa.jsonl.gz', gz);
    const plain = await prepareDataset({ inputs: ['fixtures/medical/clinical-qa.jsonl'], outDir: join(dir, 'plain'), concurrency: 1 });
    const packed = await prepareDataset({ inputs: [path], outDir: join(dir, 'gz'), concurrency: 1 });
    expect(packed.counts).toEqual(plain.counts);
    expect(await readFile(packed.files.train, 'utf8')).toBe(await readFile(plain.files.train, 'utf8'));
    const manifest = JSON.parse(await readFile(join(dir, 'gz', 'report', 'manifest.json'), 'utf8'));
    expect(manifest.inputs).toEqual([{ file: path, bytes: gz.length, sha256: createHash('sha256').update(gz).digest('hex') }]);
  });

  it('a .gz counts as several times its size towards starting worker threads', async () => {
    // Text that compresses little, so that the file is over 1 MiB compressed and under 4 MiB.
    let seed = 7;
    const word = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed.toString(36);
    };
    const rows = Array.from({ length: 12_000 }, (_, n) => JSON.stringify({ question: `Q${n} ${Array.from({ length: 12 }, word).join(' ')}?`, answer: Array.from({ length: 14 }, word).join(' ') }));
    const gz = gzipSync(`${rows.join('\n')}\n`);
    expect(gz.length).toBeLessThan(4 * 1024 * 1024);
    expect(gz.length * 4).toBeGreaterThan(4 * 1024 * 1024);
    const path = await writeTemp('big.jsonl.gz', gz);
    const start = vi.spyOn(TokenizerPool, 'start');
    try {
      const dir = await tempDir();
      await prepareDataset({ inputs: [path], outDir: join(dir, 'o'), concurrency: 2, dedup: { near: false } });
      expect(start).toHaveBeenCalledTimes(1);
    } finally {
      start.mockRestore();
    }
  }, 60_000);
});
