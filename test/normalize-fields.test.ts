/**
 * How the presets read field values: optional text that is not text, numbers used as text, lone
 * surrogates, the system column, weights and text parts in ShareGPT, conversation lists written as
 * JSON text in CSV cells, and the MAPPING_INVALID hints for a header read the wrong way.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanContent, detectPreset, normalizeRecords, resolveMapping, type NormalizeOptions } from '../src/normalize/index.js';
import { isLoraPrepError } from '../src/errors.js';
import { runCli } from '../src/cli/run.js';
import { prepareDataset } from '../src/prepare.js';
import type { Example, SourceRow } from '../src/types.js';
import { collect, fromArray, recordingContext, tempDir } from './helpers/index.js';
import { readJsonl } from './helpers/output.js';

async function run(data: Record<string, unknown>[], options: NormalizeOptions) {
  const ctx = recordingContext();
  const rows: SourceRow[] = data.map((d, i) => ({ data: d, source: { file: 'f.jsonl', line: i + 1 } }));
  const examples = await collect(normalizeRecords(fromArray(rows), options, ctx));
  return { examples, rejected: ctx.rejected, warnings: ctx.warnings };
}

const msgs = (e: Example) => e.messages.map((m) => [m.role, m.content]);

function mappingError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(isLoraPrepError(e) && e.code).toBe('MAPPING_INVALID');
    return (e as Error).message;
  }
  throw new Error('expected MAPPING_INVALID');
}

describe('optional text fields (alpaca input, system) that are not text', () => {
  it.each([
    ['alpaca', { instruction: 'Summarize the list', input: ['apples', 'pears'], output: 'Fruit.' }, /field "input" must be text, got a list/],
    ['alpaca', { instruction: 'Translate', input: { text: 'bonjour' }, output: 'hello' }, /field "input" must be text, got an object/],
    ['alpaca', { instruction: 'Translate', input: 'bonjour', output: 'hello', system: ['Be brief.'] }, /field "system" must be text, got a list/],
    ['prompt-completion', { prompt: 'P', completion: 'C', system: { text: 'S' } }, /field "system" must be text, got an object/],
    ['qa', { question: 'Q', answer: 'A', system: ['S'] }, /field "system" must be text, got a list/],
    ['messages', { system: ['S'], messages: [{ role: 'user', content: 'Q' }, { role: 'assistant', content: 'A' }] }, /field "system" must be text, got a list/],
  ] as const)('%s rejects %j', async (mapping, record, message) => {
    const { examples, rejected } = await run([record], { mapping });
    expect(examples).toEqual([]);
    expect(rejected.map((r) => r.reason)).toEqual(['invalid_record']);
    expect(rejected[0]?.message).toMatch(message);
  });

  it('null, absent and blank stay "no input"; numbers and booleans are text, as in required fields', async () => {
    const { examples, rejected } = await run(
      [
        { instruction: 'I', input: null, output: 'O', system: null },
        { instruction: 'I', output: 'O' },
        { instruction: 'I', input: ' ', output: 'O', system: '' },
        { instruction: 'I', input: 42, output: 'O' },
        { instruction: 'I', input: true, output: 'O' },
      ],
      { mapping: 'alpaca' },
    );
    expect(rejected).toEqual([]);
    expect(examples.map((e) => e.messages[0]?.content)).toEqual(['I', 'I', 'I', 'I\n\n42', 'I\n\ntrue']);
  });
});

describe('the system column', () => {
  const turns = [
    { role: 'user', content: 'q1' },
    { role: 'assistant', content: 'a1' },
  ];

  it('becomes the system message of a messages row, as for the other presets', async () => {
    const { examples, rejected } = await run([{ system: 'You are a tax expert.', messages: turns }], { mapping: 'messages' });
    expect(rejected).toEqual([]);
    expect(examples.map(msgs)).toEqual([[['system', 'You are a tax expert.'], ['user', 'q1'], ['assistant', 'a1']]]);
    expect(examples[0]?.meta.system).toBeUndefined();
  });

  it('beside a system message of the conversation: kept once when they agree, rejected when they differ (messages and sharegpt)', async () => {
    const own = [{ role: 'system', content: ' You are a tax expert. ' }, ...turns];
    const same = await run([{ system: 'You are a tax expert.', messages: own }], { mapping: 'messages' });
    expect(same.examples.map(msgs)).toEqual([[['system', 'You are a tax expert.'], ['user', 'q1'], ['assistant', 'a1']]]);
    for (const [mapping, record] of [
      ['messages', { system: 'Be brief.', messages: own }],
      ['sharegpt', { system: 'Be brief.', conversations: [{ from: 'system', value: 'Be long.' }, { from: 'human', value: 'q' }, { from: 'gpt', value: 'a' }] }],
    ] as const) {
      const { examples, rejected } = await run([record], { mapping });
      expect(examples).toEqual([]);
      expect(rejected.map((r) => r.reason)).toEqual(['invalid_record']);
      expect(rejected[0]?.message).toMatch(/field "system" and the conversation's own system message differ/);
    }
  });
});

describe('ShareGPT turns read as messages turns are', () => {
  it('keep weight 0 or 1, and reject any other weight as messages does', async () => {
    const conversations = [
      { from: 'human', value: 'q1' },
      { from: 'gpt', value: 'bad draft', weight: 0 },
      { from: 'human', value: 'again' },
      { from: 'gpt', value: 'good', weight: 1 },
    ];
    const { examples, rejected } = await run([{ conversations }, { conversations: [{ from: 'human', value: 'q' }, { from: 'gpt', value: 'a', weight: 0.5 }] }], { mapping: 'sharegpt' });
    expect(examples[0]?.messages[1]).toEqual({ role: 'assistant', content: 'bad draft', weight: 0 });
    expect(examples[0]?.messages[3]).toEqual({ role: 'assistant', content: 'good', weight: 1 });
    expect(examples[0]?.messages[0]).toEqual({ role: 'user', content: 'q1' });
    expect(rejected.map((r) => [r.reason, r.message])).toEqual([['invalid_record', 'conversations[1].weight must be 0 or 1, got 0.5']]);
  });

  it('accept text parts, and name a list with non-text parts for what it is', async () => {
    const { examples, rejected } = await run(
      [
        { conversations: [{ from: 'human', value: [{ type: 'text', text: 'hi' }] }, { from: 'gpt', value: 'yo' }] },
        { conversations: [{ from: 'human', value: [{ type: 'image_url', image_url: {} }] }, { from: 'gpt', value: 'yo' }] },
      ],
      { mapping: 'sharegpt' },
    );
    expect(examples.map(msgs)).toEqual([[['user', 'hi'], ['assistant', 'yo']]]);
    expect(rejected.map((r) => r.message)).toEqual(['conversations[0].value must be text (a string or text parts), got a list with non-text parts']);
  });

  it('join several text parts with nothing between them (as chat templates that loop over parts do)', async () => {
    const { examples } = await run([{ conversations: [{ from: 'human', value: [{ type: 'text', text: 'Hello' }, { type: 'text', text: 'world' }] }, { from: 'gpt', value: 'hi' }] }], { mapping: 'sharegpt' });
    expect(examples[0]?.messages[0]?.content).toBe('Helloworld');
  });
});

describe('values that are not text', () => {
  it('name MongoDB\'s extended JSON and how to export plain values', async () => {
    const { rejected } = await run(
      [
        { prompt: 'When?', completion: { $date: '2024-01-02T00:00:00Z' } },
        { prompt: 'Id?', completion: { $numberLong: '12345678901234567890' } },
        { prompt: 'Obj?', completion: { a: 1 } },
      ],
      { mapping: 'prompt-completion' },
    );
    expect(rejected.map((r) => r.message)).toEqual([
      expect.stringMatching(/^field "completion" must be text, got an object \(\$date: MongoDB's extended JSON.*--jsonFormat=relaxed/),
      expect.stringMatching(/\(\$numberLong: MongoDB's extended JSON/),
      'field "completion" must be text, got an object',
    ]);
  });
});

describe('numbers used as text', () => {
  it.each([
    ['prompt-completion', { prompt: 'Account id?', completion: 12345678901234567890 }, /field "completion" holds the whole number 12345678901234567000 as read, past 2\^53.*quote it as a string/],
    ['prompt-completion', { prompt: 'Huge?', completion: Number.POSITIVE_INFINITY }, /field "completion" holds a number too large for a double, read as Infinity; quote it as a string/],
    ['prompt-completion', { prompt: -1e300, completion: 'c' }, /field "prompt" holds the whole number -1e\+300/],
    ['alpaca', { instruction: 'I', input: 2 ** 60, output: 'O' }, /field "input" holds the whole number/],
    ['qa', { question: 'Q', answer: 'A', context: Number.NEGATIVE_INFINITY }, /field "context" holds a number too large/],
    ['mcq', { question: 'Q', options: [1, 2 ** 70], answer: 0 }, /option B \(item 2\) holds the whole number/],
    ['classification', { text: 'T', label: Number.POSITIVE_INFINITY }, /field "label" holds a number too large/],
    [{ user: 'Id {{id}}?', assistant: '{{a}}' }, { id: 12345678901234567890, a: 'x' }, /field "id" holds the whole number/],
    [{ user: 'Ctx {{ctx}}', assistant: '{{a}}' }, { ctx: { n: [2 ** 64] }, a: 'x' }, /field "ctx" \(a JSON object\) holds the whole number/],
    [{ system: 'S {{s}}', user: '{{q}}', assistant: '{{a}}' }, { s: Number.POSITIVE_INFINITY, q: 'q', a: 'x' }, /field "s" holds a number too large/],
  ] as const)('%j rejects %j', async (mapping, record, message) => {
    const { examples, rejected } = await run([record], { mapping } as NormalizeOptions);
    expect(examples).toEqual([]);
    expect(rejected.map((r) => r.reason)).toEqual(['invalid_record']);
    expect(rejected[0]?.message).toMatch(message);
  });

  it('keeps other numbers in their shortest decimal form', async () => {
    const { examples, rejected } = await run(
      [
        { prompt: 'Price?', completion: 1.5 },
        { prompt: Number.MAX_SAFE_INTEGER, completion: 0.1 },
        { prompt: 'Tiny?', completion: 1e-7 },
        // Fifteen significant digits read back as written; so do Python's floats (json.dumps(1/3)),
        // which a longer literal that lost digits cannot be told from once read.
        { prompt: 'Rate?', completion: JSON.parse('0.123456789012345') },
        { prompt: 'A third?', completion: JSON.parse('0.3333333333333333') },
      ],
      { mapping: 'prompt-completion' },
    );
    expect(rejected).toEqual([]);
    expect(examples.map(msgs)).toEqual([
      [['user', 'Price?'], ['assistant', '1.5']],
      [['user', '9007199254740991'], ['assistant', '0.1']],
      [['user', 'Tiny?'], ['assistant', '1e-7']],
      [['user', 'Rate?'], ['assistant', '0.123456789012345']],
      [['user', 'A third?'], ['assistant', '0.3333333333333333']],
    ]);
    const t = await run([{ n: 1.5, m: { x: 2 } }], { mapping: { user: '{{n}}', assistant: '{{m}}' } });
    expect(t.examples.map(msgs)).toEqual([[['user', '1.5'], ['assistant', '{"x":2}']]]);
  });
});

describe('lone surrogates', () => {
  const lone = JSON.parse('"lone \\ud800 surrogate"') as string;

  it.each([
    ['prompt-completion', { prompt: lone, completion: 'c' }, /^field "prompt" holds a lone UTF-16 surrogate/],
    ['messages', { messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: [{ type: 'text', text: lone }] }] }, /^field "messages\[1\]\.content\[0\]\.text" holds a lone/],
    ['messages', { messages: `[{"role":"user","content":"q"},{"role":"assistant","content":"a \\udfff"}]` }, /^message 2 \(assistant\) holds a lone/],
    ['qa', { question: 'q', answer: 'a', system: lone }, /^field "system" holds a lone/],
    ['messages', { messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }], tools: [{ type: 'function', function: { name: 'f', description: lone } }] }, /^field "tools\[0\]\.function\.description" holds a lone/],
    [{ user: '{{q.text}}', assistant: '{{a}}' }, { q: { text: lone }, a: 'x' }, /^field "q\.text" holds a lone/],
  ] as const)('%j: the row is rejected as invalid_encoding naming the field: %j', async (mapping, record, message) => {
    const { examples, rejected } = await run([record], { mapping } as NormalizeOptions);
    expect(examples).toEqual([]);
    expect(rejected.map((r) => r.reason)).toEqual(['invalid_encoding']);
    expect(rejected[0]?.message).toMatch(message);
  });

  it('a surrogate pair is text, and a surrogate in a column the mapping does not read stays in meta', async () => {
    const { examples, rejected } = await run([{ prompt: 'emoji 😀', completion: 'c', note: lone }], { mapping: 'prompt-completion' });
    expect(rejected).toEqual([]);
    expect(examples[0]?.messages[0]?.content).toBe('emoji 😀');
  });

  it("with onInvalidEncoding: 'replace', U+FFFD takes its place, with one warning", async () => {
    const tools = [{ type: 'function', function: { name: 'f', description: lone } }];
    const { examples, rejected, warnings } = await run(
      [
        { prompt: lone, completion: 'c' },
        { prompt: 'p', completion: lone },
      ],
      { mapping: 'prompt-completion', onInvalidEncoding: 'replace' },
    );
    expect(rejected).toEqual([]);
    expect(examples.map(msgs)).toEqual([
      [['user', 'lone \uFFFD surrogate'], ['assistant', 'c']],
      [['user', 'p'], ['assistant', 'lone \uFFFD surrogate']],
    ]);
    expect(warnings).toEqual([expect.stringMatching(/^f\.jsonl:1: field "prompt" holds a lone UTF-16 surrogate; it was written as U\+FFFD/)]);
    const withTools = await run([{ messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }], tools }], { mapping: 'messages', onInvalidEncoding: 'replace' });
    expect(withTools.examples[0]?.tools).toEqual([{ type: 'function', function: { name: 'f', description: 'lone \uFFFD surrogate' } }]);
    expect(tools[0]?.function.description).toBe(lone);
  });
});

describe('line breaks', () => {
  it('CRLF and a lone CR (old Mac files) become LF; nothing else changes', () => {
    expect(cleanContent(' progress 10%\r20%\r\ndone\n ')).toBe('progress 10%\n20%\ndone');
  });
});

describe('conversation lists written as JSON text (CSV cells)', () => {
  const cell = '[{"role":"user","content":"hi"},{"role":"assistant","content":"a","weight":1}]';

  it("'auto' recognises them, and the rows are read as the lists they hold", async () => {
    expect(detectPreset({ id: 'r2', messages: cell })).toBe('messages');
    expect(detectPreset({ conversations: ' [{"from":"human","value":"q"}] ' })).toBe('sharegpt');
    expect(detectPreset({ messages: '[not json' })).toBeUndefined();
    const { examples, rejected } = await run([{ id: 'r2', messages: cell }], { mapping: resolveMapping('auto', { id: 'r2', messages: cell }, 'm.csv') });
    expect(rejected).toEqual([]);
    expect(examples[0]?.messages).toEqual([
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'a', weight: 1 },
    ]);
    const share = await run([{ conversations: '[{"from":"human","value":"q"},{"from":"gpt","value":"a"}]' }], { mapping: 'sharegpt' });
    expect(share.examples.map(msgs)).toEqual([[['user', 'q'], ['assistant', 'a']]]);
  });

  it.each([
    [{ messages: 'not json' }, 'invalid_record', /^field "messages" is text that is not valid JSON \(.*\); it must be a list of messages, as JSON text in a CSV cell$/],
    [{ messages: '[{"role":"user","content":"a\nb"}]' }, 'invalid_record', /not valid JSON .*\(a line break inside a JSON string is written \\n\)/],
    [{ messages: '{"role":"user"}' }, 'invalid_record', /^field "messages" must be a non-empty list of messages, got JSON text of an object$/],
    [{ messages: '[]' }, 'invalid_record', /got JSON text of an empty list/],
    [{ messages: '  ' }, 'empty_content', /^field "messages" is blank$/],
  ] as const)('rejects %j as %s', async (record, reason, message) => {
    const { rejected } = await run([record], { mapping: 'messages' });
    expect(rejected.map((r) => r.reason)).toEqual([reason]);
    expect(rejected[0]?.message).toMatch(message);
  });

  it("'auto' on a messages column that holds no list says so, instead of listing messages as a shape to use", () => {
    expect(mappingError(() => resolveMapping('auto', { id: 'r4', messages: 'not json' }, 'm.csv'))).toMatch(/Column "messages" is there, but holds text that is not a JSON list \("not json"\)/);
    expect(mappingError(() => resolveMapping('auto', { conversations: { a: 1 } }, 'c.jsonl'))).toMatch(/Column "conversations" is there, but holds an object/);
  });

  it('through the CSV loader and prepareDataset', async () => {
    const dir = await tempDir();
    const file = join(dir, 'm.csv');
    await writeFile(file, 'id,messages\nr2,"[{""role"":""user"",""content"":""hi""},{""role"":""assistant"",""content"":""a""}]"\nr3,not json\n');
    const result = await prepareDataset({ inputs: [file], outDir: join(dir, 'o'), split: { validation: 0 }, dedup: false, concurrency: 1 });
    expect(result.counts).toMatchObject({ input: 2, train: 1, rejected: 1 });
    expect((await readJsonl(result.files.train)).map((r) => r.messages)).toEqual([[{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'a' }]]);
  });
});

describe('MAPPING_INVALID for a header read the wrong way', () => {
  it.each([
    [{ 'question,answer': 'q,a' }, /The header has one column, "question,answer", whose name contains ",": .*pass delimiter: ',' \(CLI --delimiter ','\)/],
    [{ 'question\tanswer': 'q' }, /whose name contains "\\t": .*pass delimiter: '\\t' \(CLI --delimiter '\\t'\)/],
    [{ question: 'q', 'answer\uFFFD': 'a' }, /The column name "answer\uFFFD" holds U\+FFFD .*bytes that are not valid in the encoding .*--encoding windows-1252/],
  ])("'auto' says what to pass: %j", (first, message) => {
    expect(mappingError(() => resolveMapping('auto', first, 'x.csv'))).toMatch(message);
  });

  it('a named preset or a template whose columns the header lacks says the same', () => {
    expect(mappingError(() => resolveMapping('qa', { 'question;answer': 'q;a' }, 'x.csv'))).toMatch(/mapping "qa": the first row has no column "question".*pass delimiter: ';'/);
    expect(mappingError(() => resolveMapping('mcq', { 'question|A|B|answer': 'x' }, 'x.csv'))).toMatch(/pass delimiter: '\|'/);
    expect(mappingError(() => resolveMapping({ user: '{{question}}', assistant: '{{answer}}' }, { question: 'q', 'answer\uFFFD': 'a' }, 'x.csv'))).toMatch(/\{\{answer\}\}.*--encoding/);
    // A plain one-column file, or a first row that merely lacks a field, is left to the rows.
    expect(resolveMapping('qa', { text: 'hello, world' }, 'x.csv')).toBe('qa');
  });

  it('a named preset whose columns a CSV header lacks stops the job, naming the preset they fit (a JSON row is left to the rows)', async () => {
    const dir = await tempDir();
    const alpaca = join(dir, 'alpaca.csv');
    await writeFile(alpaca, 'instruction,input,output\nSum 1 and 2,,3\nName a bond type,,A zero-coupon bond.\n');
    const qa = join(dir, 'qa.csv');
    await writeFile(qa, 'question,answer\nWhat is a bond?,A loan.\n');
    const expected = { code: 'MAPPING_INVALID', message: expect.stringMatching(/alpaca\.csv: mapping "qa" needs column "question", "answer or long_answer or final_decision"; the header has "instruction", "input", "output"\. They fit "alpaca": use mapping "alpaca" or "auto"/) };
    // Alone (it was DATA_FAILED, every row missing_field), and beside a file that fits (exit 0, the file dropped).
    await expect(prepareDataset({ inputs: [alpaca], outDir: join(dir, 'o1'), mapping: 'qa' })).rejects.toMatchObject(expected);
    await expect(prepareDataset({ inputs: [qa, alpaca], outDir: join(dir, 'o2'), mapping: 'qa' })).rejects.toMatchObject(expected);
    const tsv = join(dir, 'x.tsv');
    await writeFile(tsv, 'text\tlabel\nhello\tgreeting\n');
    await expect(prepareDataset({ inputs: [tsv], outDir: join(dir, 'o3'), mapping: 'alpaca' })).rejects.toMatchObject({ code: 'MAPPING_INVALID', message: expect.stringContaining('Give templates naming these columns') });
    // Each file its own mapping: fine.
    const both = await prepareDataset({ inputs: [qa, { path: alpaca, mapping: 'alpaca' }], outDir: join(dir, 'o4'), mapping: 'qa', split: { validation: 0 } });
    expect(both.counts).toMatchObject({ input: 3, kept: 3 });
    // JSON rows vary: a first row that lacks a field is rejected like any other.
    const jsonl = join(dir, 'mixed.jsonl');
    await writeFile(jsonl, `${JSON.stringify({ instruction: 'i', output: 'o' })}\n${JSON.stringify({ question: 'What is a bond?', answer: 'A loan.' })}\n`);
    const mixed = await prepareDataset({ inputs: [jsonl], outDir: join(dir, 'o5'), mapping: 'qa', split: { validation: 0 } });
    expect(mixed.counts).toMatchObject({ kept: 1, byReason: { missing_field: 1 } });
  });

  it('through the CSV loader: bytes not valid in the header', async () => {
    const dir = await tempDir();
    const file = join(dir, 'h.csv');
    await writeFile(file, Buffer.concat([Buffer.from('question,answer'), Buffer.from([0xe9]), Buffer.from('\nq,a\n')]));
    await expect(prepareDataset({ inputs: [file], outDir: join(dir, 'o') })).rejects.toThrow(/"answer\uFFFD" holds U\+FFFD.*encoding/);
  });
});

describe('an input with no rows', () => {
  it.each([
    ['header only', 'question,answer\n'],
    ['empty', ''],
  ])('%s: the run fails saying there are no rows, and writes nothing (an empty train.jsonl is no dataset)', async (_name, content) => {
    const dir = await tempDir();
    const file = join(dir, 'e.csv');
    await writeFile(file, content);
    const outDir = join(dir, 'o');
    await expect(prepareDataset({ inputs: [file], outDir, split: { validation: 0 } })).rejects.toMatchObject({
      code: 'DATA_FAILED',
      message: expect.stringMatching(/^no example was kept: the inputs have no rows \(an empty file, or a header and no data rows\): .*e\.csv\. Nothing was written/),
    });
    expect(existsSync(outDir)).toBe(false);
    // The CLI exits 1.
    const io = { out: '', err: '' };
    const code = await runCli(['prepare', file, '--out', outDir, '--quiet'], { stdout: (t: string) => void (io.out += t), stderr: (t: string) => void (io.err += t) });
    expect(code).toBe(1);
    expect(io.err).toMatch(/DATA_FAILED: no example was kept: the inputs have no rows/);
  });
});
