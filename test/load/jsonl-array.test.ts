import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isLoraPrepError } from '../../src/errors.js';
import { prepareDataset } from '../../src/index.js';
import { loadJsonl } from '../../src/load/index.js';
import { tempDir } from '../helpers/index.js';
import { chunked, runLoad, writeTemp } from '../helpers/load-helpers.js';

const PRETTY = '[\n  {"question": "q1", "answer": "a1"},\n  {"question": "q2",\n   "answer": "a2"}\n]\n';
const WARNING = "rows.jsonl: the file holds one JSON array although it is named like JSONL; it was read as JSON. Rename it to .json or pass format: 'json' to silence this warning.";

describe('a JSON array saved as .jsonl', () => {
  it('is read as the array, elements on their own lines, with a warning', async () => {
    const result = await runLoad((ctx) => loadJsonl(chunked('rows.jsonl', PRETTY), {}, ctx));
    expect(result.data).toEqual([
      { question: 'q1', answer: 'a1' },
      { question: 'q2', answer: 'a2' },
    ]);
    expect(result.lines).toEqual([2, 3]);
    expect(result.rejected).toEqual([]);
    expect(result.warnings).toEqual([WARNING]);
  });

  it('so is a whole file of one minified array of objects, however it is cut', async () => {
    const text = '[{"q":1},{"q":2}]\n';
    for (let cut = 1; cut <= text.length; cut++) {
      const pieces = [text.slice(0, cut), text.slice(cut)].filter((p) => p !== '');
      const result = await runLoad((ctx) => loadJsonl(chunked('rows.jsonl', ...pieces), {}, ctx));
      expect(result.data).toEqual([{ q: 1 }, { q: 2 }]);
      expect(result.warnings).toEqual([WARNING]);
    }
  });

  it('stays JSONL when its first line is a whole value and more lines follow', async () => {
    const result = await runLoad((ctx) => loadJsonl(chunked('rows.jsonl', '[1, 2]\n{"q": 1}\n[{"q": 2}]\n'), {}, ctx));
    expect(result.data).toEqual([{ q: 1 }]);
    expect(result.rejected.map((r) => [r.source.line, r.reason])).toEqual([
      [1, 'invalid_record'],
      [3, 'invalid_record'],
    ]);
    expect(result.warnings).toEqual([]);
  });

  it('stops with INPUT_FORMAT when more follows the array it started as', async () => {
    const result = await runLoad((ctx) => loadJsonl(chunked('rows.jsonl', `${PRETTY}{"question": "q3", "answer": "a3"}\n`), {}, ctx));
    expect(isLoraPrepError(result.error) && result.error.code).toBe('INPUT_FORMAT');
    expect((result.error as Error).message).toMatch(/rows\.jsonl:6: the file started like one JSON array, so it was read as JSON, but more follows .*pass format: 'jsonl'/);
  });

  it('reads a second pretty-printed array after the first, with one more warning', async () => {
    const result = await runLoad((ctx) => loadJsonl(chunked('rows.jsonl', `${PRETTY}[\n  {"question": "q3", "answer": "a3"}\n]\n`), {}, ctx));
    expect(result.lines).toEqual([2, 3, 7]);
    expect(result.rejected).toEqual([]);
    expect(result.warnings).toEqual([WARNING, expect.stringMatching(/^rows\.jsonl:6: another JSON array starts after the first one's closing/)]);
  });

  it('is read as JSONL, line by line, when the format is given', async () => {
    const result = await runLoad((ctx) => loadJsonl(chunked('rows.jsonl', PRETTY), { format: 'jsonl' }, ctx));
    expect(result.data).toEqual([]);
    expect(result.rejected.map((r) => r.reason)).toEqual(['invalid_json', 'invalid_json', 'invalid_json', 'invalid_json', 'invalid_json']);
    const path = await writeTemp('given.jsonl', PRETTY);
    const dir = await tempDir();
    // Every line rejected: the run fails (DATA_FAILED) before writing, its message says why.
    const named = await prepareDataset({ inputs: [{ path, format: 'jsonl' }], outDir: join(dir, 'a') }).catch((e: unknown) => e);
    expect(named).toMatchObject({ code: 'DATA_FAILED', message: expect.stringMatching(/^no example was kept: all 5 input rows were rejected \(5 invalid_json\)/) });
    const guessed = await prepareDataset({ inputs: [path], outDir: join(dir, 'b'), split: { validation: 0 } });
    expect(guessed.counts).toMatchObject({ input: 2, kept: 2 });
    expect(guessed.warnings[0]).toMatch(/holds one JSON array although it is named like JSONL/);
  });
});
