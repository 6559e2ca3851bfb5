import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/run.js';
import { prepareDataset } from '../src/index.js';
import { fakeIo } from './helpers/cli.js';
import { tempDir } from './helpers/index.js';

/** JSONL lines: mostly good rows, some copies, some bad JSON and some rows the mapping rejects. */
function lines(count: number, seed: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const n = (i * 7919 + seed) % 97;
    if (n % 11 === 0) out.push('{"question": "cut off');
    else if (n % 13 === 0) out.push(JSON.stringify({ question: `Q${n}`, answer: '   ' }));
    else if (n % 5 === 0) out.push(JSON.stringify({ question: 'What is a lien?', answer: 'A right to keep property.' }));
    else out.push(JSON.stringify({ question: `Question ${i} of seed ${seed}: what is item ${n}?`, answer: `Item ${n} is entry ${i * 3}.` }));
  }
  return out;
}

const read = (path: string) => readFile(path, 'utf8');

describe('maxRows', () => {
  it('a run over the first N rows writes what a run over a file of those rows writes', async () => {
    const dir = await tempDir();
    const all = lines(60, 3);
    const path = join(dir, 'all.jsonl');
    await writeFile(path, `${all.join('\n')}\n`);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 70 }), async (n) => {
        const cut = join(dir, `first-${n}.jsonl`);
        await writeFile(cut, `${all.slice(0, n).join('\n')}\n`);
        const options = { mapping: 'qa' as const, split: { validation: 0.2, seed: 5 }, concurrency: 1, overwrite: true };
        const limited = await prepareDataset({ ...options, inputs: [path], outDir: join(dir, `l-${n}`), maxRows: n });
        const whole = await prepareDataset({ ...options, inputs: [cut], outDir: join(dir, `w-${n}`) });
        expect(limited.counts).toEqual(whole.counts);
        expect(limited.counts.input).toBe(Math.min(n, all.length));
        expect(await read(limited.files.train)).toBe(await read(whole.files.train));
        const rejectedLines = (text: string) => text.split('\n').filter(Boolean).map((l) => JSON.parse(l).source.line);
        expect(rejectedLines(await read(limited.files.rejected))).toEqual(rejectedLines(await read(whole.files.rejected)));
        expect(limited.warnings.some((w) => w.includes('maxRows'))).toBe(n < all.length);
      }),
      { numRuns: 8 },
    );
  }, 120_000);

  it('counts over the inputs in order, marks those not read to the end partial and warns', async () => {
    const dir = await tempDir();
    const [a, b, c] = [join(dir, 'a.jsonl'), join(dir, 'b.jsonl'), join(dir, 'c.jsonl')];
    const aText = `${lines(10, 1).join('\n')}\n`;
    await writeFile(a, aText);
    await writeFile(b, `${lines(10, 2).join('\n')}\n`);
    await writeFile(c, `${lines(10, 4).join('\n')}\n`);
    const result = await prepareDataset({ inputs: [a, b, c], mapping: 'qa', outDir: join(dir, 'o'), maxRows: 14, concurrency: 1 });
    expect(result.counts.input).toBe(14);
    expect(result.counts.kept + result.counts.rejected).toBe(14);
    expect(result.warnings).toContain(`read the first 14 input rows (maxRows): not read to the end: ${b}, ${c}`);
    const manifest = JSON.parse(await read(result.files.manifest));
    expect(manifest.options.maxRows).toBe(14);
    expect(manifest.inputs[0]).toEqual({ file: a, bytes: Buffer.byteLength(aText), sha256: createHash('sha256').update(aText).digest('hex') });
    expect(manifest.inputs[1]).toMatchObject({ file: b, partial: true });
    expect(manifest.inputs[2]).toEqual({ file: c, bytes: 0, sha256: createHash('sha256').digest('hex'), partial: true });

    // Exactly the rows of the first file: it is whole, and the next is not read.
    const exact = await prepareDataset({ inputs: [a, b], mapping: 'qa', outDir: join(dir, 'o2'), maxRows: 10, concurrency: 1 });
    const exactManifest = JSON.parse(await read(exact.files.manifest));
    expect(exactManifest.inputs[0].partial).toBeUndefined();
    expect(exactManifest.inputs[1]).toMatchObject({ bytes: 0, partial: true });
  });

  it('reports no rejection of a row after the last one read, though the loader has read ahead', async () => {
    const dir = await tempDir();
    const path = join(dir, 'rows.csv');
    await writeFile(path, 'question,answer\nq1,a1\nq2,a2\nq3,a3\nbad\nworse,x,y\nq6,a6\n');
    const rejectedLines = async (maxRows: number) => {
      const r = await prepareDataset({ inputs: [path], outDir: join(dir, `o${maxRows}`), maxRows, concurrency: 1, split: { validation: 0 } });
      expect(r.counts.input).toBe(maxRows);
      return (await read(r.files.rejected)).split('\n').filter(Boolean).map((l) => JSON.parse(l).source.line);
    };
    expect(await rejectedLines(3)).toEqual([]);
    expect(await rejectedLines(4)).toEqual([5]);
    expect(await rejectedLines(5)).toEqual([5, 6]);
  });

  it('is --max-rows on the command line, and must be a positive integer', async () => {
    const dir = await tempDir();
    const path = join(dir, 'rows.jsonl');
    await writeFile(path, `${lines(30, 9).join('\n')}\n`);
    const io = fakeIo();
    expect(await runCli(['prepare', path, '--mapping', 'qa', '--max-rows', '12', '--out', join(dir, 'o'), '--json', '--quiet'], io)).toBe(0);
    expect(JSON.parse(io.out).counts.input).toBe(12);
    const bad = fakeIo();
    expect(await runCli(['prepare', path, '--max-rows', '0', '--out', join(dir, 'o2'), '--quiet'], bad)).toBe(2);
    expect(bad.err).toMatch(/maxRows/);
  });
});
