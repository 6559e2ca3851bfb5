import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { runCli } from '../../src/cli/run.js';
import { isLoraPrepError } from '../../src/errors.js';
import { prepareDataset } from '../../src/index.js';
import { fakeIo } from '../helpers/cli.js';
import { tempDir } from '../helpers/index.js';
import { loadJson } from '../../src/load/index.js';
import { chunked, runLoad, writeTemp } from '../helpers/load-helpers.js';

/** Values that make a scanner work: brackets and quotes inside strings, nesting, non-ASCII text. */
const tricky = fc.oneof(
  fc.string({ unit: fc.constantFrom('a', '[', ']', '{', '}', '"', '\\', ',', ':', 'é', '😀', '\n') }),
  fc.integer(),
  fc.constant(null),
  fc.array(fc.oneof(fc.string({ unit: fc.constantFrom('[', '"', 'x') }), fc.integer()), { maxLength: 3 }),
  fc.dictionary(fc.constantFrom('data', 'rows', 'x'), fc.string({ unit: fc.constantFrom('"', ']', 'y') }), { maxKeys: 2 }),
);

describe('recordsKey: the records under a top-level key', () => {
  it('reads the array under the key wherever it stands, with the file’s lines, however the text is cut', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom('version', 'meta', 'x y', 'dätä', 'data2'), tricky), { maxLength: 3 }),
        fc.array(fc.record({ q: fc.string(), n: fc.integer() }), { maxLength: 6 }),
        fc.array(fc.tuple(fc.constantFrom('tail', 'more'), tricky), { maxLength: 2 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 40 }),
        async (before, records, after, pretty, chunk) => {
          const pairs = (list: Array<[string, unknown]>) => list.map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v, null, pretty ? 1 : undefined)}`);
          const head = `{\n${[...pairs(before), ''].join(',\n')}"data": [\n`;
          const lines: number[] = [];
          let body = '';
          for (const [i, r] of records.entries()) {
            lines.push((head + body).split('\n').length);
            body += `${JSON.stringify(r)}${i < records.length - 1 ? ',' : ''}\n`;
          }
          const text = `${head}${body}]${after.length > 0 ? `,\n${pairs(after).join(',\n')}` : ''}\n}\n`;
          const pieces: string[] = [];
          for (let i = 0; i < text.length; i += chunk) pieces.push(text.slice(i, i + chunk));
          const result = await runLoad((ctx) => loadJson(chunked('export.json', ...pieces), { recordsKey: 'data' }, ctx));
          expect(result.error).toBeUndefined();
          expect(result.rejected).toEqual([]);
          expect(result.warnings).toEqual([]);
          expect(result.data).toEqual(records);
          expect(result.lines).toEqual(lines);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('rejects elements as in an array file, with byte offsets of the file', async () => {
    const head = Buffer.from('{"note": "é😀", "data": [\n{"q": "ok"},\n7,\n{"q": "');
    const bytes = Buffer.concat([head, Buffer.from([0xff]), Buffer.from('"}\n]}\n')]);
    const path = await writeTemp('bad.json', bytes);
    const result = await runLoad((ctx) => loadJson(path, { recordsKey: 'data' }, ctx));
    expect(result.data).toEqual([{ q: 'ok' }]);
    expect(result.rejected.map((r) => [r.source.line, r.reason])).toEqual([
      [3, 'invalid_record'],
      [4, 'invalid_encoding'],
    ]);
    expect(result.rejected[1]?.message).toContain(`byte 0xFF at byte offset ${head.length} of the file`);
  });

  it.each([
    ['{"version": 1, "rows": [{"q": 1}]}', /recordsKey "data": the top-level object has no such key \(its keys: "version", "rows"\)\. Name the key that holds the array of records\./],
    ['{"data": {"q": 1}}', /recordsKey "data" holds an object, not an array of records/],
    ['{"data": "x"}', /recordsKey "data" holds a string, not an array of records/],
    ['{"meta": {"data": [1]}}', /the top-level object has no such key \(its keys: "meta"\)/],
  ])('stops with INPUT_FORMAT when the key is missing or holds no array: %s', async (text, message) => {
    const result = await runLoad((ctx) => loadJson(chunked('x.json', text), { recordsKey: 'data' }, ctx));
    expect(isLoraPrepError(result.error) && result.error.code).toBe('INPUT_FORMAT');
    expect((result.error as Error).message).toMatch(message);
  });

  it('a raw line break inside a string costs that element only, and the object’s closing } is no row', async () => {
    const text = '{"data":[\n{"prompt": "raw\nnewline", "completion": "c1"},\n{"prompt": "p2", "completion": "c2"},\n{"prompt": "p3", "completion": "c3"}\n]}\n';
    const result = await runLoad((ctx) => loadJson(chunked('export.json', text), { recordsKey: 'data' }, ctx));
    expect(result.rows.map((r) => [r.source.line, r.data])).toEqual([
      [4, { prompt: 'p2', completion: 'c2' }],
      [5, { prompt: 'p3', completion: 'c3' }],
    ]);
    expect(result.rejected.map((r) => [r.source.line, r.reason])).toEqual([[2, 'invalid_json']]);
    expect(result.rejected[0]?.message).toMatch(/write the break as \\n$/);
    expect(result.warnings).toEqual([]);
  });

  it('rejects text after the object at its line; warns when the object is cut off after the array', async () => {
    const after = await runLoad((ctx) =>
      loadJson(chunked('two.json', '{"data": [{"q": 1}], "tail": {"s": "}"}}\n{"data": [{"q": 2}]}\n'), { recordsKey: 'data' }, ctx),
    );
    expect(after.data).toEqual([{ q: 1 }]);
    expect(after.rejected.map((r) => [r.source.line, r.reason, r.message])).toEqual([
      [2, 'invalid_json', 'this text follows the closing "}" of the object holding the records, where the end of the file should come, so it was not read'],
    ]);
    expect(after.warnings).toEqual([]);
    const cut = await runLoad((ctx) => loadJson(chunked('cut.json', '{"data": [{"q": 1}], "tail": [1, '), { recordsKey: 'data' }, ctx));
    expect(cut.data).toEqual([{ q: 1 }]);
    expect(cut.warnings).toEqual([
      'cut.json: the file ended before the closing "}" of the object holding the records, so it may be cut off; the records of its array were read.',
    ]);
  });

  it('reads an array file as it is, saying the key was not needed', async () => {
    const result = await runLoad((ctx) => loadJson(chunked('a.json', '[{"q": 1}]'), { recordsKey: 'data' }, ctx));
    expect(result.data).toEqual([{ q: 1 }]);
    expect(result.warnings).toEqual(['a.json: the file is an array of records itself, so recordsKey "data" was not needed; the array was read.']);
  });

  it('without it, the error names the key that seems to hold the records and how to read them', async () => {
    const result = await runLoad((ctx) => loadJson(chunked('w.json', '{"version": 1, "data": [{"q": 1}]}'), {}, ctx));
    expect((result.error as Error).message).toMatch(/The records seem to be the array under "data": pass recordsKey: "data" \(CLI --records-key data\) to read them\./);
  });

  it('is an input setting and a job-wide one, and --records-key on the command line', async () => {
    const path = await writeTemp('export.json', '{"version": 2, "data": [\n{"question": "What is a lien?", "answer": "A right to keep property."},\n{"question": "What is bail?", "answer": "Money for release."}\n]}\n');
    const dir = await tempDir();
    const perInput = await prepareDataset({ inputs: [{ path, recordsKey: 'data' }], outDir: join(dir, 'a'), split: { validation: 0 } });
    const jobWide = await prepareDataset({ inputs: [path], recordsKey: 'data', outDir: join(dir, 'b'), split: { validation: 0 } });
    expect(perInput.counts).toMatchObject({ input: 2, kept: 2 });
    expect(jobWide.counts).toEqual(perInput.counts);
    const io = fakeIo();
    expect(await runCli(['prepare', path, '--records-key', 'data', '--out', join(dir, 'c'), '--validation', '0', '--json', '--quiet'], io)).toBe(0);
    expect(JSON.parse(io.out).counts).toMatchObject({ input: 2, kept: 2 });
  });
});
