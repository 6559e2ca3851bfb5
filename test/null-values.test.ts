/**
 * `nullValues`: SQL and pandas missing-value markers (`\N`, `nan`, `None`) read as missing, never
 * trained on as text; the per-file warning about the usual markers left as text in the columns a
 * mapping reads; and PostgreSQL's text format read with its escapes decoded.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isLoraPrepError, normalizeRecords, prepareDataset, type PrepareOptions, type PrepareResult } from '../src/index.js';
import { MarkerTally, nullReader } from '../src/normalize/_nulls.js';
import { resolveOptions } from '../src/options.js';
import { collect, fromArray, recordingContext, tempDir } from './helpers/index.js';

interface Written {
  result: PrepareResult;
  /** The examples written, in file order (validation 0: all in train). */
  kept: Array<{ messages: Array<{ role: string; content: string }> }>;
  rejected: Array<{ source: { file: string; line: number }; reason: string; message: string; raw?: Record<string, unknown> }>;
}

/** Writes `text` as `name` and prepares it alone, nothing split off and no dedup. */
async function prepare(name: string, text: string, options: Partial<PrepareOptions> = {}): Promise<Written & { file: string }> {
  const dir = await tempDir();
  const file = join(dir, name);
  await writeFile(file, text);
  const result = await prepareDataset({ inputs: [file], outDir: join(dir, 'out'), split: { validation: 0 }, dedup: false, concurrency: 1, ...options });
  const lines = async (path: string) => (await readFile(path, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l));
  return { file, result, kept: await lines(result.files.train), rejected: await lines(result.files.rejected) };
}

/** The warnings of a run but the one about the size of train (these runs are small). */
const warningsOf = (r: PrepareResult) => r.warnings.filter((w) => !/training examples; train has/.test(w));

/** A tab, the delimiter, inside the String.raw rows. */
const T = '\t';

/** A `COPY (SELECT question, answer, system, notes FROM faq) TO '...'` file: tabs, \N, escapes. */
const PG_TSV = [
  'question\tanswer\tsystem\tnotes',
  String.raw`What does clause 4 cover?${T}Losses from third-party claims,\nnot consequential ones.${T}\N${T}\N`,
  String.raw`Where are the contracts?${T}Under C:\\contracts\\2024, one folder per client.${T}Answer as counsel.${T}checked`,
  String.raw`Who signs for the buyer?${T}\N${T}\N${T}pending`,
  String.raw`Is a "verbal" agreement binding?${T}Often, though it is hard to prove.${T}\N${T}\N`,
  '',
].join('\n');

describe('PostgreSQL text format (quote: false, escape: "\\\\")', () => {
  it('reads \\N as NULL: a required field is missing_field at file:line, an optional system is absent; escapes are decoded', async () => {
    const { file, result, kept, rejected } = await prepare('faq.tsv', PG_TSV, { quote: false, escape: '\\' });
    expect(result.counts).toMatchObject({ input: 4, kept: 3, rejected: 1, byReason: { missing_field: 1 } });
    expect(rejected).toEqual([
      {
        source: { file, line: 4 },
        reason: 'missing_field',
        message: String.raw`field "answer" is missing or null (it holds "\N", one of nullValues)`,
        raw: { question: 'Who signs for the buyer?', answer: '\\N', system: '\\N', notes: 'pending' },
      },
    ]);
    expect(kept.map((k) => k.messages)).toEqual([
      [
        { role: 'user', content: 'What does clause 4 cover?' },
        { role: 'assistant', content: 'Losses from third-party claims,\nnot consequential ones.' },
      ],
      [
        { role: 'system', content: 'Answer as counsel.' },
        { role: 'user', content: 'Where are the contracts?' },
        { role: 'assistant', content: 'Under C:\\contracts\\2024, one folder per client.' },
      ],
      [
        { role: 'user', content: 'Is a "verbal" agreement binding?' },
        { role: 'assistant', content: 'Often, though it is hard to prove.' },
      ],
    ]);
    expect(JSON.stringify(kept)).not.toContain('\\\\N');
    expect(warningsOf(result)).toEqual([]);
  });

  it('a systemPrompt fills in for a system that is \\N', async () => {
    const { kept } = await prepare('faq.tsv', PG_TSV, { quote: false, escape: '\\', systemPrompt: 'You are a careful lawyer.' });
    expect(kept.map((k) => k.messages[0])).toEqual([
      { role: 'system', content: 'You are a careful lawyer.' },
      { role: 'system', content: 'Answer as counsel.' },
      { role: 'system', content: 'You are a careful lawyer.' },
    ]);
  });

  it('quote: false alone keeps backslashes as text (\\N is still NULL: the default nullValues)', async () => {
    const { file, result, kept, rejected } = await prepare('faq.tsv', PG_TSV, { quote: false });
    expect(result.counts).toMatchObject({ input: 4, kept: 3, rejected: 1 });
    expect(rejected.map((r) => [r.source, r.reason])).toEqual([[{ file, line: 4 }, 'missing_field']]);
    expect(kept.map((k) => k.messages.at(-1)?.content)).toEqual([
      String.raw`Losses from third-party claims,\nnot consequential ones.`,
      String.raw`Under C:\\contracts\\2024, one folder per client.`,
      'Often, though it is hard to prove.',
    ]);
  });
});

describe('MySQL CSV (SELECT ... INTO OUTFILE, escape: "\\\\")', () => {
  const MYSQL = [
    'question,answer,system',
    String.raw`"What does \"as is\" mean?","The buyer takes the goods as they are.",\N`,
    String.raw`"Who pays the escrow fee?",\N,"Answer briefly."`,
    String.raw`"Where is the file?","C:\\deals\\2024",\N`,
    '',
  ].join('\n');

  it('reads \\N as NULL with the quotes decoded', async () => {
    const { file, result, kept, rejected } = await prepare('deals.csv', MYSQL, { escape: '\\' });
    expect(result.counts).toMatchObject({ input: 3, kept: 2, rejected: 1 });
    expect(rejected.map((r) => [r.source, r.reason, r.message])).toEqual([[{ file, line: 3 }, 'missing_field', String.raw`field "answer" is missing or null (it holds "\N", one of nullValues)`]]);
    expect(kept.map((k) => k.messages.map((m) => `${m.role}: ${m.content}`))).toEqual([
      ['user: What does "as is" mean?', 'assistant: The buyer takes the goods as they are.'],
      ['user: Where is the file?', 'assistant: C:\\deals\\2024'],
    ]);
    expect(warningsOf(result)).toEqual([]);
  });
});

describe('pandas exports: nullValues ["nan", "None"]', () => {
  // df.astype(str).to_csv(): a missing answer is "nan", a missing input "None".
  const CSV = ['instruction,input,output,source', 'Summarise the note.,Patient reports mild headache.,Mild headache reported.,nan', 'Name the drug class of ibuprofen.,None,An NSAID.,None', 'Give the dose.,Adult,nan,ward', ''].join('\n');

  it('CSV: a required field is missing_field naming the marker; an optional input is absent', async () => {
    const { file, result, kept, rejected } = await prepare('notes.csv', CSV, { nullValues: ['\\N', 'nan', 'None'] });
    expect(result.counts).toMatchObject({ input: 3, kept: 2, rejected: 1 });
    expect(rejected.map((r) => [r.source, r.reason, r.message])).toEqual([[{ file, line: 4 }, 'missing_field', 'field "output" is missing or null (it holds "nan", one of nullValues)']]);
    expect(kept.map((k) => k.messages.find((m) => m.role === 'user')?.content)).toEqual(['Summarise the note.\n\nPatient reports mild headache.', 'Name the drug class of ibuprofen.']);
    expect(warningsOf(result)).toEqual([]);
  });

  it('JSONL: top-level strings only; nested text and other types stay as they are', async () => {
    const rows = [
      { question: 'What is a lien?', answer: 'A right to keep property until a debt is paid.', system: 'None' },
      { question: 'What is escrow?', answer: ' nan ' },
      { question: 'Is nan a number?', answer: 'nan is not a number in JSON', meta: { note: 'None' } },
      { question: 'What is 0?', answer: 0, system: null },
    ];
    const { file, result, kept, rejected } = await prepare('faq.jsonl', `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`, { nullValues: ['nan', 'None'] });
    expect(result.counts).toMatchObject({ input: 4, kept: 3, rejected: 1 });
    expect(rejected.map((r) => [r.source, r.message])).toEqual([[{ file, line: 2 }, 'field "answer" is missing or null (it holds "nan", one of nullValues)']]);
    expect(kept.map((k) => k.messages.map((m) => m.role))).toEqual([
      ['user', 'assistant'],
      ['user', 'assistant'],
      ['user', 'assistant'],
    ]);
    expect(kept[1]?.messages[1]?.content).toBe('nan is not a number in JSON');
    expect(warningsOf(result)).toEqual([]);
  });

  it('a template mapping: a null value in a placeholder column is missing_field; in the system template, left out', async () => {
    const csv = ['q,a,persona', 'What is a tort?,A civil wrong.,None', 'What is a lien?,None,counsel', ''].join('\n');
    const { rejected, kept } = await prepare('t.csv', csv, { nullValues: ['None'], mapping: { system: 'You are {{persona}}.', user: 'Q: {{q}}', assistant: '{{a}}' } });
    expect(rejected.map((r) => r.message)).toEqual(['field "a" is missing or null (it holds "None", one of nullValues)']);
    expect(kept[0]?.messages.map((m) => m.role)).toEqual(['user', 'assistant']);
  });
});

describe('the warning about markers kept as text', () => {
  const CSV = [
    'question,answer,system,comment',
    'What is a tort?,A civil wrong.,NULL,NA',
    'What is a lien?,NULL,NULL,NA',
    'What is escrow?,N/A,Be brief.,NA',
    'What is a deed?, NaN ,NULL,None',
    'What is a writ?,A court order.,Be brief.,nan',
    '',
  ].join('\n');

  it('counts each marker per column, only in the columns the mapping reads, and says how to read them as missing', async () => {
    const { file, result, kept } = await prepare('law.csv', CSV);
    expect(result.counts).toMatchObject({ input: 5, kept: 5 });
    expect(kept[0]?.messages[0]).toEqual({ role: 'system', content: 'NULL' });
    expect(warningsOf(result)).toEqual([
      `${file}: values that look like missing-value markers were kept as text in the columns the mapping reads: ` +
        '"NaN" 1 value (column "answer"), "NULL" 4 values (columns "system" 3, "answer" 1), "N/A" 1 value (column "answer"). ' +
        "If they stand for a missing value (a SQL NULL, pandas' NaN), read them as missing with nullValues: [\"\\\\N\", \"NaN\", \"NULL\", \"N/A\"] (CLI --null-values '\\N,NaN,NULL,N/A'): " +
        'a required field then rejects its row as missing_field, an optional one is left out.',
    ]);
  });

  it('says nothing of markers in columns the mapping does not read', async () => {
    const csv = ['question,answer,comment', 'What is a tort?,A civil wrong.,NA', 'What is a lien?,A right to keep property.,None', ''].join('\n');
    const { result } = await prepare('law.csv', csv);
    expect(warningsOf(result)).toEqual([]);
  });

  it('says nothing once the markers are null values, and reads them as missing', async () => {
    const { result, rejected, kept } = await prepare('law.csv', CSV, { nullValues: ['NULL', 'N/A', 'NaN'] });
    expect(warningsOf(result)).toEqual([]);
    expect(rejected.map((r) => [r.source.line, r.message])).toEqual([
      [3, 'field "answer" is missing or null (it holds "NULL", one of nullValues)'],
      [4, 'field "answer" is missing or null (it holds "N/A", one of nullValues)'],
      [5, 'field "answer" is missing or null (it holds "NaN", one of nullValues)'],
    ]);
    expect(kept.map((k) => k.messages.map((m) => m.role))).toEqual([
      ['user', 'assistant'],
      ['system', 'user', 'assistant'],
    ]);
  });

  it('one warning per input file, each with its own counts', async () => {
    const dir = await tempDir();
    const a = join(dir, 'a.csv');
    const b = join(dir, 'b.csv');
    const c = join(dir, 'c.csv');
    await writeFile(a, 'question,answer\nq1,null\nq2,null\n');
    await writeFile(b, 'question,answer\nq3,a3\n');
    await writeFile(c, 'question,answer\n#N/A,a4\n');
    const result = await prepareDataset({ inputs: [a, b, c], outDir: join(dir, 'out'), split: { validation: 0 }, dedup: false, concurrency: 1 });
    expect(warningsOf(result).map((w) => w.slice(0, w.indexOf('. If')))).toEqual([
      `${a}: values that look like missing-value markers were kept as text in the columns the mapping reads: "null" 2 values (column "answer")`,
      `${c}: values that look like missing-value markers were kept as text in the columns the mapping reads: "#N/A" 1 value (column "question")`,
    ]);
  });
});

describe('nullValues: []', () => {
  it('keeps \\N as text, and the warning then names it', async () => {
    const { file, result, kept } = await prepare('faq.tsv', PG_TSV, { quote: false, escape: '\\', nullValues: [] });
    expect(result.counts).toMatchObject({ input: 4, kept: 4, rejected: 0 });
    expect(kept[2]?.messages).toEqual([
      { role: 'system', content: '\\N' },
      { role: 'user', content: 'Who signs for the buyer?' },
      { role: 'assistant', content: '\\N' },
    ]);
    expect(warningsOf(result)).toEqual([
      `${file}: values that look like missing-value markers were kept as text in the columns the mapping reads: "\\N" 4 values (columns "system" 3, "answer" 1). ` +
        "If they stand for a missing value (a SQL NULL, pandas' NaN), read them as missing with nullValues: [\"\\\\N\"] (CLI --null-values '\\N'): " +
        'a required field then rejects its row as missing_field, an optional one is left out.',
    ]);
  });
});

describe('normalizeRecords: nullValues', () => {
  const rows = [
    { data: { question: 'What is a tort?', answer: 'A civil wrong.', system: '\\N' }, source: { file: 'a.jsonl', line: 1 } },
    { data: { question: 'What is a lien?', answer: '  \\N\t' }, source: { file: 'a.jsonl', line: 2 } },
  ];

  it('reads nothing as missing unless given (prepareDataset passes its default, \\N)', async () => {
    const ctx = recordingContext();
    const out = await collect(normalizeRecords(fromArray(rows), { mapping: 'qa' }, ctx));
    expect(out.map((e) => e.messages.length)).toEqual([3, 2]);
  });

  it('reads a trimmed match as null, keeps the row as read in raw, and leaves meta null', async () => {
    const ctx = recordingContext();
    const out = await collect(normalizeRecords(fromArray([...rows, { data: { question: 'q', answer: 'a', case_id: '\\N' }, source: { file: 'a.jsonl', line: 3 } }]), { mapping: 'qa', nullValues: ['\\N'] }, ctx));
    expect(out.map((e) => e.messages.map((m) => m.role))).toEqual([
      ['user', 'assistant'],
      ['user', 'assistant'],
    ]);
    expect(out[1]?.meta.case_id).toBeNull();
    expect(rows[0]?.data.system).toBe('\\N');
    expect(ctx.rejected).toEqual([
      {
        source: { file: 'a.jsonl', line: 2 },
        reason: 'missing_field',
        message: 'field "answer" is missing or null (it holds "\\N", one of nullValues)',
        raw: { question: 'What is a lien?', answer: '  \\N\t' },
      },
    ]);
  });
});

describe('nullReader and MarkerTally', () => {
  const read = nullReader(['\\N', 'nan', 'ничто']) as NonNullable<ReturnType<typeof nullReader>>;

  it.each([
    ['as written', '\\N', true],
    ['with spaces, tabs and line breaks around', ' \tnan\r\n', true],
    ['with no-break and ideographic spaces around', '\u00a0nan\u3000', true],
    ['a BOM before it', '\ufeffnan', true],
    ['a null value in another script', ' ничто ', true],
    ['in another case', 'NaN', false],
    ['inside longer text', 'nan bread', false],
    ['longer text with spaces around', '  the nan of it  ', false],
    ['empty', '', false],
    ['blank', '   ', false],
  ])('%s', (_name, value, nulled) => {
    const data = { a: value, b: 'kept' };
    const out = read(data);
    expect(out.nulled !== undefined).toBe(nulled);
    expect(out.data).toEqual(nulled ? { a: null, b: 'kept' } : data);
    // No copy unless a value is nulled; the row as read is never changed.
    expect(out.data === data).toBe(!nulled);
    expect(data.a).toBe(value);
  });

  it('none for an empty list; a column named __proto__ stays a plain key', () => {
    expect(nullReader([])).toBeUndefined();
    expect(nullReader(undefined)).toBeUndefined();
    const data = JSON.parse('{"__proto__": "nan", "q": "x"}') as Record<string, unknown>;
    const out = read(data);
    expect(Object.getPrototypeOf(out.data)).toBe(Object.prototype);
    expect(Object.hasOwn(out.data, '__proto__') && out.data['__proto__']).toBe(null);
  });

  it('the tally counts only the usual markers that are not null values, in the columns given, once per column', () => {
    const tally = new MarkerTally(['nan']);
    tally.see({ a: 'nan', b: ' None', c: 'NULL', d: 7 }, ['a', 'b', 'd', 'b']);
    tally.see({ a: 'None', b: 'None ', c: 'NULL' }, ['a', 'b']);
    expect(tally.warning('f.csv', ['nan'])).toMatch(/^f\.csv: .*: "None" 3 values \(columns "b" 2, "a" 1\)\. .*nullValues: \["nan", "None"\] \(CLI --null-values 'nan,None'\)/);
    expect(new MarkerTally([]).warning('f.csv', [])).toBeUndefined();
  });
});

describe('options: nullValues', () => {
  const base = { inputs: ['a.csv'], outDir: 'out' };

  it("defaults to ['\\\\N'], takes a list (trimmed) or none", () => {
    expect(resolveOptions(base).nullValues).toEqual(['\\N']);
    expect(resolveOptions({ ...base, nullValues: [] }).nullValues).toEqual([]);
    const given: readonly string[] = ['nan', ' None ', 'NA'];
    expect(resolveOptions({ ...base, nullValues: given } satisfies PrepareOptions).nullValues).toEqual(['nan', 'None', 'NA']);
  });

  it.each([
    ['a blank value', ['nan', '  '], /nullValues\.1: a null value is not blank .*got " {2}"/],
    ['a value over 64 characters', ['x'.repeat(65)], /nullValues\.0: a null value is at most 64 characters/],
    ['a value that is no string', ['nan', 0], /nullValues\.1: .*got 0/],
    ['a string instead of a list', 'nan', /nullValues: .*got "nan"/],
  ])('rejects %s with OPTION_INVALID naming it', (_name, nullValues, message) => {
    let error: unknown;
    try {
      resolveOptions({ ...base, nullValues });
    } catch (e) {
      error = e;
    }
    expect(isLoraPrepError(error) && error.code).toBe('OPTION_INVALID');
    expect((error as Error).message).toMatch(message);
  });
});
