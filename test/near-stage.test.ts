import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dedupeNear, prepareDataset, verifyOutput, type Example, type Message, type Rejection } from '../src/index.js';
import { collect, fromArray, recordingContext, tempDir } from './helpers/index.js';
import { readJsonl } from './helpers/output.js';

const WORDS = ['bond', 'yield', 'equity', 'tort', 'clause', 'dosage', 'patient', 'liability', 'contract', 'margin', 'hedge', 'audit', 'claim', 'dose', 'renal', 'court'];

/** A distinct 40-word text for seed `i`. */
function text(i: number): string {
  return Array.from({ length: 40 }, (_, j) => `${WORDS[(i * 7 + j * 3) % WORDS.length]}${(i * 31 + j) % 97}`).join(' ');
}

/** `base` with the words at `edits` replaced (one substitution moves Jaccard on bigrams to about 0.9). */
function edited(base: string, edits: number[]): string {
  const words = base.split(' ');
  for (const at of edits) words[at % words.length] = `edit${at}`;
  return words.join(' ');
}

function example(line: number, question: string, answer: string): Example {
  return {
    id: `in.jsonl:${line}`,
    messages: [
      { role: 'user', content: question },
      { role: 'assistant', content: answer },
    ],
    meta: { source: { file: 'in.jsonl', line }, domain: 'finance', case: { id: line } },
  };
}

describe('dedupeNear', () => {
  const rows = [
    example(1, 'Q0?', text(0)),
    example(2, 'Q1?', text(1)),
    example(3, 'Q0?', edited(text(0), [20])), // near-copy of line 1
    example(4, 'Q2?', text(2)),
    example(5, 'Q2?', edited(text(2), [7])), // near-copy of line 4
    example(6, 'Q3?', text(3)),
  ];

  it('yields the first of each cluster and every other example, in input order, and rejects the rest with the example kept', async () => {
    const ctx = recordingContext();
    const kept = await collect(dedupeNear(fromArray(rows), ctx));
    expect(kept.map((e) => e.meta.source.line)).toEqual([1, 2, 4, 6]);
    // Examples come back whole: messages and meta as they went in.
    expect(kept).toEqual([rows[0], rows[1], rows[3], rows[5]]);
    expect(ctx.rejected.map((r) => [r.reason, r.source.line, r.duplicateOf?.line])).toEqual([
      ['near_duplicate', 3, 1],
      ['near_duplicate', 5, 4],
    ]);
    for (const r of ctx.rejected) {
      expect(r.similarity).toBeGreaterThanOrEqual(0.8);
      expect(r.similarity).toBeLessThan(1);
      expect(r.message).toContain(`near-duplicate of in.jsonl:${r.duplicateOf?.line}`);
    }
  });

  it("keeps the example with the most content with keep: 'longest', and none under a higher threshold", async () => {
    const short = example(1, 'Q?', text(5));
    const long = example(2, 'Q?', `${text(5)} extra`);
    const longest = recordingContext();
    expect((await collect(dedupeNear(fromArray([short, long]), longest, { keep: 'longest' }))).map((e) => e.meta.source.line)).toEqual([2]);
    expect(longest.rejected.map((r) => [r.source.line, r.duplicateOf?.line])).toEqual([[1, 2]]);
    const first = recordingContext();
    expect((await collect(dedupeNear(fromArray([short, long]), first))).map((e) => e.meta.source.line)).toEqual([1]);
    const strict = recordingContext();
    expect(await collect(dedupeNear(fromArray(rows), strict, { threshold: 0.99 }))).toHaveLength(rows.length);
    expect(strict.rejected).toEqual([]);
  });

  it('finds the same near-duplicates as prepareDataset, and accounts for every example', async () => {
    // Rows drawn from a few base texts, each with a few substituted words: clusters of near and
    // not-so-near copies, chained through each other at times.
    const row = fc.record({ base: fc.integer({ min: 0, max: 4 }), edits: fc.array(fc.integer({ min: 0, max: 39 }), { maxLength: 5 }) });
    await fc.assert(
      fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 14 }), fc.constantFrom(0.7, 0.8, 0.9), async (drawn, threshold) => {
        const examples = drawn.map((r, i) => example(i + 1, `Q${r.base}?`, edited(text(r.base), r.edits)));
        const ctx = recordingContext();
        const kept = await collect(dedupeNear(fromArray(examples), ctx, { threshold }));
        // Every example is yielded or rejected, once, and the yielded keep their order.
        const lines = [...kept.map((e) => e.meta.source.line), ...ctx.rejected.map((r) => r.source.line)].sort((a, b) => a - b);
        expect(lines).toEqual(examples.map((e) => e.meta.source.line));
        expect(kept.map((e) => e.meta.source.line)).toEqual([...kept.map((e) => e.meta.source.line)].sort((a, b) => a - b));

        const dir = await tempDir();
        const input = join(dir, 'in.jsonl');
        await writeFile(input, `${examples.map((e) => JSON.stringify({ messages: e.messages })).join('\n')}\n`);
        const result = await prepareDataset({ inputs: [input], outDir: join(dir, 'o'), split: { validation: 0 }, dedup: { exact: false, near: { threshold } } });
        const expected = (await readJsonl(result.files.rejected)) as unknown as Rejection[];
        const summary = (r: Rejection) => [r.source.line, r.duplicateOf?.line, r.similarity];
        expect(ctx.rejected.map(summary)).toEqual(expected.map(summary));
      }),
      { numRuns: 25 },
    );
  });

  it('removes its spill folder when the input ends (empty or not), when the consumer stops early, and when the input fails', async () => {
    const tmp = await tempDir();
    await collect(dedupeNear(fromArray(rows), recordingContext(), { tmpDir: tmp }));
    expect(await readdir(tmp)).toEqual([]);
    expect(await collect(dedupeNear(fromArray([]), recordingContext(), { tmpDir: tmp }))).toEqual([]);
    expect(await readdir(tmp)).toEqual([]);
    for await (const _ of dedupeNear(fromArray(rows), recordingContext(), { tmpDir: tmp })) break;
    expect(await readdir(tmp)).toEqual([]);
    async function* failing(): AsyncIterable<Example> {
      yield rows[0] as Example;
      throw new Error('disk gone');
    }
    await expect(collect(dedupeNear(failing(), recordingContext(), { tmpDir: tmp }))).rejects.toThrow('disk gone');
    expect(await readdir(tmp)).toEqual([]);
  });

  it('stops with ABORTED when the signal fires, and refuses a threshold out of range', async () => {
    const controller = new AbortController();
    controller.abort();
    const ctx = { ...recordingContext(), signal: controller.signal };
    await expect(collect(dedupeNear(fromArray(rows), ctx))).rejects.toMatchObject({ code: 'ABORTED' });
    await expect(collect(dedupeNear(fromArray(rows), recordingContext(), { threshold: 0.3 }))).rejects.toMatchObject({ code: 'OPTION_INVALID' });
  });
});

describe('rows that share a long context', () => {
  it('are no near-duplicates when their answers differ (several questions on one passage), and are when the answers are alike', async () => {
    const words = (seed: number, n: number) => Array.from({ length: n }, (_, i) => `w${(seed * 7919 + i * 104729) % 100003}`).join(' ');
    const rows: Array<{ doc: number; context: string; question: string; answer: string }> = [];
    for (let doc = 0; doc < 20; doc++) {
      const context = words(doc + 1, 130);
      for (let q = 0; q < 5; q++) rows.push({ doc, context, question: `Question ${q} about document ${doc}?`, answer: `The answer is ${words(1000 + doc * 10 + q, 3)}.` });
    }
    // A real near-copy: the same passage and question, the answer with one word changed.
    const long = `${words(5000, 30)}`;
    rows.push({ doc: 99, context: words(99, 130), question: 'What does clause 9 say?', answer: long });
    rows.push({ doc: 99, context: words(99, 130), question: 'What does clause 9 say?', answer: long.replace(/^\S+/, 'changed') });
    const dir = await tempDir();
    const file = join(dir, 'squad.jsonl');
    await writeFile(file, rows.map((r) => JSON.stringify(r)).join('\n'));
    const result = await prepareDataset({ inputs: [file], outDir: join(dir, 'o'), mapping: 'qa', split: { validation: 0 } });
    expect(result.counts.byReason).toEqual({ near_duplicate: 1 });
    expect(result.counts.kept).toBe(101);
  });
});

describe('rows sharing a passage with short answers', () => {
  it('are near-duplicates when the short answers differ by a word or two, and not when they are different answers', async () => {
    const passage = Array.from({ length: 120 }, (_, i) => `p${i}`).join(' ');
    const rows = [
      ['What were the side effects?', 'nausea and rash'],
      ['What were the side effects?', 'nausea and a rash'],
      ['When was it founded?', '1958'],
      ['When was it founded?', 'in 1958'],
      ['What is the deposit?', 'five percent of the monthly rent'],
      ['What is the deposit?', 'five per cent of the monthly rent'],
      ['Who signed it?', 'David Hartley'],
      ['Who wrote it?', 'Benjamin Franklin'],
    ].map(([question, answer]) => ({ context: passage, question, answer }));
    const dir = await tempDir();
    const file = join(dir, 'qa.jsonl');
    await writeFile(file, rows.map((r) => JSON.stringify(r)).join('\n'));
    const result = await prepareDataset({ inputs: [file], outDir: join(dir, 'o'), mapping: 'qa', split: { validation: 0 } });
    const removed = (await readJsonl(result.files.rejected)).map((r) => (r.source as { line: number }).line).sort((x, y) => x - y);
    expect(removed).toEqual([2, 4, 6]);
  });
});

describe('rows whose final turn calls a tool', () => {
  it('are near-duplicates only when they make the same calls: the call is the answer', async () => {
    const call = (line: number, question: string, name: string, args: string, content = ''): Example => ({
      id: `in.jsonl:${line}`,
      messages: [
        { role: 'user', content: question },
        { role: 'assistant', content, tool_calls: [{ id: `call_${line}`, type: 'function', function: { name, arguments: args } }] },
      ],
      meta: { source: { file: 'in.jsonl', line }, domain: 'finance', case: { id: line } },
    });
    const question = text(5);
    const rows = [
      call(1, question, 'lookup_invoice', '{"invoice": "INV-1001"}'),
      call(2, question, 'lookup_invoice', '{"invoice": "INV-2002"}'),
      call(3, question, 'refund_invoice', '{"invoice": "INV-1001"}'),
      // One word of the question edited, the same call written with other spacing: a near copy of line 1.
      call(4, edited(question, [12]), 'lookup_invoice', '{"invoice":"INV-1001"}'),
      // The same words before other arguments: another action.
      call(5, text(6), 'lookup_invoice', '{"invoice": "INV-1001"}', 'Let me look that up.'),
      call(6, edited(text(6), [3]), 'lookup_invoice', '{"invoice": "INV-3003"}', 'Let me look that up.'),
      // A long answer, most of the text, and a call that differs: still another action.
      call(7, 'Q7?', 'file_report', '{"form": "A"}', text(7)),
      call(8, 'Q7?', 'file_report', '{"form": "B"}', text(7)),
    ];
    const ctx = recordingContext();
    const kept = await collect(dedupeNear(fromArray(rows), ctx));
    expect(kept.map((e) => e.meta.source.line)).toEqual([1, 2, 3, 5, 6, 7, 8]);
    expect(ctx.rejected.map((r) => [r.reason, r.source.line, r.duplicateOf?.line])).toEqual([['near_duplicate', 4, 1]]);
    // Without the calls, 7 and 8 are one text: their calls alone keep them apart.
    const plain = await collect(dedupeNear(fromArray(rows.slice(6).map((e) => ({ ...e, messages: [e.messages[0] as Message, { role: 'assistant', content: text(7) }] }))), recordingContext()));
    expect(plain).toHaveLength(1);
  });
});

describe('exact copies of a row near-dedup removes', () => {
  it('point at the row kept in its place: every duplicateOf names a written row, and the counts stay those of each reason', async () => {
    const base = (i: number) => `What does clause ${i} of the ${['lease', 'loan', 'trust'][i % 3]} agreement say about early termination and the notice period owed`;
    const answer = (i: number) => `Clause ${i} allows termination with ninety days written notice and a fee of ${i * 10} dollars paid upfront`;
    await fc.assert(
      fc.asyncProperty(
        // Each row: a topic, a variant (0 the text itself, 1 a word changed: a near copy) and a system prompt or none
        // (left out of the near comparison, in the exact one), with its exact copies later in the file.
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 1 }), fc.boolean()), { minLength: 2, maxLength: 14 }),
        fc.boolean(),
        async (rows, longest) => {
          const lines = rows.map(([t, v, sys]) =>
            JSON.stringify({
              messages: [
                ...(sys ? [{ role: 'system', content: 'You are a careful paralegal.' }] : []),
                { role: 'user', content: v ? base(t).replace('say', 'state') : base(t) },
                { role: 'assistant', content: answer(t) },
              ],
            }),
          );
          const input = join(await tempDir(), 'in.jsonl');
          await writeFile(input, `${lines.join('\n')}\n`);
          const result = await prepareDataset({ inputs: [input], outDir: join(await tempDir(), 'o'), dedup: { exact: true, near: { threshold: 0.7, keep: longest ? 'longest' : 'first' } }, split: { validation: 0 } });
          const rejected = (await readJsonl(result.files.rejected)) as unknown as Rejection[];
          const gone = new Set(rejected.map((r) => r.source.line));
          for (const r of rejected) {
            if (r.duplicateOf) expect(gone.has(r.duplicateOf.line), JSON.stringify(r)).toBe(false);
            // A copy pointing at another text than its own was re-pointed, and its message says through which row.
            if (r.reason === 'duplicate' && lines[r.source.line - 1] !== lines[(r.duplicateOf as { line: number }).line - 1]) expect(r.message).toMatch(/, which was removed as a near-duplicate of .*:\d+ \(Jaccard [\d.]+\), the row kept$/);
          }
          // Reasons as counted: the copies stay duplicates (of what they copy), near rows near_duplicates.
          for (const reason of ['duplicate', 'near_duplicate']) expect(rejected.filter((r) => r.reason === reason).length).toBe(result.counts.byReason[reason] ?? 0);
          expect(result.counts.kept + result.counts.rejected).toBe(rows.length);
          // The rewritten rejected.jsonl is the one the manifest describes.
          expect((await verifyOutput(result.outDir)).ok).toBe(true);
        },
      ),
      { numRuns: 25 },
    );
  });
});
