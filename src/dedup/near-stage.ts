/**
 * Near dedup as a stage of its own, for pipelines composed by hand: the same comparison, clusters
 * and choice of the row kept as `prepareDataset`'s `dedup.near` with `action: 'remove'`.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { LoraPrepError, throwIfAborted } from '../errors.js';
import { GrowableUint32 } from '../_growable.js';
import { pacer } from '../_pace.js';
import { Interner } from '../_kept.js';
import type { Example, SourceLocation, StageContext } from '../types.js';
import { JsonlWriter } from '../write/jsonl.js';
import { DEFAULT_MINHASH, nearText, textSignature, type MinHashParams } from './minhash.js';
import { nearClusters, NearIndex, nearRejection, nearRemovals } from './near.js';

/** Options of {@link dedupeNear}. */
export interface DedupeNearOptions {
  /** Jaccard similarity of word bigrams at which two examples are near-duplicates: 0.5–1, default 0.8. */
  threshold?: number | undefined;
  /**
   * The example a cluster keeps: `'first'` (the default), the earliest; `'longest'`, the one
   * with the most characters of message content (`prepareDataset` counts tokens instead; this
   * stage has no tokenizer).
   */
  keep?: 'first' | 'longest' | undefined;
  /** MinHash permutations, bands and shingle size; default {@link DEFAULT_MINHASH}, as `prepareDataset` uses. */
  params?: MinHashParams | undefined;
  /** Folder for the spill (the examples and their comparison texts), removed at the end; default the OS's. */
  tmpDir?: string | undefined;
}

/**
 * Stage form of near dedup: yields, in input order, every example that is not a near-duplicate
 * of an example kept, and rejects the others as `near_duplicate` with the example kept
 * (`duplicateOf`) and their exact similarity. Near-duplicates are judged over the whole input,
 * so nothing is yielded until the input ends: meanwhile the examples wait in a JSONL spill on
 * disk (their `meta` must be JSON values, as the loaders make it). Memory holds about 20 bytes
 * a row (24 with `keep: 'longest'`), 196 more while the pairs are verified, then 4 more a row and
 * one entry per cluster while the examples are yielded. See docs/dedup.md for what is compared.
 *
 * @example
 * for await (const ex of dedupeNear(dedupe(examples, ctx), ctx, { threshold: 0.85 })) write(ex);
 */
export async function* dedupeNear(examples: AsyncIterable<Example>, ctx: StageContext, options: DedupeNearOptions = {}): AsyncIterable<Example> {
  const threshold = options.threshold ?? 0.8;
  if (!(threshold >= 0.5 && threshold <= 1)) {
    throw new LoraPrepError('OPTION_INVALID', `dedupeNear: threshold must be between 0.5 and 1, got ${threshold}. 0.8 catches copies with about 4% of their words edited.`);
  }
  const params = options.params ?? DEFAULT_MINHASH;
  const dir = await mkdtemp(join(options.tmpDir ?? tmpdir(), 'lora-prep-near-'));
  let index: NearIndex | undefined;
  try {
    index = new NearIndex(join(dir, 'near-texts'), params);
    const spill = new JsonlWriter(join(dir, 'examples.jsonl'), { hash: false });
    const lengths = new GrowableUint32();
    // Each row's source, 8 bytes a row: a rejection names the row kept, which may come later.
    const files = new Interner();
    const fileOf = new GrowableUint32();
    const lineOf = new GrowableUint32();
    try {
      for await (const example of examples) {
        throwIfAborted(ctx.signal, NEAR_ABORTED);
        const text = nearText(example.messages, undefined, example.nearUser);
        index.add(text, textSignature(text, params));
        fileOf.push(files.id(example.meta.source.file));
        lineOf.push(example.meta.source.line);
        if (options.keep === 'longest') lengths.push(contentLength(example));
        await spill.writeLine(JSON.stringify(example));
      }
      await spill.close();
    } catch (e) {
      spill.destroy();
      throw e;
    }

    // Each row's fate, 4 bytes a row, and each cluster's size; a rejection is made when its turn comes.
    const { keptFor, clusterSize } = nearRemovals(nearClusters(await index.verifiedPairs(threshold, undefined, { linked: true, pace: pacer(ctx.signal, NEAR_ABORTED) }), index.size), index.size, options.keep ?? 'first', lengths.view());
    const source = (row: number): SourceLocation => ({ file: files.names[fileOf.view()[row] as number] as string, line: lineOf.view()[row] as number });

    for await (const [row, line] of spillLines(join(dir, 'examples.jsonl'))) {
      throwIfAborted(ctx.signal, NEAR_ABORTED);
      const example = JSON.parse(line) as Example;
      const rep = keptFor[row] as number;
      if (rep < 0) {
        yield example;
        continue;
      }
      ctx.reject(nearRejection(example.meta.source, source(rep), index.similarity(row, rep), threshold, clusterSize.get(rep) as number));
    }
  } finally {
    index?.close();
    await rm(dir, { recursive: true, force: true });
  }
}

// --- internal ---

const NEAR_ABORTED = 'near dedup stopped because the run was aborted.';

/** The spilled examples' lines, numbered in input order. */
async function* spillLines(path: string): AsyncIterable<[number, string]> {
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  let row = 0;
  try {
    for await (const line of lines) yield [row++, line];
  } finally {
    lines.close();
  }
}

function contentLength(example: Example): number {
  let n = 0;
  for (const m of example.messages) n += m.content.length;
  return n;
}
