/**
 * A custom pipeline built from lora-prep's stage functions instead of `prepareDataset()`: load →
 * normalise → dedupe (exact, then near) → count tokens → split → build the trainer's records → write JSONL. Every
 * stage is an async iterable, so rows stream through one at a time; rejected rows go to the
 * context with a reason and a location, exactly as in `prepareDataset()`.
 *
 *   npx tsx examples/custom-pipeline.ts     (from the repository root; writes out/examples/custom-pipeline/)
 *
 * In your own project: import { loadRecords, normalizeRecords, ... } from 'lora-prep';
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  assignByHash,
  countTokens,
  dedupe,
  dedupeNear,
  JsonlWriter,
  loadRecords,
  loadTokenizer,
  normalizeRecords,
  recordBuilder,
  resolveMapping,
  serializeRecord,
  systemPromptText,
  tokenStats,
  type Rejection,
  type SplitFractions,
  type StageContext,
} from '../src/index.js';

const file = 'fixtures/legal/contracts-qa.tsv';
const outDir = 'out/examples/custom-pipeline';
await rm(outDir, { recursive: true, force: true });
await mkdir(outDir, { recursive: true });

// Where every stage reports rows it drops, and file-wide warnings.
const rejected: Rejection[] = [];
const warnings: string[] = [];
const ctx: StageContext = { reject: (r) => void rejected.push(r), warn: (m) => void warnings.push(m) };

// 1. Load. The record shape ('auto') is settled from the file's first row, before anything else.
let first: Record<string, unknown> | undefined;
for await (const row of loadRecords(file, {}, { reject: () => undefined, warn: () => undefined })) {
  first = row.data;
  break;
}
const mapping = resolveMapping('auto', first, file);
console.log(`${file}: mapping ${typeof mapping === 'string' ? mapping : 'templates'}`);

// 2. Normalise rows into chat examples, with a domain and a system prompt for those without one.
const examples = normalizeRecords(loadRecords(file, {}, ctx), { mapping, domain: 'legal', systemPrompt: systemPromptText('legal') }, ctx);

// 3. Drop exact duplicates as they come (the first copy stays), then near-duplicates: those are
//    judged over the whole input, so the examples wait in a spill on disk until it ends.
const unique = dedupeNear(dedupe(examples, ctx), ctx, { threshold: 0.8 });

// 4. Count tokens with the model's tokenizer; drop examples over the budget.
const tokenizer = await loadTokenizer('o200k_base');
const counted = countTokens(unique, { tokenizer, budget: { maxTokens: 512, overlong: 'drop' } }, ctx);

// 5. Split by a seeded hash of the case id, so every row of a case lands in the same split and
//    rows appended later never move; 6. build OpenAI chat records; 7. write them.
const fractions: SplitFractions = { validation: 0.3, test: 0, seed: 42 };
const splitNames = ['train', 'validation', 'test'] as const; // assignByHash returns 0, 1 or 2
const toRecord = recordBuilder('openai', 'chat');
const writers = { train: new JsonlWriter(join(outDir, 'train.jsonl')), validation: new JsonlWriter(join(outDir, 'validation.jsonl')) };
const tokens: number[] = [];
for await (const { example, tokens: n } of counted) {
  const built = toRecord(example);
  if (!built.ok) {
    ctx.reject({ source: example.meta.source, reason: built.reason, message: built.message });
    continue;
  }
  const split = splitNames[assignByHash(String(example.meta.case_id ?? example.id), fractions)];
  if (split === 'test' || split === undefined) continue; // test is 0 here
  await writers[split].writeLine(serializeRecord(built.record));
  tokens.push(n);
}
const train = await writers.train.close();
const validation = await writers.validation.close();

// The rejected rows, one JSON object per line, as prepareDataset() writes report/rejected.jsonl.
await writeFile(join(outDir, 'rejected.jsonl'), rejected.map((r) => `${serializeRecord(r)}\n`).join(''));

const stats = tokenStats(Uint32Array.from(tokens));
console.log(`wrote ${train.path} (${train.lines} examples) and ${validation.path} (${validation.lines} examples)`);
console.log(`rejected ${rejected.length}: ${rejected.map((r) => `${r.source.file}:${r.source.line} ${r.reason}`).join(', ') || 'none'}`);
console.log(`tokens: total ${stats.total}, p50 ${stats.p50}, max ${stats.max}`);
for (const w of warnings) console.log(`warning: ${w}`);
