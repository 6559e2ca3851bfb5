/**
 * A tokenizer worker thread: loads the tokenizer once, then measures batches of examples against
 * the budget. Built as its own file (dist/tokenize-worker.js) and started by the pool.
 */
import { parentPort } from 'node:worker_threads';
import type { Budget } from '../check/budget.js';
import { measureExample, type MeasureItem } from '../check/measure.js';
import type { MinHashParams } from '../dedup/minhash.js';
import { loadTokenizer } from './index.js';
import type { Tokenizer } from './types.js';

/** Messages the pool sends. */
export type WorkerRequest =
  | { type: 'init'; spec: string }
  | { type: 'batch'; id: number; items: MeasureItem[]; budget: Budget; near?: MinHashParams | undefined };

let tokenizer: Tokenizer | undefined;

parentPort?.on('message', (msg: WorkerRequest) => {
  void handle(msg);
});

async function handle(msg: WorkerRequest): Promise<void> {
  const port = parentPort;
  if (!port) return;
  try {
    if (msg.type === 'init') {
      tokenizer = await loadTokenizer(msg.spec);
      port.postMessage({ type: 'ready', info: { name: tokenizer.name, source: tokenizer.source, chatTemplate: tokenizer.chatTemplate } });
      return;
    }
    if (!tokenizer) throw new Error('batch before init');
    const t = tokenizer;
    const near = msg.near;
    // With near-dedup, the batch's signatures share one table, handed over without a copy: one
    // allocation a batch instead of one a row, on both threads.
    const k = near?.permutations ?? 0;
    const table = near ? new Uint32Array(msg.items.length * k) : undefined;
    const results = msg.items.map((item, i) => measureExample(t, item, msg.budget, near, table?.subarray(i * k, (i + 1) * k)));
    port.postMessage({ type: 'result', id: msg.id, results }, table ? [table.buffer] : []);
  } catch (e) {
    const err = e as Error & { code?: string };
    port.postMessage({ type: 'error', id: msg.type === 'batch' ? msg.id : -1, message: err.message, code: err.code });
  }
}
