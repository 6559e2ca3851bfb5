/**
 * `npx tsx scripts/bench-pii.ts [--file fixtures/pii/heldout.jsonl] [--mb 20]`
 *
 * PII detection measured two ways:
 * 1. Precision and recall per type on fixtures/pii/labelled.jsonl (planted PII plus look-alikes),
 *    printed as a markdown table with an overall row and the misses, if any.
 * 2. Throughput of `findPii` on a deterministic synthetic text of `--mb` megabytes (default 20):
 *    short records in finance/legal/medical prose, about one in five carrying a fixture line, so
 *    both the fast path (no candidates) and the checking path are exercised. Prints texts/s and MB/s.
 */
import { readFileSync } from 'node:fs';
import { type LabelledText, scorePii } from '../src/pii/_eval.js';
import { findPii, PII_TYPES } from '../src/pii/index.js';

const args = process.argv.slice(2);
const mbArg = args.indexOf('--mb');
const targetMb = mbArg >= 0 ? Number(args[mbArg + 1]) : 20;

const fileArg = args.indexOf('--file');
const labelled = fileArg >= 0 ? (args[fileArg + 1] as string) : 'fixtures/pii/labelled.jsonl';
const lines = readFileSync(labelled, 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as LabelledText);

const { perType, overall, misses } = scorePii(lines);
const pct = (x: number) => x.toFixed(3);
console.log(`## PII detection on ${labelled} (${lines.length} lines)\n`);
console.log('| type | planted | found | TP | FP | FN | precision | recall |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const t of PII_TYPES) {
  const s = perType[t];
  console.log(`| ${t} | ${s.tp + s.fn} | ${s.tp + s.fp} | ${s.tp} | ${s.fp} | ${s.fn} | ${pct(s.precision)} | ${pct(s.recall)} |`);
}
const o = overall;
console.log(`| **overall** | ${o.tp + o.fn} | ${o.tp + o.fp} | ${o.tp} | ${o.fp} | ${o.fn} | ${pct(o.precision)} | ${pct(o.recall)} |`);
if (misses.length > 0) {
  console.log('\nMisses:');
  for (const m of misses) console.log(`- line ${m.line} ${m.kind.toUpperCase()} ${m.type}: ${JSON.stringify(m.text)}`);
}

// --- throughput ---
let seed = 7;
const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const words = (
  'the claimant filed a motion to dismiss under rule 12 and the court granted leave to amend ' +
  'patient presented with dyspnoea and was started on 40 mg furosemide twice daily for 3 days ' +
  'quarterly revenue rose 4.2 percent to 1,250 million while the board approved a dividend of 0.35 per share'
).split(' ');
const texts: string[] = [];
let bytes = 0;
const target = targetMb * 1024 * 1024;
while (bytes < target) {
  const n = 40 + Math.floor(rnd() * 80);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(words[Math.floor(rnd() * words.length)]!);
  if (rnd() < 0.2) parts.splice(Math.floor(rnd() * n), 0, lines[Math.floor(rnd() * lines.length)]!.text);
  const t = parts.join(' ');
  texts.push(t);
  bytes += Buffer.byteLength(t);
}
const t0 = performance.now();
let findings = 0;
for (const t of texts) findings += findPii(t).length;
const seconds = (performance.now() - t0) / 1000;
console.log(`\n## Throughput (${(bytes / 1048576).toFixed(1)} MB, ${texts.length} texts, ${findings} findings)\n`);
console.log(`| texts/s | MB/s | seconds |`);
console.log(`|---:|---:|---:|`);
console.log(`| ${Math.round(texts.length / seconds)} | ${(bytes / 1048576 / seconds).toFixed(1)} | ${seconds.toFixed(2)} |`);
