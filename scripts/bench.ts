/**
 * `npm run bench -- [--rows N] [--format jsonl|csv] [--tokenizer NAME] [--only a,b]`
 *
 * Generates a deterministic synthetic domain corpus, then runs each scenario in its own process
 * (so peak RSS is the scenario's own) and prints time, rows/s, MB/s, tokens/s and peak RSS, plus
 * ratios that hold on a noisy machine: each figure against the raw floor and the tokenizer alone.
 *
 * Scenarios:
 *   floor        read + JSON.parse + JSON.stringify + write (no tokenizer, no dedup)
 *   tokenizer    tokenizer alone, inline: time spent counting only
 *   workers-1/2  the counting stage with a pool of 1 / 2 worker threads
 *   prepare-1/2  prepareDataset end to end, concurrency 1 (inline) / 2 (worker threads)
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { countTokens } from '../src/check/index.js';
import { prepareDataset } from '../src/index.js';
import { loadTokenizer } from '../src/tokenizers/index.js';
import { TokenizerPool } from '../src/tokenizers/pool.js';
import type { Example, Message } from '../src/types.js';
import { writeCorpus } from './corpus.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '20000' },
    format: { type: 'string', default: 'jsonl' },
    tokenizer: { type: 'string', default: 'o200k_base' },
    only: { type: 'string' },
    scenario: { type: 'string' },
    file: { type: 'string' },
    seed: { type: 'string', default: '20240601' },
  },
});

interface Figures {
  scenario: string;
  seconds: number;
  rows: number;
  tokens: number;
  bytes: number;
  rssMb: number;
}

if (values.scenario) {
  const figures = await runScenario(values.scenario, values.file as string, values.tokenizer as string);
  process.stdout.write(`${JSON.stringify(figures)}\n`);
} else {
  await main();
}

async function main(): Promise<void> {
  const rows = Number(values.rows);
  const format = values.format === 'csv' ? 'csv' : 'jsonl';
  const dir = join(tmpdir(), 'lora-prep-bench');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `corpus-${rows}-${values.seed}.${format}`);
  if (!existsSync(file)) await writeCorpus(file, format, rows, Number(values.seed));
  const bytes = statSync(file).size;
  const all = ['floor', 'tokenizer', 'workers-1', 'workers-2', 'prepare-1', 'prepare-2'];
  const chosen = values.only ? values.only.split(',') : format === 'csv' ? ['prepare-1', 'prepare-2'] : all;
  console.log(`lora-prep bench: ${rows.toLocaleString('en-US')} rows, ${(bytes / 1e6).toFixed(1)} MB ${format}, tokenizer ${values.tokenizer}, ${cpus().length} cores, Node ${process.version}`);
  const results: Figures[] = [];
  for (const scenario of chosen) {
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'scripts/bench.ts', '--scenario', scenario, '--file', file, '--tokenizer', values.tokenizer as string], {
      encoding: 'utf8',
      maxBuffer: 1 << 24,
    });
    results.push(JSON.parse(out.trim().split('\n').at(-1) as string) as Figures);
  }
  const floor = results.find((r) => r.scenario === 'floor');
  const tok = results.find((r) => r.scenario === 'tokenizer');
  const rate = (r: Figures) => r.rows / r.seconds;
  console.log('\n| scenario | time s | rows/s | MB/s | tokens/s | peak RSS MB | vs floor | vs tokenizer alone |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of results) {
    const vsFloor = floor ? `${(rate(r) / rate(floor)).toFixed(3)}×` : '–';
    const vsTok = tok ? `${(rate(r) / rate(tok)).toFixed(2)}×` : '–';
    console.log(
      `| ${r.scenario} | ${r.seconds.toFixed(2)} | ${Math.round(rate(r)).toLocaleString('en-US')} | ${(r.bytes / 1e6 / r.seconds).toFixed(2)} | ${r.tokens ? Math.round(r.tokens / r.seconds).toLocaleString('en-US') : '–'} | ${r.rssMb.toFixed(0)} | ${vsFloor} | ${vsTok} |`,
    );
  }
  const w1 = results.find((r) => r.scenario === 'workers-1');
  const w2 = results.find((r) => r.scenario === 'workers-2');
  const p1 = results.find((r) => r.scenario === 'prepare-1');
  const p2 = results.find((r) => r.scenario === 'prepare-2');
  if (w1 && w2) console.log(`\ncounting stage, 2 workers vs 1: ${(rate(w2) / rate(w1)).toFixed(2)}×`);
  if (p1 && p2) console.log(`prepareDataset, concurrency 2 vs 1: ${(rate(p2) / rate(p1)).toFixed(2)}×`);
  if (w2 && p2) console.log(`prepareDataset (2 workers) vs counting stage alone (2 workers): ${((rate(p2) / rate(w2)) * 100).toFixed(0)}%`);
}

async function runScenario(scenario: string, file: string, tokenizerName: string): Promise<Figures> {
  const bytes = statSync(file).size;
  const out = join(tmpdir(), 'lora-prep-bench', `out-${scenario}`);
  await rm(out, { recursive: true, force: true });
  let rows = 0;
  let tokens = 0;
  let seconds: number;
  if (scenario === 'floor') {
    const start = performance.now();
    const sink = createWriteStream(join(tmpdir(), 'lora-prep-bench', 'floor.jsonl'));
    for await (const line of lines(file)) {
      const r = JSON.parse(line) as { question: string; answer: string };
      sink.write(`${JSON.stringify({ messages: [{ role: 'user', content: r.question }, { role: 'assistant', content: r.answer }] })}\n`);
      rows++;
    }
    await new Promise((resolve) => sink.end(resolve));
    seconds = (performance.now() - start) / 1000;
  } else if (scenario === 'tokenizer') {
    const tok = await loadTokenizer(tokenizerName);
    let spent = 0;
    for await (const messages of chats(file)) {
      const t0 = performance.now();
      tokens += tok.measure(messages).total;
      spent += performance.now() - t0;
      rows++;
    }
    seconds = spent / 1000;
  } else if (scenario.startsWith('workers-')) {
    const size = Number(scenario.slice('workers-'.length));
    const tok = await loadTokenizer(tokenizerName);
    const pool = await TokenizerPool.start(tokenizerName, size);
    const start = performance.now();
    const ctx = { reject: () => undefined, warn: () => undefined };
    for await (const c of countTokens(examples(file), { tokenizer: tok, budget: { overlong: 'keep' }, pool }, ctx)) {
      tokens += c.tokens;
      rows++;
    }
    seconds = (performance.now() - start) / 1000;
    await pool.close();
  } else if (scenario.startsWith('prepare-')) {
    const concurrency = Number(scenario.slice('prepare-'.length));
    const start = performance.now();
    const result = await prepareDataset({ inputs: [file], outDir: out, tokenizer: tokenizerName, concurrency, split: { validation: 0.05 } });
    seconds = (performance.now() - start) / 1000;
    rows = result.counts.input;
    tokens = result.tokens.total;
  } else {
    throw new Error(`unknown scenario ${scenario}`);
  }
  return { scenario, seconds, rows, tokens, bytes, rssMb: process.resourceUsage().maxRSS / 1024 };
}

function lines(file: string): AsyncIterable<string> {
  return createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
}

async function* chats(file: string): AsyncIterable<Message[]> {
  for await (const line of lines(file)) {
    const r = JSON.parse(line) as { question: string; answer: string };
    yield [
      { role: 'user', content: r.question },
      { role: 'assistant', content: r.answer },
    ];
  }
}

async function* examples(file: string): AsyncIterable<Example> {
  let line = 0;
  for await (const messages of chats(file)) {
    line++;
    yield { id: String(line), messages, meta: { source: { file, line } } };
  }
}
