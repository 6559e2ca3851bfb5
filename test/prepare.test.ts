import { existsSync } from 'node:fs';
import { cp, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { prepareDataset, type PrepareOptions } from '../src/index.js';
import expected from '../fixtures/expected.json' with { type: 'json' };
import { snapshot, tempDir } from './helpers/index.js';
import { readJsonl } from './helpers/output.js';

// Worker threads from 4 MiB of input (the line's own setting), so that the tests that run
// prepareDataset with workers keep their inputs small.
process.env.LORA_PREP_WORKERS_FROM_BYTES = String(4 * 1024 * 1024);

type Expected = Record<string, { rows: number; rejected: Array<{ line: number; reason: string; duplicateOf?: number }>; encoding?: string }>;
const EXPECTED = expected as Expected;

interface RejectedLine {
  source: { file: string; line: number };
  reason: string;
  message: string;
  duplicateOf?: { file: string; line: number };
}

describe('each fixture alone', () => {
  it.each(Object.keys(EXPECTED))('%s: every planted quirk is found at its line, and every row is accounted for', async (file) => {
    const spec = EXPECTED[file] as Expected[string];
    const outDir = join(await tempDir(), 'out');
    const input = spec.encoding ? { path: file, encoding: spec.encoding as 'windows-1252' } : file;
    const result = await prepareDataset({ inputs: [input], outDir, target: 'openai', split: { validation: 0.2 } });

    expect(result.counts.input).toBe(spec.rows);
    expect(result.counts.rejected).toBe(spec.rejected.length);
    expect(result.counts.kept).toBe(spec.rows - spec.rejected.length);
    expect(result.counts.train + result.counts.validation + result.counts.test + result.counts.rejected).toBe(result.counts.input);

    const rejected = (await readJsonl(result.files.rejected)) as unknown as RejectedLine[];
    const got = rejected
      .map((r) => ({ line: r.source.line, reason: r.reason, ...(r.duplicateOf ? { duplicateOf: r.duplicateOf.line } : {}) }))
      .sort((a, b) => a.line - b.line);
    expect(got).toEqual(spec.rejected);
    for (const r of rejected) {
      expect(r.source.file).toBe(file);
      expect(r.message.length).toBeGreaterThan(5);
    }

    const train = await readJsonl(result.files.train);
    const validation = result.files.validation ? await readJsonl(result.files.validation) : [];
    expect(train.length).toBe(result.counts.train);
    expect(validation.length).toBe(result.counts.validation);
    for (const record of [...train, ...validation]) {
      expect(Object.keys(record)).toEqual(['messages']);
      const messages = record.messages as Array<{ role: string; content: string }>;
      expect(messages.at(-1)?.role).toBe('assistant');
      for (const m of messages) expect(m.content.trim()).not.toBe('');
    }
    const trainSet = new Set(train.map((r) => JSON.stringify(r)));
    expect(validation.filter((r) => trainSet.has(JSON.stringify(r)))).toEqual([]);
  });
});

describe('all fixtures together', () => {
  const inputs: PrepareOptions['inputs'] = Object.entries(EXPECTED).map(([path, spec]) =>
    spec.encoding ? { path, encoding: spec.encoding as 'windows-1252', domain: path.split('/')[1] as string } : { path, domain: path.split('/')[1] as string },
  );

  it('adds up, reports per input and per domain, and writes the manifest', async () => {
    const outDir = join(await tempDir(), 'all');
    const result = await prepareDataset({ inputs, outDir, split: { validation: 0.1, test: 0.1, seed: 7 } });
    const rows = Object.values(EXPECTED).reduce((n, s) => n + s.rows, 0);
    const rejected = Object.values(EXPECTED).reduce((n, s) => n + s.rejected.length, 0);
    expect(result.counts.input).toBe(rows);
    expect(result.counts.rejected).toBe(rejected);
    expect(Object.values(result.counts.byReason).reduce((a, b) => a + b, 0)).toBe(result.counts.rejected);
    expect(result.counts.validation).toBe(Math.round(result.counts.kept * 0.1));
    expect(result.counts.test).toBe(Math.round(result.counts.kept * 0.1));
    expect(result.tokens.min).toBeGreaterThan(0);
    expect(result.tokens.max).toBeGreaterThanOrEqual(result.tokens.p99);

    expect((await readdir(outDir)).sort()).toEqual(['report', 'test.jsonl', 'train.jsonl', 'validation.jsonl']);
    expect((await readdir(join(outDir, 'report'))).sort()).toEqual(['manifest.json', 'next-steps.md', 'rejected.jsonl', 'report.html', 'report.json']);

    const report = JSON.parse(await readFile(result.files.report, 'utf8'));
    expect(report.counts).toEqual(result.counts);
    expect(report.inputs).toHaveLength(inputs.length);
    for (const i of report.inputs) expect(i.rows).toBe(EXPECTED[i.file]?.rows);
    const domains = report.splits.byDomain;
    const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
    expect(sum(domains.train) + sum(domains.validation) + sum(domains.test)).toBe(result.counts.kept);
    expect(Object.keys(domains.train).sort()).toEqual(['finance', 'legal', 'medical']);
    expect(report.tokens.histogram.reduce((n: number, b: { count: number }) => n + b.count, 0)).toBe(result.counts.kept);

    const manifest = JSON.parse(await readFile(result.files.manifest, 'utf8'));
    expect(manifest.seed).toBe(7);
    expect(manifest.options.tokenizer).toBe('o200k_base');
    expect(manifest.inputs.map((i: { file: string }) => i.file)).toEqual(Object.keys(EXPECTED));
    const { createHash } = await import('node:crypto');
    for (const i of manifest.inputs) expect(i.sha256).toBe(createHash('sha256').update(await readFile(i.file)).digest('hex'));
    for (const o of manifest.outputs) {
      const bytes = await readFile(join(outDir, o.file));
      expect(o.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
      expect(o.bytes).toBe(bytes.length);
      // Lines as `wc -l` counts them: records in data files, text lines in the report files.
      expect(o.lines, o.file).toBe(bytes.toString('utf8').split('\n').length - 1);
    }
  });

  it('gives byte-identical files when run again with the same inputs and options', async () => {
    const outDir = join(await tempDir(), 'again');
    const copy = join(await tempDir(), 'first');
    await prepareDataset({ inputs, outDir, overwrite: true });
    await cp(outDir, copy, { recursive: true });
    // Another machine's thread count (the default is the CPUs') changes nothing, the manifest included.
    await prepareDataset({ inputs, outDir, overwrite: true, concurrency: 3 });
    for (const f of ['train.jsonl', 'validation.jsonl', 'report/rejected.jsonl', 'report/report.json', 'report/manifest.json']) {
      expect((await readFile(join(outDir, f))).equals(await readFile(join(copy, f))), f).toBe(true);
    }
  });

  it('writes alpaca records for axolotl instruction, rejecting multi-turn chats with a reason', async () => {
    const outDir = join(await tempDir(), 'alpaca');
    const result = await prepareDataset({ inputs, outDir, target: 'axolotl', format: 'instruction', split: { validation: 0 } });
    const train = await readJsonl(result.files.train);
    // The alpaca fixture's inputs stay in input; every other row's input is "".
    expect(train.some((r) => r.input !== '')).toBe(true);
    for (const r of train) {
      expect(typeof r.instruction).toBe('string');
      expect(typeof r.input).toBe('string');
      expect(typeof r.output).toBe('string');
      expect(Object.keys(r).every((k) => ['instruction', 'input', 'output', 'system'].includes(k))).toBe(true);
    }
    expect(result.counts.byReason.unsupported_shape).toBeGreaterThan(0);
    expect(result.counts.train + result.counts.rejected).toBe(result.counts.input);
  });
});

describe('the job, not the rows', () => {
  it('refuses a non-empty outDir without overwrite and leaves it alone', async () => {
    const outDir = await tempDir();
    await writeFile(join(outDir, 'keep.txt'), 'mine');
    await expect(prepareDataset({ inputs: ['fixtures/medical/clinical-qa.jsonl'], outDir })).rejects.toMatchObject({
      code: 'OUTPUT_NOT_EMPTY',
      message: expect.stringMatching(/overwrite/),
    });
    expect(await readdir(outDir)).toEqual(['keep.txt']);
  });

  it('throws INPUT_NOT_FOUND before creating outDir', async () => {
    const outDir = join(await tempDir(), 'never');
    await expect(prepareDataset({ inputs: ['fixtures/nope.csv'], outDir })).rejects.toMatchObject({ code: 'INPUT_NOT_FOUND', message: expect.stringMatching(/fixtures\/nope\.csv/) });
    expect(existsSync(outDir)).toBe(false);
  });

  it('throws MAPPING_INVALID for a template column the input lacks, before writing anything', async () => {
    const outDir = join(await tempDir(), 'never');
    await expect(
      prepareDataset({ inputs: ['fixtures/legal/contracts-qa.tsv'], mapping: { user: '{{question}}', assistant: '{{answr}}' }, outDir }),
    ).rejects.toMatchObject({ code: 'MAPPING_INVALID', message: expect.stringMatching(/answr.*"case_id", "question", "answer"/) });
    expect(existsSync(outDir)).toBe(false);
  });

  it('leaves outDir exactly as it was when the run is aborted', async () => {
    const outDir = await tempDir();
    await prepareDataset({ inputs: ['fixtures/medical/clinical-qa.jsonl'], outDir, overwrite: true });
    const before = await snapshot(outDir);
    const controller = new AbortController();
    await expect(
      prepareDataset({
        inputs: ['fixtures/medical/patient-faq.json'],
        outDir,
        overwrite: true,
        signal: controller.signal,
        onProgress: (e) => {
          if (e.stage === 'write') controller.abort();
        },
      }),
    ).rejects.toMatchObject({ code: 'ABORTED' });
    expect(await snapshot(outDir)).toEqual(before);
  });

  it('stops at once when aborted while a worker is deep in one huge row (megabytes of letters without a space)', async () => {
    const input = join(await tempDir(), 'dna.jsonl');
    // Counting this row takes a worker several seconds (a merge over 6 million letters); the file is
    // big enough for worker threads.
    await writeFile(input, `${JSON.stringify({ question: 'Which sequence?', answer: 'ACGT'.repeat(1_500_000) })}\n${JSON.stringify({ question: 'q', answer: 'a' })}\n`);
    const controller = new AbortController();
    let abortedAt = 0;
    let scheduled = false;
    // A second after reading begins: the rows are read (6 MB) and the worker is counting.
    const abortSoon = () =>
      !scheduled &&
      (scheduled = true) &&
      setTimeout(() => {
        abortedAt = performance.now();
        controller.abort();
      }, 1000);
    const outDir = join(await tempDir(), 'o');
    await expect(
      prepareDataset({ inputs: [input], outDir, concurrency: 2, signal: controller.signal, onProgress: (e) => void (e.stage === 'read' && abortSoon()) }),
    ).rejects.toMatchObject({ code: 'ABORTED', message: expect.stringMatching(/counting tokens stopped/) });
    expect(performance.now() - abortedAt).toBeLessThan(2000);
    expect(existsSync(outDir)).toBe(false);
  });

  it('announces every stage as it begins, read first, however few rows there are', async () => {
    const stages: string[] = [];
    await prepareDataset({ inputs: ['fixtures/medical/patient-faq.json'], outDir: join(await tempDir(), 'o'), onProgress: (e) => void stages.push(e.stage) });
    expect([...new Set(stages)]).toEqual(['read', 'plan', 'write', 'done']);
  });

  it("warns that overlong: 'truncate' does nothing without maxTokens", async () => {
    const result = await prepareDataset({ inputs: ['fixtures/medical/patient-faq.json'], outDir: join(await tempDir(), 'o'), overlong: 'truncate' });
    expect(result.warnings).toContain("overlong: 'truncate' cuts examples only to maxTokens, which is not set: nothing was truncated");
  });

  it('removes files of an earlier run that this run does not write', async () => {
    const outDir = join(await tempDir(), 'o');
    await prepareDataset({ inputs: ['fixtures/medical/patient-faq.json'], outDir, split: { test: 0.2 } });
    expect(existsSync(join(outDir, 'test.jsonl'))).toBe(true);
    await prepareDataset({ inputs: ['fixtures/medical/patient-faq.json'], outDir, overwrite: true, split: { test: 0 } });
    expect(existsSync(join(outDir, 'test.jsonl'))).toBe(false);
  });

  it('rejects examples over maxTokens as overlong (prompt_overflow when the prompt alone fills it), or keeps them when asked', async () => {
    const base = { inputs: ['fixtures/finance/advisor-chat.jsonl'], split: { validation: 0 } };
    const all = await prepareDataset({ ...base, outDir: join(await tempDir(), 'a') });
    const limit = all.tokens.p50;
    const measures = await measureAll(all.files.train);
    const over = measures.filter((m) => m.total > limit);
    const dropped = await prepareDataset({ ...base, outDir: join(await tempDir(), 'b'), maxTokens: limit });
    expect(dropped.counts.byReason.overlong ?? 0).toBe(over.filter((m) => m.prompt < limit).length);
    expect(dropped.counts.byReason.prompt_overflow ?? 0).toBe(over.filter((m) => m.prompt >= limit).length);
    expect(dropped.counts.kept).toBe(all.counts.kept - over.length);
    expect(dropped.tokens.max).toBeLessThanOrEqual(limit);
    const kept = await prepareDataset({ ...base, outDir: join(await tempDir(), 'c'), maxTokens: limit, overlong: 'keep' });
    expect(kept.counts.byReason.overlong).toBeUndefined();
    expect(kept.counts.byReason.prompt_overflow ?? 0).toBe(over.filter((m) => m.prompt >= limit).length);
  });
});

describe('accounting under random data (property)', () => {
  it('input = train + validation + test + rejected, and every row lands exactly once', async () => {
    const line = fc.oneof(
      fc.record({ question: fc.constantFrom('What is a bond?', 'What is equity?', 'Define tort.', 'What is EBITDA?'), answer: fc.string({ minLength: 1, maxLength: 30 }) }).map((o) => JSON.stringify(o)),
      fc.constant('{"question": "broken"'),
      fc.constant('[1,2]'),
      fc.constant('{"question": "no answer"}'),
      fc.constant('{"question": "blank", "answer": "   "}'),
      fc.constant(''),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(line, { minLength: 1, maxLength: 40 }), fc.constantFrom(0, 0.2, 0.5), async (lines, validation) => {
        const dir = await tempDir();
        const file = join(dir, 'in.jsonl');
        await writeFile(file, lines.map((l, i) => (i === 0 ? '{"question": "first", "answer": "row"}' : l)).join('\n'));
        const result = await prepareDataset({ inputs: [file], outDir: join(dir, 'out'), split: { validation } });
        const nonBlank = lines.filter((l, i) => i === 0 || l.trim() !== '').length;
        expect(result.counts.input).toBe(nonBlank);
        expect(result.counts.train + result.counts.validation + result.counts.test + result.counts.rejected).toBe(result.counts.input);
        const rejected = await readJsonl(result.files.rejected);
        const out = [...(await readJsonl(result.files.train)), ...(result.files.validation ? await readJsonl(result.files.validation) : [])];
        expect(rejected.length + out.length).toBe(nonBlank);
        const rejectedLines = rejected.map((r) => (r.source as { line: number }).line);
        expect(new Set(rejectedLines).size).toBe(rejectedLines.length);
      }),
      { numRuns: 25 },
    );
  });
});


async function measureAll(file: string) {
  const { loadTokenizer } = await import('../src/tokenizers/index.js');
  const tok = await loadTokenizer('o200k_base');
  return (await readJsonl(file)).map((r) => tok.measure(r.messages as never));
}

