// CI smoke test of the built package: ESM and CJS entries, the CLI, and the tokenizer worker
// threads found beside the bundle (inputs of 4 MiB or more use them). Exits non-zero on any mismatch.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'lora-prep-smoke-'));
const input = join(dir, 'big.jsonl');
const lines = [];
for (let i = 0, bytes = 0; bytes < 5 * 1024 * 1024; i++) {
  const line = JSON.stringify({ question: `What does clause ${i} say about liability?`, answer: `Clause ${i} limits liability to direct loss. `.repeat(1 + (i % 40)) });
  lines.push(line);
  bytes += line.length + 1;
}
writeFileSync(input, `${lines.join('\n')}\n`);

const esm = await import('../dist/index.js');
const cjs = createRequire(import.meta.url)('../dist/index.cjs');
const a = await esm.prepareDataset({ inputs: [input], outDir: join(dir, 'esm'), concurrency: 2, maxTokens: 300, overlong: 'truncate' });
const b = await cjs.prepareDataset({ inputs: [input], outDir: join(dir, 'cjs'), concurrency: 1, maxTokens: 300, overlong: 'truncate' });
execFileSync(process.execPath, ['dist/cli.js', 'prepare', input, '--out', join(dir, 'cli'), '--max-tokens', '300', '--overlong', 'truncate', '--quiet']);
for (const f of ['train.jsonl', 'validation.jsonl', 'report/report.json']) {
  const x = readFileSync(join(dir, 'esm', f));
  if (!x.equals(readFileSync(join(dir, 'cjs', f))) || !x.equals(readFileSync(join(dir, 'cli', f)))) {
    console.error(`smoke: ${f} differs between the ESM (2 workers), CJS (inline) and CLI runs`);
    process.exit(1);
  }
}
console.log(`smoke: dist ok (${a.counts.input} rows, ${a.truncated} truncated, ESM/CJS/CLI identical; ${b.counts.kept} kept)`);
