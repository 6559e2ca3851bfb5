/**
 * Near-duplicate clustering over a whole input. While rows stream through, each kept row's MinHash
 * signature goes into a compact table and its comparison text into a spill file; at the end, rows
 * sharing an LSH band key become candidates, a candidate whose signatures agree too little to reach
 * the threshold is dropped (the estimate's error is small: see below), each remaining pair is
 * verified by its exact Jaccard similarity (texts read back from the spill), and verified pairs are
 * joined into clusters by union-find.
 * Memory per row: `bands × 4` bytes of band keys plus `permutations` bytes of sketch (180 by
 * default) and 12 bytes of spill offset; never the texts.
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { GrowableUint32 } from '../_growable.js';
import { bandKeys, DEFAULT_MINHASH, jaccard, shingles, type MinHashParams } from './minhash.js';

/** A verified near-duplicate pair (row indices, `a < b`). */
export interface NearPair {
  a: number;
  b: number;
  similarity: number;
}

// A band key shared by very many rows is boilerplate, not similarity; comparing every pair in
// such a bucket would be quadratic. Each row is compared with the most recent rows of a bucket
// only (the verified pairs still join whole clusters through union-find).
const MAX_BUCKET_COMPARISONS = 16;
// A candidate goes on to exact verification when its signatures agree on at least
// threshold − ESTIMATE_MARGIN of the permutations. With 100 permutations the estimate's standard
// error at J = 0.8 is 0.04, so a margin of 0.15 (3.75 errors) loses fewer than 1 in 10,000 true
// pairs, while it spares the spill reads for the many pairs that only share boilerplate. The
// estimate compares 8 bits of each minimum, so unequal minima agree by chance 1 time in 256: it
// reads at most (1 − J) / 256 high, which only lets more candidates through to exact verification.
const ESTIMATE_MARGIN = 0.15;
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
  // Per row, in blocks of BLOCK_ROWS rows (no doubling copy, no slack): the LSH band keys, and the
  // low 8 bits of each permutation's minimum for the agreement prefilter. 180 bytes a row with the
  // defaults, against 400 for the whole signature.
  readonly #bandKeys: Uint32Array[] = [];
  readonly #sketches: Uint8Array[] = [];
  #buffer: Buffer[] = [];
  #buffered = 0;
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

  /** Adds a row: its normalised comparison text and its MinHash signature. Returns its row index. */
  add(text: string, signature: Uint32Array): number {
    const buf = Buffer.from(text, 'utf8');
    this.#offsets.push(this.#position % 0x100000000);
    this.#offsets.push(Math.floor(this.#position / 0x100000000));
    this.#lengths.push(buf.length);
    this.#position += buf.length;
    // Texts are written in batches (one system call per row would cost more than the MinHash);
    // #position already counts this text, so a flush writes the batch where its rows' offsets say.
    this.#buffer.push(buf);
    this.#buffered += buf.length;
    if (this.#buffered >= SPILL_BATCH_BYTES) this.#flush();
    const { permutations, bands } = this.params;
    const at = this.#rows % BLOCK_ROWS;
    if (at === 0) {
      this.#bandKeys.push(new Uint32Array(BLOCK_ROWS * bands));
      this.#sketches.push(new Uint8Array(BLOCK_ROWS * permutations));
    }
    bandKeys(signature.subarray(0, permutations), bands, this.#bandKeys.at(-1) as Uint32Array, at * bands);
    const sketch = this.#sketches.at(-1) as Uint8Array;
    for (let p = 0; p < permutations; p++) sketch[at * permutations + p] = (signature[p] as number) & 0xff;
    return this.#rows++;
  }

  #flush(): void {
    if (this.#buffered === 0) return;
    const all = Buffer.concat(this.#buffer, this.#buffered);
    writeSync(this.#fd, all, 0, all.length, this.#position - this.#buffered);
    this.#buffer = [];
    this.#buffered = 0;
  }

  /** The comparison text of a row, read back from the spill. */
  text(row: number): string {
    this.#flush();
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
    this.#flush();
    const { bands, permutations } = this.params;
    const keyBlocks = this.#bandKeys;
    const sketchBlocks = this.#sketches;
    const sketchOf = (row: number): Uint8Array => sketchBlocks[Math.floor(row / BLOCK_ROWS)] as Uint8Array;
    const at = (row: number): number => (row % BLOCK_ROWS) * permutations;
    const n = this.#rows;
    // The least number of agreeing permutations worth an exact check; pairs below it are dropped.
    const minAgree = Math.max(0, Math.ceil((threshold - ESTIMATE_MARGIN) * permutations));
    const firsts = new GrowableUint32();
    const seconds = new GrowableUint32();
    const keyOf = new Uint32Array(n);
    for (let band = 0; band < bands; band++) {
      for (let row = 0; row < n; row++) keyOf[row] = (keyBlocks[Math.floor(row / BLOCK_ROWS)] as Uint32Array)[(row % BLOCK_ROWS) * bands + band] as number;
      // One band at a time: a bucket map the size of the input, dropped before the next band.
      const buckets = new Map<number, number[]>();
      for (let row = 0; row < n; row++) {
        const k = keyOf[row] as number;
        const bucket = buckets.get(k);
        if (!bucket) {
          buckets.set(k, [row]);
          continue;
        }
        const from = Math.max(0, bucket.length - MAX_BUCKET_COMPARISONS);
        for (let i = from; i < bucket.length; i++) {
          const a = bucket[i] as number;
          if (keep && !keep(a, row)) continue;
          if (agreement(sketchOf(a), at(a), sketchOf(row), at(row), permutations, minAgree) < minAgree) continue;
          firsts.push(a);
          seconds.push(row);
        }
        bucket.push(row);
        if (bucket.length > 2 * MAX_BUCKET_COMPARISONS) bucket.splice(0, MAX_BUCKET_COMPARISONS);
      }
    }
    // A pair found in several bands is verified once.
    const count = firsts.length;
    const order = new Float64Array(count);
    const fa = firsts.view();
    const fb = seconds.view();
    for (let i = 0; i < count; i++) order[i] = (fa[i] as number) * n + (fb[i] as number);
    order.sort();
    const candidates: Array<[number, number]> = [];
    for (let i = 0; i < count; i++) {
      if (i > 0 && order[i] === order[i - 1]) continue;
      const id = order[i] as number;
      candidates.push([Math.floor(id / n), id % n]);
    }
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
 * How many permutations two signatures agree on, stopping early once `needed` is out of reach.
 */
function agreement(sigsA: Uint8Array, sa: number, sigsB: Uint8Array, sb: number, permutations: number, needed: number): number {
  let agree = 0;
  for (let p = 0; p < permutations; p++) {
    if (sigsA[sa + p] === sigsB[sb + p]) agree++;
    else if (permutations - p - 1 + agree < needed) return agree;
  }
  return agree;
}

// Rows per block of band keys and sketches: 4096 × 180 bytes = 720 KB with the defaults.
const BLOCK_ROWS = 4096;

// Spill texts are written in batches of this size.
const SPILL_BATCH_BYTES = 1 << 20;

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
