/**
 * `npx tsx scripts/bench-near.ts [--rows 200000] [--grid] [--seed N] [--threshold 0.8]
 *   [--shingle N --permutations N --bands N] [--examples] [--spill-workaround]`
 *
 * Near-duplicate detection measured on planted data: SFT records (a question and an answer of tens
 * to hundreds of words) built from the deterministic synthetic corpus of scripts/corpus.ts, with
 * planted near-copies (edited, reformatted), records sharing only a long disclaimer, and templated
 * look-alikes. Dedup runs as prepareDataset runs it: exact dedup on the normalised conversation
 * first; then for every kept row `nearSignature(messages, params)` and
 * `NearIndex.add(nearText(messages), signature)` (spill file in a temporary folder);
 * `verifiedPairs(threshold)`; union-find clusters.
 *
 * Default (no `--grid`): one run at `--rows` (default 200,000) with `DEFAULT_MINHASH` (or the
 * `--shingle`, `--permutations`, `--bands` given): recall per edit-rate bucket, per exact-Jaccard
 * bucket and per formatting kind; false merges by class; time split into signatures / spill /
 * verification; rows/s; peak RSS. `--examples` prints a few false merges with their texts.
 *
 * `--grid`: the planted set at `--rows` (default 20,000) held in memory; every combination of
 * shingle size 1, 2, 3, 5 words with permutations/bands 64/16, 100/20, 128/16, 128/32; a threshold
 * sweep per shingle size; the exact-Jaccard separation of planted classes (no LSH); and the
 * theoretical LSH candidate probability 1 - (1 - s^r)^b.
 *
 * Every run reads back a sample of spill texts and says whether they match what was added.
 * `--spill-workaround` flushes the spill's pending batch from outside `NearIndex.add` every 512 KiB,
 * so that `add` never flushes itself (at commit 34ae456 a flush inside `add` writes the batch
 * one text too early, and every row after the first MiB reads back the wrong text).
 *
 * Planted data (all seeded; the same seed gives the same rows). Every row is
 * [system (one shared prompt, ignored by nearText), user: question, assistant: answer]. Per row:
 *   72%  base: the next record of generateCorpus(seed); its own planted exact copies (~5%) are
 *        dropped (exact dedup is measured separately).
 *   10%  edit: a near-copy of an earlier content row (uniform over all earlier base and boilerplate
 *        rows, by reservoir sampling) with k = max(1, round(rate × words)) word edits, each a
 *        substitution (half a vocabulary word, half a typo of the word), insertion or deletion with
 *        equal chance. The nominal rate is drawn uniformly from one of four equally likely buckets:
 *        (0, 2%], (2, 5%], (5, 10%], (10, 20%]. `words` counts question + answer words.
 *    4%  format: a near-copy in one of four kinds, equally likely: case and whitespace changes (equal
 *        to its source after normalisation, so exact dedup removes it), punctuation changes (commas
 *        dropped, sentence ends and quotes changed), a trailing sentence added (a stock closing line
 *        or a sentence from another record), or the last sentence removed.
 *   10%  boilerplate: a fresh record (generateCorpus(seed + 1)) whose answer carries one of four
 *        28–59 word disclaimers (70% appended, 30% as a preamble). Rows sharing a disclaimer share
 *        nothing else by construction: they must never be merged.
 *    2%  look-alike (question): the question of an earlier base row with its entities, names,
 *        reference ids and numbers refilled, and a different answer of the same domain.
 *    2%  look-alike (question + answer): an earlier base row with every entity, name, reference id
 *        and number in both messages refilled; the template words stay. A stress test: these are
 *        distinct facts in near-identical wording.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { conversationKey, ExactIndex, hash64, normalizeForDedup } from '../src/dedup/index.js';
import { DEFAULT_MINHASH, jaccard, nearSignature, nearText, shingles, type MinHashParams } from '../src/dedup/minhash.js';
import { NearIndex, UnionFind } from '../src/dedup/near.js';
import { seededRandom } from '../src/split/_rng.js';
import type { Message } from '../src/types.js';
import { generateCorpus, type CorpusRow } from './corpus.js';

// --- planted data ---

const enum Kind {
  Base,
  Edit,
  FormatCase,
  FormatPunct,
  FormatAdd,
  FormatDrop,
  Boilerplate,
  LookalikeQ,
  LookalikeQA,
}
const KIND_NAMES = ['base', 'edit', 'format: case + whitespace', 'format: punctuation', 'format: trailing sentence added', 'format: last sentence removed', 'boilerplate', 'look-alike (question)', 'look-alike (question + answer)'];
const isCopy = (k: Kind) => k >= Kind.Edit && k <= Kind.FormatDrop;

const SYSTEM_PROMPT = 'You are a careful assistant for finance, legal and medical questions. Answer precisely and cite the rule or source you rely on.';

/** Nominal edit-rate buckets (fractions of question + answer words). */
const EDIT_BUCKETS: ReadonlyArray<readonly [number, number, string]> = [
  [0, 0.02, '≤ 2%'],
  [0.02, 0.05, '2–5%'],
  [0.05, 0.1, '5–10%'],
  [0.1, 0.2, '10–20%'],
];

/** Shared boilerplate: 59, 49, 39 and 28 words. */
const DISCLAIMERS = [
  'This answer is general information only and does not constitute legal advice. Laws differ between jurisdictions and change over time, and the outcome of any dispute depends on its particular facts. You should consult a qualified lawyer licensed in your jurisdiction before acting or refraining from acting on anything said here. No lawyer-client relationship is created by this response.',
  'Medical disclaimer: the information above is educational and is not a substitute for professional medical advice, diagnosis or treatment. Always seek the advice of your physician or another qualified health provider with any questions about a medical condition, and never disregard professional advice because of something you read here.',
  'Important: this is not investment, tax or accounting advice. Past performance is not a reliable indicator of future results, the value of investments can go down as well as up, and you may get back less than you invest.',
  'Note from the compliance team: this reply was prepared from internal guidance, has not been reviewed for your specific situation, and must not be forwarded outside the firm.',
];

const CLOSINGS = ['I hope this helps.', 'Please let me know if you have any further questions about this topic.', 'Feel free to ask if anything here is unclear.', 'Let me know if you would like a worked example.'];

// Mirrors the entity lists and name parts of scripts/corpus.ts, to refill look-alikes.
const TERMS: Record<string, readonly string[]> = {
  finance: ['EBITDA', 'free cash flow', 'duration', 'convexity', 'yield to maturity', 'equity risk premium', 'working capital', 'goodwill', 'deferred tax', 'credit spread'],
  legal: ['force majeure', 'indemnity', 'misrepresentation', 'consideration', 'estoppel', 'negligence', 'termination for convenience', 'liquidated damages', 'good faith', 'restraint of trade'],
  medical: ['metformin', 'warfarin', 'amoxicillin', 'lithium', 'sepsis', 'hyponatraemia', 'atrial fibrillation', 'heparin', 'digoxin', 'anaphylaxis'],
};
const NAME_PARTS = ['Al', 'Be', 'Ca', 'Do', 'El', 'Fa', 'Gu', 'Ha', 'Io', 'Ju', 'Ka', 'Lo', 'Mé', 'Nø', 'Os', 'Pa', 'Qu', 'Ro', 'Sá', 'Ti', 'Ul', 'Va', 'Wi', 'Xe', 'Yo', 'Zu'];
const ALL_TERMS = Object.values(TERMS)
  .flat()
  .sort((x, y) => y.length - x.length);
const ENTITY_RE = new RegExp(
  `(?<![\\p{L}\\p{N}])(?:(${ALL_TERMS.map((t) => t.replace(/ /g, '\\s+')).join('|')})|([A-Z0-9]{6,10})|(\\p{Lu}\\p{Ll}{5})|(\\d+))(?![\\p{L}\\p{N}])`,
  'gu',
);

/** One planted row and what the harness knows about it. */
interface PlantedRow {
  messages: Message[];
  kind: Kind;
  /** Row index of the original content: equal for a source and its planted copies only. */
  family: number;
  /** Source (copies), origin (look-alikes), previous row with the same disclaimer (boilerplate); -1 if none. */
  partner: number;
  partnerMessages: Message[] | undefined;
  /** Disclaimer index, or -1. Copies inherit their source's. */
  disclaimer: number;
  /** Edit rows: nominal bucket, question + answer words, edits made. */
  bucket: number;
  words: number;
  edits: number;
}

interface ContentRow {
  index: number;
  family: number;
  disclaimer: number;
  domain: string;
  question: string;
  answer: string;
}

/**
 * The planted rows, in order.
 *
 * @example
 * for (const row of plantedRows(20_000, 1)) index.add(nearText(row.messages), nearSignature(row.messages));
 */
export function* plantedRows(total: number, seed: number): Generator<PlantedRow> {
  const rand = seededRandom(seed ^ 0x5eed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const base = uniqueRows(generateCorpus(Number.MAX_SAFE_INTEGER, seed));
  const fresh = uniqueRows(generateCorpus(Number.MAX_SAFE_INTEGER, seed + 1));
  const reservoir: ContentRow[] = [];
  const RESERVOIR = 4096;
  let contentSeen = 0;
  const vocabulary: string[] = [];
  const vocabularySet = new Set<string>();
  const lastWithDisclaimer: Array<{ index: number; messages: Message[] } | undefined> = DISCLAIMERS.map(() => undefined);

  const remember = (row: ContentRow) => {
    contentSeen++;
    if (reservoir.length < RESERVOIR) reservoir.push(row);
    else {
      const j = Math.floor(rand() * contentSeen);
      if (j < RESERVOIR) reservoir[j] = row;
    }
    if (vocabulary.length < 4000) {
      for (const w of row.answer.split(/[^\p{L}]+/u)) {
        if (w.length >= 3 && !vocabularySet.has(w)) {
          vocabularySet.add(w);
          vocabulary.push(w);
        }
      }
    }
  };
  const messagesOf = (question: string, answer: string): Message[] => [
    { role: 'system', content: SYSTEM_PROMPT },
    { role: 'user', content: question },
    { role: 'assistant', content: answer },
  ];
  const freshOfDomain = (domain: string): CorpusRow => {
    for (;;) {
      const r = fresh.next().value as CorpusRow;
      if (r.domain === domain) return r;
    }
  };

  for (let i = 0; i < total; i++) {
    const u = reservoir.length < 50 ? 1 : rand();
    const row: PlantedRow = { messages: [], kind: Kind.Base, family: i, partner: -1, partnerMessages: undefined, disclaimer: -1, bucket: -1, words: 0, edits: 0 };
    if (u < 0.1) {
      // Edited near-copy.
      const src = pick(reservoir);
      const bucket = Math.floor(rand() * EDIT_BUCKETS.length);
      const [lo, hi] = EDIT_BUCKETS[bucket] as readonly [number, number, string];
      const rate = lo + (hi - lo) * (1 - rand()); // (lo, hi]
      const words = countWords(src.question) + countWords(src.answer);
      const edits = Math.max(1, Math.round(rate * words));
      const [question = '', answer = ''] = editWords([src.question, src.answer], edits, rand, vocabulary);
      Object.assign(row, { kind: Kind.Edit, family: src.family, partner: src.index, disclaimer: src.disclaimer, bucket, words, edits });
      row.messages = messagesOf(question, answer);
      row.partnerMessages = messagesOf(src.question, src.answer);
    } else if (u < 0.14) {
      // Formatting near-copy.
      const src = pick(reservoir);
      let kind = [Kind.FormatCase, Kind.FormatPunct, Kind.FormatAdd, Kind.FormatDrop][Math.floor(rand() * 4)] as Kind;
      let { question, answer } = src;
      if (kind === Kind.FormatDrop) {
        const sentences = answer.split(/(?<=[.!?”])\s+(?=\S)/u);
        if (sentences.length >= 2) answer = sentences.slice(0, -1).join(' ');
        else kind = Kind.FormatAdd;
      }
      if (kind === Kind.FormatCase) {
        question = recase(question, rand);
        answer = recase(answer, rand);
      } else if (kind === Kind.FormatPunct) {
        question = repunctuate(question, rand);
        answer = repunctuate(answer, rand);
      } else if (kind === Kind.FormatAdd) {
        const extra = rand() < 0.5 ? pick(CLOSINGS) : (pick(reservoir).answer.split(/(?<=[.!?])\s+/)[0] as string);
        answer = `${answer} ${extra}`;
      }
      Object.assign(row, { kind, family: src.family, partner: src.index, disclaimer: src.disclaimer });
      row.messages = messagesOf(question, answer);
      row.partnerMessages = messagesOf(src.question, src.answer);
    } else if (u < 0.24) {
      // Distinct content sharing a long disclaimer.
      const r = fresh.next().value as CorpusRow;
      const d = Math.floor(rand() * DISCLAIMERS.length);
      const disclaimer = DISCLAIMERS[d] as string;
      const answer = rand() < 0.7 ? `${r.answer}\n\n${disclaimer}` : `${disclaimer}\n\n${r.answer}`;
      row.kind = Kind.Boilerplate;
      row.disclaimer = d;
      row.messages = messagesOf(r.question, answer);
      const last = lastWithDisclaimer[d];
      if (last) {
        row.partner = last.index;
        row.partnerMessages = last.messages;
      }
      lastWithDisclaimer[d] = { index: i, messages: row.messages };
      remember({ index: i, family: i, disclaimer: d, domain: r.domain, question: r.question, answer });
    } else if (u < 0.28) {
      // Templated look-alike of an earlier base row.
      let origin = pick(reservoir);
      for (let t = 0; t < 8 && origin.disclaimer >= 0; t++) origin = pick(reservoir);
      const both = u >= 0.26;
      let question = origin.question;
      for (let t = 0; t < 8 && question === origin.question; t++) question = refill(origin.question, origin.domain, rand);
      const answer = both ? refill(origin.answer, origin.domain, rand) : freshOfDomain(origin.domain).answer;
      Object.assign(row, { kind: both ? Kind.LookalikeQA : Kind.LookalikeQ, partner: origin.index });
      row.messages = messagesOf(question, answer);
      row.partnerMessages = messagesOf(origin.question, origin.answer);
    } else {
      const r = base.next().value as CorpusRow;
      row.messages = messagesOf(r.question, r.answer);
      remember({ index: i, family: i, disclaimer: -1, domain: r.domain, question: r.question, answer: r.answer });
    }
    yield row;
  }
}

/** Drops generateCorpus's planted exact copies (they repeat one of the previous 200 rows). */
function* uniqueRows(rows: Generator<CorpusRow>): Generator<CorpusRow> {
  const recent = new Set<string>();
  const order: string[] = [];
  for (const r of rows) {
    const key = `${r.question}\u0000${r.answer}`;
    if (recent.has(key)) continue;
    recent.add(key);
    order.push(key);
    if (order.length > 1000) recent.delete(order.shift() as string);
    yield r;
  }
}

function countWords(s: string): number {
  return s.split(/\s+/).filter((w) => w !== '').length;
}

/** `edits` word edits spread over the texts (positions uniform over all their words). */
function editWords(texts: string[], edits: number, rand: () => number, vocabulary: readonly string[]): string[] {
  // Words at even indices, separators at odd ones.
  const parts = texts.map((t) => t.split(/(\s+)/));
  for (let e = 0; e < edits; e++) {
    const counts = parts.map((p) => (p.length + 1) >> 1);
    let pos = Math.floor(rand() * counts.reduce((a, b) => a + b, 0));
    let m = 0;
    while (pos >= (counts[m] as number)) pos -= counts[m++] as number;
    const p = parts[m] as string[];
    const at = 2 * pos;
    const op = Math.floor(rand() * 3);
    const word = vocabulary[Math.floor(rand() * vocabulary.length)] ?? 'amended';
    if (op === 0 || (op === 2 && p.length < 3)) {
      const old = p[at] as string;
      p[at] = rand() < 0.5 || old.length < 4 ? word : typo(old, rand);
    } else if (op === 1) p.splice(at, 0, word, ' ');
    else if (at + 1 < p.length) p.splice(at, 2);
    else p.splice(at - 1, 2);
  }
  return parts.map((p) => p.join(''));
}

function typo(word: string, rand: () => number): string {
  const i = 1 + Math.floor(rand() * (word.length - 2));
  const swapped = word.slice(0, i - 1) + (word[i] as string) + (word[i - 1] as string) + word.slice(i + 1);
  return swapped === word ? `${word.slice(0, i)}${word.slice(i + 1)}` : swapped;
}

function recase(text: string, rand: () => number): string {
  return text
    .split(' ')
    .map((w) => {
      const r = rand();
      if (r < 0.15) return w.toUpperCase();
      if (r < 0.3) return w.toLowerCase();
      if (r < 0.4) return `${w} `; // doubled space
      return w;
    })
    .join(rand() < 0.2 ? '\n' : ' ')
    .concat(rand() < 0.5 ? '\n' : '');
}

function repunctuate(text: string, rand: () => number): string {
  return text
    .replace(/[,;:](?=\s)/g, () => (rand() < 0.6 ? '' : ' -'))
    .replace(/\.(?=\s|$)/g, () => (rand() < 0.3 ? '!' : rand() < 0.5 ? '' : '.'))
    .replace(/[“”]/g, '"')
    .replace(/—/g, '-')
    .replace(/’/g, "'");
}

/** The same wording with every entity term, name, reference id and number replaced. */
function refill(text: string, domain: string, rand: () => number): string {
  const terms = TERMS[domain] ?? ALL_TERMS;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const other = (make: () => string, old: string) => {
    for (let t = 0; t < 8; t++) {
      const v = make();
      if (v !== old) return v;
    }
    return `${old}x`;
  };
  return text.replace(ENTITY_RE, (m: string, term?: string, id?: string, name?: string, num?: string) => {
    if (term) return other(() => pick(terms), m);
    if (id && !/^\d+$/.test(id)) return other(() => Array.from({ length: 6 + Math.floor(rand() * 5) }, () => pick('ABCDEFGHJKLMNPQRSTUVWXYZ0123456789'.split(''))).join(''), m);
    if (name && m !== 'Clause') return other(() => `${pick(NAME_PARTS)}${pick(NAME_PARTS).toLowerCase()}${pick(NAME_PARTS).toLowerCase()}`, m);
    if (num ?? id) return other(() => String(m.length === 4 ? 1990 + Math.floor(rand() * 36) : 1 + Math.floor(rand() * 99)), m);
    return m;
  });
}

// --- detection and scoring ---

interface RowMeta {
  kind: Uint8Array;
  family: Int32Array;
  partner: Int32Array;
  disclaimer: Int8Array;
  bucket: Int8Array;
  words: Int32Array;
  edits: Int32Array;
  /** Exact Jaccard with the partner row (NaN without one). */
  partnerJ: Float32Array;
}

function newMeta(n: number): RowMeta {
  return {
    kind: new Uint8Array(n),
    family: new Int32Array(n),
    partner: new Int32Array(n),
    disclaimer: new Int8Array(n),
    bucket: new Int8Array(n),
    words: new Int32Array(n),
    edits: new Int32Array(n),
    partnerJ: new Float32Array(n).fill(Number.NaN),
  };
}

function record(meta: RowMeta, i: number, row: PlantedRow, shingle: number): void {
  meta.kind[i] = row.kind;
  meta.family[i] = row.family;
  meta.partner[i] = row.partner;
  meta.disclaimer[i] = row.disclaimer;
  meta.bucket[i] = row.bucket;
  meta.words[i] = row.words;
  meta.edits[i] = row.edits;
  if (row.partnerMessages) meta.partnerJ[i] = jaccard(shingles(nearText(row.messages), shingle), shingles(nearText(row.partnerMessages), shingle));
}

function copyMeta(from: RowMeta, shingleJ: Float32Array): RowMeta {
  return { ...from, partnerJ: shingleJ };
}

interface Detection {
  /** Planted rows seen. */
  rows: number;
  /** Rows removed by exact dedup before near dedup (as prepareDataset does). */
  exactRemoved: number;
  /** Planted row → near-index row (-1: removed by exact dedup). */
  nearRowOf: Int32Array;
  /** Near-index row → planted row. */
  plantedOf: Int32Array;
  /** Planted row → the planted row kept for its exact key (itself when kept). */
  exactFirstOf: Int32Array;
  exactMs: number;
  signatureMs: number;
  spillMs: number;
  verifyMs: number;
  unionMs: number;
  /** LSH candidate pairs (calls of verifiedPairs' `keep`): each pair once however many bands it shares (before 2026-11-28, once per band), before the estimate filter. */
  comparisons: number;
  /** Verified pairs, in planted row numbers. */
  pairs: Array<{ a: number; b: number; similarity: number }>;
  /** Clusters over near-index rows. */
  uf: UnionFind;
  spillBytes: number;
  /** Sampled rows (every 997th) whose text read back from the spill differs from the text added. */
  spillCheck: { sampled: number; wrong: number };
}

/**
 * Runs dedup as prepareDataset does: exact dedup on the normalised conversation first, then for each
 * kept row `nearSignature` + `NearIndex.add(nearText, signature)`, then `verifiedPairs(threshold)`
 * and union-find. `each` runs (untimed) for every planted row; `inspect` runs before the spill is
 * closed, with the index (for texts).
 */
async function detect<T>(
  rows: Iterable<PlantedRow>,
  total: number,
  params: MinHashParams,
  threshold: number,
  spillWorkaround: boolean,
  each: (i: number, row: PlantedRow) => void,
  inspect: (det: Detection, index: NearIndex) => T,
): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'lora-prep-near-'));
  try {
    const index = new NearIndex(join(dir, 'near.spill'), params);
    const exact = new ExactIndex();
    const nearRowOf = new Int32Array(total).fill(-1);
    const plantedOf = new Int32Array(total).fill(-1);
    const exactFirstOf = new Int32Array(total);
    let exactMs = 0;
    let signatureMs = 0;
    let spillMs = 0;
    let spillBytes = 0;
    let exactRemoved = 0;
    let pending = 0;
    const checks: Array<[number, string]> = [];
    let i = 0;
    for (const row of rows) {
      const t0 = performance.now();
      const first = exact.firstOf(hash64(conversationKey(row.messages)), { file: 'planted', line: i });
      const t1 = performance.now();
      exactMs += t1 - t0;
      if (first) {
        exactFirstOf[i] = exactFirstOf[first.line] as number;
        exactRemoved++;
      } else {
        exactFirstOf[i] = i;
        const sig = nearSignature(row.messages, params);
        const t2 = performance.now();
        const text = nearText(row.messages);
        const r = index.add(text, sig);
        if (spillWorkaround) {
          // Flush the spill's pending batch from outside add() (text() flushes first), so add()
          // itself never flushes: works around the misplaced batch write (see the report).
          pending += Buffer.byteLength(text);
          if (pending >= 1 << 19) {
            index.text(r);
            pending = 0;
          }
        }
        const t3 = performance.now();
        if (r % 997 === 0) checks.push([r, text]);
        nearRowOf[i] = r;
        plantedOf[r] = i;
        signatureMs += t2 - t1;
        spillMs += t3 - t2;
        spillBytes += Buffer.byteLength(text);
      }
      each(i++, row);
    }
    let comparisons = 0;
    const t4 = performance.now();
    const nearPairs = await index.verifiedPairs(threshold, () => {
      comparisons++;
      return true;
    });
    const t5 = performance.now();
    const uf = new UnionFind(index.size);
    for (const p of nearPairs) uf.union(p.a, p.b);
    const t6 = performance.now();
    const pairs = nearPairs.map((p) => ({ a: plantedOf[p.a] as number, b: plantedOf[p.b] as number, similarity: p.similarity }));
    const spillCheck = { sampled: checks.length, wrong: checks.filter(([r, text]) => index.text(r) !== text).length };
    const det: Detection = { rows: i, exactRemoved, nearRowOf, plantedOf, exactFirstOf, exactMs, signatureMs, spillMs, verifyMs: t5 - t4, unionMs: t6 - t5, comparisons, pairs, uf, spillBytes, spillCheck };
    const result = inspect(det, index);
    index.close();
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Tally {
  planted: number;
  found: number;
  jAbove: number;
}
const tally = (): Tally => ({ planted: 0, found: 0, jAbove: 0 });
const add = (t: Tally, found: number, above: number) => {
  t.planted++;
  t.found += found;
  t.jAbove += above;
};

interface FalsePair {
  a: number;
  b: number;
  similarity: number;
  cls: 'boilerplate' | 'look-alike' | 'other';
  /** Boilerplate pairs: exact Jaccard of the two rows' shingles less the disclaimer's shingles. */
  contentJ: number;
  /** Boilerplate pairs: words of each row without the disclaimer, and the disclaimer's words. */
  ownWords: [number, number];
  disclaimerWords: number;
}

interface Score {
  editBuckets: Array<Tally & { words: number; edits: number; j: number[] }>;
  effective: Tally[];
  jBuckets: Tally[];
  kinds: Map<Kind, Tally & { exact: number; j: number[] }>;
  /** Edited copies whose source carries a disclaimer. */
  boilerplateSources: Tally;
  falsePairs: FalsePair[];
  /** Clusters holding more than one family, and rows in them. */
  mixedClusters: number;
  mixedRows: number;
  /** Exact J with the planted partner for must-not-merge classes. */
  partnerJ: Map<Kind, number[]>;
}

const EFFECTIVE_BUCKETS: ReadonlyArray<readonly [number, number, string]> = [
  [0, 0.01, '≤ 1%'],
  [0.01, 0.02, '1–2%'],
  [0.02, 0.03, '2–3%'],
  [0.03, 0.04, '3–4%'],
  [0.04, 0.05, '4–5%'],
  [0.05, 0.075, '5–7.5%'],
  [0.075, 0.1, '7.5–10%'],
  [0.1, 0.15, '10–15%'],
  [0.15, 0.2, '15–20%'],
  [0.2, Infinity, '> 20%'],
];
const J_BUCKETS: ReadonlyArray<readonly [number, number, string]> = [
  [0.9, Infinity, '≥ 0.9'],
  [0.85, 0.9, '0.85–0.9'],
  [0.8, 0.85, '0.8–0.85'],
  [0.7, 0.8, '0.7–0.8'],
  [0.5, 0.7, '0.5–0.7'],
  [-Infinity, 0.5, '< 0.5'],
];
const bucketOf = (buckets: ReadonlyArray<readonly [number, number, string]>, v: number) => buckets.findIndex(([lo, hi]) => (lo === 0 ? v >= 0 : v > lo) && v <= hi);
const jBucketOf = (j: number) => J_BUCKETS.findIndex(([lo, hi]) => j >= lo && j < hi);
const NORMALISED_DISCLAIMERS = DISCLAIMERS.map(normalizeForDedup);

function score(meta: RowMeta, det: Detection, index: NearIndex, threshold: number): Score {
  const { uf, nearRowOf, exactFirstOf, plantedOf } = det;
  const clusterOf = (planted: number) => uf.find(nearRowOf[exactFirstOf[planted] as number] as number);
  const s: Score = {
    editBuckets: EDIT_BUCKETS.map(() => ({ ...tally(), words: 0, edits: 0, j: [] })),
    effective: EFFECTIVE_BUCKETS.map(tally),
    jBuckets: J_BUCKETS.map(tally),
    kinds: new Map(),
    boilerplateSources: tally(),
    falsePairs: [],
    mixedClusters: 0,
    mixedRows: 0,
    partnerJ: new Map(),
  };
  for (let i = 0; i < det.rows; i++) {
    const kind = meta.kind[i] as Kind;
    const j = meta.partnerJ[i] as number;
    if (kind === Kind.Boilerplate || kind === Kind.LookalikeQ || kind === Kind.LookalikeQA) {
      if (!Number.isNaN(j)) {
        const list = s.partnerJ.get(kind) ?? [];
        list.push(j);
        s.partnerJ.set(kind, list);
      }
      continue;
    }
    if (!isCopy(kind)) continue;
    const found = clusterOf(i) === clusterOf(meta.partner[i] as number) ? 1 : 0;
    const above = j >= threshold ? 1 : 0;
    const k = s.kinds.get(kind) ?? { ...tally(), exact: 0, j: [] };
    add(k, found, above);
    if (nearRowOf[i] === -1) k.exact++;
    k.j.push(j);
    s.kinds.set(kind, k);
    const jb = s.jBuckets[jBucketOf(j)];
    if (jb) add(jb, found, above);
    if (kind !== Kind.Edit) continue;
    const b = s.editBuckets[meta.bucket[i] as number];
    if (b) {
      add(b, found, above);
      b.words += meta.words[i] as number;
      b.edits += meta.edits[i] as number;
      b.j.push(j);
    }
    const e = s.effective[bucketOf(EFFECTIVE_BUCKETS, (meta.edits[i] as number) / (meta.words[i] as number))];
    if (e) add(e, found, above);
    if ((meta.disclaimer[i] as number) >= 0) add(s.boilerplateSources, found, above);
  }
  // Verified pairs between rows of different content.
  const isLookalikeOf = (x: number, y: number) => {
    const k = meta.kind[y] as Kind;
    return (k === Kind.LookalikeQ || k === Kind.LookalikeQA) && meta.family[meta.partner[y] as number] === meta.family[x];
  };
  // A row's shingles less those of the disclaimer (robust to punctuation and case changes in copies).
  const disclaimerSets = NORMALISED_DISCLAIMERS.map((d) => shingles(d, index.params.shingle));
  const strip = (planted: number, d: number) => without(shingles(index.text(nearRowOf[planted] as number), index.params.shingle), disclaimerSets[d] as Uint32Array);
  for (const p of det.pairs) {
    if (meta.family[p.a] === meta.family[p.b]) continue;
    const da = meta.disclaimer[p.a] as number;
    let cls: FalsePair['cls'] = 'other';
    let contentJ = Number.NaN;
    let ownWords: [number, number] = [0, 0];
    let disclaimerWords = 0;
    if (da >= 0 && da === meta.disclaimer[p.b]) {
      cls = 'boilerplate';
      contentJ = jaccard(strip(p.a, da), strip(p.b, da));
      disclaimerWords = wordCount(NORMALISED_DISCLAIMERS[da] as string);
      ownWords = [wordCount(index.text(nearRowOf[p.a] as number)) - disclaimerWords, wordCount(index.text(nearRowOf[p.b] as number)) - disclaimerWords];
    } else if (isLookalikeOf(p.a, p.b) || isLookalikeOf(p.b, p.a)) cls = 'look-alike';
    s.falsePairs.push({ ...p, cls, contentJ, ownWords, disclaimerWords });
  }
  // Clusters joining different content.
  const firstFamily = new Map<number, number>();
  const mixed = new Set<number>();
  for (let r = 0; r < index.size; r++) {
    const root = uf.find(r);
    if (uf.sizeOf(root) < 2) continue;
    const family = meta.family[plantedOf[r] as number] as number;
    const f = firstFamily.get(root);
    if (f === undefined) firstFamily.set(root, family);
    else if (f !== family) mixed.add(root);
  }
  s.mixedClusters = mixed.size;
  for (const root of mixed) s.mixedRows += uf.sizeOf(root);
  return s;
}

const wordCount = (text: string) => text.split(/[^\p{L}\p{N}]+/u).filter((w) => w !== '').length;

/** The values of sorted set `a` that are not in sorted set `b`. */
function without(a: Uint32Array, b: Uint32Array): Uint32Array {
  const out = new Uint32Array(a.length);
  let n = 0;
  let j = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    while (j < b.length && (b[j] as number) < x) j++;
    if (j >= b.length || b[j] !== x) out[n++] = x;
  }
  return out.subarray(0, n);
}

/** Formatting near-copies of every kind together. */
function formattingTally(s: Score): Tally {
  const t = tally();
  for (const [k, v] of s.kinds) {
    if (k === Kind.Edit) continue;
    t.planted += v.planted;
    t.found += v.found;
    t.jAbove += v.jAbove;
  }
  return t;
}

/** False pairs by class: boilerplate split by how similar the rows are without the disclaimer. */
function falseCounts(s: Score, threshold: number) {
  const fp = s.falsePairs;
  const boiler = fp.filter((p) => p.cls === 'boilerplate');
  return {
    boilerplateUnrelated: boiler.filter((p) => p.contentJ < 0.3).length,
    boilerplateLoose: boiler.filter((p) => p.contentJ >= 0.3 && p.contentJ < 0.5).length,
    boilerplateMinContentJ: boiler.reduce((m, p) => Math.min(m, p.contentJ), Infinity),
    boilerplateOnly: boiler.filter((p) => p.contentJ < 0.5).length,
    boilerplateTemplated: boiler.filter((p) => p.contentJ >= 0.5 && p.contentJ < threshold).length,
    boilerplateContentNear: boiler.filter((p) => p.contentJ >= threshold).length,
    lookalike: fp.filter((p) => p.cls === 'look-alike').length,
    other: fp.filter((p) => p.cls === 'other').length,
  };
}

// --- output ---

const fmt = (v: number, digits = 0) => v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const ratio = (a: number, b: number) => (b === 0 ? '–' : (a / b).toFixed(3));
const quantile = (xs: number[], q: number) => {
  if (xs.length === 0) return Number.NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
};
function table(header: string[], rows: Array<Array<string | number>>): string {
  const sep = header.map((_, i) => (i === 0 ? '---' : '---:'));
  return [header, sep, ...rows.map((r) => r.map(String))].map((r) => `| ${r.join(' | ')} |`).join('\n');
}
const lshProbability = (s: number, r: number, b: number) => 1 - (1 - s ** r) ** b;
const mb = (kb: number) => (kb / 1000).toFixed(0);

function printRecall(s: Score, threshold: number): void {
  console.log(`\n### Edited near-copies by nominal edit rate\n`);
  console.log(
    table(
      ['nominal edit rate', 'planted', 'mean words', 'mean edits', 'median J', `share J ≥ ${threshold}`, 'recall'],
      s.editBuckets.map((b, i) => [EDIT_BUCKETS[i]?.[2] ?? '', fmt(b.planted), (b.words / b.planted).toFixed(0), (b.edits / b.planted).toFixed(1), quantile(b.j, 0.5).toFixed(3), ratio(b.jAbove, b.planted), ratio(b.found, b.planted)]),
    ),
  );
  console.log(`\n### Edited near-copies by effective edit rate (edits / question + answer words)\n`);
  console.log(
    table(
      ['edits / words', 'planted', `share J ≥ ${threshold}`, 'recall'],
      s.effective.flatMap((e, i) => (e.planted > 0 ? [[EFFECTIVE_BUCKETS[i]?.[2] ?? '', fmt(e.planted), ratio(e.jAbove, e.planted), ratio(e.found, e.planted)]] : [])),
    ),
  );
  console.log(`\n### All near-copies (edited and formatting) by exact Jaccard with their source\n`);
  console.log(table(['J(copy, source)', 'planted', 'recall'], s.jBuckets.map((b, i) => [J_BUCKETS[i]?.[2] ?? '', fmt(b.planted), ratio(b.found, b.planted)])));
  console.log(`\n### Near-copies by kind\n`);
  console.log(
    table(
      ['kind', 'planted', 'removed by exact dedup', 'median J', `share J ≥ ${threshold}`, 'recall (exact + near)'],
      [...s.kinds.entries()].sort((x, y) => x[0] - y[0]).map(([k, v]) => [KIND_NAMES[k] ?? '', fmt(v.planted), fmt(v.exact), quantile(v.j, 0.5).toFixed(3), ratio(v.jAbove, v.planted), ratio(v.found, v.planted)]),
    ),
  );
  const bs = s.boilerplateSources;
  console.log(`\nEdited copies of rows that carry a disclaimer: ${fmt(bs.planted)} planted, share J ≥ ${threshold} ${ratio(bs.jAbove, bs.planted)}, recall ${ratio(bs.found, bs.planted)}.`);
}

function printFalse(s: Score, threshold: number): void {
  console.log(`\n### Must-not-merge classes: exact Jaccard with their planted partner\n`);
  console.log(
    table(
      ['class (partner)', 'pairs', 'median J', 'p99 J', 'max J', `pairs ≥ ${threshold}`],
      ([
        [Kind.Boilerplate, 'boilerplate (previous row with the same disclaimer)'],
        [Kind.LookalikeQ, 'look-alike, question refilled + other answer (its origin)'],
        [Kind.LookalikeQA, 'look-alike, question and answer refilled (its origin)'],
      ] as const).map(([k, name]) => {
        const js = s.partnerJ.get(k) ?? [];
        return [name, fmt(js.length), quantile(js, 0.5).toFixed(3), quantile(js, 0.99).toFixed(3), quantile(js, 1).toFixed(3), fmt(js.filter((j) => j >= threshold).length)];
      }),
    ),
  );
  const c = falseCounts(s, threshold);
  console.log(`\n### False merges: verified pairs (J ≥ ${threshold}) between rows of different content\n`);
  console.log(
    table(
      ['class', 'verified pairs'],
      [
        ['same disclaimer, content without it J < 0.3 (unrelated content)', fmt(c.boilerplateUnrelated)],
        ['same disclaimer, content without it 0.3 ≤ J < 0.5', fmt(c.boilerplateLoose)],
        [`same disclaimer, content without it 0.5 ≤ J < ${threshold} (templated content + boilerplate)`, fmt(c.boilerplateTemplated)],
        [`same disclaimer, content without it J ≥ ${threshold} (the content itself is a near-duplicate)`, fmt(c.boilerplateContentNear)],
        ['templated look-alike and its origin', fmt(c.lookalike)],
        ['other rows of different content (generated text that came out near-identical)', fmt(c.other)],
        ['**clusters joining different content** (rows in them)', `${fmt(s.mixedClusters)} (${fmt(s.mixedRows)})`],
      ],
    ),
  );
  const boiler = s.falsePairs.filter((p) => p.cls === 'boilerplate');
  if (boiler.length > 0) {
    const own = boiler.flatMap((p) => p.ownWords);
    const longer = boiler.filter((p) => p.disclaimerWords > Math.max(...p.ownWords)).length;
    console.log(
      `\nMerged same-disclaimer pairs: lowest content J ${c.boilerplateMinContentJ.toFixed(3)}; own words (question + answer without the disclaimer) median ${quantile(own, 0.5)}, max ${quantile(own, 1)}; the disclaimer is longer than both rows' own words in ${fmt(longer)} of ${fmt(boiler.length)} pairs.`,
    );
  }
}

function exampleLines(s: Score, meta: RowMeta, det: Detection, index: NearIndex): string {
  const out = ['\n### Example false merges\n'];
  const byClass = new Map<string, FalsePair[]>();
  for (const p of s.falsePairs) byClass.set(p.cls, [...(byClass.get(p.cls) ?? []), p]);
  for (const [cls, list] of byClass) {
    // Boilerplate pairs: the least similar content first (the clearest false merges).
    if (cls === 'boilerplate') list.sort((x, y) => x.contentJ - y.contentJ);
    for (const p of list.slice(0, 4)) {
      out.push(`- ${cls}, J = ${p.similarity.toFixed(3)}${Number.isNaN(p.contentJ) ? '' : `, without the disclaimer ${p.contentJ.toFixed(3)}`}: rows ${p.a} (${KIND_NAMES[meta.kind[p.a] as number]}) and ${p.b} (${KIND_NAMES[meta.kind[p.b] as number]})`);
      for (const r of [p.a, p.b]) out.push(`  - \`${index.text(det.nearRowOf[r] as number).trim().replace(/\n/g, ' ⏎ ')}\``);
    }
  }
  return out.join('\n');
}

// --- main ---

interface Options {
  seed: number;
  threshold: number;
  params: MinHashParams;
  examples: boolean;
  spillWorkaround: boolean;
}


function spillNote(workaround: boolean, sampled: number, wrong: number): string {
  const how = workaround ? 'with --spill-workaround (pending spill batches flushed from outside NearIndex.add every 512 KiB)' : 'NearIndex used as the library does';
  if (wrong === 0) return `\nSpill read-back check (${how}): every sampled text read back as added.`;
  return `\n**WARNING: spill read-back check failed (${how}): ${wrong} of ${sampled} sampled rows read back a different text than was added, so exact verification compared the wrong texts and the figures below do not measure the algorithm.** Re-run with --spill-workaround to measure it while the spill bug stands.`;
}

function kindCounts(kinds: Iterable<number>): string {
  const counts = new Array<number>(KIND_NAMES.length).fill(0);
  for (const k of kinds) counts[k] = (counts[k] as number) + 1;
  return KIND_NAMES.map((name, k) => `${name} ${fmt(counts[k] as number)}`).join(', ');
}

async function runMain(total: number, { seed, threshold, params, examples, spillWorkaround }: Options): Promise<void> {
  const rssStart = process.resourceUsage().maxRSS;
  const loadStart = loadavg()[0] as number;
  const meta = newMeta(total);
  const wall0 = performance.now();
  let rssAfterAdd = 0;
  const { det, s, exampleText } = await detect(
    plantedRows(total, seed),
    total,
    params,
    threshold,
    spillWorkaround,
    (i, row) => {
      record(meta, i, row, params.shingle);
      if (i === total - 1) rssAfterAdd = process.resourceUsage().maxRSS;
    },
    (det, index) => {
      const s = score(meta, det, index, threshold);
      return { det, s, exampleText: examples ? exampleLines(s, meta, det, index) : '' };
    },
  );
  const wall = (performance.now() - wall0) / 1000;
  const rssPeak = process.resourceUsage().maxRSS;
  const kept = total - det.exactRemoved;
  const nearMs = det.signatureMs + det.spillMs + det.verifyMs + det.unionMs;
  const r = params.permutations / params.bands;

  console.log(`## Near dedup on planted data: ${fmt(total)} rows, seed ${seed}`);
  console.log(
    `\nshingle ${params.shingle} words, ${params.permutations} permutations, ${params.bands} bands (r = ${r}), threshold ${threshold}; LSH candidate probability at J = 0.5 / 0.7 / 0.8 / 0.9: ${[0.5, 0.7, 0.8, 0.9].map((x) => lshProbability(x, r, params.bands).toFixed(4)).join(' / ')}. Node ${process.version}, ${process.platform}/${process.arch}, ${cpus().length} CPUs, load average ${loadStart.toFixed(2)} at start and ${loadavg()[0]?.toFixed(2)} at the end.`,
  );
  console.log(`\nRows: ${kindCounts(meta.kind)}. Exact dedup (as prepareDataset, before near dedup) removed ${fmt(det.exactRemoved)}; near dedup ran on ${fmt(kept)}.`);
  console.log(spillNote(spillWorkaround, det.spillCheck.sampled, det.spillCheck.wrong));
  printRecall(s, threshold);
  printFalse(s, threshold);
  console.log(`\n### Time and memory (generating the planted rows is excluded)\n`);
  const per = (ms: number) => fmt(kept / (ms / 1000));
  console.log(
    table(
      ['part', 'seconds', 'rows/s'],
      [
        ['exact dedup (hash64 of conversationKey, ExactIndex), not part of near dedup', (det.exactMs / 1000).toFixed(2), fmt(total / (det.exactMs / 1000))],
        ['signatures: nearSignature (normalise, shingle, MinHash)', (det.signatureMs / 1000).toFixed(2), per(det.signatureMs)],
        ['spill: nearText + NearIndex.add', (det.spillMs / 1000).toFixed(2), per(det.spillMs)],
        [`verification: verifiedPairs(${threshold}): ${fmt(det.comparisons)} LSH bucket comparisons (${(det.comparisons / kept).toFixed(1)}/row), ${fmt(det.pairs.length)} verified pairs`, (det.verifyMs / 1000).toFixed(2), per(det.verifyMs)],
        ['union-find', (det.unionMs / 1000).toFixed(2), '–'],
        ['**near-dedup step (signatures + spill + verification + union-find)**', `**${(nearMs / 1000).toFixed(2)}**`, `**${per(nearMs)}**`],
      ],
    ),
  );
  console.log(
    `\nWall time including generating and scoring the planted rows: ${wall.toFixed(1)} s. Peak RSS (process.resourceUsage().maxRSS): ${mb(rssStart)} MB at start, ${mb(rssAfterAdd)} MB after adding every row, ${mb(rssPeak)} MB at the end (the harness holds ~40 B/row of labels and a 4,096-row source reservoir). Spill file: ${(det.spillBytes / 1e6).toFixed(1)} MB (${fmt(det.spillBytes / kept)} B/row); index in memory: ${params.permutations * 4 + 12} B/row (${((kept * (params.permutations * 4 + 12)) / 1e6).toFixed(1)} MB).`,
  );

  if (exampleText) console.log(exampleText);
}

const DEFAULT_BANDING = { permutations: 100, bands: 20 };
const SWEEP = [0.7, 0.75, 0.8, 0.85, 0.9];

/** The detection with only the pairs at or over `t`, clusters rebuilt. */
function restrict(det: Detection, t: number): Detection {
  const pairs = det.pairs.filter((p) => p.similarity >= t);
  const uf = new UnionFind(det.uf.parent.length);
  for (const p of pairs) uf.union(det.nearRowOf[p.a] as number, det.nearRowOf[p.b] as number);
  return { ...det, pairs, uf };
}

async function runGrid(total: number, { seed, threshold, spillWorkaround }: Options): Promise<void> {
  const rows = [...plantedRows(total, seed)];
  const SHINGLES = [1, 2, 3, 5];
  const BANDINGS: Array<[number, number]> = [
    [64, 16],
    [100, 20],
    [128, 16],
    [128, 32],
  ];
  console.log(`## Near-dedup parameter grid: ${fmt(total)} planted rows, seed ${seed}, threshold ${threshold}; Node ${process.version}, ${cpus().length} CPUs, load average ${loadavg()[0]?.toFixed(2)} at start`);
  console.log(`\nRows: ${kindCounts(rows.map((r) => r.kind))}.`);
  console.log(`\n### Theoretical LSH candidate probability 1 − (1 − s^r)^b\n`);
  console.log(
    table(
      ['permutations / bands', 'r', 's = 0.3', 's = 0.5', 's = 0.7', 's = 0.8', 's = 0.9'],
      BANDINGS.map(([p, b]) => [`${p} / ${b}`, p / b, ...[0.3, 0.5, 0.7, 0.8, 0.9].map((x) => lshProbability(x, p / b, b).toFixed(4))]),
    ),
  );

  const base = newMeta(rows.length);
  rows.forEach((row, i) => record(base, i, row, 2));
  const sep: Array<Array<string | number>> = [];
  const results: Array<Array<string | number>> = [];
  const sweep: Array<Array<string | number>> = [];
  let spillWrong = 0;
  for (const shingle of SHINGLES) {
    // Exact J of every planted pair at this shingle size: what the threshold can do before banding.
    const partnerJ = new Float32Array(rows.length).fill(Number.NaN);
    rows.forEach((row, i) => {
      if (row.partnerMessages) partnerJ[i] = jaccard(shingles(nearText(row.messages), shingle), shingles(nearText(row.partnerMessages), shingle));
    });
    const meta = copyMeta(base, partnerJ);
    const jOf = (k: Kind) => rows.flatMap((r, i) => (r.kind === k && !Number.isNaN(partnerJ[i] as number) ? [partnerJ[i] as number] : []));
    const share = (keep: (r: PlantedRow) => boolean, t: number) => {
      let n = 0;
      let above = 0;
      rows.forEach((r, i) => {
        if (!keep(r)) return;
        n++;
        if ((partnerJ[i] as number) >= t) above++;
      });
      return ratio(above, n);
    };
    const q = (xs: number[]) => `${quantile(xs, 0.99).toFixed(2)} / ${quantile(xs, 1).toFixed(2)}`;
    sep.push([
      shingle,
      ...EDIT_BUCKETS.map((_, b) => share((r) => r.kind === Kind.Edit && r.bucket === b, threshold)),
      share((r) => isCopy(r.kind) && r.kind !== Kind.Edit, threshold),
      q(jOf(Kind.Boilerplate)),
      q(jOf(Kind.LookalikeQ)),
      q(jOf(Kind.LookalikeQA)),
    ]);
    {
      // Threshold sweep with detection: one run at the lowest threshold, pairs then filtered.
      const params = { shingle, ...DEFAULT_BANDING };
      const lowest = SWEEP[0] as number;
      await detect(rows, rows.length, params, lowest, spillWorkaround, () => {}, (det, index) => {
        const out: Array<Array<string | number>> = [];
        for (const t of SWEEP) {
          const d = restrict(det, t);
          const sc = score(meta, d, index, t);
          const c = falseCounts(sc, t);
          const fm = formattingTally(sc);
          out.push([shingle, t, ...sc.editBuckets.map((b) => ratio(b.found, b.planted)), ratio(fm.found, fm.planted), c.boilerplateOnly, c.boilerplateTemplated, c.boilerplateContentNear, c.lookalike, c.other]);
        }
        sweep.push(...out);
      });
    }

    for (const [permutations, bands] of BANDINGS) {
      const params = { shingle, permutations, bands };
      const { det, s } = await detect(rows, rows.length, params, threshold, spillWorkaround, () => {}, (det, index) => ({ det, s: score(meta, det, index, threshold) }));
      if (det.spillCheck.wrong > 0) spillWrong++;
      const kept = rows.length - det.exactRemoved;
      const ms = det.signatureMs + det.spillMs + det.verifyMs + det.unionMs;
      const fmtT = formattingTally(s);
      const c = falseCounts(s, threshold);
      results.push([
        shingle,
        `${permutations} / ${bands}`,
        permutations / bands,
        ...s.editBuckets.map((b) => ratio(b.found, b.planted)),
        ratio(fmtT.found, fmtT.planted),
        c.boilerplateOnly,
        c.boilerplateTemplated,
        c.boilerplateContentNear,
        c.lookalike,
        c.other,
        (det.comparisons / kept).toFixed(1),
        (det.verifyMs / 1000).toFixed(2),
        fmt(kept / (ms / 1000)),
      ]);
      process.stderr.write(`grid: shingle ${shingle}, ${permutations}/${bands} done\n`);
    }
  }
  console.log(`\n### Exact Jaccard, no banding: share of planted copies at J ≥ ${threshold}, and p99 / max J of must-not-merge pairs with their partner\n`);
  console.log(table(['shingle', ...EDIT_BUCKETS.map((b) => `edit ${b[2]}`), 'formatting', 'boilerplate p99 / max', 'look-alike (q) p99 / max', 'look-alike (q+a) p99 / max'], sep));
  console.log(`\n### Threshold sweep (detection with ${DEFAULT_BANDING.permutations} / ${DEFAULT_BANDING.bands}, verified at each t): recall by nominal edit rate, false merges (verified pairs)\n`);
  console.log(table(['shingle', 't', ...EDIT_BUCKETS.map((b) => `recall ${b[2]}`), 'recall formatting', 'FM disclaimer, content J < 0.5', 'FM disclaimer, content 0.5 ≤ J < t', 'FM disclaimer, content J ≥ t', 'FM look-alike', 'FM other'], sweep));
  console.log(`\n### Detection (exact dedup, then LSH + verification at ${threshold}): recall by nominal edit rate, false merges (verified pairs), cost\n`);
  console.log(
    table(
      ['shingle', 'perms / bands', 'r', ...EDIT_BUCKETS.map((b) => `recall ${b[2]}`), 'recall formatting', 'FM disclaimer, content J < 0.5', 'FM disclaimer, content 0.5 ≤ J < t', 'FM disclaimer, content J ≥ t', 'FM look-alike', 'FM other', 'LSH comparisons/row', 'verify s', 'rows/s'],
      results,
    ),
  );
  console.log(spillNote(spillWorkaround, spillWrong > 0 ? 1 : 0, spillWrong > 0 ? 1 : 0));
  console.log(`\nFM = false merges, verified pairs between rows of different content; "disclaimer" columns are pairs sharing a disclaimer, split by the Jaccard of the two rows' shingles less the disclaimer's ("content J"). rows/s = kept rows / (signatures + spill + verification + union-find), one process, one run; load average ${loadavg()[0]?.toFixed(2)} at the end.`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string' },
      grid: { type: 'boolean', default: false },
      seed: { type: 'string', default: '20240601' },
      threshold: { type: 'string', default: '0.8' },
      shingle: { type: 'string' },
      permutations: { type: 'string' },
      bands: { type: 'string' },
      examples: { type: 'boolean', default: false },
      'spill-workaround': { type: 'boolean', default: false },
    },
  });
  const options: Options = {
    seed: Number(values.seed),
    threshold: Number(values.threshold),
    params: {
      shingle: Number(values.shingle ?? DEFAULT_MINHASH.shingle),
      permutations: Number(values.permutations ?? DEFAULT_MINHASH.permutations),
      bands: Number(values.bands ?? DEFAULT_MINHASH.bands),
    },
    examples: values.examples === true,
    spillWorkaround: values['spill-workaround'] === true,
  };
  if (values.grid) await runGrid(Number(values.rows ?? 20_000), options);
  else await runMain(Number(values.rows ?? 200_000), options);
}
