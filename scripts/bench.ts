/**
 * `npm run bench -- [--rows N] [--format jsonl|csv] [--corpus domain|templated] [--tokenizer NAME] [--near-dedup] [--only a,b] [--repeat N]`
 *
 * Generates a deterministic synthetic domain corpus (or, with `--corpus templated`, form letters
 * that are near copies of each other: the stress case of near-dedup), then runs each scenario in its own process
 * (so peak RSS is the scenario's own) and prints time, rows/s, MB/s, tokens/s, CPU seconds and
 * peak RSS, plus ratios that hold on a noisy machine: each figure against the raw floor and the
 * tokenizer alone; then prepareDataset's own time per stage. `--repeat N` runs the scenarios N times
 * in turn (round-robin, so a slow spell of a shared machine hits each alike) and reports the median
 * run of each, with the range, and the ratios of each round.
 *
 * Scenarios:
 *   floor        read + parse (JSON.parse, or csv-parse for CSV) + JSON.stringify + write
 *   tokenizer    tokenizer alone, inline: time spent counting only
 *   workers-1/2  the counting stage with a pool of 1 / 2 worker threads (start the pool, read + parse
 *                + count): starting the workers is timed, as it is in prepareDataset's time
 *   prepare-1/2  prepareDataset end to end, concurrency 1 (inline) / 2 (worker threads, for an input
 *                over the line workersFromBytes draws: 48 MiB on two cores), with exact dedup and
 *                a split stratified by domain; near-dedup only with --near-dedup
 * The defaults are these six; `--only` takes any `workers-N` and `prepare-N` (on more cores).
 */
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { parse } from 'csv-parse';
import { createReadStream, createWriteStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { workersFromBytes } from '../src/_cpus.js';
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
    'near-dedup': { type: 'boolean', default: false },
    corpus: { type: 'string', default: 'domain' },
    repeat: { type: 'string', default: '1' },
  },
});

interface Figures {
  scenario: string;
  seconds: number;
  rows: number;
  tokens: number;
  bytes: number;
  rssMb: number;
  cpuSeconds: number;
  /** Seconds the main thread's event loop was busy (not waiting): its share of the CPU work. */
  mainBusySeconds: number;
  /** Seconds spent starting the worker pool (workers-N: part of `seconds`). */
  startSeconds?: number;
  timings?: Record<string, number>;
}

if (values.scenario) {
  const figures = await runScenario(values.scenario, values.file as string, values.tokenizer as string, values['near-dedup'] === true);
  process.stdout.write(`${JSON.stringify(figures)}\n`);
} else {
  await main();
}

async function main(): Promise<void> {
  const rows = Number(values.rows);
  const format = values.format === 'csv' ? 'csv' : 'jsonl';
  const dir = join(tmpdir(), 'lora-prep-bench');
  mkdirSync(dir, { recursive: true });
  const kind = values.corpus === 'templated' ? 'templated' : 'domain';
  const file = join(dir, `${kind === 'templated' ? 'templated' : 'corpus'}-${rows}-${values.seed}.${format}`);
  if (!existsSync(file)) await writeCorpus(file, format, rows, Number(values.seed), kind);
  const bytes = statSync(file).size;
  const all = ['floor', 'tokenizer', 'workers-1', 'workers-2', 'prepare-1', 'prepare-2'];
  const chosen = values.only ? values.only.split(',') : all;
  const near = values['near-dedup'] === true;
  console.log(
    `lora-prep bench: ${rows.toLocaleString('en-US')} rows (${kind} corpus), ${(bytes / 1e6).toFixed(1)} MB ${format}, tokenizer ${values.tokenizer}, near-dedup ${near ? 'on' : 'off'}, ${cpus().length} cores, Node ${process.version}`,
  );
  const line = workersFromBytes();
  const threaded = chosen.filter((c) => /^prepare-\d+$/.test(c) && c !== 'prepare-1');
  if (threaded.length > 0 && bytes < line) {
    console.log(
      `note: ${threaded.join(', ')} count on the main thread here: the input is under the ${line / 2 ** 20} MiB from which prepareDataset starts worker threads on this machine (src/_cpus.ts, workersFromBytes)`,
    );
  }
  // Scenarios run compiled, as users run the package: this script and the worker thread are
  // bundled into .bench/ first (from source under tsx, every worker would compile src/ again).
  const { build } = await import('tsup'); // here only: the scenario processes must not load it
  const { jinjaFieldsPlugin } = await import('./jinja-fields.js');
  await build({
    entry: { bench: 'scripts/bench.ts', 'tokenize-worker': 'src/tokenizers/tokenize-worker.ts' },
    outDir: '.bench',
    format: ['esm'],
    platform: 'node',
    target: 'node20',
    config: false,
    silent: true,
    clean: true,
    // As the package's bundle carries it (tsup.config.ts).
    noExternal: ['@huggingface/jinja'],
    esbuildPlugins: [jinjaFieldsPlugin()],
  });
  const repeat = Math.max(1, Number(values.repeat));
  const runs = new Map<string, Figures[]>(chosen.map((c) => [c, []]));
  for (let round = 0; round < repeat; round++) {
    for (const scenario of chosen) {
      const args = ['.bench/bench.js', '--scenario', scenario, '--file', file, '--tokenizer', values.tokenizer as string];
      if (near) args.push('--near-dedup');
      const out = execFileSync(process.execPath, args, {
        encoding: 'utf8',
        maxBuffer: 1 << 24,
      });
      runs.get(scenario)?.push(JSON.parse(out.trim().split('\n').at(-1) as string) as Figures);
    }
  }
  // Each scenario's median run (by time) stands for it; the range shows the machine's noise.
  const results: Figures[] = chosen.map((c) => {
    const sorted = [...(runs.get(c) as Figures[])].sort((a, b) => a.seconds - b.seconds);
    return sorted[Math.floor((sorted.length - 1) / 2)] as Figures;
  });
  if (repeat > 1) {
    console.log(`\n${repeat} rounds; each row below is the scenario's median run. Time and peak RSS over the rounds:`);
    for (const c of chosen) {
      const r = runs.get(c) as Figures[];
      const t = r.map((x) => x.seconds);
      const m = r.map((x) => x.rssMb);
      console.log(`  ${c}: ${Math.min(...t).toFixed(1)}–${Math.max(...t).toFixed(1)} s, ${Math.min(...m).toFixed(0)}–${Math.max(...m).toFixed(0)} MB`);
    }
  }
  const floor = results.find((r) => r.scenario === 'floor');
  const tok = results.find((r) => r.scenario === 'tokenizer');
  const rate = (r: Figures) => r.rows / r.seconds;
  console.log('\n| scenario | time s | rows/s | MB/s | tokens/s | CPU s | main thread busy s | peak RSS MB | vs floor | vs tokenizer alone |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of results) {
    const vsFloor = floor ? `${(rate(r) / rate(floor)).toFixed(3)}×` : '–';
    const vsTok = tok ? `${(rate(r) / rate(tok)).toFixed(2)}×` : '–';
    console.log(
      `| ${r.scenario} | ${r.seconds.toFixed(2)} | ${Math.round(rate(r)).toLocaleString('en-US')} | ${(r.bytes / 1e6 / r.seconds).toFixed(2)} | ${r.tokens ? Math.round(r.tokens / r.seconds).toLocaleString('en-US') : '–'} | ${r.cpuSeconds.toFixed(1)} | ${r.mainBusySeconds.toFixed(1)} | ${r.rssMb.toFixed(0)} | ${vsFloor} | ${vsTok} |`,
    );
  }
  const w1 = results.find((r) => r.scenario === 'workers-1');
  const w2 = results.find((r) => r.scenario === 'workers-2');
  const p1 = results.find((r) => r.scenario === 'prepare-1');
  const p2 = results.find((r) => r.scenario === 'prepare-2');
  if (w1 && w2) console.log(`\ncounting stage, 2 workers vs 1: ${(rate(w2) / rate(w1)).toFixed(2)}×`);
  if (p1 && p2) console.log(`prepareDataset, concurrency 2 vs 1: ${(rate(p2) / rate(p1)).toFixed(2)}×`);
  if (w1 && p1) console.log(`prepareDataset (inline) vs tokenizer alone: ${((rate(p1) / rate(tok ?? w1)) * 100).toFixed(0)}%`);
  // prepareDataset against the counting stage with the same number of workers, for every N run.
  for (const p of results) {
    const n = /^prepare-(\d+)$/.exec(p.scenario)?.[1];
    const w = n === undefined || n === '1' ? undefined : results.find((r) => r.scenario === `workers-${n}`);
    if (!w) continue;
    console.log(`prepareDataset (${n} workers) vs counting stage alone (${n} workers): ${((rate(p) / rate(w)) * 100).toFixed(0)}%`);
    // Both times include starting the workers; without it in the counting stage's (the stricter comparison):
    const steady = w.rows / (w.seconds - (w.startSeconds ?? 0));
    console.log(`  with the workers' start (${(w.startSeconds ?? 0).toFixed(2)} s) left out of the counting stage's time: ${((rate(p) / steady) * 100).toFixed(0)}%`);
    // With no core to spare, each run takes about its CPU over the cores: the time ratio follows this one.
    console.log(`  CPU seconds, counting stage vs prepareDataset: ${w.cpuSeconds.toFixed(1)} vs ${p.cpuSeconds.toFixed(1)} (${((w.cpuSeconds / p.cpuSeconds) * 100).toFixed(0)}%)`);
  }
  if (repeat > 1) {
    const perRound = (values: number[], show: (x: number) => string): string => {
      const sorted = [...values].sort((x, y) => x - y);
      return `median ${show(sorted[Math.floor((sorted.length - 1) / 2)] as number)} (rounds: ${sorted.map(show).join(', ')})`;
    };
    // b's time over a's, per round; `time` picks what of b's run counts.
    const rounds = (a: string, b: string, time = (f: Figures) => f.seconds): string | undefined => {
      const ra = runs.get(a);
      const rb = runs.get(b);
      if (!ra || !rb) return undefined;
      return perRound(
        ra.map((x, i) => time(rb[i] as Figures) / x.seconds),
        (x) => x.toFixed(2),
      );
    };
    const pairs: Array<[string, string, string]> = [
      ['workers-2', 'workers-1', 'counting stage, 2 workers vs 1, per round'],
      ['prepare-2', 'prepare-1', 'prepareDataset, concurrency 2 vs 1, per round'],
      ...chosen.flatMap((c): Array<[string, string, string]> => {
        const n = /^prepare-(\d+)$/.exec(c)?.[1];
        return n === undefined || n === '1' ? [] : [[c, `workers-${n}`, `prepareDataset (${n} workers) vs counting stage alone (${n} workers), per round`]];
      }),
    ];
    for (const [a, b, label] of pairs) {
      const r = rounds(a, b);
      if (r) console.log(`${label}: ${r}`);
      // The stricter comparison: the counting stage's time without starting its workers.
      const strict = a.startsWith('prepare-') && b.startsWith('workers-') ? rounds(a, b, (f) => f.seconds - (f.startSeconds ?? 0)) : undefined;
      if (strict) console.log(`  the same, the workers' start left out of the counting stage's time: ${strict}`);
      const [ra, rb] = [runs.get(a), runs.get(b)];
      if (strict && ra && rb) {
        const cpu = ra.map((x, i) => (rb[i] as Figures).cpuSeconds / x.cpuSeconds);
        console.log(`  CPU seconds of the counting stage over prepareDataset's: ${perRound(cpu, (x) => `${(x * 100).toFixed(0)}%`)}`);
      }
    }
    // Everything but tokenizing, per round: prepare-1 less the same round's tokenizer time for its
    // tokens, against the same round's floor (the difference of two long runs drifts with the machine).
    const [rf, rt, rp1] = [runs.get('floor'), runs.get('tokenizer'), runs.get('prepare-1')];
    if (rf && rt && rp1) {
      const shares = rp1.map((p, i) => {
        const t = rt[i] as Figures;
        const f = rf[i] as Figures;
        const rest = p.seconds - (t.seconds * p.tokens) / t.tokens;
        return rest > 0 ? p.rows / rest / (f.rows / f.seconds) : Number.NaN;
      });
      console.log(`everything but tokenizing vs the raw floor, per round: ${perRound(shares, (x) => `${(x * 100).toFixed(0)}%`)}`);
    }
  }
  for (const p of [p1, p2]) {
    if (!p?.timings) continue;
    console.log(`\n${p.scenario}: time per stage on the main thread (count = tokenizing inline, or feeding and waiting for the workers)`);
    console.log('| stage | time s | rows/s | MB/s |');
    console.log('| --- | ---: | ---: | ---: |');
    for (const [stage, ms] of Object.entries(p.timings)) {
      const sec = ms / 1000;
      console.log(`| ${stage} | ${sec.toFixed(2)} | ${sec > 0 ? Math.round(p.rows / sec).toLocaleString('en-US') : '–'} | ${sec > 0 ? (p.bytes / 1e6 / sec).toFixed(1) : '–'} |`);
    }
    // Inline, the count stage also computes the dedup keys and record lines, so the time that is
    // not tokenizing is the run's time less what the tokenizer alone takes for the tokens counted
    // (copies of kept rows are not tokenized).
    const tokenizing = tok && tok.tokens > 0 ? (tok.seconds * p.tokens) / tok.tokens : undefined;
    const rest = tokenizing === undefined ? 0 : p.seconds - tokenizing;
    if (floor && p === p1 && rest > 0) {
      console.log(
        `everything but tokenizing (${p.seconds.toFixed(2)} s less ${(tokenizing as number).toFixed(2)} s of tokenizing): ${Math.round(p.rows / rest).toLocaleString('en-US')} rows/s = ${((p.rows / rest / rate(floor)) * 100).toFixed(0)}% of the raw floor`,
      );
    }
  }
}

async function runScenario(scenario: string, file: string, tokenizerName: string, near: boolean): Promise<Figures> {
  const bytes = statSync(file).size;
  const loop = performance.eventLoopUtilization();
  const out = join(tmpdir(), 'lora-prep-bench', `out-${scenario}`);
  await rm(out, { recursive: true, force: true });
  let rows = 0;
  let tokens = 0;
  let seconds: number;
  let timings: Record<string, number> | undefined;
  let startSeconds: number | undefined;
  if (scenario === 'floor') {
    const start = performance.now();
    const sink = createWriteStream(join(tmpdir(), 'lora-prep-bench', 'floor.jsonl'));
    for await (const r of parsed(file)) {
      const line = `${JSON.stringify({ messages: [{ role: 'user', content: r.question }, { role: 'assistant', content: r.answer }] })}\n`;
      if (!sink.write(line)) await once(sink, 'drain');
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
    // Timed from before the pool starts, as prepareDataset's time includes starting its workers.
    const start = performance.now();
    const pool = await TokenizerPool.start(tokenizerName, size);
    startSeconds = (performance.now() - start) / 1000;
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
    const result = await prepareDataset({
      inputs: [file],
      outDir: out,
      tokenizer: tokenizerName,
      concurrency,
      split: { validation: 0.05, stratifyBy: 'domain' },
      dedup: { exact: true, near },
    });
    seconds = (performance.now() - start) / 1000;
    rows = result.counts.input;
    tokens = result.tokens.total;
    timings = result.timings;
  } else {
    throw new Error(`unknown scenario ${scenario}`);
  }
  const cpu = process.cpuUsage();
  return {
    scenario,
    seconds,
    rows,
    tokens,
    bytes,
    rssMb: process.resourceUsage().maxRSS / 1024,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    mainBusySeconds: performance.eventLoopUtilization(loop).active / 1000,
    ...(startSeconds === undefined ? {} : { startSeconds }),
    ...(timings ? { timings } : {}),
  };
}

/** Rows of the corpus, from JSONL or (with csv-parse, as the loader uses) CSV. */
async function* parsed(file: string): AsyncIterable<{ question: string; answer: string }> {
  if (file.endsWith('.csv')) {
    yield* createReadStream(file).pipe(parse({ columns: true })) as AsyncIterable<{ question: string; answer: string }>;
    return;
  }
  for await (const line of lines(file)) yield JSON.parse(line) as { question: string; answer: string };
}

function lines(file: string): AsyncIterable<string> {
  return createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
}

async function* chats(file: string): AsyncIterable<Message[]> {
  for await (const r of parsed(file)) {
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
