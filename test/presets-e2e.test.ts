import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/run.js';
import { loadRecords } from '../src/load/index.js';
import { naturalKeys } from '../src/normalize/index.js';
import type { Mapping } from '../src/options.js';
import { prepareDataset } from '../src/prepare.js';
import type { StageContext } from '../src/types.js';
import { tempDir } from './helpers/index.js';
import { readJsonl } from './helpers/output.js';
import { fakeIo } from './helpers/cli.js';

/** The preset fixtures, as fixtures/README.md describes them. */
const FIXTURES: Array<{ file: string; mapping: Mapping; rows: number; rejected: Array<{ line: number; reason: string; message: RegExp }>; keys: object; first: string }> = [
  {
    file: 'fixtures/medical/pubmedqa.jsonl',
    mapping: 'auto',
    rows: 12,
    rejected: [
      { line: 6, reason: 'invalid_record', message: /final_decision" must be yes, no or maybe, got "unclear"/ },
      { line: 10, reason: 'missing_field', message: /long_answer" and "final_decision" are both missing/ },
    ],
    keys: { groupBy: 'pubid', stratifyBy: 'final_decision' },
    first: 'A nurse-led discharge checklist was associated with fewer readmissions in the month after a heart failure admission.\n\nAnswer: yes.',
  },
  {
    file: 'fixtures/medical/medmcqa.csv',
    mapping: 'auto',
    rows: 12,
    rejected: [
      { line: 6, reason: 'invalid_record', message: /"cop" is 4, which picks no option.*set mapping.indexBase to 1/ },
      { line: 10, reason: 'invalid_record', message: /"cop" is -1, which picks no option/ },
    ],
    keys: { stratifyBy: 'subject_name' },
    first: 'B. Metformin\n\nMetformin lowers hepatic glucose output',
  },
  {
    file: 'fixtures/medical/medqa.jsonl',
    mapping: 'auto',
    rows: 12,
    rejected: [
      { line: 6, reason: 'invalid_record', message: /"answer_idx" is "F", which picks no option: the options are A–E/ },
      { line: 9, reason: 'invalid_record', message: /picks B\. "Intramuscular benzylpenicillin", but field "answer" says "Oral ciprofloxacin"/ },
    ],
    keys: { stratifyBy: 'meta_info' },
    first: 'A. Serum ferritin',
  },
  {
    file: 'fixtures/legal/casehold.csv',
    mapping: 'auto',
    rows: 12,
    rejected: [
      { line: 6, reason: 'invalid_record', message: /"label" is 5, which picks no option: there are 5 \(A–E\)/ },
      { line: 9, reason: 'empty_content', message: /option C \(column "holding_2"\) is blank/ },
    ],
    keys: {},
    first: 'B. holding that repeated acceptance of late rent',
  },
  {
    file: 'fixtures/legal/legalbench-task.tsv',
    mapping: { preset: 'template', promptFile: 'fixtures/legal/legalbench-prompt.txt' },
    rows: 13,
    rejected: [
      { line: 7, reason: 'empty_content', message: /"answer" is blank/ },
      { line: 9, reason: 'malformed_row', message: /expected 3 fields/ },
    ],
    keys: {},
    first: 'No',
  },
  {
    file: 'fixtures/finance/phrasebank.csv',
    mapping: { preset: 'classification', labels: ['negative', 'neutral', 'positive'] },
    rows: 12,
    rejected: [
      { line: 6, reason: 'invalid_record', message: /"label" is "3", which is not one of the labels \(0 = negative, 1 = neutral, 2 = positive\)/ },
      { line: 10, reason: 'empty_content', message: /"label" is blank/ },
    ],
    keys: { stratifyBy: 'label' },
    first: 'positive',
  },
];

async function firstRow(file: string): Promise<Record<string, unknown> | undefined> {
  const quiet: StageContext = { reject: () => undefined, warn: () => undefined };
  for await (const row of loadRecords(file, {}, quiet)) return row.data;
  return undefined;
}

describe('preset fixtures through prepareDataset', () => {
  it.each(FIXTURES)('$file: planted rows rejected at their lines, the rest kept, split on the natural keys', async ({ file, mapping, rows, rejected, keys, first }) => {
    const natural = naturalKeys(mapping, await firstRow(file));
    expect(natural).toEqual(keys);
    const outDir = join(await tempDir(), 'out');
    // No split keys given: prepareDataset picks the preset's natural keys itself.
    const result = await prepareDataset({ inputs: [file], mapping, outDir, split: { validation: 0.2 }, concurrency: 1 });
    const report = JSON.parse(await readFile(result.files.report, 'utf8'));
    expect({ groupBy: report.splits.groupBy ?? undefined, stratifyBy: report.splits.stratifyBy ?? undefined }).toEqual({ groupBy: undefined, stratifyBy: undefined, ...keys });
    expect(report.splits.keysFromPreset.sort()).toEqual(Object.keys(keys).sort());

    expect(result.counts.input).toBe(rows);
    expect(result.counts.rejected).toBe(rejected.length);
    expect(result.counts.kept).toBe(rows - rejected.length);
    expect(result.counts.train + result.counts.validation + result.counts.test + result.counts.rejected).toBe(result.counts.input);
    // The natural keys are columns every kept example carries in meta: no "has no value" warning.
    expect(result.warnings.filter((w) => /have no .* value/.test(w))).toEqual([]);

    const lines = (await readJsonl(result.files.rejected)) as unknown as Array<{ source: { line: number }; reason: string; message: string }>;
    const got = lines.map((r) => ({ line: r.source.line, reason: r.reason, message: r.message })).sort((a, b) => a.line - b.line);
    expect(got).toEqual(rejected.map((r) => ({ ...r, message: expect.stringMatching(r.message) })));

    const written = [...(await readJsonl(result.files.train)), ...(result.files.validation ? await readJsonl(result.files.validation) : [])];
    expect(written).toHaveLength(rows - rejected.length);
    const answers = written.map((r) => (r.messages as Array<{ role: string; content: string }>).at(-1)?.content ?? '');
    expect(answers.some((a) => a.startsWith(first))).toBe(true);
  });
});

describe('natural split keys', () => {
  it("are the user's to override or turn off, and are used only when every input agrees", async () => {
    const dir = await tempDir();
    const base = { inputs: ['fixtures/medical/pubmedqa.jsonl'], split: { validation: 0.2 }, concurrency: 1 };
    const report = async (o: object) => JSON.parse(await readFile((await prepareDataset({ ...base, ...o, outDir: join(dir, String(Math.random())) })).files.report, 'utf8')).splits;
    expect(await report({ split: { validation: 0.2, groupBy: false, stratifyBy: false } })).toMatchObject({ groupBy: null, stratifyBy: null, keysFromPreset: [] });
    expect(await report({ split: { validation: 0.2, stratifyBy: 'domain' } })).toMatchObject({ groupBy: 'pubid', stratifyBy: 'domain', keysFromPreset: ['groupBy'] });
    // A PubMedQA file beside a FiQA-style file: no key both have, so none is used.
    const mixed = await report({ inputs: ['fixtures/medical/pubmedqa.jsonl', 'fixtures/finance/fiqa-qa.csv'] });
    expect(mixed).toMatchObject({ groupBy: null, stratifyBy: null, keysFromPreset: [] });
  });

  it('keep every pubid group within one split', async () => {
    const dir = await tempDir();
    const file = join(dir, 'pubmed.jsonl');
    // Two questions per pubid (as when one abstract yields several questions).
    const src = (await readFile('fixtures/medical/pubmedqa.jsonl', 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const rows = src.flatMap((r, i) => [r, { ...r, question: `${String(r.question)} (follow-up ${i})` }]);
    await writeFile(file, `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
    const result = await prepareDataset({ inputs: [file], outDir: join(dir, 'o'), split: { validation: 0.3, seed: 7 }, dedup: { near: false }, concurrency: 1 });
    const user = (r: Record<string, unknown>) => (r.messages as Array<{ role: string; content: string }>).find((m) => m.role === 'user')?.content ?? '';
    const pubidOf = new Map(rows.map((r) => [String(r.question).slice(0, 40), String(r.pubid)]));
    const splitOf = new Map<string, string>();
    for (const split of ['train', 'validation'] as const) {
      for (const r of await readJsonl(result.files[split] as string)) {
        const q = [...pubidOf.keys()].find((k) => user(r).includes(k));
        const id = pubidOf.get(q as string) as string;
        expect(splitOf.get(id) ?? split).toBe(split);
        splitOf.set(id, split);
      }
    }
    expect(new Set(splitOf.values()).size).toBe(2);
  });
});

describe('CLI mapping flags', () => {

  it.each([
    ['--labels as a list', ['fixtures/finance/phrasebank.csv', '--labels', 'negative, neutral, positive']],
    ['--labels as JSON, with --mapping classification', ['fixtures/finance/phrasebank.csv', '--mapping', 'classification', '--labels', '{"0":"negative","1":"neutral","2":"positive"}']],
    ['--prompt-file', ['fixtures/legal/legalbench-task.tsv', '--mapping', 'template', '--prompt-file', 'fixtures/legal/legalbench-prompt.txt']],
    ['--mapping mcq', ['fixtures/medical/medmcqa.csv', '--mapping', 'mcq']],
  ])('%s', async (_name, args) => {
    const io = fakeIo();
    const code = await runCli(['prepare', ...args, '--out', join(await tempDir(), 'o'), '--json', '--quiet', '--validation', '0.2'], io);
    expect(io.err).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(io.out).counts.rejected).toBe(2);
  });

  it.each([
    ['--mapping template without --prompt-file', ['--mapping', 'template'], /--mapping template needs --prompt-file FILE/],
    ['--labels with another preset', ['--mapping', 'qa', '--labels', 'a,b'], /--labels goes with --mapping classification/],
    ['--prompt-file with another preset', ['--mapping', 'mcq', '--prompt-file', 'p.txt'], /--prompt-file goes with --mapping template/],
    ['--labels with bad JSON', ['--labels', '{"0":'], /--labels is not valid JSON/],
  ])('%s → usage error', async (_name, args, message) => {
    const io = fakeIo();
    const code = await runCli(['prepare', 'fixtures/finance/phrasebank.csv', '--out', join(await tempDir(), 'o'), ...args], io);
    expect(code).toBe(2);
    expect(io.err).toMatch(message);
  });

  it("--labels keeps a config file's other classification settings", async () => {
    const dir = await tempDir();
    const config = join(dir, 'fpb.json');
    await writeFile(config, JSON.stringify({ mapping: { preset: 'classification', text: 'sentence', instruction: 'What is the sentiment?' } }));
    const io = fakeIo();
    const out = join(dir, 'o');
    const code = await runCli(['prepare', 'fixtures/finance/phrasebank.csv', '--config', config, '--labels', 'negative,neutral,positive', '--out', out, '--json', '--quiet', '--validation', '0.2'], io);
    expect(io.err).toBe('');
    expect(code).toBe(0);
    const train = await readJsonl(JSON.parse(io.out).files.train);
    expect((train[0]?.messages as Array<{ content: string }>)[0]?.content).toMatch(/^What is the sentiment\?\nLabels: negative, neutral, positive\n\nText: /);
  });

  it('a missing prompt file is a usage problem (exit 2) that names the file', async () => {
    const io = fakeIo();
    const code = await runCli(['prepare', 'fixtures/legal/legalbench-task.tsv', '--prompt-file', 'fixtures/legal/nope.txt', '--out', join(await tempDir(), 'o'), '--quiet'], io);
    expect(code).toBe(2);
    expect(io.err).toMatch(/INPUT_NOT_FOUND: mapping.promptFile: cannot read fixtures\/legal\/nope\.txt/);
  });
});
