/**
 * A notebook-style walkthrough of lora-prep: prepare a dataset, look at what came out, measure it,
 * check it for leakage, and see what to do next. Each `// %%` block is one cell; run them all with
 *
 *   npx tsx examples/notebook.ts        (from the repository root; writes out/examples/notebook/)
 *
 * In your own project, import from the package instead:
 *
 *   import { prepareDataset, fileStats, checkLeakage } from 'lora-prep';
 */
import { readFile } from 'node:fs/promises';
import { checkLeakage, fileStats, formatLeakage, formatStats, prepareDataset, summarize } from '../src/index.js';

const outDir = 'out/examples/notebook';

// %% 1. Prepare three domain files into train/validation files for OpenAI fine-tuning.
const result = await prepareDataset({
  inputs: [
    { path: 'fixtures/finance/fiqa-qa.csv', domain: 'finance' },
    { path: 'fixtures/legal/contracts-qa.tsv', domain: 'legal' },
    { path: 'fixtures/medical/clinical-qa.jsonl', domain: 'medical' },
  ],
  target: 'openai',
  maxTokens: 4096,
  split: { validation: 0.2, seed: 42, stratifyBy: 'domain' },
  outDir,
  overwrite: true, // the notebook runs again and again
});
console.log(summarize(result));

// %% 2. The counts: every input row is either in a split or rejected, with a reason.
const { input, train, validation, test, rejected, byReason } = result.counts;
console.log(`\ncounts: ${input} in = ${train} train + ${validation} validation + ${test} test + ${rejected} rejected`);
console.log('rejected by reason:', byReason);
console.log(`tokens per example: p50 ${result.tokens.p50}, p90 ${result.tokens.p90}, max ${result.tokens.max}`);

// %% 3. Read back a few lines of train.jsonl: the exact records the trainer will see.
const trainLines = (await readFile(result.files.train, 'utf8')).trimEnd().split('\n');
for (const line of trainLines.slice(0, 2)) {
  const record = JSON.parse(line) as { messages: Array<{ role: string; content: string }> };
  console.log(`\n${record.messages.map((m) => `  ${m.role}: ${m.content.slice(0, 70)}${m.content.length > 70 ? '…' : ''}`).join('\n')}`);
}
// And the first rejected row: where it was, and why.
const firstRejected = (await readFile(result.files.rejected, 'utf8')).split('\n')[0];
if (firstRejected) {
  const r = JSON.parse(firstRejected) as { source: { file: string; line: number }; reason: string; message: string };
  console.log(`\nfirst rejected: ${r.source.file}:${r.source.line} ${r.reason}: ${r.message}`);
}

// %% 4. Token statistics of the written file, with the tokenizer of the model you will train.
const stats = await fileStats(result.files.train, { tokenizer: 'o200k_base', maxTokens: 4096 });
console.log(`\n${formatStats(stats)}`);

// %% 5. Leakage: no conversation of validation may also be in train (exactly or nearly).
const leakage = await checkLeakage([result.files.train, result.files.validation as string]);
console.log(`\n${formatLeakage(leakage)}`);
if (!leakage.clean) process.exitCode = 1;

// %% 6. Next steps: how to start training on these files.
console.log(`\n${result.nextSteps}`);
