/**
 * Near-duplicate clustering over a whole input. While rows stream through, each kept row's band
 * keys go into a compact table and its comparison text into a spill file; at the end, rows sharing
 * a band key become candidate pairs, each pair is verified by its exact Jaccard similarity (texts
 * read back from the spill), and verified pairs are joined into clusters by union-find.
 * Memory: `bands × 4` bytes plus 12 bytes of spill offset per row; never the texts.
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { GrowableUint32 } from '../_growable.js';
import { DEFAULT_MINHASH, jaccard, shingles, type MinHashParams } from './minhash.js';

/** A verified near-duplicate pair (row indices, `a < b`). */
export interface NearPair {
  a: number;
  b: number;
  similarity: number;
}

// A band key shared by very many rows is boilerplate, not similarity; comparing every pair in
// such a bucket would be quadratic. Each row is compared with at most this many earlier rows of a
// bucket (the verified pairs still join whole clusters through union-find).
const MAX_BUCKET_COMPARISONS = 32;
// Shingle sets of recently verified rows, kept to avoid re-reading the spill.
const SHINGLE_CACHE_ROWS = 4096;

/**
 * Collects band keys and comparison texts of kept rows, then finds verified near-duplicate pairs.
 *
 * @example
 * const index = new NearIndex(spillPath); index.add(nearText(messages), keys); ... const pairs = index.verifiedPairs(0.8);
 */
export class NearIndex {
  readonly params: MinHashParams;
  readonly #keys = new GrowableUint32();
  readonly #offsets = new GrowableUint32(); // two entries per row: start (low, high)
  readonly #lengths = new GrowableUint32();
  readonly #path: string;
  #fd: number;
  #position = 0;
  #rows = 0;

  constructor(spillPath: string, params: MinHashParams = DEFAULT_MINHASH) {
    this.params = params;
    this.#path = spillPath;
    this.#fd = openSync(spillPath, 'w+');
  }

  /** Rows added so far. */
  get size(): number {
    return this.#rows;
  }

  /** Adds a row: its normalised comparison text and its band keys. Returns its row index. */
  add(text: string, keys: Uint32Array): number {
    const buf = Buffer.from(text, 'utf8');
    writeSync(this.#fd, buf, 0, buf.length, this.#position);
    this.#offsets.push(this.#position % 0x100000000);
    this.#offsets.push(Math.floor(this.#position / 0x100000000));
    this.#lengths.push(buf.length);
    this.#position += buf.length;
    for (const k of keys) this.#keys.push(k);
    return this.#rows++;
  }

  /** The comparison text of a row, read back from the spill. */
  text(row: number): string {
    const offsets = this.#offsets.view();
    const start = (offsets[2 * row] as number) + (offsets[2 * row + 1] as number) * 0x100000000;
    const length = this.#lengths.view()[row] as number;
    const buf = Buffer.allocUnsafe(length);
    readSync(this.#fd, buf, 0, length, start);
    return buf.toString('utf8');
  }

  /**
   * Every pair of rows sharing a band key whose exact Jaccard similarity is at least `threshold`,
   * ordered by `a` then `b`. `keep(a, b)` may exclude pairs (e.g. rows of the same file).
   */
  verifiedPairs(threshold: number, keep?: (a: number, b: number) => boolean): NearPair[] {
    const { bands } = this.params;
    const keys = this.#keys.view();
    const n = this.#rows;
    const seen = new Set<number>();
    const candidates: Array<[number, number]> = [];
    for (let band = 0; band < bands; band++) {
      // One band at a time: a bucket map the size of the input, dropped before the next band.
      const buckets = new Map<number, number[]>();
      for (let row = 0; row < n; row++) {
        const key = keys[row * bands + band] as number;
        const bucket = buckets.get(key);
        if (!bucket) {
          buckets.set(key, [row]);
          continue;
        }
        const from = Math.max(0, bucket.length - MAX_BUCKET_COMPARISONS);
        for (let i = from; i < bucket.length; i++) {
          const a = bucket[i] as number;
          const id = a * n + row;
          if (seen.has(id) || (keep && !keep(a, row))) continue;
          seen.add(id);
          candidates.push([a, row]);
        }
        bucket.push(row);
      }
    }
    candidates.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
    const cache = new Map<number, Uint32Array>();
    const setOf = (row: number): Uint32Array => {
      let s = cache.get(row);
      if (!s) {
        s = shingles(this.text(row), this.params.shingle);
        if (cache.size >= SHINGLE_CACHE_ROWS) cache.delete(cache.keys().next().value as number);
        cache.set(row, s);
      }
      return s;
    };
    const pairs: NearPair[] = [];
    for (const [a, b] of candidates) {
      const similarity = jaccard(setOf(a), setOf(b));
      if (similarity >= threshold) pairs.push({ a, b, similarity });
    }
    return pairs;
  }

  /** Exact similarity of two rows. */
  similarity(a: number, b: number): number {
    return jaccard(shingles(this.text(a), this.params.shingle), shingles(this.text(b), this.params.shingle));
  }

  /** Closes the spill (the caller removes the file with its temporary folder). */
  close(): void {
    if (this.#fd >= 0) closeSync(this.#fd);
    this.#fd = -1;
  }

  get path(): string {
    return this.#path;
  }
}

/**
 * Union-find over row indices, with path halving and union by size.
 *
 * @example
 * const uf = new UnionFind(3); uf.union(0, 2); uf.find(2) === uf.find(0) // true
 */
export class UnionFind {
  readonly parent: Int32Array;
  readonly #size: Int32Array;

  constructor(n: number) {
    this.parent = new Int32Array(n);
    this.#size = new Int32Array(n).fill(1);
    for (let i = 0; i < n; i++) this.parent[i] = i;
  }

  find(x: number): number {
    const p = this.parent;
    let r = x;
    while (p[r] !== r) {
      p[r] = p[p[r] as number] as number;
      r = p[r] as number;
    }
    return r;
  }

  union(a: number, b: number): void {
    let ra = this.find(a);
    let rb = this.find(b);
    if (ra === rb) return;
    if ((this.#size[ra] as number) < (this.#size[rb] as number)) [ra, rb] = [rb, ra];
    this.parent[rb] = ra;
    this.#size[ra] = (this.#size[ra] as number) + (this.#size[rb] as number);
  }

  sizeOf(x: number): number {
    return this.#size[this.find(x)] as number;
  }
}
