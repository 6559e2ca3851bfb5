/**
 * A deterministic synthetic domain corpus for benchmarks: finance, legal and medical Q&A with
 * right-skewed answer lengths (20–400 words), non-ASCII text in about 40% of rows, a long tail of
 * names and reference ids (so tokenizer caches do not stay trivially warm), and planted exact
 * duplicates (about 5%). The same seed gives byte-identical files.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { seededRandom } from '../src/split/_rng.js';

const DOMAINS = {
  finance: {
    q: ['What is the difference between {a} and {b}?', 'How should {name} account for {a} under IFRS 9?', 'Why did {a} fall by {n}% in Q{q}?', 'Is {a} a good hedge against {b}?'],
    s: ['Net income rose {n}% to €{n}.{n}bn, driven by {a}.', 'The {a} ratio compares {b} with total assets.', 'Ref. {id}: the fund’s ongoing charge is {n} bp — below the sector median.', '{name} reported EBITDA of £{n}m against guidance of £{n}m.', 'Under the covenant, leverage must stay below {n}.{n}× at each test date.'],
    w: ['EBITDA', 'free cash flow', 'duration', 'convexity', 'yield to maturity', 'equity risk premium', 'working capital', 'goodwill', 'deferred tax', 'credit spread'],
  },
  legal: {
    q: ['Is a clause limiting {a} enforceable against {name}?', 'What remedies exist for breach of {a}?', 'Does § {n}({q}) apply to {b}?', 'How is {a} proved in a claim for {b}?'],
    s: ['In {name} v. {name2} ({y}), the court held that {a} requires notice.', 'Clause {n}.{q} excludes liability for {b} “save for fraud”.', 'Case no. {id}: the tribunal awarded damages of €{n},000.', 'A party relying on {a} bears the burden of proof on the balance of probabilities.', 'The limitation period for {b} runs from the date of knowledge.'],
    w: ['force majeure', 'indemnity', 'misrepresentation', 'consideration', 'estoppel', 'negligence', 'termination for convenience', 'liquidated damages', 'good faith', 'restraint of trade'],
  },
  medical: {
    q: ['What is the usual adult dose of {a}?', 'Can {a} be given with {b}?', 'What are the warning signs of {b} after surgery?', 'How should {name} monitor {a} therapy?'],
    s: ['The usual dose is {n} mg twice daily, reduced to {n} mg when eGFR < {n} mL/min.', 'Patients on {a} should have levels checked every {n} weeks (target {n}–{n} µg/L).', 'Ref. {id}: temperature ≥ 38.{q} °C with rigors warrants blood cultures.', '{a} is contraindicated with {b} because of the risk of QT prolongation.', 'Counsel the patient to report dizziness, rash or swelling at once.'],
    w: ['metformin', 'warfarin', 'amoxicillin', 'lithium', 'sepsis', 'hyponatraemia', 'atrial fibrillation', 'heparin', 'digoxin', 'anaphylaxis'],
  },
} as const;

const NAME_PARTS = ['Al', 'Be', 'Ca', 'Do', 'El', 'Fa', 'Gu', 'Ha', 'Io', 'Ju', 'Ka', 'Lo', 'Mé', 'Nø', 'Os', 'Pa', 'Qu', 'Ro', 'Sá', 'Ti', 'Ul', 'Va', 'Wi', 'Xe', 'Yo', 'Zu'];

/** One generated row. */
export interface CorpusRow {
  id: string;
  domain: string;
  question: string;
  answer: string;
}

/**
 * Generates `rows` rows from `seed`.
 *
 * @example
 * for (const row of generateCorpus(1000, 1)) console.log(row.question);
 */
export function* generateCorpus(rows: number, seed: number): Generator<CorpusRow> {
  const { rand, pick, int } = draws(seed);
  const name = () => `${pick(NAME_PARTS)}${pick(NAME_PARTS).toLowerCase()}${pick(NAME_PARTS).toLowerCase()}`;
  const refId = () => Array.from({ length: int(6, 10) }, () => 'ABCDEFGHJKLMNPQRSTUVWXYZ0123456789'[int(0, 33)]).join('');
  const domains = Object.keys(DOMAINS) as Array<keyof typeof DOMAINS>;
  const recent: CorpusRow[] = [];
  for (let i = 0; i < rows; i++) {
    if (recent.length > 10 && rand() < 0.05) {
      const copy = pick(recent);
      yield { ...copy, id: `r${i}` };
      continue;
    }
    const domain = pick(domains);
    const d = DOMAINS[domain];
    const fill = (t: string) =>
      t
        .replace(/\{a\}/g, () => pick(d.w))
        .replace(/\{b\}/g, () => pick(d.w))
        .replace(/\{name2?\}/g, name)
        .replace(/\{n\}/g, () => String(int(1, 99)))
        .replace(/\{q\}/g, () => String(int(1, 4)))
        .replace(/\{y\}/g, () => String(int(1990, 2025)))
        .replace(/\{id\}/g, refId);
    // Right-skewed length: most answers are short, a few are long (20–400 words).
    const targetWords = Math.min(400, 20 + Math.floor(-Math.log(1 - rand() * 0.999) * 110));
    let answer = '';
    let words = 0;
    while (words < targetWords) {
      const s = fill(pick(d.s));
      answer += (answer ? ' ' : '') + s;
      words += s.split(' ').length;
      if (rand() < 0.12) answer += '\n\n';
    }
    const row = { id: `r${i}`, domain, question: fill(pick(d.q)), answer: answer.trim() };
    recent.push(row);
    if (recent.length > 200) recent.shift();
    yield row;
  }
}

/**
 * Templated rows: a handful of customer-service letters with their numbers and a word or two
 * varied, as form letters and generated reports are. Nearly every row is a near copy of thousands
 * of others (the stress case of near-dedup: a few clusters of tens of thousands of rows).
 *
 * @example
 * for (const row of generateTemplated(1000, 1)) console.log(row.question);
 */
export function* generateTemplated(rows: number, seed: number): Generator<CorpusRow> {
  const { pick, int } = draws(seed);
  const subjects = ['account', 'balance', 'statement', 'payment', 'invoice', 'overdue notice', 'credit limit', 'direct debit'];
  for (let i = 0; i < rows; i++) {
    const subject = pick(subjects);
    const question = `Dear customer service, regarding my ${subject} number ${int(100000, 999999)}, what should I do about the letter I received on the ${int(1, 28)}th of the month?`;
    const answer =
      `Thank you for contacting us about your ${pick(subjects)}. Please review the attached statement, verify the amount of ${int(10, 9999)} dollars, ` +
      `and reply within ${pick(['14', '21', '30'])} days so that we can resolve the matter. Your reference is ${int(1000000, 9999999)}.`;
    yield { id: `t${i}`, domain: 'finance', question, answer };
  }
}

/** Seeded draws: a number in [0, 1), an element of a list, an integer in [lo, hi]. */
function draws(seed: number): { rand: () => number; pick: <T>(xs: readonly T[]) => T; int: (lo: number, hi: number) => number } {
  const rand = seededRandom(seed);
  return {
    rand,
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T,
    int: (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1)),
  };
}

/**
 * Writes the corpus as JSONL or CSV (RFC 4180 quoting) and returns the bytes written.
 *
 * @example
 * await writeCorpus('bench.jsonl', 'jsonl', 10_000, 1); // or 'templated' as the fifth argument
 */
export async function writeCorpus(path: string, format: 'jsonl' | 'csv', rows: number, seed: number, kind: 'domain' | 'templated' = 'domain'): Promise<number> {
  const out = createWriteStream(path);
  let bytes = 0;
  const write = async (s: string) => {
    bytes += Buffer.byteLength(s);
    if (!out.write(s)) await once(out, 'drain');
  };
  const csv = (v: string) => (/[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  if (format === 'csv') await write('id,domain,question,answer\n');
  for (const r of kind === 'templated' ? generateTemplated(rows, seed) : generateCorpus(rows, seed)) {
    await write(format === 'jsonl' ? `${JSON.stringify(r)}\n` : `${[r.id, r.domain, r.question, r.answer].map(csv).join(',')}\n`);
  }
  out.end();
  await once(out, 'finish');
  return bytes;
}
