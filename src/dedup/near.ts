/**
 * Near-duplicate clustering over a whole input. While rows stream through, each kept row's LSH band
 * keys and signature sketch go to one spill file and its comparison text to another; at the end, rows
 * sharing an LSH band key become candidates, a candidate whose signatures agree too little to reach
 * the threshold is dropped (the estimate's error is small: see below), each remaining pair is
 * verified by its exact Jaccard similarity (texts read back from the spill), and verified pairs are
 * joined into clusters by union-find.
 * Memory per row while rows stream in: 12 bytes (the text's spill offset and length). The band keys
 * (`bands × 4` bytes) and the sketch (`permutations` bytes; 180 bytes a row with the defaults) go to
 * a second spill in blocks of 4,096 rows, and come back only for `verifiedPairs()`, when the
 * tokenizer workers have finished: then the sketch (100 bytes a row), 8 for the clusters, 4 to
 * find cached shingle sets (8 MB of them at most) and 16 while a band's keys are sorted; going
 * row by row (see `visitVerifiedPairs`), also the rows before each row under each band key, 30 to
 * 85 bytes a row, a candidate mark (4) and a few MB of candidates, however many rows.
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { GrowableUint32, GrowableUint8 } from '../_growable.js';
import type { Pace } from '../_pace.js';
import { LoraPrepError } from '../errors.js';
import type { Rejection, SourceLocation } from '../types.js';
import { answerCalls, bandKeys, DEFAULT_MINHASH, finalAnswer, jaccard, jaccardAtLeast, shingles, type MinHashParams } from './minhash.js';

/** A verified near-duplicate pair (row indices, `a < b`). */
export interface NearPair {
  a: number;
  b: number;
  similarity: number;
}

/** How {@link NearIndex.verifiedPairs} works. */
export interface VerifyOptions {
  /** Only the pairs that join rows into clusters (see {@link NearIndex.verifiedPairs}). */
  linked?: boolean;
  /**
   * Linked only: `true` goes band by band to the end, `false` row by row from the start; unset,
   * band by band until the exact checks pass two a row, then row by row. The clusters are the same.
   */
  byBand?: boolean;
  /**
   * Not linked: rows that `keep` refuses do not use up the 16 comparisons a band key allows, so
   * a row is compared with the 16 nearest rows `keep` accepts (walking at most 128 rows back).
   * `checkLeakage` sets it: a file's own rows under a key shared by many of them would otherwise
   * hide the rows of the earlier file.
   */
  skipRefused?: boolean;
  /**
   * Called at checkpoints (every band, every few thousand rows) with the share of the search
   * done, to give way to the event loop: see {@link Pace}.
   */
  pace?: Pace | undefined;
  /** Filled in with what the search did (for benchmarks; docs/performance.md). */
  stats?: VerifyStats | undefined;
}

/** What a verification did: see {@link VerifyOptions.stats}. */
export interface VerifyStats {
  /** Candidate pairs whose sketches were compared (a pair again in each band it shares, band by band). */
  candidates: number;
  /** Candidates whose sketches agreed enough for an exact check of their shingles. */
  checks: number;
  /** Whether a band-by-band pass gave the result (else row by row, perhaps after a band pass gave up). */
  byBand: boolean;
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
// Shingle sets of recently verified rows, kept to avoid re-reading the spill. On 200,000 templated
// rows (bench --corpus templated) 8 MB of them read 811,000 texts and 16 MB 504,000, 2 s less
// verifying but 20 MB more peak RSS.
const SHINGLE_CACHE_BYTES = 8 * 1024 * 1024;

/**
 * Collects band keys and comparison texts of kept rows, then finds verified near-duplicate pairs.
 *
 * @example
 * const index = new NearIndex(spillPath); index.add(nearText(messages), nearSignature(messages)); ... const pairs = index.verifiedPairs(0.8);
 */
export class NearIndex {
  readonly params: MinHashParams;
  // The block being filled: band keys band-major (band × BLOCK_ROWS + row), then the sketch
  // row-major (row × permutations + p). A full block is written to the signature spill at
  // block × #blockBytes and the same arrays are reused.
  readonly #blockKeys: Uint32Array;
  readonly #blockSketch: Uint8Array;
  readonly #rowKeys: Uint32Array;
  readonly #blockBytes: number;
  readonly #buffer = Buffer.allocUnsafe(SPILL_BATCH_BYTES);
  /** Bytes in #buffer not yet written; they belong at #position − #buffered. */
  #buffered = 0;
  readonly #offsets = new GrowableUint32(); // two entries per row: start (low, high)
  readonly #lengths = new GrowableUint32();
  /** Each row's final answer's share of its text, in 255ths (1 byte a row; see #answersAlike). */
  readonly #answerShare = new GrowableUint8();
  readonly #path: string;
  #fd: number;
  #sigFd: number;
  #position = 0;
  #rows = 0;
  /** Spill bytes from `#windowAt` (`#windowBytes` of them), read ahead for rows read in order. */
  #window: Buffer | undefined;
  #windowAt = 0;
  #windowBytes = 0;
  #setA: Uint32Array | undefined;
  #setB: Uint32Array | undefined;

  /** Texts go to `spillPath`, band keys and sketches to `spillPath` + `.sig`. */
  constructor(spillPath: string, params: MinHashParams = DEFAULT_MINHASH) {
    this.params = params;
    this.#path = spillPath;
    const { bands, permutations } = params;
    this.#blockKeys = new Uint32Array(BLOCK_ROWS * bands);
    this.#blockSketch = new Uint8Array(BLOCK_ROWS * permutations);
    this.#rowKeys = new Uint32Array(bands);
    this.#blockBytes = this.#blockKeys.byteLength + this.#blockSketch.byteLength;
    this.#fd = openSpill(spillPath);
    try {
      this.#sigFd = openSpill(`${spillPath}.sig`);
    } catch (e) {
      closeSync(this.#fd);
      throw e;
    }
  }

  /** Rows added so far. */
  get size(): number {
    return this.#rows;
  }

  /** Adds a row: its normalised comparison text and its MinHash signature. Returns its row index. */
  add(text: string, signature: Uint32Array): number {
    // Texts are encoded straight into one reused batch buffer, written when full (one system call
    // per row would cost more than the MinHash; a Buffer per row churned the allocator).
    if (this.#buffered + 3 * text.length > this.#buffer.length) this.#flush();
    let length: number;
    if (3 * text.length > this.#buffer.length) {
      const big = Buffer.from(text, 'utf8');
      writeAll(this.#fd, big, this.#position, this.#path);
      length = big.length;
    } else {
      length = this.#buffer.write(text, this.#buffered, 'utf8');
      this.#buffered += length;
    }
    this.#offsets.push(this.#position % 0x100000000);
    this.#offsets.push(Math.floor(this.#position / 0x100000000));
    this.#lengths.push(length);
    // 0, never the shortcut of #answersAlike, where the answer makes calls: they must be the same.
    const answer = finalAnswer(text);
    this.#answerShare.push(text.length === 0 || answerCalls(answer) !== '' ? 0 : Math.floor((255 * answer.length) / text.length));
    this.#position += length;
    const { permutations, bands } = this.params;
    const at = this.#rows % BLOCK_ROWS;
    const keys = bandKeys(signature.subarray(0, permutations), bands, this.#rowKeys);
    for (let band = 0; band < bands; band++) this.#blockKeys[band * BLOCK_ROWS + at] = keys[band] as number;
    const sketch = this.#blockSketch;
    for (let p = 0; p < permutations; p++) sketch[at * permutations + p] = (signature[p] as number) & 0xff;
    this.#rows++;
    if (at === BLOCK_ROWS - 1) this.#writeBlock();
    return this.#rows - 1;
  }

  /** Writes the block holding the last row added (whole: rows past the last are never read). */
  #writeBlock(): void {
    const block = Math.floor((this.#rows - 1) / BLOCK_ROWS);
    const keys = this.#blockKeys;
    const sketch = this.#blockSketch;
    writeAll(this.#sigFd, new Uint8Array(keys.buffer, keys.byteOffset, keys.byteLength), block * this.#blockBytes, `${this.#path}.sig`);
    writeAll(this.#sigFd, sketch, block * this.#blockBytes + keys.byteLength, `${this.#path}.sig`);
  }

  #flush(): void {
    if (this.#buffered === 0) return;
    writeAll(this.#fd, this.#buffer.subarray(0, this.#buffered), this.#position - this.#buffered, this.#path);
    this.#buffered = 0;
  }

  /** The comparison text of a row, read back from the spill. */
  text(row: number): string {
    this.#flush();
    const offsets = this.#offsets.view();
    const start = (offsets[2 * row] as number) + (offsets[2 * row + 1] as number) * 0x100000000;
    const length = this.#lengths.view()[row] as number;
    const end = start + length;
    let window = this.#window;
    if (window && start >= this.#windowAt && end <= this.#windowAt + this.#windowBytes) {
      return window.toString('utf8', start - this.#windowAt, end - this.#windowAt);
    }
    // Reads that move forward (the rows compared in order, row after row) fill a window of the
    // spill; a row behind it (an earlier row compared again) is read alone.
    if (length <= SPILL_BATCH_BYTES / 4 && start >= this.#windowAt) {
      window ??= this.#window = Buffer.allocUnsafe(SPILL_BATCH_BYTES);
      this.#windowAt = start;
      this.#windowBytes = Math.min(window.length, this.#position - start);
      readAll(this.#fd, window.subarray(0, this.#windowBytes), start);
      return window.toString('utf8', 0, length);
    }
    const buf = Buffer.allocUnsafe(length);
    readAll(this.#fd, buf, start);
    return buf.toString('utf8');
  }

  /**
   * Every pair of rows sharing a band key whose exact Jaccard similarity is at least `threshold`,
   * ordered by `a` then `b`. `keep(a, b)` may exclude pairs (e.g. rows of the same file).
   *
   * With `linked: true`, only the pairs that join rows into clusters: a candidate whose rows are
   * already in one cluster is not compared again, so a cluster of k rows gives k − 1 pairs, and
   * the clusters (the connected rows) are those of every pair. Templated data, where thousands of
   * rows are near copies of each other, otherwise gives tens of pairs a row to hold and verify.
   */
  async verifiedPairs(threshold: number, keep?: (a: number, b: number) => boolean, options: VerifyOptions = {}): Promise<NearPair[]> {
    const pairs: NearPair[] = [];
    await this.visitVerifiedPairs(threshold, (a, b, similarity) => void pairs.push({ a, b, similarity }), keep, options);
    return pairs.sort((x, y) => x.a - y.a || x.b - y.b);
  }

  /**
   * Calls `visit(a, b, similarity)` for each pair {@link verifiedPairs} returns, without holding
   * them (except the linking pairs of a band-by-band pass, at most one a row, visited when it
   * ends). Row by row, pairs come in order of `b`; band by band, in the order found. The memory
   * is the rows' (see the module's comment), however many pairs there are.
   *
   * Row by row, each row's candidates are the `MAX_BUCKET_COMPARISONS` (16) rows before it under
   * each of its band keys, gathered from every band at once, so a pair that shares several keys
   * is compared once; band by band it is compared again in each band it shares, and its texts
   * read again, which on templated data (pairs near the threshold by the thousand) cost most of
   * the run. Band by band keeps a bucket's sketches in the cache, which is faster where few pairs
   * come near the threshold: linked verification starts that way (see {@link VerifyOptions}).
   */
  async visitVerifiedPairs(threshold: number, visit: (a: number, b: number, similarity: number) => void, keep?: (a: number, b: number) => boolean, options: VerifyOptions = {}): Promise<void> {
    this.#flush();
    const { bands, permutations } = this.params;
    const n = this.#rows;
    if (n % BLOCK_ROWS !== 0) this.#writeBlock();
    const blocks = Math.ceil(n / BLOCK_ROWS);
    const keyBytes = BLOCK_ROWS * bands * 4;
    const sketchBlocks: Uint8Array[] = [];
    for (let block = 0; block < blocks; block++) {
      const sketch = new Uint8Array(BLOCK_ROWS * permutations);
      readAll(this.#sigFd, sketch, block * this.#blockBytes + keyBytes);
      sketchBlocks.push(sketch);
    }
    const wordBlocks = sketchBlocks.map(sketchWords);
    // The least number of agreeing permutations worth an exact check; pairs below it are dropped.
    const minAgree = Math.max(0, Math.ceil((threshold - ESTIMATE_MARGIN) * permutations));
    const sets = new ShingleCache((row) => this.text(row), this.params.shingle, n);
    const pace = options.pace;
    // The share of the search done when the row-by-row pass starts (where the band pass gave up).
    let before = 0;
    if (options.linked === true && options.byBand !== false) {
      // Band by band first: a bucket's rows come one after another, so their sketches stay in
      // the cache, and only 16 bytes a row are added. It gives up once the exact checks pass
      // LINKED_BY_BAND_CHECKS a row (templated rows, where pairs just under the threshold would be
      // checked again in every band they share); nothing is visited until it has finished.
      const budget = options.byBand === true ? Infinity : LINKED_BY_BAND_CHECKS * n + 10_000;
      const linking = await this.#linkedByBand(threshold, keep, sets, sketchBlocks, wordBlocks, minAgree, blocks, budget, pace, options.stats);
      if (typeof linking === 'number') before = linking;
      else {
        if (options.stats) options.stats.byBand = true;
        for (const p of linking) visit(p.a, p.b, p.similarity);
        return;
      }
    }
    const previous = await this.#previousUnderKey(n, blocks, pace && ((done) => pace(before + (1 - before) * done * PREPARING)));
    const clusters = options.linked === true ? new UnionFind(n) : undefined;
    // seen[a] === b: row a is already a candidate of row b (0 for none: row 0 has no candidates).
    const seen = new Uint32Array(n);
    // Rows are taken a block at a time: their candidates gathered, the sketches compared in order
    // of the earlier row's block of the sketch table (a candidate's sketch is anywhere in it, and
    // a cache miss each was most of the comparison's cost), then the pairs that pass are verified
    // in order of the later row.
    const blockRows = CANDIDATE_BLOCK_ROWS;
    // Grown as a block needs: about 200 KB a block of the bench corpus, 2 MB of templated rows,
    // 17 MB at most (320 candidates a row).
    const most = blockRows * bands * MAX_BUCKET_COMPARISONS;
    let candA: Uint32Array = new Uint32Array(1024);
    let candB: Uint32Array = new Uint32Array(1024);
    const blockStart = new Uint32Array(blocks + 1);
    const at = new Int32Array(bands);
    const taken = new Uint8Array(bands);
    // Rows keep() refuses may be passed over without using up a key's comparisons (leakage: the
    // rows of the same file), up to REFUSED_WALK times as many rows.
    const skipRefused = options.skipRefused === true && keep !== undefined;
    const walkMost = skipRefused ? MAX_BUCKET_COMPARISONS * REFUSED_WALK : MAX_BUCKET_COMPARISONS;
    let order: Uint32Array = new Uint32Array(0);
    let passed = new Uint8Array(0);
    for (let first = 1; first < n; first += blockRows) {
      const wait = pace?.(before + (1 - before) * (PREPARING + (1 - PREPARING) * (first / n)));
      if (wait) await wait;
      const last = Math.min(n, first + blockRows);
      let count = 0;
      for (let b = first; b < last; b++) {
        // Up to MAX_BUCKET_COMPARISONS rows back along each band's chain, nearest first, the
        // bands in step: each step's loads do not wait for each other (one chain at a time, each
        // load waited for the one before it).
        let live = 0;
        for (let band = 0; band < bands; band++) {
          const a = previous.get(band, b);
          at[band] = a;
          taken[band] = 0;
          if (a >= 0) live++;
        }
        for (let step = 0; step < walkMost && live > 0; step++) {
          for (let band = 0; band < bands; band++) {
            const a = at[band] as number;
            if (a < 0) continue;
            let next = previous.get(band, a);
            // Whether this row uses up one of the key's comparisons.
            let used = true;
            if (seen[a] !== b) {
              seen[a] = b;
              if (keep && !keep(a, b)) {
                used = !skipRefused;
              } else {
                if (count === candA.length) {
                  candA = grown(candA, most);
                  candB = grown(candB, most);
                }
                candA[count] = a;
                candB[count] = b;
                count++;
              }
            } else if (skipRefused && keep && !keep(a, b)) {
              used = false;
            }
            if (used) {
              taken[band] = (taken[band] as number) + 1;
              if ((taken[band] as number) >= MAX_BUCKET_COMPARISONS) next = -1;
            }
            at[band] = next;
            if (next < 0) live--;
          }
        }
      }
      // By the earlier row's block of sketches (one counting pass): the table is read one way,
      // 400 KB at a time.
      if (order.length < count) {
        order = new Uint32Array(candA.length);
        passed = new Uint8Array(candA.length);
      }
      blockStart.fill(0);
      for (let i = 0; i < count; i++) {
        const k = Math.floor((candA[i] as number) / BLOCK_ROWS) + 1;
        blockStart[k] = (blockStart[k] as number) + 1;
      }
      for (let k = 1; k <= blocks; k++) blockStart[k] = (blockStart[k] as number) + (blockStart[k - 1] as number);
      for (let i = 0; i < count; i++) {
        const k = Math.floor((candA[i] as number) / BLOCK_ROWS);
        const slot = blockStart[k] as number;
        blockStart[k] = slot + 1;
        order[slot] = i;
      }
      for (let k = 0; k < count; k++) {
        const i = order[k] as number;
        const a = candA[i] as number;
        const b = candB[i] as number;
        const ab = Math.floor(a / BLOCK_ROWS);
        const bb = Math.floor(b / BLOCK_ROWS);
        const agree = agreement(sketchBlocks[ab] as Uint8Array, wordBlocks[ab], (a % BLOCK_ROWS) * permutations, sketchBlocks[bb] as Uint8Array, wordBlocks[bb], (b % BLOCK_ROWS) * permutations, permutations, minAgree);
        passed[i] = agree >= minAgree ? 1 : 0;
      }
      let setB: Uint32Array | undefined;
      let setOf = -1;
      if (options.stats) options.stats.candidates += count;
      for (let i = 0; i < count; i++) {
        if (passed[i] === 0) continue;
        const a = candA[i] as number;
        const b = candB[i] as number;
        // Joined as each pair is verified, so a later candidate of the same cluster is skipped.
        if (clusters && clusters.find(a) === clusters.find(b)) continue;
        if (options.stats) options.stats.checks++;
        if (setOf !== b) {
          setB = sets.get(b, b);
          setOf = b;
        }
        const similarity = jaccardAtLeast(sets.get(a, b), setB as Uint32Array, threshold);
        if (similarity < threshold || !this.#answersAlike(a, b, threshold)) continue;
        clusters?.union(a, b);
        visit(a, b, similarity);
      }
    }
  }

  /**
   * The linking pairs of {@link verifiedPairs} (`linked: true`), one band at a time, rows sorted
   * by band key and each compared with the 16 rows before it under the same key; once the exact
   * checks pass `budget`, the share of the search done when it gave up instead.
   */
  async #linkedByBand(
    threshold: number,
    keep: ((a: number, b: number) => boolean) | undefined,
    sets: ShingleCache,
    sketchBlocks: Uint8Array[],
    wordBlocks: Array<Uint32Array | undefined>,
    minAgree: number,
    blocks: number,
    budget: number,
    pace: Pace | undefined,
    stats: VerifyStats | undefined,
  ): Promise<NearPair[] | number> {
    const { bands, permutations } = this.params;
    const n = this.#rows;
    let checks = 0;
    let compared = 0;
    const clusters = new UnionFind(n);
    const linking: NearPair[] = [];
    for (const { band, keys, rows } of this.#sortedBands(n, blocks)) {
      let start = 0;
      for (let j = 0; j < n; j++) {
        if ((j & PACE_ROWS) === 0) {
          const wait = pace?.((band + j / n) / bands);
          if (wait) await wait;
        }
        if (j > 0 && keys[j] !== keys[j - 1]) start = j;
        const from = Math.max(start, j - MAX_BUCKET_COMPARISONS);
        if (from === j) continue; // alone under this key so far: most rows
        const b = rows[j] as number;
        const rb = Math.floor(b / BLOCK_ROWS);
        const sketchB = sketchBlocks[rb] as Uint8Array;
        const wordsB = wordBlocks[rb];
        const atB = (b % BLOCK_ROWS) * permutations;
        for (let i = from; i < j; i++) {
          // Rows in a key's bucket are in input order, so a < b.
          const a = rows[i] as number;
          if (keep && !keep(a, b)) continue;
          if (clusters.find(a) === clusters.find(b)) continue;
          compared++;
          const ab = Math.floor(a / BLOCK_ROWS);
          const agree = agreement(sketchBlocks[ab] as Uint8Array, wordBlocks[ab], (a % BLOCK_ROWS) * permutations, sketchB, wordsB, atB, permutations, minAgree);
          if (agree < minAgree) continue;
          if (++checks > budget) {
            if (stats) {
              stats.candidates += compared;
              stats.checks += checks - 1;
            }
            return (band + j / n) / bands;
          }
          const setB = sets.get(b, b);
          const similarity = jaccardAtLeast(sets.get(a, b), setB, threshold);
          if (similarity < threshold || !this.#answersAlike(a, b, threshold)) continue;
          clusters.union(a, b);
          linking.push({ a, b, similarity });
        }
      }
    }
    if (stats) {
      stats.candidates += compared;
      stats.checks += checks;
    }
    return linking;
  }

  /**
   * For each band and row, the row before it with the same band key (or −1): one band at a time,
   * rows sorted by key (stably, so rows stay in input order within a key).
   */
  async #previousUnderKey(n: number, blocks: number, pace: Pace | undefined): Promise<PreviousUnderKey> {
    const { bands } = this.params;
    const previous = new PreviousUnderKey(n, bands);
    for (const { band, keys, rows } of this.#sortedBands(n, blocks)) {
      previous.setBand(band, keys, rows);
      const wait = pace?.((band + 1) / bands);
      if (wait) await wait;
    }
    return previous;
  }

  /**
   * Each band's keys, read back from the signature spill, sorted with their row numbers (stably,
   * so rows stay in input order within a key). The same four arrays of `n` entries serve every
   * band: 16 bytes a row.
   */
  *#sortedBands(n: number, blocks: number): Iterable<{ band: number; keys: Uint32Array; rows: Uint32Array }> {
    const keys = new Uint32Array(n);
    const rows = new Uint32Array(n);
    const keysTmp = new Uint32Array(n);
    const rowsTmp = new Uint32Array(n);
    for (let band = 0; band < this.params.bands; band++) {
      for (let block = 0; block < blocks; block++) {
        const from = block * BLOCK_ROWS;
        const count = Math.min(BLOCK_ROWS, n - from);
        readAll(this.#sigFd, new Uint8Array(keys.buffer, from * 4, count * 4), block * this.#blockBytes + band * BLOCK_ROWS * 4);
      }
      for (let row = 0; row < n; row++) rows[row] = row;
      sortByKey(keys, rows, keysTmp, rowsTmp);
      yield { band, keys, rows };
    }
  }

  /**
   * Whether the final answers of two rows similar as a whole are alike too: a Jaccard similarity of
   * at least {@link ANSWER_MIN_JACCARD}. Rows that share a long context (a passage, a contract
   * clause) with different questions and different answers are similar as a whole, and no copies:
   * they teach different answers.
   */
  #answersAlike(a: number, b: number, threshold: number): boolean {
    // Where the answers are most of both texts, a whole-text similarity at the threshold already
    // makes them alike: take the texts as shared part plus answer, of about one size, answers a
    // share s; the least answer similarity J >= t gives is x / (2s − x), x = (t(1 + s) − (1 − s)) /
    // (1 + t). The exact check reads and shingles both texts again: on templated data with long
    // answers (most pairs) it tripled the time of the search. A margin of 0.1 covers characters
    // standing for shingles and texts of unequal size.
    const shares = this.#answerShare.view();
    const share = Math.min(shares[a] as number, shares[b] as number) / 255;
    const x = (threshold * (1 + share) - (1 - share)) / (1 + threshold);
    if (x > 0 && x / (2 * share - x) >= ANSWER_MIN_JACCARD + 0.1) return true;
    const answerA = finalAnswer(this.text(a));
    const answerB = finalAnswer(this.text(b));
    // An answer that calls tools is alike only to one making the same calls (other arguments are
    // another action, however alike the words around them).
    if (answerCalls(answerA) !== answerCalls(answerB)) return false;
    let n = this.params.shingle;
    this.#setA = shingles(answerA, n, this.#setA);
    this.#setB = shingles(answerB, n, this.#setB);
    // Short answers are compared word by word: on a few words, word pairs are all or nothing
    // ('nausea and rash' and 'nausea and a rash' share none of theirs; '1958' and 'in 1958').
    if (Math.min(this.#setA.length, this.#setB.length) < SHORT_ANSWER_SHINGLES && n > 1) {
      n = 1;
      this.#setA = shingles(answerA, n, this.#setA);
      this.#setB = shingles(answerB, n, this.#setB);
    }
    return jaccard(this.#setA, this.#setB) >= ANSWER_MIN_JACCARD;
  }

  /** Exact similarity of two rows. */
  similarity(a: number, b: number): number {
    // Two arrays reused from call to call (a rejection each for every near-duplicate removed).
    this.#setA = shingles(this.text(a), this.params.shingle, this.#setA);
    this.#setB = shingles(this.text(b), this.params.shingle, this.#setB);
    return jaccard(this.#setA, this.#setB);
  }

  /** Closes the spill (the caller removes the file with its temporary folder). */
  close(): void {
    if (this.#fd >= 0) closeSync(this.#fd);
    if (this.#sigFd >= 0) closeSync(this.#sigFd);
    this.#fd = -1;
    this.#sigFd = -1;
  }

  get path(): string {
    return this.#path;
  }
}

/**
 * For each band, the row before each row under the same band key, kept sparse: a bit a row says
 * whether it has one, and only those rows hold it (4 bytes), found through a count of the bits
 * before each 32-row word. About 31% of rows and bands have one on the bench corpus, 70% on
 * templated rows: 30 and 61 bytes a row with 20 bands, where a plain table is 80.
 *
 * @example
 * const before = new PreviousUnderKey(rows, 20); before.setBand(0, sortedKeys, sortedRows); before.get(0, row);
 */
export class PreviousUnderKey {
  readonly #words: number;
  /** Per band: bit `row` set when the row has a row before it under its key. */
  readonly #has: Uint32Array[] = [];
  /** Per band: the bits set before each word. */
  readonly #rank: Uint32Array[] = [];
  /** Per band: the rows before, in order of the rows that have one. */
  readonly #values: Int32Array[] = [];

  constructor(rows: number, bands: number) {
    this.#words = Math.ceil(rows / 32);
    for (let band = 0; band < bands; band++) {
      this.#has.push(new Uint32Array(this.#words));
      this.#rank.push(new Uint32Array(this.#words));
      this.#values.push(new Int32Array(0));
    }
  }

  /** Sets a band from its keys sorted stably with their rows (see {@link sortByKey}). */
  setBand(band: number, sortedKeys: Uint32Array, sortedRows: Uint32Array): void {
    const has = this.#has[band] as Uint32Array;
    const rank = this.#rank[band] as Uint32Array;
    has.fill(0);
    const n = sortedRows.length;
    for (let j = 1; j < n; j++) {
      if (sortedKeys[j] !== sortedKeys[j - 1]) continue;
      const row = sortedRows[j] as number;
      has[row >>> 5] = (has[row >>> 5] as number) | (1 << (row & 31));
    }
    let total = 0;
    for (let w = 0; w < this.#words; w++) {
      rank[w] = total;
      total += popcount(has[w] as number);
    }
    const values = new Int32Array(total);
    for (let j = 1; j < n; j++) {
      if (sortedKeys[j] !== sortedKeys[j - 1]) continue;
      values[this.#index(has, rank, sortedRows[j] as number)] = sortedRows[j - 1] as number;
    }
    this.#values[band] = values;
  }

  /** The row before `row` under its key in `band`, or −1. */
  get(band: number, row: number): number {
    const has = this.#has[band] as Uint32Array;
    if (((has[row >>> 5] as number) & (1 << (row & 31))) === 0) return -1;
    return (this.#values[band] as Int32Array)[this.#index(has, this.#rank[band] as Uint32Array, row)] as number;
  }

  #index(has: Uint32Array, rank: Uint32Array, row: number): number {
    const w = row >>> 5;
    const below = (1 << (row & 31)) - 1; // the bits of the rows before it in its word (0 for bit 0)
    return (rank[w] as number) + popcount((has[w] as number) & below);
  }
}

/** Set bits of a 32-bit integer. */
function popcount(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}

/**
 * The shingle sets of recently compared rows, oldest first, within `budgetBytes` (8 MB unless
 * given); a set evicted lends its array to the next one made.
 *
 * @example
 * const sets = new ShingleCache((row) => index.text(row), 2, index.size);
 * jaccard(sets.get(a, b), sets.get(b, b));
 */
export class ShingleCache {
  readonly #text: (row: number) => string;
  readonly #shingle: number;
  readonly #budget: number;
  /** Each row's slot in `#held`, or −1 (4 bytes a row: a Map's look-up cost more than the comparisons). */
  readonly #slotOf: Int32Array;
  readonly #held: Uint32Array[] = [];
  readonly #freeSlots: number[] = [];
  /**
   * The rows held, oldest first, from `#head`. Not a Map's own order: a Map deleted from the
   * front skips every deleted entry on each `keys().next()` until it is rebuilt, which made
   * eviction cost more than the comparisons at 200,000 rows.
   */
  readonly #order: number[] = [];
  #head = 0;
  #count = 0;
  #bytes = 0;
  #spare: Uint32Array | undefined;

  constructor(text: (row: number) => string, shingle: number, rows: number, budgetBytes = SHINGLE_CACHE_BYTES) {
    this.#text = text;
    this.#shingle = shingle;
    this.#budget = budgetBytes;
    this.#slotOf = new Int32Array(rows).fill(-1);
  }

  /** The set of `row`; `pinned`'s set, which the caller holds, is not evicted to make room. */
  get(row: number, pinned: number): Uint32Array {
    const slot = this.#slotOf[row] as number;
    // First in, first out: moving a set to the back on every hit cost more than the reads it saved.
    if (slot >= 0) return this.#held[slot] as Uint32Array;
    while (this.#bytes > this.#budget && this.#count > 1) {
      const oldest = this.#order[this.#head++] as number;
      if (oldest === pinned) {
        this.#order.push(oldest);
        continue;
      }
      const at = this.#slotOf[oldest] as number;
      const old = this.#held[at] as Uint32Array;
      this.#slotOf[oldest] = -1;
      this.#freeSlots.push(at);
      this.#count--;
      this.#bytes -= old.buffer.byteLength;
      if (!this.#spare || old.buffer.byteLength > this.#spare.buffer.byteLength) this.#spare = old;
    }
    if (this.#head >= 4096 && 2 * this.#head >= this.#order.length) {
      this.#order.splice(0, this.#head);
      this.#head = 0;
    }
    const s = shingles(this.#text(row), this.#shingle, this.#spare);
    if (s.buffer === this.#spare?.buffer) this.#spare = undefined;
    const at = this.#freeSlots.pop() ?? this.#held.length;
    this.#held[at] = s;
    this.#slotOf[row] = at;
    this.#order.push(row);
    this.#count++;
    this.#bytes += s.buffer.byteLength;
    return s;
  }
}

/**
 * How many permutations two sketches agree on (8 bits each, `permutations` of them from byte `sa`
 * of `sigsA` and `sb` of `sigsB`), stopping early once `needed` is out of reach: the count when it
 * is at least `needed`, else some number below `needed`. With `wordsA` and `wordsB`, 32-bit views
 * of the same bytes ({@link sketchWords}), four permutations are compared at a time where both
 * sketches start on a 4-byte boundary: this is the inner loop of candidate verification, tens of
 * millions of calls at 200,000 rows.
 *
 * @example
 * agreement(sk, sketchWords(sk), 0, sk, sketchWords(sk), 100, 100, 65) // >= 65 when they agree on 65 or more
 */
export function agreement(
  sigsA: Uint8Array,
  wordsA: Uint32Array | undefined,
  sa: number,
  sigsB: Uint8Array,
  wordsB: Uint32Array | undefined,
  sb: number,
  permutations: number,
  needed: number,
): number {
  let agree = 0;
  let p = 0;
  if (wordsA && wordsB && (sa & 3) === 0 && (sb & 3) === 0) {
    const wa = sa >> 2;
    const wb = sb >> 2;
    const words = permutations >> 2;
    for (let w = 0; w < words; w++) {
      // The zero bytes of x are the permutations that agree; y keeps bit 7 of each such byte.
      const x = (wordsA[wa + w] as number) ^ (wordsB[wb + w] as number);
      const y = ~(((x & 0x7f7f7f7f) + 0x7f7f7f7f) | x | 0x7f7f7f7f);
      agree += Math.imul(y >>> 7, 0x01010101) >>> 24;
      p += 4;
      if (permutations - p + agree < needed) return agree;
    }
  }
  for (; p < permutations; p++) {
    if (sigsA[sa + p] === sigsB[sb + p]) agree++;
    else if (permutations - p - 1 + agree < needed) return agree;
  }
  return agree;
}

/**
 * A 32-bit view of a sketch block's bytes for {@link agreement}, or undefined when the block does
 * not start on a 4-byte boundary.
 *
 * @example
 * sketchWords(new Uint8Array(400)) // Uint32Array(100)
 */
export function sketchWords(bytes: Uint8Array): Uint32Array | undefined {
  return bytes.byteOffset % 4 === 0 ? new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >> 2) : undefined;
}

/**
 * Sorts `keys` and `rows` together by key, stably (least significant byte first, four passes), so
 * rows given in ascending order stay ascending within a key. `keysTmp` and `rowsTmp` are scratch
 * arrays of the same length; the result is back in `keys` and `rows`.
 */
export function sortByKey(keys: Uint32Array, rows: Uint32Array, keysTmp: Uint32Array, rowsTmp: Uint32Array): void {
  const n = keys.length;
  const counts = new Uint32Array(256);
  let fromK = keys;
  let fromR = rows;
  let toK = keysTmp;
  let toR = rowsTmp;
  for (let shift = 0; shift < 32; shift += 8) {
    counts.fill(0);
    for (let i = 0; i < n; i++) {
      const d = ((fromK[i] as number) >>> shift) & 0xff;
      counts[d] = (counts[d] as number) + 1;
    }
    let sum = 0;
    for (let d = 0; d < 256; d++) {
      const c = counts[d] as number;
      counts[d] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const k = fromK[i] as number;
      const d = (k >>> shift) & 0xff;
      const pos = counts[d] as number;
      counts[d] = pos + 1;
      toK[pos] = k;
      toR[pos] = fromR[i] as number;
    }
    [fromK, toK] = [toK, fromK];
    [fromR, toR] = [toR, fromR];
  }
  // Four passes: the sorted data is back in the arrays the caller passed as keys and rows.
}

// Exact checks a row (pairs whose sketches agree) past which linked verification stops going band
// by band and goes row by row, where each pair is checked once: the bench corpus needs about 0.5
// a row, templated rows about 160 band by band and 100 row by row.
const LINKED_BY_BAND_CHECKS = 2;

// With VerifyOptions.skipRefused, rows walked back along a key's chain, as a multiple of the
// comparisons it allows.
const REFUSED_WALK = 8;

// Rows whose candidates are gathered and compared together. Larger blocks read each sketch for
// more candidates at once (1,024 rows: 3.1 s to verify the bench corpus; 4,096: 2.7 s; 16,384:
// 2.6 s), for scratch memory of up to 13 bytes a candidate.
const CANDIDATE_BLOCK_ROWS = 4096;

// The band pass calls its Pace every PACE_ROWS + 1 rows (a power of two: a mask).
const PACE_ROWS = 0x3ff;

// The share of the row-by-row pass's time spent sorting band keys before comparing, for progress.
const PREPARING = 0.1;

// Rows per block of band keys and sketches: 4096 × 180 bytes = 720 KB with the defaults.
const BLOCK_ROWS = 4096;

/** A copy of `a` in an array twice as long, or `most` long. */
function grown(a: Uint32Array, most: number): Uint32Array {
  const next = new Uint32Array(Math.min(a.length * 2, most));
  next.set(a);
  return next;
}

/**
 * The least similarity of the final answers of two rows for them to be near-duplicates (besides
 * the whole text's at the threshold). At 0.5 an answer of 20 words may differ in 3-4 words; below,
 * the rows answer differently, whatever they share before the answer.
 */
export const ANSWER_MIN_JACCARD = 0.5;

/** Answers with fewer word pairs than this (about 8 words) are compared by their words. */
const SHORT_ANSWER_SHINGLES = 8;

/** Writes all of `data` at `position` (a single write may write less); a failure (a full disk) is `WRITE_FAILED`. */
function writeAll(fd: number, data: Uint8Array, position: number, path: string): void {
  try {
    for (let done = 0; done < data.length; ) done += writeSync(fd, data, done, data.length - done, position + done);
  } catch (e) {
    throw spillError(path, 'write', e);
  }
}

/** Opens a spill file for writing and reading back. */
function openSpill(path: string): number {
  try {
    return openSync(path, 'w+');
  } catch (e) {
    throw spillError(path, 'create', e);
  }
}

function spillError(path: string, what: string, cause: unknown): LoraPrepError {
  return new LoraPrepError(
    'WRITE_FAILED',
    `cannot ${what} ${path}, where near-duplicate detection keeps its texts: ${(cause as Error).message}. Check free space and permissions (it needs about the size of the input's text).`,
    { cause },
  );
}

/** Fills `into` from `position`; the bytes are there, as this process wrote them. */
function readAll(fd: number, into: Uint8Array, position: number): void {
  for (let done = 0; done < into.length; ) {
    const n = readSync(fd, into, done, into.length - done, position + done);
    if (n === 0) {
      throw new LoraPrepError('INTERNAL', `near-dedup spill: ${into.length - done} bytes missing at ${position + done}; was the temporary folder changed during the run?`);
    }
    done += n;
  }
}

/**
 * The clusters that verified pairs join (union-find: transitive), each as its rows in input
 * order; rows in no pair are in none.
 *
 * @example
 * nearClusters([{ a: 0, b: 2, similarity: 0.9 }, { a: 2, b: 5, similarity: 0.85 }], 6) // [[0, 2, 5]]
 */
export function nearClusters(pairs: readonly NearPair[], rows: number): number[][] {
  const clusters = new UnionFind(rows);
  const paired = new Uint8Array(rows);
  for (const p of pairs) {
    clusters.union(p.a, p.b);
    paired[p.a] = 1;
    paired[p.b] = 1;
  }
  // Rows in order, so each list is sorted and the lists come in the order of their first rows
  // (one pass over the rows: a look-up in each list would be quadratic in a cluster's size).
  const members = new Map<number, number[]>();
  for (let row = 0; row < rows; row++) {
    if (paired[row] === 0) continue;
    const root = clusters.find(row);
    let list = members.get(root);
    if (!list) {
      list = [];
      members.set(root, list);
    }
    list.push(row);
  }
  return [...members.values()];
}

/** What near dedup removes: the row each cluster keeps in place of the others. */
export interface NearRemovals {
  /** For each row, the row kept in its place, or -1 (4 bytes a row). */
  keptFor: Int32Array;
  /** The size of the cluster of each row kept in place of others. */
  clusterSize: Map<number, number>;
  /** Rows removed. */
  removed: number;
}

/**
 * Keeps one row of each cluster and removes the others: with `'first'` the earliest, with
 * `'longest'` the one of largest `size` (the earliest of equals).
 *
 * @example
 * nearRemovals([[0, 2, 5]], 6, 'first').keptFor // Int32Array [-1, -1, 0, -1, -1, 0]
 */
export function nearRemovals(clusters: readonly number[][], rows: number, keep: 'first' | 'longest', size: ArrayLike<number> = [], shorter?: ArrayLike<number>): NearRemovals {
  const keptFor = new Int32Array(rows).fill(-1);
  const clusterSize = new Map<number, number>();
  let removed = 0;
  for (const list of clusters) {
    // 'first' keeps the first row that is not the first turns of another kept row (`shorter`): of
    // the snapshots of one chat logged at each turn, the whole conversation stays.
    const rep =
      keep === 'longest'
        ? list.reduce((best, row) => ((size[row] as number) > (size[best] as number) ? row : best))
        : (list.find((row) => !shorter || shorter[row] === 0) ?? (list[0] as number));
    clusterSize.set(rep, list.length);
    for (const row of list) {
      if (row === rep) continue;
      keptFor[row] = rep;
      removed++;
    }
  }
  return { keptFor, clusterSize, removed };
}

/**
 * The rejection of a near-duplicate in favour of the row its cluster keeps: `similarity` is their
 * exact Jaccard (under the threshold for a row that joined the cluster through another).
 *
 * @example
 * nearRejection(source, keptSource, 0.91, 0.8, 2).reason // 'near_duplicate'
 */
export function nearRejection(source: SourceLocation, kept: SourceLocation, similarity: number, threshold: number, clusterSize: number): Rejection {
  const rounded = Math.round(similarity * 1000) / 1000;
  return {
    source,
    reason: 'near_duplicate',
    message: `near-duplicate of ${kept.file}:${kept.line} (Jaccard ${rounded} on word bigrams; threshold ${threshold}; cluster of ${clusterSize})`,
    duplicateOf: kept,
    similarity: rounded,
  };
}

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
