/**
 * A tokenizer worker thread: loads the tokenizer once, then measures batches of examples against
 * the budget. Built as its own file (dist/tokenize-worker.js) and started by the pool.
 */
import { measureMemory } from 'node:vm';
import { parentPort } from 'node:worker_threads';
import type { Budget } from '../check/budget.js';
import { recordBuilder } from '../formats/index.js';
import { measureExample, recordText, type KeySpec, type MeasureItem, type RecordSpec } from '../check/measure.js';
import { findShared, type SharedFirstRows } from '../dedup/index.js';
import type { MinHashParams } from '../dedup/minhash.js';
import { loadTokenizer } from './index.js';
import type { Tokenizer } from './types.js';

/** Messages the pool sends. */
export type WorkerRequest =
  | {
      type: 'init';
      spec: string;
      /** Batches finished per worker, in shared memory: this worker adds 1 to `finished[index]` as it finishes each. */
      finished: Int32Array;
      index: number;
    }
  | {
      type: 'batch';
      id: number;
      items: MeasureItem[];
      budget: Budget;
      near?: MinHashParams | undefined;
      record?: RecordSpec | undefined;
      keys?: WorkerKeys | undefined;
    };

/** Dedup keys as a worker is asked for them: the key, and the main thread's table of kept rows. */
export interface WorkerKeys {
  key: 'conversation' | 'prompt';
  seen?: SharedFirstRows | undefined;
}

/**
 * The record lines of a batch, in one buffer handed over without a copy: line `i` ends at
 * `ends[i]` and starts where the previous line ended; -1 where example `i` has no line.
 */
export interface BatchLines {
  bytes: Uint8Array;
  ends: Int32Array;
}

let tokenizer: Tokenizer | undefined;
let finished: { counts: Int32Array; index: number } | undefined;

parentPort?.on('message', (msg: WorkerRequest) => {
  void handle(msg);
});

/**
 * One full collection, once the tokenizer is loaded. Loading leaves the parsed tokenizer.json
 * behind as garbage, and V8 sizes how far the heap may grow before its next full collection from
 * the heap it finds: collecting it now, while the live heap is only the tokenizer, keeps the
 * worker smaller for the whole run. 20,000 bench rows with 2 workers: Qwen 3 309-311 MB peak
 * against 249-250 MB; 200,000 rows with Gemma 3 473 against 401 MB; Llama 3 and o200k_base the
 * same; 25-35 ms a worker. Node has no other way to ask for one without `--expose-gc`:
 * `vm.measureMemory` with `execution: 'eager'` collects before measuring. It is experimental in
 * Node 20 and says so once per thread with a warning this worker does not print; where it is
 * missing or refuses, nothing is collected.
 */
async function collectGarbage(): Promise<void> {
  const emitWarning = process.emitWarning;
  let measured: Promise<unknown> | undefined;
  try {
    process.emitWarning = () => undefined;
    measured = measureMemory({ mode: 'summary', execution: 'eager' });
  } catch {
    // Not there, or not here: the run goes on with the garbage.
  } finally {
    process.emitWarning = emitWarning;
  }
  await measured?.catch(() => undefined);
}

async function handle(msg: WorkerRequest): Promise<void> {
  const port = parentPort;
  if (!port) return;
  let counted = false;
  try {
    if (msg.type === 'init') {
      tokenizer = await loadTokenizer(msg.spec);
      await collectGarbage();
      finished = { counts: msg.finished, index: msg.index };
      port.postMessage({ type: 'ready', info: { name: tokenizer.name, source: tokenizer.source, chatTemplate: tokenizer.chatTemplate, warnings: tokenizer.warnings, specialTokens: tokenizer.specialTokens } });
      return;
    }
    if (!tokenizer) throw new Error('batch before init');
    const t = tokenizer;
    const near = msg.near;
    // With near-dedup, the batch's signatures share one table, handed over without a copy: one
    // allocation a batch instead of one a row, on both threads.
    const k = near?.permutations ?? 0;
    const table = near ? new Uint32Array(msg.items.length * k) : undefined;
    const seen = msg.keys?.seen;
    const keys: KeySpec | undefined = msg.keys && { key: msg.keys.key, seen: seen && ((hi, lo) => findShared(seen, hi, lo)) };
    const options = { budget: msg.budget, near, keys };
    const results = msg.items.map((item, i) => measureExample(t, item, options, table?.subarray(i * k, (i + 1) * k)));
    const transfer: ArrayBuffer[] = table ? [table.buffer] : [];
    let lines: BatchLines | undefined;
    if (msg.record) {
      // Serialising here takes that work off the main thread, which every row passes through.
      const toRecord = recordBuilder(msg.record.target, msg.record.format);
      const texts: Array<string | undefined> = [];
      let total = 0;
      for (const [i, m] of results.entries()) {
        if (!m.ok) continue;
        const r = recordText(toRecord, msg.items[i] as MeasureItem, m);
        if (!r.ok) {
          m.record = r;
          continue;
        }
        texts[i] = r.text;
        // Room for the worst case (3 bytes a UTF-16 unit) instead of measuring each text first.
        total += r.text.length * 3 + 1;
      }
      const buf = Buffer.from(new ArrayBuffer(total));
      const ends = new Int32Array(results.length).fill(-1);
      let pos = 0;
      for (const [i, text] of texts.entries()) {
        if (text === undefined) continue;
        pos += buf.write(text, pos, 'utf8');
        buf[pos++] = 0x0a;
        ends[i] = pos;
      }
      lines = { bytes: new Uint8Array(buf.buffer, 0, pos), ends };
      transfer.push(buf.buffer, ends.buffer);
    }
    countFinished(msg);
    counted = true;
    port.postMessage({ type: 'result', id: msg.id, results, lines }, transfer);
  } catch (e) {
    const err = e as Error & { code?: string };
    if (!counted) countFinished(msg);
    port.postMessage({ type: 'error', id: msg.type === 'batch' ? msg.id : -1, message: err.message, code: err.code });
  }
}

/** Counts a finished batch where the pool can read it at once, before the reply is sent. */
function countFinished(msg: WorkerRequest): void {
  if (msg.type === 'batch' && finished) Atomics.add(finished.counts, finished.index, 1);
}
