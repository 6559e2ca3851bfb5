/**
 * `npx tsx scripts/bench-near.ts [--rows 200000] [--grid] [--seed N] [--threshold 0.8]`
 *
 * Near-duplicate detection measured on planted data: SFT records (a question and an answer of tens
 * to hundreds of words) built from the deterministic synthetic corpus of scripts/corpus.ts, with
 * planted near-copies (edited, reformatted), records sharing only a long disclaimer, and templated
 * look-alikes. Detection runs exactly as the library does: `nearKeys(messages, params)` per row,
 * `NearIndex.add(nearText(messages), keys)` with a spill file in a temporary folder,
 * `verifiedPairs(threshold)`, then union-find clusters.
 *
 * Default (no `--grid`): one run at `--rows` (default 200,000) with `DEFAULT_MINHASH` (override with
 * `--shingle`, `--permutations`, `--bands`): recall per edit-rate bucket, per exact-Jaccard bucket
 * and per formatting kind, false merges by class, time split into signatures / spill / verification,
 * rows/s and peak RSS.
 *
 * `--grid`: the planted set at `--rows` (default 20,000) held in memory, and every combination of
 * shingle size 1, 2, 3, 5 words with permutations/bands 64/16, 100/20, 128/16, 128/32; plus the
 * exact-Jaccard separation of planted classes per shingle size (no LSH) and the theoretical LSH
 * candidate probability 1 - (1 - s^r)^b.
 *
 * Planted data (all seeded; the same seed gives the same rows). Every row is
 * [system (shared, ignored by nearText), user: question, assistant: answer]. Per row:
 *   72%  base: the next record of generateCorpus(seed); its own planted exact copies (~5%) are
 *        dropped, since exact dedup handles them before near dedup.
 *   10%  edit: a near-copy of an earlier content row (uniform over all earlier base and boilerplate
 *        rows, by reservoir sampling) with k = max(1, round(rate × words)) word edits, each a
 *        substitution (half a vocabulary word, half a typo of the word), insertion or deletion with
 *        equal chance. The nominal rate is drawn uniformly from one of four equally likely buckets:
 *        (0, 2%], (2, 5%], (5, 10%], (10, 20%]. `words` counts question + answer words.
 *    4%  format: a near-copy in one of four kinds, equally likely: case and whitespace changes (equal
 *        to its source after normalisation, so exact dedup also catches it), punctuation changes
 *        (commas dropped, sentence ends and quotes changed), a trailing sentence added (a stock
 *        closing line or a sentence from another record), or the last sentence removed.
 *   10%  boilerplate: a fresh record (generateCorpus(seed + 1)) whose answer carries one of four
 *        25–60 word disclaimers (70% appended, 30% as a preamble). Rows sharing a disclaimer share
 *        nothing else by construction: they must never be merged.
 *    2%  look-alike (question): the question of an earlier base row with its entities, names,
 *        reference ids and numbers refilled, and a different answer of the same domain.
 *    2%  look-alike (question + answer): an earlier base row with every entity, name, reference id
 *        and number in both messages refilled; the template words stay. A stress test: these are
 *        distinct facts in near-identical wording.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { conversationKey } from '../src/dedup/index.js';
import { DEFAULT_MINHASH, jaccard, nearKeys, nearText, shingles, type MinHashParams } from '../src/dedup/minhash.js';
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

/** Shared boilerplate: 25–60 words each. */
const DISCLAIMERS = [
  // 58 words
  'This answer is general information only and does not constitute legal advice. Laws differ between jurisdictions and change over time, and the outcome of any dispute depends on its particular facts. You should consult a qualified lawyer licensed in your jurisdiction before acting or refraining from acting on anything said here. No lawyer-client relationship is created by this response.',
  // 47 words
  'Medical disclaimer: the information above is educational and is not a substitute for professional medical advice, diagnosis or treatment. Always seek the advice of your physician or another qualified health provider with any questions about a medical condition, and never disregard professional advice because of something you read here.',
  // 40 words
  'Important: this is not investment, tax or accounting advice. Past performance is not a reliable indicator of future results, the value of investments can go down as well as up, and you may get back less than you invest.',
  // 27 words
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
 * for (const row of plantedRows(20_000, 1)) index.add(nearText(row.messages), nearKeys(row.messages));
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
      const [question, answer] = editWords([src.question, src.answer], edits, rand, vocabulary);
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
  /** Copies equal to their source after exact-dedup normalisation. */
  exactAfterNorm: Uint8Array;
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
    exactAfterNorm: new Uint8Array(n),
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
  if (row.partnerMessages) {
    meta.partnerJ[i] = jaccard(shingles(nearText(row.messages), shingle), shingles(nearText(row.partnerMessages), shingle));
    if (isCopy(row.kind)) meta.exactAfterNorm[i] = conversationKey(row.messages) === conversationKey(row.partnerMessages) ? 1 : 0;
  }
}

interface Detection {
  rows: number;
  signatureMs: number;
  spillMs: number;
  verifyMs: number;
  unionMs: number;
  candidates: number;
  pairs: Array<{ a: number; b: number; similarity: number }>;
  uf: UnionFind;
  spillBytes: number;
}

/** Runs near dedup as the library does over `rows`, calling `each` (untimed) after adding a row. */
function detect(rows: Iterable<PlantedRow>, params: MinHashParams, threshold: number, each: (i: number, row: PlantedRow) => void): Detection {
  const dir = mkdtempSync(join(tmpdir(), 'lora-prep-near-'));
  try {
    const index = new NearIndex(join(dir, 'near.spill'), params);
    let signatureMs = 0;
    let spillMs = 0;
    let spillBytes = 0;
    let i = 0;
    for (const row of rows) {
      const t0 = performance.now();
      const keys = nearKeys(row.messages, params);
      const t1 = performance.now();
      const text = nearText(row.messages);
      index.add(text, keys);
      const t2 = performance.now();
      signatureMs += t1 - t0;
      spillMs += t2 - t1;
      spillBytes += Buffer.byteLength(text);
      each(i++, row);
    }
    let candidates = 0;
    const t3 = performance.now();
    const pairs = index.verifiedPairs(threshold, () => {
      candidates++;
      return true;
    });
    const t4 = performance.now();
    const uf = new UnionFind(index.size);
    for (const p of pairs) uf.union(p.a, p.b);
    const t5 = performance.now();
    index.close();
    return { rows: index.size, signatureMs, spillMs, verifyMs: t4 - t3, unionMs: t5 - t4, candidates, pairs, uf, spillBytes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Score {
  /** Per nominal edit bucket: planted, recalled. */
  editBuckets: Array<{ planted: number; found: number; jAbove: number; words: number; edits: number; j: number[] }>;
  /** Per effective edit rate (edits / words) bucket. */
  effective: Array<{ planted: number; found: number; jAbove: number }>;
  /** Per exact-Jaccard bucket of copy vs source. */
  jBuckets: Array<{ planted: number; found: number }>;
  /** Per copy kind (Kind index): planted, found, exactAfterNorm. */
  kinds: Map<Kind, { planted: number; found: number; exact: number; jAbove: number; j: number[] }>;
  /** Edit copies whose source carries a disclaimer. */
  boilerplateSources: { planted: number; found: number; jAbove: number };
  /** Verified pairs across families, by class. */
  falsePairs: { boilerplate: number; lookalike: number; other: number; examples: Array<{ a: number; b: number; similarity: number; cls: string }> };
  /** Clusters holding more than one family, and rows in them. */
  mixedClusters: number;
  mixedRows: number;
  verifiedPairs: number;
  /** J with the planted partner for must-not-merge classes. */
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

function score(meta: RowMeta, det: Detection, threshold: number): Score {
  const n = det.rows;
  const { uf } = det;
  const s: Score = {
    editBuckets: EDIT_BUCKETS.map(() => ({ planted: 0, found: 0, jAbove: 0, words: 0, edits: 0, j: [] })),
    effective: EFFECTIVE_BUCKETS.map(() => ({ planted: 0, found: 0, jAbove: 0 })),
    jBuckets: J_BUCKETS.map(() => ({ planted: 0, found: 0 })),
    kinds: new Map(),
    boilerplateSources: { planted: 0, found: 0, jAbove: 0 },
    falsePairs: { boilerplate: 0, lookalike: 0, other: 0, examples: [] },
    mixedClusters: 0,
    mixedRows: 0,
    verifiedPairs: det.pairs.length,
    partnerJ: new Map(),
  };
  for (let i = 0; i < n; i++) {
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
    const found = uf.find(i) === uf.find(meta.partner[i] as number) ? 1 : 0;
    const above = j >= threshold ? 1 : 0;
    const k = s.kinds.get(kind) ?? { planted: 0, found: 0, exact: 0, jAbove: 0, j: [] };
    k.planted++;
    k.found += found;
    k.exact += meta.exactAfterNorm[i] as number;
    k.jAbove += above;
    k.j.push(j);
    s.kinds.set(kind, k);
    const jb = s.jBuckets[jBucketOf(j)];
    if (jb) {
      jb.planted++;
      jb.found += found;
    }
    if (kind === Kind.Edit) {
      const b = s.editBuckets[meta.bucket[i] as number];
      if (b) {
        b.planted++;
        b.found += found;
        b.jAbove += above;
        b.words += meta.words[i] as number;
        b.edits += meta.edits[i] as number;
        b.j.push(j);
      }
      const e = s.effective[bucketOf(EFFECTIVE_BUCKETS, (meta.edits[i] as number) / (meta.words[i] as number))];
      if (e) {
        e.planted++;
        e.found += found;
        e.jAbove += above;
      }
      if ((meta.disclaimer[i] as number) >= 0) {
        s.boilerplateSources.planted++;
        s.boilerplateSources.found += found;
        s.boilerplateSources.jAbove += above;
      }
    }
  }
  // Verified pairs between different families.
  for (const p of det.pairs) {
    const fa = meta.family[p.a] as number;
    const fb = meta.family[p.b] as number;
    if (fa === fb) continue;
    const da = meta.disclaimer[p.a] as number;
    const db = meta.disclaimer[p.b] as number;
    const lookalike = (x: number, y: number) => {
      const k = meta.kind[y] as Kind;
      return (k === Kind.LookalikeQ || k === Kind.LookalikeQA) && meta.family[meta.partner[y] as number] === meta.family[x];
    };
    let cls: string;
    if (da >= 0 && da === db) {
      cls = 'boilerplate';
      s.falsePairs.boilerplate++;
    } else if (lookalike(p.a, p.b) || lookalike(p.b, p.a)) {
      cls = 'look-alike';
      s.falsePairs.lookalike++;
    } else {
      cls = 'other';
      s.falsePairs.other++;
    }
    if (s.falsePairs.examples.length < 200) s.falsePairs.examples.push({ ...p, cls });
  }
  // Clusters joining different families.
  const firstFamily = new Map<number, number>();
  const mixed = new Set<number>();
  for (let i = 0; i < n; i++) {
    const root = uf.find(i);
    if (uf.sizeOf(root) < 2) continue;
    const f = firstFamily.get(root);
    if (f === undefined) firstFamily.set(root, meta.family[i] as number);
    else if (f !== meta.family[i]) mixed.add(root);
  }
  s.mixedClusters = mixed.size;
  for (const root of mixed) s.mixedRows += uf.sizeOf(root);
  return s;
}

// --- output ---

const fmt = (v: number, digits = 0) => v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const ratio = (a: number, b: number) => (b === 0 ? '–' : (a / b).toFixed(3));
const quantile = (xs: number[], q: number) => {
  if (xs.length === 0) return Number.NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
};
function table(header: string[], rows: Array<Array<string | number>>, align?: string): string {
  const a = align ?? header.map((_, i) => (i === 0 ? 'l' : 'r')).join('');
  const sep = header.map((_, i) => (a[i] === 'l' ? '---' : '---:'));
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
  console.log(`\n### Edited near-copies by effective edit rate (edits / words)\n`);
  console.log(
    table(
      ['edits / words', 'planted', `share J ≥ ${threshold}`, 'recall'],
      s.effective.filter((e) => e.planted > 0).map((e) => [EFFECTIVE_BUCKETS[s.effective.indexOf(e)]?.[2] ?? '', fmt(e.planted), ratio(e.jAbove, e.planted), ratio(e.found, e.planted)]),
    ),
  );
  console.log(`\n### All near-copies (edited and formatting) by exact Jaccard with their source\n`);
  console.log(
    table(
      ['J(copy, source)', 'planted', 'recall'],
      s.jBuckets.map((b, i) => [J_BUCKETS[i]?.[2] ?? '', fmt(b.planted), ratio(b.found, b.planted)]),
    ),
  );
  console.log(`\n### Near-copies by kind\n`);
  console.log(
    table(
      ['kind', 'planted', 'equal after normalisation (exact dedup)', 'median J', `share J ≥ ${threshold}`, 'recall (near)'],
      [...s.kinds.entries()]
        .sort((x, y) => x[0] - y[0])
        .map(([k, v]) => [KIND_NAMES[k] ?? '', fmt(v.planted), fmt(v.exact), quantile(v.j, 0.5).toFixed(3), ratio(v.jAbove, v.planted), ratio(v.found, v.planted)]),
    ),
  );
  const bs = s.boilerplateSources;
  console.log(`\nEdited copies of rows that carry a disclaimer: ${fmt(bs.planted)} planted, share J ≥ ${threshold} ${ratio(bs.jAbove, bs.planted)}, recall ${ratio(bs.found, bs.planted)}.`);
}

function printFalse(s: Score, threshold: number): void {
  console.log(`\n### Must-not-merge classes: exact Jaccard with their planted partner\n`);
  console.log(
    table(
      ['class', 'pairs', 'median J', 'p99 J', 'max J', `pairs ≥ ${threshold}`],
      [Kind.Boilerplate, Kind.LookalikeQ, Kind.LookalikeQA].map((k) => {
        const js = s.partnerJ.get(k) ?? [];
        return [KIND_NAMES[k] ?? '', fmt(js.length), quantile(js, 0.5).toFixed(3), quantile(js, 0.99).toFixed(3), quantile(js, 1).toFixed(3), fmt(js.filter((j) => j >= threshold).length)];
      }),
    ),
  );
  console.log(`\n### False merges (verified pairs between rows of different content)\n`);
  console.log(
    table(
      ['class', `verified pairs ≥ ${threshold}`],
      [
        ['sharing only a disclaimer (boilerplate)', fmt(s.falsePairs.boilerplate)],
        ['templated look-alike of its origin', fmt(s.falsePairs.lookalike)],
        ['other (different base records)', fmt(s.falsePairs.other)],
        ['clusters joining different content', fmt(s.mixedClusters)],
        ['rows in those clusters', fmt(s.mixedRows)],
      ],
    ),
  );
}

// --- main ---

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
  },
});
const seed = Number(values.seed);
const threshold = Number(values.threshold);

if (values.grid) runGrid(Number(values.rows ?? 20_000));
else runMain(Number(values.rows ?? 200_000));

function runMain(total: number): void {
  const params: MinHashParams = {
    shingle: Number(values.shingle ?? DEFAULT_MINHASH.shingle),
    permutations: Number(values.permutations ?? DEFAULT_MINHASH.permutations),
    bands: Number(values.bands ?? DEFAULT_MINHASH.bands),
  };
  const rssStart = process.resourceUsage().maxRSS;
  const meta = newMeta(total);
  const wall0 = performance.now();
  let rssAfterAdd = 0;
  const det = detect(plantedRows(total, seed), params, threshold, (i, row) => {
    record(meta, i, row, params.shingle);
    if (i === total - 1) rssAfterAdd = process.resourceUsage().maxRSS;
  });
  const wall = (performance.now() - wall0) / 1000;
  const rssPeak = process.resourceUsage().maxRSS;
  const s = score(meta, det, threshold);
  const nearMs = det.signatureMs + det.spillMs + det.verifyMs + det.unionMs;
  const r = params.permutations / params.bands;

  console.log(`## Near dedup on planted data: ${fmt(total)} rows, seed ${seed}`);
  console.log(`\nshingle ${params.shingle} words, ${params.permutations} permutations, ${params.bands} bands (r = ${r}), threshold ${threshold}; Node ${process.version}, ${process.platform}/${process.arch}.`);
  const counts = new Array<number>(KIND_NAMES.length).fill(0);
  for (const k of meta.kind) counts[k] = (counts[k] as number) + 1;
  console.log(`\nRows: ${KIND_NAMES.map((name, k) => `${name} ${fmt(counts[k] as number)}`).join(', ')}.`);
  printRecall(s, threshold);
  printFalse(s, threshold);
  console.log(`\n### Time and memory (near-dedup step only; generating the planted rows is excluded)\n`);
  console.log(
    table(
      ['part', 'seconds', 'rows/s'],
      [
        ['signatures: nearKeys (normalise, shingle, MinHash, band keys)', (det.signatureMs / 1000).toFixed(2), fmt(total / (det.signatureMs / 1000))],
        ['spill: nearText + NearIndex.add', (det.spillMs / 1000).toFixed(2), fmt(total / (det.spillMs / 1000))],
        [`verification: verifiedPairs(${threshold}), ${fmt(det.candidates)} candidates (${(det.candidates / total).toFixed(2)}/row), ${fmt(det.pairs.length)} verified`, (det.verifyMs / 1000).toFixed(2), fmt(total / (det.verifyMs / 1000))],
        ['union-find', (det.unionMs / 1000).toFixed(2), '–'],
        ['**near-dedup step, total**', `**${(nearMs / 1000).toFixed(2)}**`, `**${fmt(total / (nearMs / 1000))}**`],
      ],
    ),
  );
  console.log(
    `\nWall time including generating the planted rows: ${wall.toFixed(1)} s. Peak RSS (process.resourceUsage().maxRSS): ${mb(rssStart)} MB at start, ${mb(rssAfterAdd)} MB after adding every row, ${mb(rssPeak)} MB after verification. Spill file: ${(det.spillBytes / 1e6).toFixed(1)} MB (${fmt(det.spillBytes / total)} B/row); index in memory: ${params.bands * 4 + 12} B/row.`,
  );
  if (values.examples) {
    console.log('\n### Example false merges\n');
    const shown = s.falsePairs.examples.slice(0, 20);
    const wanted = new Set(shown.flatMap((e) => [e.a, e.b]));
    const texts = new Map<number, string>();
    let i = 0;
    for (const row of plantedRows(total, seed)) {
      if (wanted.has(i)) texts.set(i, nearText(row.messages).replace(/\n/g, ' ⏎ '));
      if (++i > Math.max(...wanted)) break;
    }
    for (const e of shown) {
      console.log(`- ${e.cls}, J = ${e.similarity.toFixed(3)}: rows ${e.a} (${KIND_NAMES[meta.kind[e.a] as number]}) and ${e.b} (${KIND_NAMES[meta.kind[e.b] as number]})`);
      console.log(`  - ${texts.get(e.a)}\n  - ${texts.get(e.b)}`);
    }
  }
}

function runGrid(total: number): void {
  const rows = [...plantedRows(total, seed)];
  const SHINGLES = [1, 2, 3, 5];
  const BANDINGS: Array<[number, number]> = [
    [64, 16],
    [100, 20],
    [128, 16],
    [128, 32],
  ];
  console.log(`## Near-dedup parameter grid: ${fmt(total)} planted rows, seed ${seed}, threshold ${threshold}; Node ${process.version}`);
  console.log(`\n### Theoretical LSH candidate probability 1 − (1 − s^r)^b\n`);
  console.log(
    table(
      ['permutations / bands', 'r', 's = 0.3', 's = 0.5', 's = 0.7', 's = 0.8', 's = 0.9'],
      BANDINGS.map(([p, b]) => [`${p} / ${b}`, p / b, ...[0.3, 0.5, 0.7, 0.8, 0.9].map((x) => lshProbability(x, p / b, b).toFixed(4))]),
    ),
  );

  // Exact-Jaccard separation per shingle size: what threshold 0.8 can do before any banding.
  const sep: Array<Array<string | number>> = [];
  const results: Array<Array<string | number>> = [];
  for (const shingle of SHINGLES) {
    const meta = newMeta(rows.length);
    rows.forEach((row, i) => record(meta, i, row, shingle));
    const ideal = EDIT_BUCKETS.map(() => [0, 0]);
    const fmtIdeal = [0, 0];
    const jOf = (k: Kind) => {
      const xs: number[] = [];
      meta.kind.forEach((kk, i) => {
        if (kk === k && !Number.isNaN(meta.partnerJ[i] as number)) xs.push(meta.partnerJ[i] as number);
      });
      return xs;
    };
    meta.kind.forEach((k, i) => {
      const j = meta.partnerJ[i] as number;
      if (k === Kind.Edit) {
        const b = ideal[meta.bucket[i] as number] as number[];
        b[0] = (b[0] as number) + 1;
        b[1] = (b[1] as number) + (j >= threshold ? 1 : 0);
      } else if (isCopy(k as Kind)) {
        fmtIdeal[0] = (fmtIdeal[0] as number) + 1;
        fmtIdeal[1] = (fmtIdeal[1] as number) + (j >= threshold ? 1 : 0);
      }
    });
    const boiler = jOf(Kind.Boilerplate);
    const lq = jOf(Kind.LookalikeQ);
    const lqa = jOf(Kind.LookalikeQA);
    sep.push([
      shingle,
      ...ideal.map(([p, a]) => ratio(a as number, p as number)),
      ratio(fmtIdeal[1] as number, fmtIdeal[0] as number),
      `${quantile(boiler, 0.99).toFixed(2)} / ${quantile(boiler, 1).toFixed(2)}`,
      `${quantile(lq, 0.99).toFixed(2)} / ${quantile(lq, 1).toFixed(2)}`,
      `${quantile(lqa, 0.99).toFixed(2)} / ${quantile(lqa, 1).toFixed(2)}`,
    ]);

    for (const [permutations, bands] of BANDINGS) {
      const params = { shingle, permutations, bands };
      const m2 = newMeta(rows.length);
      const det = detect(rows, params, threshold, () => {});
      // Scoring needs the exact J per shingle, computed above.
      m2.kind.set(meta.kind);
      m2.family.set(meta.family);
      m2.partner.set(meta.partner);
      m2.disclaimer.set(meta.disclaimer);
      m2.bucket.set(meta.bucket);
      m2.words.set(meta.words);
      m2.edits.set(meta.edits);
      m2.partnerJ.set(meta.partnerJ);
      m2.exactAfterNorm.set(meta.exactAfterNorm);
      const s = score(m2, det, threshold);
      const ms = det.signatureMs + det.spillMs + det.verifyMs + det.unionMs;
      let fp = 0;
      let ff = 0;
      for (const [k, v] of s.kinds) {
        if (k !== Kind.Edit) {
          fp += v.planted;
          ff += v.found;
        }
      }
      results.push([
        shingle,
        `${permutations} / ${bands}`,
        permutations / bands,
        ...s.editBuckets.map((b) => ratio(b.found, b.planted)),
        ratio(ff, fp),
        s.falsePairs.boilerplate,
        s.falsePairs.lookalike,
        s.falsePairs.other,
        (det.candidates / rows.length).toFixed(2),
        fmt(rows.length / (ms / 1000)),
      ]);
      process.stderr.write(`grid: shingle ${shingle}, ${permutations}/${bands} done\n`);
    }
  }
  console.log(`\n### Exact Jaccard (no banding): share of planted copies at J ≥ ${threshold}, and p99 / max J of must-not-merge pairs\n`);
  console.log(table(['shingle', ...EDIT_BUCKETS.map((b) => `edit ${b[2]}`), 'format', 'boilerplate p99 / max', 'look-alike (q) p99 / max', 'look-alike (q+a) p99 / max'], sep));
  console.log(`\n### Detection (LSH + verification at ${threshold}): recall by nominal edit rate, false merges (verified pairs), cost\n`);
  console.log(
    table(
      ['shingle', 'perms / bands', 'r', ...EDIT_BUCKETS.map((b) => `recall ${b[2]}`), 'recall format', 'FM boilerplate', 'FM look-alike', 'FM other', 'candidates/row', 'rows/s'],
      results,
    ),
  );
  const counts = new Array<number>(KIND_NAMES.length).fill(0);
  for (const r of rows) counts[r.kind] = (counts[r.kind] as number) + 1;
  console.log(`\nRows: ${KIND_NAMES.map((name, k) => `${name} ${fmt(counts[k] as number)}`).join(', ')}. rows/s counts signatures + spill + verification + union-find, one process, one run.`);
}
