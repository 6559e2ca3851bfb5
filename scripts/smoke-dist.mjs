// CI smoke test of the built package: ESM and CJS entries, the CLI, and the tokenizer worker
// threads found beside the bundle. Exits non-zero on any mismatch.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Worker threads from 4 MiB (the line's own setting; by default 16 or 48 MiB), so that a 5 MiB input
// runs in them and the smoke stays quick. The CLI run below inherits it.
process.env.LORA_PREP_WORKERS_FROM_BYTES = String(4 * 1024 * 1024);
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
// Bundled into an app (its worker's script left behind): counted on the main thread, with a warning.
{
  const bundle = join(process.cwd(), 'node_modules', '.lora-prep-smoke-bundle');
  mkdirSync(bundle, { recursive: true });
  copyFileSync('dist/index.js', join(bundle, 'index.js'));
  try {
    const bundled = await import(join(bundle, 'index.js'));
    const r = await bundled.prepareDataset({ inputs: [input], outDir: join(dir, 'bundled'), concurrency: 2, maxTokens: 300, overlong: 'truncate' });
    if (!r.warnings.some((w) => w.includes('counted on the main thread')) || !readFileSync(join(dir, 'bundled', 'train.jsonl')).equals(readFileSync(join(dir, 'esm', 'train.jsonl')))) {
      console.error('smoke: a bundled copy without the worker script did not fall back to the main thread with the same output');
      process.exit(1);
    }
  } finally {
    rmSync(bundle, { recursive: true, force: true });
  }
}
// One error, two builds: each build's class knows the other's errors (instanceof, not only isLoraPrepError).
const fromEsm = await esm.prepareDataset({ inputs: [join(dir, 'none.jsonl')], outDir: join(dir, 'x') }).catch((e) => e);
if (!(fromEsm instanceof cjs.LoraPrepError) || !(new cjs.LoraPrepError('ABORTED', 'x') instanceof esm.LoraPrepError)) {
  console.error('smoke: an error of one build is not instanceof the other build\'s LoraPrepError');
  process.exit(1);
}
// A Hugging Face tokenizer folder: its chat template rendered by the bundled @huggingface/jinja
// (rewritten at build time, scripts/jinja-fields.ts), in the workers and inline.
// Bundled, not imported: the package no longer depends on it at run time.
for (const f of ['dist/index.js', 'dist/index.cjs', 'dist/cli.js', 'dist/tokenize-worker.js']) {
  if (/(?:from |import\(|require\()["']@huggingface\/jinja["']/.test(readFileSync(f, 'utf8'))) {
    console.error(`smoke: ${f} imports @huggingface/jinja instead of carrying it`);
    process.exit(1);
  }
}
// The public types name no Node-only type that needs @types/node beyond AbortSignal (in the DOM and Node libs alike).
if (/\bBuffer\b|NodeJS\./.test(readFileSync('dist/index.d.ts', 'utf8'))) {
  console.error('smoke: dist/index.d.ts names Buffer or NodeJS.*: a consumer without @types/node gets TS2580');
  process.exit(1);
}
const chat = [{ role: 'user', content: 'hello world' }, { role: 'assistant', content: 'a bond.' }];
for (const lib of [esm, cjs]) {
  const measured = (await lib.loadTokenizer('fixtures/tokenizers/tiny-chatml')).measure(chat);
  if (measured.total !== 12 || measured.prompt !== 8) {
    console.error(`smoke: the tiny ChatML tokenizer measured ${JSON.stringify(measured)}, not { total: 12, prompt: 8 }`);
    process.exit(1);
  }
}
const hf = await Promise.all([esm, cjs].map((lib, i) => lib.prepareDataset({ inputs: [input], outDir: join(dir, `hf-${i}`), tokenizer: 'fixtures/tokenizers/tiny-chatml', concurrency: 2 - i })));
if (hf[0].tokens.total !== hf[1].tokens.total || !readFileSync(join(dir, 'hf-0', 'train.jsonl')).equals(readFileSync(join(dir, 'hf-1', 'train.jsonl')))) {
  console.error('smoke: a Hugging Face tokenizer counts differently with workers (ESM) and inline (CJS)');
  process.exit(1);
}
console.log(`smoke: dist ok (${a.counts.input} rows, ${a.truncated} truncated, ESM/CJS/CLI identical; ${b.counts.kept} kept; tiny ChatML tokenizer ${hf[0].tokens.total} tokens both ways)`);
