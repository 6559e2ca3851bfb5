/**
 * Missing-value markers: the `nullValues` that a row's top-level text fields are read as missing
 * by (a SQL export's `\N`, pandas' `nan`), and the per-file tally of the usual markers left as
 * text in the columns a mapping reads, for the warning that says how to read them as missing.
 * Both run on every field read: no regex; most values cost a character read and a table look-up,
 * and only a value short enough to be one is looked up in a set.
 */

/** The markers SQL, pandas, R and spreadsheets write for a missing value (case as written). */
export const USUAL_MARKERS: readonly string[] = ['NaN', 'nan', 'None', 'NULL', 'null', 'NA', 'N/A', 'n/a', '#N/A', '<NA>', 'NaT', '\\N'];

/** A field that a null value replaced, and that null value (for the message of a row rejected for it). */
export type Nulled = Array<[key: string, held: string]>;

/**
 * A function that reads a row's top-level text fields equal (trimmed) to one of `nullValues` as
 * null: the row's data as it is when none is (no copy), else a copy with those fields null and the
 * fields it changed. Undefined when `nullValues` is empty.
 *
 * @example
 * const read = nullReader(['\\N']);
 * read?.({ q: 'x', system: '\\N' }) // { data: { q: 'x', system: null }, nulled: [['system', '\\N']] }
 */
export function nullReader(nullValues: readonly string[] | undefined): ((data: Record<string, unknown>) => { data: Record<string, unknown>; nulled: Nulled | undefined }) | undefined {
  const set = new Set((nullValues ?? []).map((v) => v.trim()).filter((v) => v !== ''));
  if (set.size === 0) return undefined;
  const max = Math.max(...[...set].map((v) => v.length));
  const first = firstChars(set);
  return (data) => {
    let copy: Record<string, unknown> | undefined;
    let nulled: Nulled | undefined;
    for (const key in data) {
      const v = data[key];
      if (typeof v !== 'string' || !Object.hasOwn(data, key)) continue;
      const t = shortTrimmed(v, max, first);
      if (t === undefined || !set.has(t)) continue;
      copy ??= { ...data };
      // defineProperty: a column named __proto__ must stay a plain key.
      Object.defineProperty(copy, key, { value: null, enumerable: true, writable: true, configurable: true });
      (nulled ??= []).push([key, t]);
    }
    return { data: copy ?? data, nulled };
  };
}

/**
 * The message of a row rejected as `missing_field`, saying which of the fields it names held a null
 * value: `field "answer" is missing or null (it holds "\N", one of nullValues)`.
 */
export function nulledMessage(message: string, nulled: Nulled): string {
  let out = message;
  const notes: string[] = [];
  for (const [key, held] of nulled) {
    const named = `field "${key}" is missing or null`;
    // As written, not as JSON: `"\N"`, which JSON would show as "\\N". Null values are short, one line.
    const note = `holds "${held}", one of nullValues`;
    if (out.includes(named)) out = out.replace(named, () => `${named} (it ${note})`);
    else if (out.includes(`"${key}"`) || out.includes(`"${key}.`)) notes.push(`"${key}" ${note}`);
  }
  return notes.length === 0 ? out : `${out} (${notes.join('; ')})`;
}

/**
 * Counts, for one input file, the values of the columns a mapping reads that are (trimmed) one of
 * {@link USUAL_MARKERS} but not a null value, so that one warning can say they were kept as text.
 */
export class MarkerTally {
  /** The usual markers that are not null values: those worth a warning. */
  readonly #markers: Set<string>;
  /** The characters the markers start with (see {@link firstChars}). */
  readonly #first: Starts;
  /** marker → column → values. */
  readonly #seen = new Map<string, Map<string, number>>();

  constructor(nullValues: readonly string[]) {
    const nulls = new Set(nullValues.map((v) => v.trim()));
    this.#markers = new Set(USUAL_MARKERS.filter((m) => !nulls.has(m)));
    this.#first = firstChars(this.#markers);
  }

  /** Counts the markers among `used` columns of a row. */
  see(data: Record<string, unknown>, used: readonly string[]): void {
    if (this.#markers.size === 0) return;
    for (let i = 0; i < used.length; i++) {
      const column = used[i] as string;
      const v = data[column];
      if (typeof v !== 'string') continue;
      const t = shortTrimmed(v, MARKER_CHARS, this.#first);
      if (t === undefined || !this.#markers.has(t) || !Object.hasOwn(data, column)) continue;
      // A column read twice by a mapping (a template naming it twice) counts once.
      if (used.indexOf(column) !== i) continue;
      let columns = this.#seen.get(t);
      if (columns === undefined) this.#seen.set(t, (columns = new Map()));
      columns.set(column, (columns.get(column) ?? 0) + 1);
    }
  }

  /**
   * The warning for `file`, or undefined when no marker was seen: per marker how many values in
   * which columns, that they were kept as text, and the `nullValues` (and CLI flag) that read them
   * as missing, keeping the null values already set.
   */
  warning(file: string, nullValues: readonly string[]): string | undefined {
    if (this.#seen.size === 0) return undefined;
    const seen = USUAL_MARKERS.filter((m) => this.#seen.has(m));
    const parts = seen.map((m) => {
      const columns = [...(this.#seen.get(m) as Map<string, number>)];
      const total = columns.reduce((n, [, c]) => n + c, 0);
      const where = columns.map(([column, count]) => (columns.length === 1 ? JSON.stringify(column) : `${JSON.stringify(column)} ${count.toLocaleString('en-US')}`)).join(', ');
      return `"${m}" ${total.toLocaleString('en-US')} ${total === 1 ? 'value' : 'values'} (${columns.length === 1 ? 'column' : 'columns'} ${where})`;
    });
    const wanted = [...nullValues, ...seen];
    const shell = `'${wanted.join(',').replaceAll("'", "'\\''")}'`;
    return (
      `${file}: values that look like missing-value markers were kept as text in the columns the mapping reads: ${parts.join(', ')}. ` +
      `If they stand for a missing value (a SQL NULL, pandas' NaN), read them as missing with nullValues: [${wanted.map((v) => JSON.stringify(v)).join(', ')}] (CLI --null-values ${shell}): ` +
      'a required field then rejects its row as missing_field, an optional one is left out.'
    );
  }
}

// --- internal ---

/** The longest of {@link USUAL_MARKERS}. */
const MARKER_CHARS = 4;

/** The characters values start with: a table for ASCII, a set for the rest (rare). */
interface Starts {
  ascii: Uint8Array;
  other: Set<number>;
}

/** The characters that the values start with, for a look-up cheaper than a set of the values. */
function firstChars(values: Iterable<string>): Starts {
  const starts: Starts = { ascii: new Uint8Array(128), other: new Set() };
  for (const v of values) {
    const c = v.charCodeAt(0);
    if (c < 128) starts.ascii[c] = 1;
    else starts.other.add(c);
  }
  return starts;
}

/**
 * A value trimmed, when it may be one of the values whose first characters `first` holds and at
 * most `max` characters long; else undefined. Most values cost a character read and a table
 * look-up (a first character that starts none of them and is no space); a longer one is trimmed
 * only when it begins or ends with white space.
 */
function shortTrimmed(v: string, max: number, first: Starts): string | undefined {
  const n = v.length;
  if (n === 0) return undefined;
  const c = v.charCodeAt(0);
  const space = isSpace(c);
  if (!space && (c < 128 ? first.ascii[c] === 0 : !first.other.has(c))) return undefined;
  if (!space && !isSpace(v.charCodeAt(n - 1))) return n <= max ? v : undefined;
  const t = v.trim();
  return t.length === 0 || t.length > max ? undefined : t;
}

/** What `String.prototype.trim` removes (ASCII controls too: trimming them just finds none). */
function isSpace(c: number): boolean {
  if (c < 128) return c <= 32;
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}
