/**
 * Checking stage: counts every example with the model's tokenizer and applies the budget
 * (`maxTokens`, `minTokens`, `overlong`). Inline for small inputs; for large ones, batches go to a
 * pool of worker threads and results come back in input order, with a bounded number of batches in
 * flight so memory stays flat.
 */
import type { MinHashParams } from '../dedup/minhash.js';
import type { TokenizerPool } from '../tokenizers/pool.js';
import type { Tokenizer } from '../tokenizers/types.js';
import type { Example, StageContext } from '../types.js';
import type { Budget, Truncation } from './budget.js';
import type { ExampleKeys, FirstRows } from '../dedup/index.js';
import { throwIfAborted } from '../errors.js';
import { recordBuilder } from '../formats/index.js';
import { isDuplicate, keysAfter, keysBefore, measureExample, recordText, withReadKey, type KeySpec, type MeasuredExample, type MeasureItem, type RecordLine, type RecordSpec } from './measure.js';

export { applyBudget } from './budget.js';
export type { Budget, Measured, Truncation } from './budget.js';
export { measureExample } from './measure.js';
export type { MeasuredExample, RecordLine, RecordSpec } from './measure.js';

/** An example that passed the budget, with its counts (and messages possibly truncated). */
export interface CountedExample {
  /** The example, truncated when `overlong: 'truncate'` cut it. */
  example: Example;
  /** Tokens of the whole example as the trainer sees it. */
  tokens: number;
  /** Tokens before the final answer. */
  prompt: number;
  /** How it was shortened, when it was. */
  truncated?: Truncation | undefined;
  /** Over `maxTokens` but written anyway (`overlong: 'keep'`). */
  overBudget?: boolean | undefined;
  /** MinHash signature, when near-dedup is on. */
  signature?: Uint32Array | undefined;
  /** The example's record as its JSONL line, or why the target refuses it: when `record` was asked for. */
  record?: RecordLine | undefined;
  /** Its hashes, when `keys` was asked for (of the messages as written, when truncated). */
  keys?: ExampleKeys | undefined;
  /** The near-dedup text its signature was computed from, when `keys` and `near` were both asked for. */
  nearText?: string | undefined;
  /**
   * The exact-dedup key of the example as read, when it was truncated (`keys` holds those of the
   * messages as written): the caller looks it up too, and keeps it for the row.
   */
  readKey?: { hi: number; lo: number } | undefined;
  /**
   * The row of `keys.seen` that this example copies: it was not tokenized (`tokens` is 0) and
   * the caller rejects it as a duplicate.
   */
  duplicateOf?: number | undefined;
}

/** Options of {@link countTokens}. */
export interface CountOptions {
  /** The tokenizer of the model being trained. */
  tokenizer: Tokenizer;
  /** Token limits and the `overlong` policy. */
  budget: Budget;
  /** Worker threads to count in; without one, counting runs inline. */
  pool?: TokenizerPool | undefined;
  /** MinHash parameters: computes signatures for near-dedup alongside the counts. */
  near?: MinHashParams | undefined;
  /**
   * Also builds each passing example's record for this target and format, serialised as its
   * JSONL line (with a pool, on the side that has time for it: see `balance`).
   */
  record?: RecordSpec | undefined;
  /**
   * Dedup keys, computed beside the count (with a pool, on the side that has time for them: see
   * `balance`). With `seen`, the caller's table of kept rows, a copy of a kept row is not
   * tokenized but yielded with `duplicateOf`; made with `shared: true`, the workers can read it
   * too (else only the main thread skips copies). A key function always runs on the main thread.
   */
  keys?:
    | {
        /** What exact dedup compares: `'conversation'`, `'prompt'`, or a function of the example. */
        key: KeySpec['key'];
        /** The caller's table of kept rows. */
        seen?: FirstRows | undefined;
      }
    | undefined;
  /**
   * With a pool, where `keys` and `record` are computed: `'auto'` (the default) on the main thread
   * while every worker is busy and in the workers once one waits; `'workers'` or `'main'` always
   * there. The results are the same.
   */
  balance?: 'auto' | 'workers' | 'main' | undefined;
}

// A batch is cut at this many examples or characters, whichever comes first: large enough that
// messaging costs little next to tokenizing, small enough to keep every worker busy. Rows wait in
// the main thread while their batch is away; with 256-example batches they lived long enough to
// be promoted to V8's old generation, and peak RSS at 200,000 rows was 30-50 MB higher.
const BATCH_EXAMPLES = 64;
const BATCH_CHARS = 512 * 1024;
// Batches in flight per worker: one being tokenized, one queued behind it.
const IN_FLIGHT_PER_WORKER = 2;

/**
 * Yields the examples that fit the budget with their token counts; the others go to
 * `ctx.reject` (`overlong`, `prompt_overflow`, `too_short`, `template_error`). With `keys.seen`, a
 * copy of a row already kept is yielded uncounted, with `duplicateOf`, for the caller to reject.
 *
 * @example
 * for await (const c of countTokens(examples, { tokenizer, budget: { maxTokens: 4096, overlong: 'drop' } }, ctx)) ...
 */
export async function* countTokens(examples: AsyncIterable<Example>, options: CountOptions, ctx: StageContext): AsyncIterable<CountedExample> {
  const { pool, tokenizer, budget, near, record, keys } = options;
  const seen = keys?.seen;
  const toRecord = record ? recordBuilder(record.target, record.format) : undefined;
  const keySpec: KeySpec | undefined = keys && { key: keys.key, seen: seen && ((hi: number, lo: number) => seen.find(hi, lo)) };
  if (!pool) {
    for await (const example of examples) {
      const m = measureExample(tokenizer, example, { budget, near, keys: keySpec });
      if (toRecord && m.ok) m.record = recordText(toRecord, example, m);
      // Inline, measureExample has looked the key up already, with the table as complete as here.
      const counted = settle(example, m, ctx, undefined);
      if (counted) yield counted;
    }
    return;
  }
  const workerKey = keys && typeof keys.key !== 'function' ? keys.key : undefined;
  // A key function cannot go to a worker: then the keys, and the records with them, stay here.
  const balance = keys && !workerKey ? 'main' : keys || record ? (options.balance ?? 'auto') : 'workers';
  const queue: InFlight[] = [];
  const maxInFlight = pool.size * IN_FLIGHT_PER_WORKER;
  const iterator = examples[Symbol.asyncIterator]();
  let done = false;
  try {
    while (!done || queue.length > 0) {
      while (!done && queue.length < maxInFlight) {
        const batch: Example[] = [];
        let chars = 0;
        while (batch.length < BATCH_EXAMPLES && chars < BATCH_CHARS) {
          const next = await iterator.next();
          if (next.done) {
            done = true;
            break;
          }
          batch.push(next.value);
          for (const m of next.value.messages) chars += m.content.length;
        }
        if (batch.length === 0) continue;
        // Keys and records are work every row needs on one thread or another. While every worker
        // is busy, the main thread has time for them; once one waits, the main thread is the
        // bottleneck and they go with the batch (on many cores the main thread would otherwise
        // cap the run, whatever the number of workers). The pool counts what the workers have
        // finished from their own counts: a busy main thread reads their replies late.
        const here = balance === 'main' || (balance === 'auto' && pool.working >= pool.size);
        const flight: InFlight = { batch, results: Promise.resolve([]) };
        if (here) {
          const before = keySpec ? batch.map((e) => keysBefore(e, keySpec)) : undefined;
          const sent = before ? batch.filter((_, i) => !isDuplicate(before[i])) : batch;
          const counted = sent.length > 0 ? pool.run(sent.map(itemOf), { budget, near }) : Promise.resolve([]);
          flight.results = counted.then((results) => {
            let r = 0;
            return batch.map((example, i) => {
              const b = before?.[i];
              if (isDuplicate(b)) return b;
              const m = results[r++] as MeasuredExample;
              if (!m.ok) return withReadKey(m, b);
              if (keySpec && b) keysAfter(example, m, keySpec, b, near !== undefined);
              if (toRecord) m.record = recordText(toRecord, example, m);
              return m;
            });
          });
        } else {
          // The table as it is now (a new one after each growth).
          flight.results = pool.run(batch.map(itemOf), { budget, near, record, keys: workerKey && { key: workerKey, seen: seen?.tables } });
        }
        flight.results.catch(() => undefined); // awaited below, in order; no unhandled rejection meanwhile
        queue.push(flight);
      }
      const head = queue.shift();
      if (!head) continue;
      const results = await unlessAborted(head.results, ctx.signal);
      for (const [i, example] of head.batch.entries()) {
        const counted = settle(example, results[i] as MeasuredExample, ctx, seen);
        if (counted) yield counted;
      }
    }
  } finally {
    if (!done) await iterator.return?.();
  }
}

// --- internal ---

/**
 * `promise`, or the abort as soon as `signal` fires: a worker can spend many seconds on one row
 * (a run of megabytes without a space), and the caller stops the workers once this throws.
 */
function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  throwIfAborted(signal, COUNT_ABORTED);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      try {
        throwIfAborted(signal, COUNT_ABORTED);
      } catch (e) {
        reject(e);
      }
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
const COUNT_ABORTED = 'counting tokens stopped because the run was aborted';

/** A batch with the workers. */
interface InFlight {
  batch: Example[];
  results: Promise<MeasuredExample[]>;
}

/** What a worker is sent of an example. */
function itemOf(e: Example): MeasureItem {
  return { messages: e.messages, tools: e.tools, nearUser: e.nearUser, alpacaInput: e.alpacaInput };
}

/**
 * What a measurement gives the caller, in input order. A budget rejection of a copy of a row kept
 * while this one was counted (a worker had both at once) is a duplicate, as it is inline, where
 * the copy is found before counting: the caller's table is complete up to this row when it settles.
 */
function settle(example: Example, m: MeasuredExample, ctx: StageContext, seen: FirstRows | undefined): CountedExample | undefined {
  if (isDuplicate(m)) return { example, tokens: 0, prompt: 0, duplicateOf: m.duplicateOf };
  if (!m.ok && m.readKey && seen) {
    const first = seen.find(m.readKey.hi, m.readKey.lo);
    if (first >= 0) return { example, tokens: 0, prompt: 0, duplicateOf: first };
  }
  if (!m.ok) {
    ctx.reject({ source: example.meta.source, reason: m.reason, message: m.message });
    return undefined;
  }
  if (m.truncated && m.messages) example.messages = m.messages;
  return {
    example,
    tokens: m.tokens,
    prompt: m.prompt,
    truncated: m.truncated,
    overBudget: m.overBudget,
    signature: m.signature,
    record: m.record,
    keys: m.keys,
    nearText: m.nearText,
    readKey: m.readKey,
  };
}
