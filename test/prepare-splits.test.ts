import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkLeakage, prepareDataset, type PrepareOptions } from '../src/index.js';
import { MAX_STRATA } from '../src/plan.js';
import { tempDir } from './helpers/index.js';
import { readJsonl } from './helpers/output.js';

const WORDS = ['bond', 'yield', 'equity', 'tort', 'clause', 'dosage', 'patient', 'liability', 'contract', 'margin', 'hedge', 'audit', 'claim', 'dose', 'renal', 'court'];

/** A distinct ~40-word answer for seed `i`. */
function answer(i: number): string {
  return Array.from({ length: 40 }, (_, j) => `${WORDS[(i * 7 + j * 3) % WORDS.length]}${(i * 31 + j) % 97}`).join(' ');
}

/** The same answer with one word changed (Jaccard on word bigrams ≈ 0.9). */
function nearCopy(text: string): string {
  const words = text.split(' ');
  words[20] = 'changed';
  return words.join(' ');
}

interface Row {
  question: string;
  answer: string;
  [column: string]: unknown;
}

async function inputFile(rows: Row[]): Promise<string> {
  const file = join(await tempDir(), 'in.jsonl');
  await writeFile(file, `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
  return file;
}

/** Every written example, with its split and the source line recovered from the question. */
async function writtenRows(result: { files: { train: string; validation?: string; test?: string } }) {
  const out: Array<{ split: string; question: string; answer: string }> = [];
  for (const split of ['train', 'validation', 'test'] as const) {
    const file = result.files[split];
    if (!file) continue;
    for (const r of await readJsonl(file)) {
      const messages = r.messages as Array<{ role: string; content: string }>;
      out.push({ split, question: messages[0]?.content as string, answer: messages[1]?.content as string });
    }
  }
  return out;
}

describe('near-duplicates', () => {
  const rows: Row[] = [
    { question: 'Q0?', answer: answer(0) },
    { question: 'Q1?', answer: answer(1) },
    { question: 'Q0?', answer: nearCopy(answer(0)) }, // line 3: near-copy of line 1
    { question: 'Q2?', answer: `${answer(2)} ${answer(2)}` }, // line 4: long
    { question: 'Q2?', answer: nearCopy(`${answer(2)} ${answer(2)}`).split(' ').slice(0, 78).join(' ') }, // line 5: shorter near-copy of 4
  ];

  it('removes all but the first of each cluster, with duplicateOf and the exact similarity', async () => {
    const result = await prepareDataset({ inputs: [await inputFile(rows)], outDir: join(await tempDir(), 'o'), split: { validation: 0 } });
    expect(result.counts.byReason).toEqual({ near_duplicate: 2 });
    const rejected = await readJsonl(result.files.rejected);
    expect(rejected.map((r) => [(r.source as { line: number }).line, (r.duplicateOf as { line: number }).line])).toEqual([
      [3, 1],
      [5, 4],
    ]);
    for (const r of rejected) {
      expect(r.similarity).toBeGreaterThanOrEqual(0.8);
      expect(r.similarity).toBeLessThan(1);
    }
    const report = JSON.parse(await readFile(result.files.report, 'utf8'));
    expect(report.dedup.near).toMatchObject({ threshold: 0.8, action: 'remove', keep: 'first', clusters: 2, removed: 2, largestCluster: 2 });
    expect(report.dedup.near.samples[0].a.source.line).toBe(1);
    expect(report.dedup.near.samples[0].b.text).toContain('changed');
    expect(result.near).toEqual({ pairs: 2, clusters: 2, removed: 2 });
  });

  it("keep: 'longest' keeps the example with the most tokens", async () => {
    const result = await prepareDataset({
      inputs: [await inputFile([rows[4] as Row, rows[3] as Row])],
      outDir: join(await tempDir(), 'o'),
      split: { validation: 0 },
      dedup: { near: { keep: 'longest' } },
    });
    const rejected = await readJsonl(result.files.rejected);
    expect(rejected.map((r) => (r.source as { line: number }).line)).toEqual([1]);
  });

  it('a higher threshold keeps pairs below it', async () => {
    const result = await prepareDataset({ inputs: [await inputFile(rows)], outDir: join(await tempDir(), 'o'), dedup: { near: { threshold: 0.99 } } });
    expect(result.counts.byReason.near_duplicate).toBeUndefined();
  });

  it("action: 'group' keeps near-copies but never lets a cluster straddle splits (many seeds)", async () => {
    const many: Row[] = [];
    for (let i = 0; i < 40; i++) {
      many.push({ question: `Q${i}?`, answer: answer(i) });
      if (i % 3 === 0) many.push({ question: `Q${i}?`, answer: nearCopy(answer(i)) });
    }
    const file = await inputFile(many);
    for (const seed of [1, 2, 3, 4, 5]) {
      const result = await prepareDataset({ inputs: [file], outDir: join(await tempDir(), 'o'), dedup: { near: { action: 'group' } }, split: { validation: 0.3, seed } });
      expect(result.counts.kept).toBe(many.length);
      const written = await writtenRows(result);
      const splitOf = new Map<string, Set<string>>();
      for (const r of written) splitOf.set(r.question, (splitOf.get(r.question) ?? new Set()).add(r.split));
      for (const splits of splitOf.values()) expect(splits.size).toBe(1);
      const report = JSON.parse(await readFile(result.files.report, 'utf8'));
      expect(report.leakage).toEqual({ exact: 0, near: 0, rows: many.length });
      const leakage = await checkLeakage([result.files.train, result.files.validation as string]);
      expect(leakage.clean).toBe(true);
    }
  });

  it('with exact dedup off, exact copies are kept and share a split', async () => {
    const copies: Row[] = [];
    for (let i = 0; i < 30; i++) copies.push({ question: `Q${i}?`, answer: answer(i) }, { question: `Q${i}?`, answer: answer(i) });
    const result = await prepareDataset({ inputs: [await inputFile(copies)], outDir: join(await tempDir(), 'o'), dedup: { exact: false, near: false }, split: { validation: 0.5 } });
    expect(result.counts.kept).toBe(60);
    const written = await writtenRows(result);
    for (let i = 0; i < 30; i++) expect(new Set(written.filter((r) => r.question === `Q${i}?`).map((r) => r.split)).size).toBe(1);
    const report = JSON.parse(await readFile(result.files.report, 'utf8'));
    expect(report.leakage).toEqual({ exact: 0, near: null, rows: 60 });
  });
});

describe('near-duplicates under a template with a long fixed prompt', () => {
  // 120 words of instructions and worked examples, the same in every row, around short inputs.
  const instructions = `You are a contracts analyst. ${answer(50)} ${answer(51)} ${answer(52)}`;
  const mapping = { user: `${instructions}\n\nClause: {{clause}}\nParty: {{party}}\n\nLabel:`, assistant: '{{label}}' };
  const rows = [
    { clause: 'The supplier shall indemnify and hold harmless the buyer and its affiliates against all losses arising from third-party claims for infringement of intellectual property rights.', party: 'supplier', label: 'indemnity' },
    { clause: 'Either party may terminate on ninety days written notice.', party: 'either', label: 'termination' },
    { clause: 'Payment is due within thirty days of the invoice date.', party: 'buyer', label: 'payment' },
    // A near-copy of the first row's varying part: one word changed.
    { clause: 'The supplier shall indemnify and hold harmless the buyer and its affiliates against any losses arising from third-party claims for infringement of intellectual property rights.', party: 'supplier', label: 'indemnity' },
  ];

  async function run(input: string, near: boolean | { threshold: number }) {
    return prepareDataset({ inputs: [input], mapping, outDir: join(await tempDir(), 'o'), split: { validation: 0 }, dedup: { exact: true, near } });
  }

  it('compares the values that vary, not the shared prompt: distinct rows stay, a near-copy of the values goes', async () => {
    const file = join(await tempDir(), 'in.jsonl');
    await writeFile(file, `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
    const result = await run(file, true);
    expect(result.counts.byReason).toEqual({ near_duplicate: 1 });
    const rejected = await readJsonl(result.files.rejected);
    expect(rejected.map((r) => [(r.source as { line: number }).line, (r.duplicateOf as { line: number }).line])).toEqual([[4, 1]]);
    // The report's sample shows the compared text: the values, not the instructions.
    const report = JSON.parse(await readFile(result.files.report, 'utf8'));
    expect(report.dedup.near.samples[0].b.text).toContain('against any losses');
    expect(report.dedup.near.samples[0].b.text).not.toContain('contracts analyst');
    // Whole rendered prompts are over 90% alike: compared whole, all four rows would be one cluster.
    const written = (await readJsonl(result.files.train)).map((r) => (r.messages as Array<{ content: string }>)[0]?.content as string);
    expect(written.every((t) => t.startsWith('You are a contracts analyst.'))).toBe(true);
    expect(written).toHaveLength(3);
  });

  it('redacts the compared values too when pii.action is redact (the report samples them)', async () => {
    const withEmail = rows.map((r, i) => (i === 0 || i === 3 ? { ...r, party: 'supplier, contact jane.doe@example.com' } : r));
    const file = join(await tempDir(), 'in.jsonl');
    await writeFile(file, `${withEmail.map((r) => JSON.stringify(r)).join('\n')}\n`);
    const result = await prepareDataset({ inputs: [file], mapping, outDir: join(await tempDir(), 'o'), split: { validation: 0 }, pii: { action: 'redact' } });
    expect(result.counts.byReason).toEqual({ near_duplicate: 1 });
    const report = await readFile(result.files.report, 'utf8');
    expect(report).not.toContain('jane.doe@example.com');
    expect(JSON.parse(report).dedup.near.samples[0].a.text).toContain('[email]');
  });
});

describe('exact dedup keys', () => {
  it("key 'prompt' treats the same question with another answer as a duplicate", async () => {
    const rows = [
      { question: 'What is a bond?', answer: 'A debt security.' },
      { question: 'what is a  BOND?', answer: 'An IOU issued by a borrower.' },
    ];
    const result = await prepareDataset({ inputs: [await inputFile(rows)], outDir: join(await tempDir(), 'o'), dedup: { exact: { key: 'prompt' } } });
    const rejected = await readJsonl(result.files.rejected);
    expect(rejected).toMatchObject([{ reason: 'duplicate', source: { line: 2 }, duplicateOf: { line: 1 }, message: expect.stringMatching(/same prompt/) }]);
  });

  it('a key function decides what counts as the same', async () => {
    const rows = [
      { question: 'Q1', answer: 'A1', case_id: 'K-1' },
      { question: 'Q2', answer: 'A2', case_id: 'K-1' },
      { question: 'Q3', answer: 'A3', case_id: 'K-2' },
    ];
    const result = await prepareDataset({
      inputs: [await inputFile(rows)],
      outDir: join(await tempDir(), 'o'),
      dedup: { exact: { key: (e) => String(e.meta.case_id) } },
    });
    expect(result.counts.byReason).toEqual({ duplicate: 1 });
  });
});

describe('stratified and grouped splits', () => {
  const label = fc.oneof(fc.constantFrom('finance', 'legal', 'medical'), fc.constantFrom(1, 2), fc.boolean());

  it('stratifyBy: each stratum keeps the fractions within one example; any value type (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(label, { minLength: 5, maxLength: 80 }), fc.integer(), async (labels, seed) => {
        const rows = labels.map((l, i) => ({ question: `Q${i}?`, answer: `A${i}.`, label: l }));
        const result = await prepareDataset({ inputs: [await inputFile(rows)], outDir: join(await tempDir(), 'o'), split: { validation: 0.25, seed, stratifyBy: 'label' }, dedup: false });
        const strata = result.strata as Record<string, { train: number; validation: number; test: number }>;
        const counts = new Map<string, number>();
        for (const l of labels) counts.set(typeof l === 'string' ? l : JSON.stringify(l), (counts.get(typeof l === 'string' ? l : JSON.stringify(l)) ?? 0) + 1);
        expect(Object.keys(strata).sort()).toEqual([...counts.keys()].sort());
        for (const [name, n] of counts) {
          const s = strata[name] as { train: number; validation: number };
          expect(s.train + s.validation).toBe(n);
          expect(Math.abs(s.validation - n * 0.25)).toBeLessThanOrEqual(1);
          if (n > 0) expect(s.train).toBeGreaterThan(0);
        }
        // The total is exact where no stratum is too small to give its share.
        if ([...counts.values()].every((n) => n >= 3)) expect(result.counts.validation).toBe(Math.round(labels.length * 0.25));
        // the files agree with the report
        const written = await writtenRows(result);
        expect(written.filter((r) => r.split === 'validation')).toHaveLength(result.counts.validation);
      }),
      { numRuns: 15 },
    );
  });

  it('stratifyBy: the split sizes are the exact fractions overall (67/67/66 rows at 0.1 and 0.1: 20 and 20)', async () => {
    const topics = ['finance', 'legal', 'medical'];
    const rows = Array.from({ length: 200 }, (_, i) => ({ question: `Q${i}?`, answer: `A${i}.`, topic: topics[i % 3] }));
    const result = await prepareDataset({ inputs: [await inputFile(rows)], outDir: join(await tempDir(), 'o'), split: { validation: 0.1, test: 0.1, stratifyBy: 'topic' } });
    expect(result.counts).toMatchObject({ train: 160, validation: 20, test: 20 });
    expect(Object.values(result.strata ?? {}).map((s) => s.validation).sort()).toEqual([6, 7, 7]);
  });

  it('a stratifyBy column of more distinct values than MAX_STRATA is no category: the split is not stratified', async () => {
    const rows = Array.from({ length: MAX_STRATA + 20 }, (_, i) => ({ question: `Q${i}?`, answer: `A${i}.`, ref: `doc-${i}` }));
    const result = await prepareDataset({ inputs: [await inputFile(rows)], outDir: join(await tempDir(), 'o'), split: { validation: 0.1, stratifyBy: 'ref' }, dedup: false, concurrency: 1 });
    // Not one stratum per row sent whole to train: the fraction holds over all rows.
    expect(result.counts.validation).toBe(Math.round((MAX_STRATA + 20) * 0.1));
    expect(Object.keys(result.strata ?? {})).toEqual(['(all)']);
    expect(result.warnings).toContain(`the stratifyBy column has ${(MAX_STRATA + 20).toLocaleString('en-US')} distinct values, over ${MAX_STRATA.toLocaleString('en-US')}: it is no category (an id, a date, free text), and the split was not stratified. Give stratifyBy a column with few values, and groupBy for an id.`);
  }, 60_000);

  it('ids past 2^53 written as JSON numbers, read as one, are said to be so', async () => {
    const file = join(await tempDir(), 'ids.jsonl');
    // Twenty distinct ids as written; each reads as 12345678901234567000.
    await writeFile(file, Array.from({ length: 20 }, (_, i) => `{"question":"Q${i}?","answer":"A${i}.","id":${12345678901234567000n + BigInt(i + 1)}}`).join('\n') + '\n');
    const result = await prepareDataset({ inputs: [file], outDir: join(await tempDir(), 'o'), split: { validation: 0.3, groupBy: 'id' } });
    expect(result.warnings).toContainEqual(expect.stringMatching(/^20 examples have a whole number past 2\^53 in column "id" \(the first at .*ids\.jsonl:1\): .*Write such ids as strings in the file\.$/));
    // As strings they are twenty groups, and nothing is said.
    const strings = join(await tempDir(), 'ids.jsonl');
    await writeFile(strings, Array.from({ length: 20 }, (_, i) => `{"question":"Q${i}?","answer":"A${i}.","id":"${12345678901234567000n + BigInt(i + 1)}"}`).join('\n') + '\n');
    const fine = await prepareDataset({ inputs: [strings], outDir: join(await tempDir(), 'o'), split: { validation: 0.3, groupBy: 'id' } });
    expect(fine.counts.validation).toBe(6);
    expect(fine.warnings.join('\n')).not.toMatch(/past 2\^53/);
  });

  it('an empty validation split is explained: the rounding, or groups too large to fit', async () => {
    const few = await prepareDataset({ inputs: [await inputFile(Array.from({ length: 5 }, (_, i) => ({ question: `Q${i}?`, answer: `A${i}.` })))], outDir: join(await tempDir(), 'o'), split: { validation: 0.05 } });
    expect(few.warnings).toContain('only 5 examples kept: the validation split (0.05) rounds to 0 examples');
    const sizes = [8, 7, 5];
    const rows = sizes.flatMap((n, g) => Array.from({ length: n }, (_, i) => ({ question: `G${g} Q${i}?`, answer: `A${g}.${i}.`, case_id: `K${g}` })));
    const grouped = await prepareDataset({ inputs: [await inputFile(rows)], outDir: join(await tempDir(), 'o'), split: { validation: 0.1, groupBy: 'case_id' } });
    expect(grouped.counts.validation).toBe(0);
    expect(grouped.warnings).toContain('the validation split is empty: 0.1 of 20 examples is 2, but examples of one case_id stay together (split.groupBy), and no whole group fitted');
    expect(grouped.warnings.some((w) => w.includes('rounds to 0'))).toBe(false);
    // Two rows at 0.3 and 0.3: the test split would take train's last example.
    const two = await prepareDataset({ inputs: [await inputFile([{ question: 'Q1?', answer: 'A1.' }, { question: 'Q2?', answer: 'A2.' }])], outDir: join(await tempDir(), 'o'), split: { validation: 0.3, test: 0.3 } });
    expect(two.warnings).toContain('the test split is empty: 0.3 of 2 examples is 1, but train keeps at least one example');
    // The hash strategy: sizes vary around the fractions.
    const rows20 = Array.from({ length: 20 }, (_, i) => ({ question: `Q${i}?`, answer: `A${i}.` }));
    for (let seed = 0; seed < 50; seed++) {
      const hashed = await prepareDataset({ inputs: [await inputFile(rows20)], outDir: join(await tempDir(), 'o'), split: { validation: 0.1, seed, strategy: 'hash' } });
      if (hashed.counts.validation > 0) continue;
      expect(hashed.warnings).toContain("the validation split is empty: 0.1 of 20 examples is 2, but the 'hash' strategy places each example by its hash, so sizes vary around the fractions, and none landed there");
      return;
    }
    expect.unreachable('no seed of 50 left validation empty');
  });

  it('warns when a stratum is too small to split, and puts it in train', async () => {
    const rows = [...Array.from({ length: 20 }, (_, i) => ({ question: `F${i}?`, answer: `a${i}`, topic: 'finance' })), { question: 'L?', answer: 'l', topic: 'legal' }];
    const result = await prepareDataset({ inputs: [await inputFile(rows)], outDir: join(await tempDir(), 'o'), split: { validation: 0.2, stratifyBy: 'topic' } });
    expect(result.strata?.legal).toEqual({ train: 1, validation: 0, test: 0 });
    expect(result.warnings).toContain('stratum legal has only 1 example, a share of 0.2 for validation: too few for one, all in train');
  });

  it('says it once, and that the column is no category, where many strata are too small (stratifying by an id)', async () => {
    const rows = Array.from({ length: 300 }, (_, i) => ({ question: `Question ${i} on rates?`, answer: `Answer ${i}.`, ticket: `T-${i}` }));
    const result = await prepareDataset({ inputs: [await inputFile(rows)], outDir: join(await tempDir(), 'o'), split: { validation: 0.1, stratifyBy: 'ticket' } });
    const tooFew = result.warnings.filter((w) => w.includes('too few'));
    expect(tooFew).toHaveLength(1);
    expect(tooFew[0]).toMatch(/^\d{3} of 300 strata have too few examples for a validation or test share and are all in train \(T-\d+ has only 1 example; T-\d+ has only 1 example; T-\d+ has only 1 example; …\): .*the column is no category/);
    expect(result.warnings.some((w) => w.startsWith('stratum '))).toBe(false);
  });

  it('groupBy: a group never straddles splits, and sizes are as close as whole groups allow (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 12 }), { minLength: 10, maxLength: 80 }), fc.integer(), async (groups, seed) => {
        const rows = groups.map((g, i) => ({ question: `Q${i}?`, answer: `A${i}.`, case_id: `K-${g}` }));
        const result = await prepareDataset({ inputs: [await inputFile(rows)], outDir: join(await tempDir(), 'o'), split: { validation: 0.2, test: 0.1, seed, groupBy: 'case_id' } });
        const written = await writtenRows(result);
        expect(written).toHaveLength(rows.length);
        const splitOfGroup = new Map<string, Set<string>>();
        for (const r of written) {
          const g = rows[Number(r.question.slice(1, -1))]?.case_id as string;
          splitOfGroup.set(g, (splitOfGroup.get(g) ?? new Set()).add(r.split));
        }
        for (const s of splitOfGroup.values()) expect(s.size).toBe(1);
        const largest = Math.max(...[...new Set(groups)].map((g) => groups.filter((x) => x === g).length));
        expect(Math.abs(result.counts.validation - Math.round(rows.length * 0.2))).toBeLessThanOrEqual(largest);
        expect(result.counts.train).toBeGreaterThan(0);
      }),
      { numRuns: 15 },
    );
  });

  it('groupBy and stratifyBy work on any input column: one named source, one the mapping reads, id', async () => {
    // Ten documents of four rows each; within a document the question, the id and the source are shared.
    const rows = Array.from({ length: 40 }, (_, i) => ({ id: `doc-${i % 10}`, question: `What does document ${i % 10} say?`, answer: `Part ${i}: ${answer(i)}`, source: `doc${i % 10}.pdf` }));
    const file = await inputFile(rows);
    for (const column of ['source', 'question', 'id']) {
      const result = await prepareDataset({ inputs: [file], outDir: join(await tempDir(), 'o'), split: { validation: 0.3, seed: 7, groupBy: column } });
      expect(result.warnings.filter((w) => w.includes('no ') && w.includes('value'))).toEqual([]);
      const report = JSON.parse(await readFile(result.files.report, 'utf8')) as { splits: { units: number } };
      expect(report.splits.units).toBe(10);
      const written = await writtenRows(result);
      const splitsOf = new Map<string, Set<string>>();
      for (const r of written) splitsOf.set(r.question, (splitsOf.get(r.question) ?? new Set()).add(r.split));
      expect([...splitsOf.values()].every((s) => s.size === 1)).toBe(true);
      expect(result.counts.validation).toBeGreaterThan(0);
      // The written records are the same: the kept column is for the split only.
      expect(Object.keys((await readJsonl(result.files.train))[0] as object)).toEqual(['messages']);
    }
    for (const column of ['source', 'question']) {
      const result = await prepareDataset({ inputs: [file], outDir: join(await tempDir(), 'o'), split: { validation: 0.25, seed: 7, stratifyBy: column } });
      const strata = result.strata as Record<string, { train: number; validation: number }>;
      expect(Object.keys(strata)).toHaveLength(10);
      for (const s of Object.values(strata)) expect(s).toMatchObject({ train: 3, validation: 1 });
    }
  });

  it('throws OPTION_INVALID for a split column no input has, naming the columns', async () => {
    await expect(
      prepareDataset({ inputs: [await inputFile([{ question: 'Q', answer: 'A', case_id: 1 }])], outDir: join(await tempDir(), 'o'), split: { groupBy: 'caseid' } }),
    ).rejects.toMatchObject({ code: 'OPTION_INVALID', message: expect.stringMatching(/split\.groupBy: no input has a column "caseid".*"case_id"/) });
  });
});

describe("split.strategy: 'hash'", () => {
  it('appending rows never moves an old row, with or without groups (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 5, max: 40 }), fc.integer({ min: 1, max: 30 }), fc.boolean(), fc.integer(), async (old, added, grouped, seed) => {
        const rows = Array.from({ length: old + added }, (_, i) => ({ question: `Q${i}?`, answer: answer(i), case_id: `K-${i % 7}` }));
        const split = { validation: 0.3, seed, strategy: 'hash' as const, ...(grouped ? { groupBy: 'case_id' } : {}) };
        const base: Omit<PrepareOptions, 'inputs' | 'outDir'> = { split };
        const before = await writtenRows(await prepareDataset({ ...base, inputs: [await inputFile(rows.slice(0, old))], outDir: join(await tempDir(), 'a') }));
        const after = await writtenRows(await prepareDataset({ ...base, inputs: [await inputFile(rows)], outDir: join(await tempDir(), 'b') }));
        const splitAfter = new Map(after.map((r) => [r.question, r.split]));
        for (const r of before) expect(splitAfter.get(r.question)).toBe(r.split);
      }),
      { numRuns: 10 },
    );
  });
});

describe('dedup is idempotent', () => {
  it('preparing the output again removes nothing more', async () => {
    const rows: Row[] = [];
    for (let i = 0; i < 30; i++) {
      rows.push({ question: `Q${i}?`, answer: answer(i) });
      if (i % 4 === 0) rows.push({ question: `Q${i}?`, answer: nearCopy(answer(i)) });
      if (i % 5 === 0) rows.push({ question: `q${i}? `, answer: answer(i).toUpperCase() });
    }
    const first = await prepareDataset({ inputs: [await inputFile(rows)], outDir: join(await tempDir(), 'a'), split: { validation: 0 } });
    expect(first.counts.rejected).toBeGreaterThan(0);
    const second = await prepareDataset({ inputs: [first.files.train], outDir: join(await tempDir(), 'b'), split: { validation: 0 } });
    expect(second.counts.rejected).toBe(0);
    expect(second.counts.kept).toBe(first.counts.kept);
  });
});

describe('snapshots of one chat (a log that records each call with the history so far)', () => {
  it('land in one split: no kept example is the first turns of an example in another split', async () => {
    const dir = await tempDir();
    const file = join(dir, 'log.jsonl');
    const lines: string[] = [];
    for (let c = 0; c < 40; c++) {
      const messages: Array<{ role: string; content: string }> = [{ role: 'system', content: 'You answer questions about invoices.' }];
      for (let t = 0; t < 4; t++) {
        messages.push({ role: 'user', content: `Conversation ${c}, question ${t}: what about invoice ${c * 100 + t}?` }, { role: 'assistant', content: `Invoice ${c * 100 + t} is paid (${t}).` });
        lines.push(JSON.stringify({ messages }));
      }
    }
    await writeFile(file, lines.join('\n'));
    const result = await prepareDataset({ inputs: [file], outDir: join(dir, 'o'), dedup: { near: false }, split: { validation: 0.3, seed: 3 } });
    expect(result.counts.kept).toBe(160);
    expect(result.warnings).toContainEqual(expect.stringMatching(/^120 kept examples are the first turns of another kept example/));
    const key = (m: unknown) => JSON.stringify(m);
    const train = (await readJsonl(result.files.train)).map((r) => r.messages as unknown[]);
    const validation = (await readJsonl(result.files.validation as string)).map((r) => r.messages as unknown[]);
    expect(validation.length).toBeGreaterThan(0);
    const isPrefix = (a: unknown[], b: unknown[]) => a.length <= b.length && a.every((m, i) => key(m) === key(b[i]));
    for (const v of validation) for (const t of train) expect(isPrefix(v, t) || isPrefix(t, v)).toBe(false);
  });
});

describe('near-dedup of snapshots of one chat', () => {
  it("keeps the whole conversation with keep: 'first', not its first snapshot", async () => {
    const dir = await tempDir();
    const file = join(dir, 'log.jsonl');
    const lines: string[] = [];
    const words = (seed: number) => Array.from({ length: 12 }, (_, i) => `t${(seed * 31 + i * 17) % 997}`).join(' ');
    for (let c = 0; c < 10; c++) {
      const messages: Array<{ role: string; content: string }> = [];
      // A long first exchange and short later ones whose answers are alike: every snapshot is a
      // near-duplicate of its neighbour (as a whole, and by its final answer).
      messages.push({ role: 'user', content: `Conversation ${c}: ${words(c)} ${words(c + 100)} ${words(c + 200)}?` }, { role: 'assistant', content: `${words(c + 300)} ${words(c + 400)}.` });
      lines.push(JSON.stringify({ messages: [...messages] }));
      for (let t = 1; t < 3; t++) {
        messages.push({ role: 'user', content: `and ${t}?` }, { role: 'assistant', content: `${words(c + 300)} ${words(c + 400)} ${t}.` });
        lines.push(JSON.stringify({ messages: [...messages] }));
      }
    }
    await writeFile(file, lines.join('\n'));
    const result = await prepareDataset({ inputs: [file], outDir: join(dir, 'o'), split: { validation: 0 } });
    expect(result.counts.byReason.near_duplicate).toBe(20);
    const kept = (await readJsonl(result.files.train)).map((r) => (r.messages as unknown[]).length);
    // Every kept conversation is the whole one: 3 exchanges.
    expect(kept).toEqual(Array.from({ length: 10 }, () => 6));
    // The snapshots removed as near-duplicates are not counted as kept first turns.
    expect(result.warnings.filter((w) => /first turns of another kept example/.test(w))).toEqual([]);
  });
});

describe('snapshots: message boundaries and truncation', () => {
  it('joins snapshots whose messages hold U+0001, and a longest snapshot cut by overlong: truncate', async () => {
    const dir = await tempDir();
    const file = join(dir, 'log.jsonl');
    const lines: string[] = [];
    for (let c = 0; c < 30; c++) {
      const messages: Array<{ role: string; content: string }> = [];
      for (let t = 0; t < 3; t++) {
        // The last exchange is long: the fullest snapshot goes over the budget and is truncated.
        const answer = t === 2 ? `Long answer ${c}: ${'detail '.repeat(120)}` : `Answer ${c}.${t} \u0001 with a control character.`;
        messages.push({ role: 'user', content: `Chat ${c} question ${t} \u0001?` }, { role: 'assistant', content: answer });
        lines.push(JSON.stringify({ messages: [...messages] }));
      }
    }
    await writeFile(file, lines.join('\n'));
    const result = await prepareDataset({ inputs: [file], outDir: join(dir, 'o'), dedup: { near: false }, maxTokens: 120, overlong: 'truncate', split: { validation: 0.3, seed: 5 } });
    expect(result.truncated).toBeGreaterThan(0);
    expect(result.warnings).toContainEqual(expect.stringMatching(/^60 kept examples are the first turns of another kept example/));
    const chatOf = (r: Record<string, unknown>) => /Chat (\d+) /.exec(JSON.stringify(r))?.[1];
    const train = new Set((await readJsonl(result.files.train)).map(chatOf));
    const validation = (await readJsonl(result.files.validation as string)).map(chatOf);
    expect(validation.length).toBeGreaterThan(0);
    for (const chat of validation) expect(train.has(chat)).toBe(false);
  });
});
