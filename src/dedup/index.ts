/**
 * Exact dedup stage: a later copy of a conversation is rejected as `duplicate`, pointing at the
 * first copy. The key is the whole conversation (roles and contents) after Unicode NFKC,
 * whitespace collapse and case folding, so copies that differ only in case or spacing count.
 * Memory: one 64-bit hash and one location per kept example, never the texts.
 */
import * as crypto from 'node:crypto';
import { createHash } from 'node:crypto';
import { compactJson } from '../formats/_tools.js';
import type { Example, Message, SourceLocation, StageContext } from '../types.js';

/**
 * Text as compared for dedup: NFKC, lower case, runs of whitespace as one space, trimmed.
 *
 * @example
 * normalizeForDedup('  Net   Income\n') // 'net income'
 */
export function normalizeForDedup(text: string): string {
  // NFKC returns a text that is already normal almost at once; testing for ASCII first, to skip
  // it, cost more than it saved on texts with any non-ASCII character (docs/performance.md).
  return text.normalize('NFKC').toLowerCase().replace(/[^\S ]\s*|\s{2,}/g, ' ').trim();
}

/**
 * Every message's content normalised for comparison. The exact key and the near-duplicate text
 * both read it: compute it once per example and pass it to both.
 *
 * @example
 * normalizedContents([{ role: 'user', content: ' Hi ' }]) // ['hi']
 */
export function normalizedContents(messages: readonly Message[]): string[] {
  return messages.map((m) => normalizeForDedup(m.content));
}

/**
 * The dedup key of a conversation: every message's role and normalised content.
 *
 * @example
 * conversationKey([{ role: 'user', content: 'Hi' }]) === conversationKey([{ role: 'user', content: ' hi ' }]) // true
 */
export function conversationKey(messages: readonly Message[], normalized: readonly string[] = normalizedContents(messages)): string {
  let key = '';
  for (const [i, m] of messages.entries()) key += keyPart(m, normalized[i] as string);
  return key;
}

/**
 * One message's part of a conversation key. Tool-call arguments count as compact JSON: the same
 * call written with other spacing (Python's `json.dumps` puts a space after `:`, lora-prep's
 * llama-factory output none) is the same call.
 */
function keyPart(m: Message, normalized: string): string {
  const calls = m.tool_calls ? `\u0000${JSON.stringify(m.tool_calls.map((c) => [c.function.name, compactJson(c.function.arguments) ?? c.function.arguments]))}` : '';
  return `${m.role}\u0000${normalized}${calls}\u0001`;
}

/** A 64-bit hash of a key as 16 hex digits (32-bit hashes collide at 200k rows; PERF-NOTES). */
export function hash64(key: string): string {
  return sha1Hex(key).slice(0, 16);
}

/** `crypto.hash` (Node 20.12+): one call instead of three, about 1.5x the rows/s (PERF-NOTES). */
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

/** SHA-1 as hex: a string costs the heap less than a Buffer (an ArrayBuffer each), about 20% faster a row. */
function sha1Hex(key: string): string {
  return oneShot ? oneShot('sha1', key, 'hex') : createHash('sha1').update(key).digest('hex');
}

/**
 * Remembers the first location of each key hash.
 *
 * @example
 * const index = new ExactIndex(); index.firstOf('abc', loc) // undefined the first time
 */
export class ExactIndex {
  readonly #first = new Map<string, SourceLocation>();

  /** The location of an earlier copy, or undefined (and `source` is remembered as the first). */
  firstOf(hash: string, source: SourceLocation): SourceLocation | undefined {
    const seen = this.#first.get(hash);
    if (seen) return seen;
    this.#first.set(hash, source);
    return undefined;
  }

  get size(): number {
    return this.#first.size;
  }
}

/**
 * A {@link FirstRows} table as other threads read it: the same arrays, over shared memory. The
 * owner only ever adds to them, and publishes an entry by storing its row last (atomically), so a
 * reader sees an entry whole or not at all; it may miss the newest ones, never invent one.
 */
export interface SharedFirstRows {
  hi: Uint32Array;
  lo: Uint32Array;
  row: Uint32Array;
}

/**
 * The first row of each 64-bit hash, in flat typed arrays: 24 bytes a row at most (a Map of hex
 * strings to locations takes about 90), so a million rows of exact-dedup state fit in 24 MB.
 * Open addressing with linear probing, kept at most half full. With `shared: true` the arrays
 * live in shared memory and worker threads can look rows up ({@link findShared}) while this
 * thread adds to them.
 *
 * @example
 * const t = new FirstRows(); t.firstOf(hi, lo, 0) // -1, and row 0 is remembered; t.firstOf(hi, lo, 9) // 0; t.find(hi, lo) // 0
 */
export class FirstRows {
  readonly #shared: boolean;
  #hi: Uint32Array;
  #lo: Uint32Array;
  /** Row + 1; 0 marks an empty slot. */
  #row: Uint32Array;
  #size = 0;

  /**
   * An empty table; `shared: true` puts its arrays in shared memory for worker threads to read.
   * `capacity`: the number of hashes expected, so that the table need not grow on the way there.
   */
  constructor(options: { shared?: boolean; capacity?: number } = {}) {
    this.#shared = options.shared === true;
    let slots = 1024;
    while (slots < 2 * (options.capacity ?? 0)) slots *= 2;
    [this.#hi, this.#lo, this.#row] = [this.#array(slots), this.#array(slots), this.#array(slots)];
  }

  /** The arrays as they are now, for other threads (shared tables only; a new set after each growth). */
  get tables(): SharedFirstRows | undefined {
    return this.#shared ? { hi: this.#hi, lo: this.#lo, row: this.#row } : undefined;
  }

  /** The row that first had this hash, or -1; remembers nothing. */
  find(hi: number, lo: number): number {
    return (this.#row[this.#slot(hi, lo)] as number) - 1;
  }

  /** The row that first had this hash, or -1 (and `row` is remembered as the first). */
  firstOf(hi: number, lo: number, row: number): number {
    const i = this.#slot(hi, lo);
    const r = this.#row[i] as number;
    if (r !== 0) return r - 1;
    this.#hi[i] = hi;
    this.#lo[i] = lo;
    if (this.#shared) Atomics.store(this.#row, i, row + 1);
    else this.#row[i] = row + 1;
    if (++this.#size * 2 > this.#row.length) this.#grow();
    return -1;
  }

  #array(n: number): Uint32Array {
    return this.#shared ? new Uint32Array(new SharedArrayBuffer(n * 4)) : new Uint32Array(n);
  }

  /** The slot holding this hash, or the empty slot where it would go. */
  #slot(hi: number, lo: number): number {
    const mask = this.#row.length - 1;
    let i = (lo ^ Math.imul(hi, 0x9e3779b1)) & mask;
    while (this.#row[i] !== 0 && (this.#lo[i] !== lo || this.#hi[i] !== hi)) i = (i + 1) & mask;
    return i;
  }

  /** Hashes held. */
  get size(): number {
    return this.#size;
  }

  #grow(): void {
    const [hi, lo, rows] = [this.#hi, this.#lo, this.#row];
    const n = rows.length * 2;
    // Readers keep the old arrays until they are handed the new ones; the old are never written again.
    this.#hi = this.#array(n);
    this.#lo = this.#array(n);
    this.#row = this.#array(n);
    const mask = n - 1;
    for (let j = 0; j < rows.length; j++) {
      const r = rows[j] as number;
      if (r === 0) continue;
      const h = hi[j] as number;
      const l = lo[j] as number;
      let i = (l ^ Math.imul(h, 0x9e3779b1)) & mask;
      while (this.#row[i] !== 0) i = (i + 1) & mask;
      this.#hi[i] = h;
      this.#lo[i] = l;
      this.#row[i] = r;
    }
  }
}

/**
 * The row a shared {@link FirstRows} table holds for this hash, or -1 (also when the entry is
 * being added right now).
 *
 * @example
 * findShared(index.tables, hi, lo) // in a worker thread
 */
export function findShared(t: SharedFirstRows, hi: number, lo: number): number {
  const mask = t.row.length - 1;
  let i = (lo ^ Math.imul(hi, 0x9e3779b1)) & mask;
  for (;;) {
    const r = Atomics.load(t.row, i);
    if (r === 0) return -1;
    if (t.lo[i] === lo && t.hi[i] === hi) return r - 1;
    i = (i + 1) & mask;
  }
}

/** The hashes of an example that exact dedup, the split and the leakage check read. */
export interface ExampleKeys {
  /** The conversation's 64-bit hash (the split's hash and the leakage check read it). */
  hashHi: number;
  hashLo: number;
  /** The exact-dedup key's hash: the conversation's, or the prompt's with `key: 'prompt'`. */
  keyHi: number;
  keyLo: number;
  /**
   * The conversation hashes of the example's shorter versions: each of its first turns up to an
   * assistant message other than the last, high and low halves in turn. A chat log that records
   * every call with the history so far holds such snapshots as rows of their own: they must share
   * a split with the longer row. Absent when there are none (a single exchange).
   */
  prefixes?: number[] | undefined;
}

/**
 * An example's hashes, from its messages' normalised contents (computed when not given).
 *
 * @example
 * exampleKeys(example.messages, 'prompt') // { hashHi, hashLo, keyHi, keyLo }
 */
export function exampleKeys(messages: readonly Message[], key: 'conversation' | 'prompt', normalized: readonly string[] = normalizedContents(messages)): ExampleKeys {
  // Each message's part once: the whole key, its first turns and the prompt's key are made of them.
  const parts = messages.map((m, i) => keyPart(m, normalized[i] as string));
  const [hashHi, hashLo] = hash64Parts(parts.join(''));
  const prefixes = prefixHashes(messages, parts);
  const withPrefixes = prefixes ? { prefixes } : {};
  if (key === 'conversation') return { hashHi, hashLo, keyHi: hashHi, keyLo: hashLo, ...withPrefixes };
  // The prompt is the leading messages.
  const [keyHi, keyLo] = hash64Parts(parts.slice(0, promptPart(messages).length).join(''));
  return { hashHi, hashLo, keyHi, keyLo, ...withPrefixes };
}

/**
 * The hashes of the conversation keys of `messages` cut after each assistant message but the last
 * (see {@link ExampleKeys.prefixes}): one hash fed message by message, copied at each cut, so a
 * long chat costs its length once (not once per cut).
 */
function prefixHashes(messages: readonly Message[], parts: readonly string[]): number[] | undefined {
  const last = messages.length - 1;
  let cuts = 0;
  for (let i = 0; i < last; i++) if ((messages[i] as Message).role === 'assistant') cuts++;
  if (cuts === 0) return undefined;
  const out: number[] = [];
  const hash = createHash('sha1');
  for (let i = 0; i < last && out.length < 2 * cuts; i++) {
    hash.update(parts[i] as string);
    if ((messages[i] as Message).role === 'assistant') out.push(...halves(hash.copy().digest('hex')));
  }
  return out;
}

/**
 * The 64-bit hash of a key as two unsigned 32-bit halves (the same bits as {@link hash64}).
 *
 * @example
 * const [hi, lo] = hash64Parts('user\u0000hi\u0001');
 */
export function hash64Parts(key: string): [number, number] {
  return halves(sha1Hex(key));
}

/** The first 64 bits of a hex digest as two unsigned 32-bit halves. */
function halves(digest: string): [number, number] {
  return [Number.parseInt(digest.slice(0, 8), 16), Number.parseInt(digest.slice(8, 16), 16)];
}

/**
 * Stage form for custom pipelines: yields first copies, rejects later ones as `duplicate`.
 *
 * @example
 * for await (const ex of dedupe(examples, ctx)) write(ex);
 */
export async function* dedupe(examples: AsyncIterable<Example>, ctx: StageContext): AsyncIterable<Example> {
  const index = new ExactIndex();
  for await (const example of examples) {
    const first = index.firstOf(hash64(conversationKey(example.messages)), example.meta.source);
    if (first) {
      ctx.reject(duplicateRejection(example.meta.source, first));
      continue;
    }
    yield example;
  }
}

/** The rejection of a later copy; `key` is what was compared (`dedup.exact.key`: a function is a key of the user's). */
export function duplicateRejection(source: SourceLocation, first: SourceLocation, key: 'conversation' | 'prompt' | 'key' | ((example: Example) => string) = 'conversation') {
  const what = key === 'conversation' ? 'same conversation' : key === 'prompt' ? 'same prompt' : 'same dedup key';
  return {
    source,
    reason: 'duplicate' as const,
    message: `${what} as ${first.file}:${first.line} (compared after NFKC, whitespace collapse and case folding)`,
    duplicateOf: first,
  };
}

/**
 * Everything before the final answer: the part `dedup.exact.key: 'prompt'` compares.
 *
 * @example
 * promptPart([{ role: 'user', content: 'Q' }, { role: 'assistant', content: 'A' }]) // [{ role: 'user', content: 'Q' }]
 */
export function promptPart(messages: readonly Message[]): readonly Message[] {
  return messages.at(-1)?.role === 'assistant' ? messages.slice(0, -1) : messages;
}
