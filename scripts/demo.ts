/**
 * `npm run demo`: prepares the bundled finance, legal and medical fixtures into out/demo/ and
 * prints the summary. Every quirk planted in the fixtures shows up in out/demo/report/.
 */
import { rm } from 'node:fs/promises';
import { prepareDataset, summarize } from '../src/index.js';

const outDir = 'out/demo';
await rm(outDir, { recursive: true, force: true });

const result = await prepareDataset({
  inputs: [
    { path: 'fixtures/finance/fiqa-qa.csv', domain: 'finance' },
    { path: 'fixtures/finance/advisor-chat.jsonl', domain: 'finance' },
    { path: 'fixtures/finance/alpaca-tax.json', domain: 'finance' },
    { path: 'fixtures/legal/contracts-qa.tsv', domain: 'legal' },
    { path: 'fixtures/legal/case-law-sharegpt.jsonl', domain: 'legal' },
    { path: 'fixtures/legal/clauses-semicolon.csv', domain: 'legal' },
    { path: 'fixtures/medical/clinical-qa.jsonl', domain: 'medical' },
    { path: 'fixtures/medical/patient-faq.json', domain: 'medical' },
    { path: 'fixtures/medical/pharmacology-utf16.csv', domain: 'medical' },
    { path: 'fixtures/medical/drug-labels-latin1.csv', domain: 'medical', encoding: 'windows-1252' },
  ],
  target: 'openai',
  tokenizer: 'o200k_base',
  maxTokens: 4096,
  split: { validation: 0.1, seed: 42 },
  outDir,
});

console.log(summarize(result));
console.log(`\nOpen ${outDir}/train.jsonl and ${outDir}/validation.jsonl; every rejected row is in ${result.files.rejected}.\n`);
console.log(result.nextSteps);
