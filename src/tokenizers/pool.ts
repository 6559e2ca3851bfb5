/**
 * A pool of tokenizer worker threads. Each worker loads the tokenizer once; batches go to the
 * least busy worker and come back as promises, so callers keep input order by awaiting in order.
 * Each worker counts the batches it has finished in shared memory, so the pool knows which
 * workers have work in hand even while the main thread is too busy to read their replies.
 */
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Budget } from '../check/budget.js';
import type { MeasuredExample, MeasureItem, RecordSpec } from '../check/measure.js';
import type { MinHashParams } from '../dedup/minhash.js';
import { LoraPrepError, type ErrorCode } from '../errors.js';
import { DEFAULT_MAX_LINE_BYTES } from '../load/limits.js';
import { findTokenizerFiles } from './huggingface.js';
import { openAiEncodingFor } from './index.js';
import type { BatchLines, WorkerKeys } from './tokenize-worker.js';

/** What a worker tells of the tokenizer it loaded. */
export interface TokenizerInfo {
  name: string;
  source: string;
  chatTemplate?: string | undefined;
  /** The tokenizer's warnings (see `Tokenizer.warnings`). */
  warnings?: readonly string[] | undefined;
  /** Its control tokens' text (see `Tokenizer.specialTokens`). */
  specialTokens?: readonly string[] | undefined;
}

/** What {@link TokenizerPool.run} computes for each example of a batch, besides its counts. */
export interface BatchOptions {
  /** Token limits and the `overlong` policy. */
  budget: Budget;
  /** MinHash parameters: each passing example's near-dedup signature. */
  near?: MinHashParams | undefined;
  /** Each passing example's record line for this target and format. */
  record?: RecordSpec | undefined;
  /** Each example's dedup keys, and the table of kept rows whose copies are not tokenized. */
  keys?: WorkerKeys | undefined;
}

type Reply =
  | { type: 'ready'; info: TokenizerInfo }
  | { type: 'result'; id: number; results: MeasuredExample[]; lines?: BatchLines | undefined }
  | { type: 'error'; id: number; message: string; code?: string };

interface Slot {
  worker: Worker;
  pending: Map<number, { resolve: (r: MeasuredExample[]) => void; reject: (e: Error) => void }>;
  /** Batches sent to it; `finished[i]` is how many it has finished (its reply may still wait). */
  sent: number;
}

/**
 * Worker threads that measure examples.
 *
 * @example
 * const pool = await TokenizerPool.start('o200k_base', 2);
 * const results = await pool.run([{ messages }], { budget: { overlong: 'drop', maxTokens: 4096 } });
 * await pool.close();
 */
export class TokenizerPool {
  readonly size: number;
  /** The tokenizer the workers loaded (the main thread need not load it too). */
  readonly tokenizer: TokenizerInfo;
  #slots: Slot[];
  /** Batches each worker has finished, counted by the worker itself (shared memory). */
  #finished: Int32Array;
  #nextId = 0;
  #closed = false;
  #closing: Promise<void> | undefined;

  private constructor(slots: Slot[], finished: Int32Array, tokenizer: TokenizerInfo) {
    this.#slots = slots;
    this.#finished = finished;
    this.size = slots.length;
    this.tokenizer = tokenizer;
  }

  /**
   * How many workers have a batch in hand now: sent and not yet finished. Read from the workers'
   * own counts, so it is current even when their replies wait for the main thread; a batch a
   * worker has finished no longer counts, whether or not its promise has settled.
   */
  get working(): number {
    let n = 0;
    for (let i = 0; i < this.#slots.length; i++) if (this.#inHand(i) > 0) n++;
    return n;
  }

  /**
   * Starts `size` workers and waits until each has loaded the tokenizer. Where a worker runs out
   * of its heap while loading a Hugging Face tokenizer, the workers start again without the cap.
   * `options.longestRowBytes` is the longest row the workers may be sent (the loaders'
   * `maxLineBytes`; 16 MiB when not given): their heap is sized to count it.
   * `options.oldGenerationMb` sets the workers' old-generation cap in MB instead of the one chosen
   * (see `workerLimits`); for a Hugging Face tokenizer, a cap too small to load it in is dropped
   * the same way.
   */
  static async start(spec: string, size: number, options: { oldGenerationMb?: number; longestRowBytes?: number } = {}): Promise<TokenizerPool> {
    const limits = workerLimits(spec, options.longestRowBytes ?? DEFAULT_MAX_LINE_BYTES);
    if (options.oldGenerationMb !== undefined) limits.resourceLimits.maxOldGenerationSizeMb = options.oldGenerationMb;
    try {
      return await TokenizerPool.#start(spec, size, limits);
    } catch (e) {
      const capped = limits.resourceLimits.maxOldGenerationSizeMb !== undefined && !openAiEncodingFor(spec);
      if (!capped || (e as { cause?: { code?: unknown } }).cause?.code !== 'ERR_WORKER_OUT_OF_MEMORY') throw e;
      return TokenizerPool.#start(spec, size, { resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_MB } });
    }
  }

  static async #start(spec: string, size: number, limits: WorkerLimits): Promise<TokenizerPool> {
    const script = workerScript();
    const slots: Slot[] = [];
    const finished = new Int32Array(new SharedArrayBuffer(4 * size));
    let infos: TokenizerInfo[];
    try {
      for (let i = 0; i < size; i++) {
        // The parent's flags (--input-type, --eval, loaders) are for the parent: workers start clean.
        const worker = script.eval ? new Worker(script.eval, { eval: true, execArgv: [], ...limits }) : new Worker(script.url, { execArgv: [], ...limits });
        slots.push({ worker, pending: new Map(), sent: 0 });
      }
      infos = await Promise.all(slots.map((slot, i) => init(slot, spec, finished, i)));
    } catch (e) {
      await Promise.all(slots.map((s) => s.worker.terminate()));
      throw e;
    }
    const pool = new TokenizerPool(slots, finished, infos[0] as TokenizerInfo);
    for (const slot of slots) pool.#listen(slot);
    return pool;
  }

  /** Measures a batch of examples on the least busy worker, in the batch's order. */
  run(items: MeasureItem[], options: BatchOptions): Promise<MeasuredExample[]> {
    if (this.#closed) return Promise.reject(new LoraPrepError('INTERNAL', 'tokenizer pool used after close'));
    // The worker with the fewest batches in hand, by the workers' own counts.
    let best = 0;
    for (let i = 1; i < this.#slots.length; i++) if (this.#inHand(i) < this.#inHand(best)) best = i;
    const slot = this.#slots[best] as Slot;
    slot.sent++;
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      const { budget, near, record, keys } = options;
      slot.worker.postMessage({ type: 'batch', id, items, budget, near, record, keys });
    });
  }

  /** Stops every worker; a second call waits for the same stop. */
  close(): Promise<void> {
    if (!this.#closing) {
      this.#closed = true;
      this.#closing = Promise.all(this.#slots.map((s) => s.worker.terminate())).then(() => undefined);
    }
    return this.#closing;
  }

  /** Batches worker `i` has been sent and not yet finished. */
  #inHand(i: number): number {
    return (this.#slots[i] as Slot).sent - Atomics.load(this.#finished, i);
  }

  #listen(slot: Slot): void {
    slot.worker.on('message', (reply: Reply) => {
      if (reply.type === 'ready') return;
      const job = slot.pending.get(reply.id);
      if (!job) return;
      slot.pending.delete(reply.id);
      if (reply.type === 'result') {
        if (reply.lines) attachLines(reply.results, reply.lines);
        job.resolve(reply.results);
      }
      // A job problem found at a row (a chat template feature the renderer lacks) keeps its code.
      else job.reject(reply.code === 'TOKENIZER_UNAVAILABLE' ? new LoraPrepError(reply.code, reply.message) : new LoraPrepError('INTERNAL', `tokenizer worker failed: ${reply.message}`));
    });
    const fail = (e: Error) => {
      for (const job of slot.pending.values()) job.reject(new LoraPrepError('INTERNAL', `tokenizer worker stopped: ${e.message}`, { cause: e }));
      slot.pending.clear();
    };
    slot.worker.on('error', fail);
    slot.worker.on('exit', (code) => {
      if (!this.#closed) fail(new Error(`exit code ${code}`));
    });
  }
}

// --- internal ---

/** Gives each result its record line, a view of the batch's one buffer. */
function attachLines(results: MeasuredExample[], { bytes, ends }: BatchLines): void {
  let start = 0;
  for (const [i, m] of results.entries()) {
    const end = ends[i] as number;
    if (end < 0) continue;
    m.record = { ok: true, line: bytes.subarray(start, end) };
    start = end;
  }
}

/**
 * A worker's heap limits. V8 sizes a worker's heap from the machine's memory and lets a busy
 * isolate grow far past what it keeps alive: with an OpenAI encoding a worker holds about 40 MB,
 * yet its old generation grew to 170 MB before the first full collection, and its nursery is
 * sized for throughput, not footprint. Peak RSS of a 200,000-row run with 2 workers: 596 MB with
 * V8's defaults, 462 MB with the old generation capped; with the nursery capped too, about 315 MB
 * at 8 MB but some 15% slower, about 345 MB at 16 MB at V8's default speed (two runs each).
 * Hugging Face tokenizers hold more and vary by model (a tokenizer.json of 9 to 33 MB); their
 * nursery is capped the same way (building Llama 3's tables ran a thread's RSS up to 216 MB with
 * V8's nursery and 139 MB with a small one), and their old generation by the size of the file:
 * {@link HF_WORKER_OLD_MIN_MB}, or {@link HF_WORKER_OLD_BASE_MB} plus
 * {@link HF_WORKER_OLD_PER_FILE_MB} times the file's size in MB where that is more. A
 * 200,000-row run with Llama 3 and 2 workers peaked at 378-403 MB uncapped and at 297-301 MB
 * with the cap (192 MB), in the same time. The smallest old generation that loads each model (one thread, checked by
 * starting workers with ever larger caps): Llama 3 48 MB (128 MB where the port builds the model
 * its own way), Qwen 3 and DeepSeek-V3 48 (64), Gemma 3 128 (160): the caps, 192 MB for the
 * first three and 319 MB for Gemma 3's 32 MiB file, leave at least 1.5 times that, and 2.5 times
 * or more for the builds lora-prep uses. A cap far below what loading needs can abort the whole
 * process inside V8 rather than fail the worker, hence the margin; a worker that does fail for
 * memory while loading makes the pool start again uncapped ({@link TokenizerPool.start}).
 *
 * A row holds several copies of its text at once in a worker (the text, the rendered chat, the
 * normalised section; up to two bytes a character), so the cap is also at least
 * {@link HF_WORKER_OLD_PER_ROW_MB} (OpenAI encodings: {@link OPENAI_WORKER_OLD_PER_ROW_MB}) times
 * the longest row in MB: the caps above for the default 16 MiB lines, more where `maxLineBytes`
 * is raised. A row of 12.4 million characters (a 15.4 MiB line, every copy two bytes a
 * character) counted with Llama 3, Qwen 3 and Gemma 3 workers within them; a 26 MB row let in by
 * a 64 MiB `maxLineBytes` ran a Gemma 3 worker out of its 319 MB before the cap took the row's
 * length into account.
 */
export function workerLimits(spec: string, longestRowBytes: number): WorkerLimits {
  const rowMb = longestRowBytes / (1024 * 1024);
  if (openAiEncodingFor(spec)) {
    const old = Math.max(OPENAI_WORKER_OLD_MB, Math.ceil(OPENAI_WORKER_OLD_PER_ROW_MB * rowMb));
    return { resourceLimits: { maxOldGenerationSizeMb: old, maxYoungGenerationSizeMb: WORKER_YOUNG_MB } };
  }
  const mb = tokenizerJsonMb(spec);
  if (mb === undefined) return { resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_MB } };
  const old = Math.max(HF_WORKER_OLD_MIN_MB, Math.ceil(HF_WORKER_OLD_BASE_MB + HF_WORKER_OLD_PER_FILE_MB * mb), Math.ceil(HF_WORKER_OLD_PER_ROW_MB * rowMb));
  return { resourceLimits: { maxOldGenerationSizeMb: old, maxYoungGenerationSizeMb: WORKER_YOUNG_MB } };
}

export interface WorkerLimits {
  resourceLimits: { maxOldGenerationSizeMb?: number; maxYoungGenerationSizeMb: number };
}

/** The size in MB of the tokenizer.json `spec` names, or undefined (the worker will say what is wrong). */
function tokenizerJsonMb(spec: string): number | undefined {
  try {
    const files = findTokenizerFiles(spec);
    return files ? statSync(files.tokenizerJson).size / (1024 * 1024) : undefined;
  } catch {
    return undefined;
  }
}

const HF_WORKER_OLD_MIN_MB = 192;
const HF_WORKER_OLD_BASE_MB = 64;
const HF_WORKER_OLD_PER_FILE_MB = 8;
const HF_WORKER_OLD_PER_ROW_MB = 12;
const OPENAI_WORKER_OLD_MB = 128;
const OPENAI_WORKER_OLD_PER_ROW_MB = 8;
const WORKER_YOUNG_MB = 16;

function init(slot: Slot, spec: string, finished: Int32Array, index: number): Promise<TokenizerInfo> {
  return new Promise((resolve, reject) => {
    const onMessage = (reply: Reply) => {
      slot.worker.off('message', onMessage);
      slot.worker.off('error', onError);
      if (reply.type === 'ready') resolve(reply.info);
      else if (reply.type === 'error') reject(new LoraPrepError((reply.code as ErrorCode | undefined) ?? 'TOKENIZER_UNAVAILABLE', reply.message));
    };
    const onError = (e: Error) => {
      slot.worker.off('message', onMessage);
      reject(new LoraPrepError('INTERNAL', `tokenizer worker failed to start: ${e.message}`, { cause: e }));
    };
    slot.worker.on('message', onMessage);
    slot.worker.on('error', onError);
    slot.worker.postMessage({ type: 'init', spec, finished, index });
  });
}

/**
 * The worker's script: the built `tokenize-worker.js` beside the bundle, or, when running from
 * the TypeScript sources (tests, tsx), the `.ts` file loaded through tsx.
 */
function workerScript(): { url: URL; eval?: string } {
  const found = foundWorkerScript();
  if (found) return found;
  throw new LoraPrepError('TOKENIZER_UNAVAILABLE', `${WORKER_MISSING}, or pass concurrency: 1 to count on the main thread`);
}

/**
 * Whether the tokenizer worker's script is there to start worker threads from: a bundler that
 * took this package into an app's bundle leaves `tokenize-worker.js` behind.
 *
 * @example
 * const pool = workerScriptFound() ? await TokenizerPool.start('o200k_base', 2) : undefined;
 */
export function workerScriptFound(): boolean {
  return foundWorkerScript() !== undefined;
}

/** Said where the worker's script is missing: why, and what to do. */
export const WORKER_MISSING =
  `the tokenizer worker's script, tokenize-worker.js, is not beside ${fileURLToPath(import.meta.url)}, as when a bundler took lora-prep into an app's bundle: ` +
  "mark lora-prep external in the bundler (it then loads from node_modules), or copy node_modules/lora-prep/dist/tokenize-worker.js beside the bundle";

function foundWorkerScript(): { url: URL; eval?: string } | undefined {
  const built = new URL('./tokenize-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(built))) return { url: built };
  const source = new URL('./tokenize-worker.ts', import.meta.url);
  if (existsSync(fileURLToPath(source))) {
    // Development only: register tsx in the worker, then load the TypeScript source.
    const code = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(source.href)}); })`;
    return { url: source, eval: code };
  }
  return undefined;
}
