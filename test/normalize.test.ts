import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { detectPreset, normalizeRecords, resolveMapping, type NormalizeOptions } from '../src/normalize/index.js';
import { isLoraPrepError } from '../src/errors.js';
import type { Example, SourceRow } from '../src/types.js';
import { collect, fromArray, recordingContext } from './helpers/index.js';

async function run(data: Record<string, unknown>[], options: NormalizeOptions) {
  const ctx = recordingContext();
  const rows: SourceRow[] = data.map((d, i) => ({ data: d, source: { file: 'f.jsonl', line: i + 1 } }));
  const examples = await collect(normalizeRecords(fromArray(rows), options, ctx));
  return { examples, rejected: ctx.rejected };
}

const msgs = (e: Example) => e.messages.map((m) => [m.role, m.content]);

describe('detectPreset', () => {
  it.each([
    [{ messages: [] }, 'messages'],
    [{ conversations: [] }, 'sharegpt'],
    [{ instruction: 'a', input: '', output: 'b' }, 'alpaca'],
    [{ prompt: 'a', completion: 'b' }, 'prompt-completion'],
    [{ question: 'a', answer: 'b', context: 'c' }, 'qa'],
    [{ text: 'a' }, undefined],
    [{ messages: 'not a list' }, undefined],
  ])('%j → %s', (record, preset) => {
    expect(detectPreset(record)).toBe(preset);
  });
});

describe('presets', () => {
  it.each([
    [
      'messages',
      { messages: [{ role: 'system', content: 'S' }, { role: 'user', content: ' Q\r\n2 ' }, { role: 'assistant', content: 'A' }] },
      [['system', 'S'], ['user', 'Q\n2'], ['assistant', 'A']],
    ],
    [
      'messages',
      { messages: [{ role: 'user', content: [{ type: 'text', text: 'Q' }, { type: 'text', text: '!' }] }, { role: 'assistant', content: 'A' }] },
      [['user', 'Q!'], ['assistant', 'A']],
    ],
    [
      'sharegpt',
      { conversations: [{ from: 'system', value: 'S' }, { from: 'human', value: 'Q' }, { from: 'gpt', value: 'A' }] },
      [['system', 'S'], ['user', 'Q'], ['assistant', 'A']],
    ],
    ['sharegpt', { system: 'S', conversations: [{ from: 'human', value: 'Q' }, { from: 'gpt', value: 'A' }] }, [['system', 'S'], ['user', 'Q'], ['assistant', 'A']]],
    ['alpaca', { instruction: 'Do', input: '', output: 'Done' }, [['user', 'Do'], ['assistant', 'Done']]],
    ['alpaca', { instruction: 'Do', input: 'this', output: 'Done', system: 'S' }, [['system', 'S'], ['user', 'Do\n\nthis'], ['assistant', 'Done']]],
    [
      'alpaca',
      { instruction: 'Q2', output: 'A2', history: [['Q1', 'A1']] },
      [['user', 'Q1'], ['assistant', 'A1'], ['user', 'Q2'], ['assistant', 'A2']],
    ],
    ['prompt-completion', { prompt: 'P', completion: 'C' }, [['user', 'P'], ['assistant', 'C']]],
    [
      'prompt-completion',
      { prompt: [{ role: 'system', content: 'S' }, { role: 'user', content: 'P' }], completion: [{ role: 'assistant', content: 'C' }] },
      [['system', 'S'], ['user', 'P'], ['assistant', 'C']],
    ],
    ['qa', { question: 'Q', answer: 'A' }, [['user', 'Q'], ['assistant', 'A']]],
    ['qa', { question: 'Q', answer: 'A', context: 'Ctx' }, [['user', 'Context:\nCtx\n\nQuestion: Q'], ['assistant', 'A']]],
    ['qa', { question: 42, answer: true }, [['user', '42'], ['assistant', 'true']]],
  ] as const)('%s: %j', async (mapping, record, expected) => {
    const { examples, rejected } = await run([record], { mapping });
    expect(rejected).toEqual([]);
    expect(examples.map(msgs)).toEqual([expected]);
  });

  it.each([
    ['qa', { question: 'Q' }, 'missing_field', /"answer"/],
    ['qa', { question: 'Q', answer: null }, 'missing_field', /"answer"/],
    ['qa', { question: '  ', answer: 'A' }, 'empty_content', /"question" is blank/],
    ['qa', { question: { a: 1 }, answer: 'A' }, 'invalid_record', /must be text/],
    ['alpaca', { instruction: 'I', input: '' }, 'missing_field', /"output"/],
    ['alpaca', { instruction: 'I', output: 'O', history: 'x' }, 'invalid_record', /history/],
    ['messages', { text: 'x' }, 'missing_field', /"messages"/],
    ['messages', { messages: [] }, 'invalid_record', /non-empty list/],
    ['messages', { messages: [{ role: 'user', content: 'Q' }] }, 'invalid_record', /no assistant message/],
    ['messages', { messages: [{ role: 'assistant', content: 'A' }] }, 'invalid_record', /no user message/],
    ['messages', { messages: [{ role: 'user', content: 'Q' }, { role: 'assistant', content: 'A' }, { role: 'user', content: 'Q2' }] }, 'invalid_record', /ends with a user message/],
    ['messages', { messages: [{ role: 'user', content: 'Q' }, { role: 'assistant', content: ' ' }] }, 'empty_content', /message 2 \(assistant\) is blank/],
    ['messages', { messages: [{ role: 'narrator', content: 'Q' }] }, 'invalid_record', /role must be/],
    ['messages', { messages: [{ role: 'user', content: 'Q' }, { role: 'tool', content: '42', tool_call_id: 'x' }, { role: 'assistant', content: 'A' }] }, 'invalid_record', /must answer an earlier tool call/],
    ['messages', { messages: [{ role: 'user', content: 'Q' }, { role: 'assistant', content: null, tool_calls: [{ function: { name: 'f', arguments: '{bad' } }] }] }, 'invalid_record', /arguments is not valid JSON/],
    ['messages', { messages: [{ role: 'user', content: 'Q' }, { role: 'assistant', content: null, tool_calls: [{ function: {} }] }] }, 'invalid_record', /needs function\.name/],
    ['messages', { messages: [{ role: 'user', content: 'Q' }, { role: 'assistant', content: 'A' }], tools: 'x' }, 'invalid_record', /"tools" must be a list/],
    ['messages', { messages: [{ role: 'user', content: null }, { role: 'assistant', content: 'A' }] }, 'invalid_record', /content must be text/],
    ['messages', { messages: [{ role: 'user', content: 'Q' }, { role: 'assistant', content: 'A', weight: 0.5 }] }, 'invalid_record', /weight must be 0 or 1/],
    ['messages', { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: {} }] }] }, 'invalid_record', /non-text parts/],
    ['sharegpt', { conversations: [{ from: 'human', value: 'Q' }] }, 'invalid_record', /no assistant/],
    ['sharegpt', { conversations: [{ from: 'observation', value: 'Q' }] }, 'invalid_record', /from must be/],
    ['sharegpt', { conversations: [{ from: 'human', value: 'Q' }, { from: 'gpt', value: '' }] }, 'empty_content', /blank/],
  ] as const)('%s rejects %j as %s', async (mapping, record, reason, message) => {
    const { examples, rejected } = await run([record], { mapping });
    expect(examples).toEqual([]);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]?.reason).toBe(reason);
    expect(rejected[0]?.message).toMatch(message);
    expect(rejected[0]?.source).toEqual({ file: 'f.jsonl', line: 1 });
  });

  it('says which other preset a row missing a field fits, and nothing where none or the same one does', async () => {
    const rows = [
      { messages: [{ role: 'user', content: 'Q' }, { role: 'assistant', content: 'A' }] },
      { conversations: [{ from: 'human', value: 'Q2' }, { from: 'gpt', value: 'A2' }] },
      { instruction: 'Do', output: 'Done' },
      { text: 'neither' },
    ];
    const { examples, rejected } = await run(rows, { mapping: 'messages' });
    expect(examples).toHaveLength(1);
    expect(rejected.map((r) => [r.source.line, r.reason])).toEqual([
      [2, 'missing_field'],
      [3, 'missing_field'],
      [4, 'missing_field'],
    ]);
    expect(rejected[0]?.message).toMatch(/^field "messages" is missing or null; the row has the fields of sharegpt, and the file is read as messages .*file of their own$/);
    expect(rejected[1]?.message).toMatch(/the fields of alpaca/);
    expect(rejected[2]?.message).toBe('field "messages" is missing or null');
    // A qa row without its answer fits no other preset: no hint.
    const qa = await run([{ question: 'Q' }], { mapping: 'qa' });
    expect(qa.rejected[0]?.message).toBe('field "answer" is missing or null');
  });

  it('reads a message in either shape and its role under the names datasets use, in any case', async () => {
    const turn = fc.record({ user: fc.string({ minLength: 1, maxLength: 8 }).filter((t) => t.trim() !== ''), assistant: fc.string({ minLength: 1, maxLength: 8 }).filter((t) => t.trim() !== '') });
    const spelling = (names: string[]) => fc.constantFrom(...names.flatMap((n) => [n, n.toUpperCase(), n[0]?.toUpperCase() + n.slice(1), ` ${n} `]));
    await fc.assert(
      fc.asyncProperty(
        fc.array(turn, { minLength: 1, maxLength: 3 }),
        fc.constantFrom('messages', 'sharegpt'),
        fc.boolean(),
        spelling(['user', 'human']),
        spelling(['assistant', 'gpt', 'model']),
        async (turns, preset, fromValue, user, assistant) => {
          const entry = (role: string, text: string) => (fromValue ? { from: role, value: text } : { role, content: text });
          const list = turns.flatMap((t) => [entry(user, t.user), entry(assistant, t.assistant)]);
          const { examples, rejected } = await run([{ [preset === 'messages' ? 'messages' : 'conversations']: list }], { mapping: preset });
          expect(rejected).toEqual([]);
          expect(examples.map(msgs)).toEqual([turns.flatMap((t) => [['user', t.user.trim()], ['assistant', t.assistant.trim()]])]);
        },
      ),
      { numRuns: 80 },
    );
  });

  it.each([
    ['messages', { messages: [{ role: 'narrator', content: 'Q' }] }, /messages\[0\]\.role must be system, user, assistant or tool \(or developer, human, prompter, gpt, chatgpt, model, ai, bot\), got "narrator"/],
    ['messages', { messages: [{ text: 'Q' }] }, /messages\[0\]\.role must be .*, got undefined/],
    ['messages', { messages: [{ role: 'constructor', content: 'Q' }] }, /messages\[0\]\.role must be .*, got "constructor"/],
    ['sharegpt', { conversations: [{ from: 'toString', value: 'Q' }] }, /conversations\[0\]\.from must be .*, got "toString"/],
    ['sharegpt', { conversations: [{ role: 'tool', content: '42' }] }, /conversations\[0\]\.from must be system, human or gpt \(or developer, user, prompter, assistant, chatgpt, model, ai, bot\), got "tool"/],
    ['sharegpt', { conversations: [{ from: 'human' }] }, /conversations\[0\]\.value must be text \(a string or text parts\), got undefined/],
  ] as const)('%s still rejects a role or text it cannot read: %j', async (mapping, record, message) => {
    const { rejected } = await run([record], { mapping });
    expect(rejected.map((r) => r.reason)).toEqual(['invalid_record']);
    expect(rejected[0]?.message).toMatch(message);
  });

  it('keeps tool calls (arguments as JSON text, ids made where missing), tool messages and tools', async () => {
    const tools = [{ type: 'function', function: { name: 'get_rate', description: 'FX rate', parameters: { type: 'object', properties: {} } } }];
    const { examples, rejected } = await run(
      [
        {
          messages: [
            { role: 'user', content: 'EUR to USD?' },
            { role: 'assistant', content: null, tool_calls: [{ type: 'function', function: { name: 'get_rate', arguments: { pair: 'EURUSD' } } }] },
            { role: 'tool', content: '1.08', tool_call_id: 'call_1_0' },
            { role: 'assistant', content: 'About 1.08.' },
          ],
          tools,
        },
      ],
      { mapping: 'messages' },
    );
    expect(rejected).toEqual([]);
    expect(examples[0]?.messages[1]).toEqual({ role: 'assistant', content: '', tool_calls: [{ id: 'call_1_0', type: 'function', function: { name: 'get_rate', arguments: '{"pair":"EURUSD"}' } }] });
    expect(examples[0]?.messages[2]).toEqual({ role: 'tool', content: '1.08', tool_call_id: 'call_1_0' });
    expect(examples[0]?.tools).toEqual(tools);
    expect(examples[0]?.meta.tools).toBeUndefined();
  });

  it('keeps weight and name on messages', async () => {
    const { examples } = await run(
      [{ messages: [{ role: 'user', content: 'Q', name: 'ana' }, { role: 'assistant', content: 'A1', weight: 0 }, { role: 'user', content: 'Q2' }, { role: 'assistant', content: 'A2', weight: 1 }] }],
      { mapping: 'messages' },
    );
    expect(examples[0]?.messages[0]).toEqual({ role: 'user', content: 'Q', name: 'ana' });
    expect(examples[0]?.messages[1]).toEqual({ role: 'assistant', content: 'A1', weight: 0 });
  });
});

describe('systemPrompt, meta, id and domain', () => {
  it('adds the system prompt only where a record has none', async () => {
    const { examples } = await run(
      [
        { question: 'Q', answer: 'A' },
        { messages: [{ role: 'system', content: 'Own' }, { role: 'user', content: 'Q' }, { role: 'assistant', content: 'A' }] },
      ].slice(0, 1),
      { mapping: 'qa', systemPrompt: 'You are careful.' },
    );
    expect(examples[0]?.messages[0]).toEqual({ role: 'system', content: 'You are careful.' });
    const own = await run([{ messages: [{ role: 'system', content: 'Own' }, { role: 'user', content: 'Q' }, { role: 'assistant', content: 'A' }] }], {
      mapping: 'messages',
      systemPrompt: 'You are careful.',
    });
    expect(own.examples[0]?.messages.filter((m) => m.role === 'system')).toEqual([{ role: 'system', content: 'Own' }]);
  });

  it("reads the role names exports write (developer, prompter, chatgpt, ai, bot), Responses API text parts, and an empty tool_calls list as none", async () => {
    const { examples, rejected } = await run(
      [
        { messages: [{ role: 'developer', content: 'Be brief.' }, { role: 'user', content: 'Q' }, { role: 'assistant', content: 'A', tool_calls: [] }] },
        { messages: [{ role: 'prompter', content: [{ type: 'input_text', text: 'Q' }] }, { role: 'ai', content: [{ type: 'output_text', text: 'A' }] }] },
        { messages: [{ role: 'Human', content: 'Q' }, { role: 'chatgpt', content: 'A' }, { role: 'user', content: 'Q2' }, { role: 'bot', content: 'A2' }] },
      ],
      { mapping: 'messages' },
    );
    expect(rejected).toEqual([]);
    expect(examples.map(msgs)).toEqual([
      [['system', 'Be brief.'], ['user', 'Q'], ['assistant', 'A']],
      [['user', 'Q'], ['assistant', 'A']],
      [['user', 'Q'], ['assistant', 'A'], ['user', 'Q2'], ['assistant', 'A2']],
    ]);
    expect(examples[0]?.messages[2]?.tool_calls).toBeUndefined();
  });

  it('reads a blank or null system message as none, so the system prompt fills in (messages and ShareGPT)', async () => {
    const qa = [{ role: 'user', content: 'Q' }, { role: 'assistant', content: 'A' }];
    const rows = [
      { messages: [{ role: 'system', content: '' }, ...qa] },
      { messages: [{ role: 'system', content: null }, ...qa] },
      { messages: [{ role: 'system', content: '  ' }, ...qa] },
    ];
    for (const systemPrompt of ['You are careful.', undefined]) {
      const { examples, rejected } = await run(rows, { mapping: 'messages', systemPrompt });
      expect(rejected).toEqual([]);
      const want = systemPrompt === undefined ? [] : [['system', systemPrompt]];
      for (const e of examples) expect(msgs(e)).toEqual([...want, ['user', 'Q'], ['assistant', 'A']]);
    }
    const sharegpt = await run([{ conversations: [{ from: 'system', value: '', weight: null }, { from: 'human', value: 'Q' }, { from: 'gpt', value: 'A' }] }, { conversations: [{ from: 'system', value: null }, { from: 'human', value: 'Q' }, { from: 'gpt', value: 'A' }] }, { conversations: [{ from: 'system' }, { from: 'human', value: 'Q' }, { from: 'gpt', value: 'A' }] }], {
      mapping: 'sharegpt',
      systemPrompt: 'You are careful.',
    });
    expect(sharegpt.rejected).toEqual([]);
    expect(sharegpt.examples.map(msgs)).toEqual([0, 1, 2].map(() => [['system', 'You are careful.'], ['user', 'Q'], ['assistant', 'A']]));
    // Only invisible characters (a zero-width space, a soft hyphen, a Braille blank) are no text either.
    const invisible = await run(['\u200b', '\u00ad\u2060', '\u2800 \u3164'].map((a) => ({ question: 'Q', answer: a })), { mapping: 'qa' });
    expect(invisible.rejected.map((r) => [r.reason, r.message])).toEqual([0, 1, 2].map(() => ['empty_content', 'message 2 (assistant) is blank (it holds only invisible characters)']));
    expect((await run([{ question: 'Q', answer: 'a\u200bb' }], { mapping: 'qa' })).rejected).toEqual([]);
    // A blank user or assistant message is still a row without its text.
    expect((await run([{ messages: [{ role: 'user', content: '' }, { role: 'assistant', content: 'A' }] }], { mapping: 'messages' })).rejected.map((r) => r.reason)).toEqual(['empty_content']);
  });

  it('keeps unused columns in meta under their own names, with the source', async () => {
    const { examples } = await run([{ id: 'r1', question: 'Q', answer: 'A', case_id: 'C-1', score: 3, source: 'web' }], { mapping: 'qa' });
    const ex = examples[0] as Example;
    expect(ex.id).toBe('r1');
    expect(ex.meta).toEqual({ source: { file: 'f.jsonl', line: 1 }, case_id: 'C-1', score: 3, source_column: 'web' });
  });

  it('uses file:line as id without an id column, and the domain of the input over a domain column', async () => {
    const { examples } = await run([{ question: 'Q', answer: 'A', domain: 'legal' }], { mapping: 'qa', domain: 'finance' });
    expect(examples[0]?.id).toBe('f.jsonl:1');
    expect(examples[0]?.meta.domain).toBe('finance');
    const col = await run([{ question: 'Q', answer: 'A', domain: 'legal' }], { mapping: 'qa' });
    expect(col.examples[0]?.meta.domain).toBe('legal');
  });

  it('does not let a __proto__ key reach the prototype of meta', async () => {
    const data = JSON.parse('{"question":"Q","answer":"A","__proto__":{"polluted":true}}') as Record<string, unknown>;
    const { examples } = await run([data], { mapping: 'qa' });
    const meta = examples[0]?.meta as Record<string, unknown>;
    expect(Object.hasOwn(meta, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(meta)).toBe(Object.prototype);
  });
});

describe('template mapping', () => {
  const mapping = { system: 'You advise on {{topic}}.', user: 'Q: {{q}} ({{meta.lang}})', assistant: '{{a}}' };

  it('renders placeholders, dot paths and keeps the other columns', async () => {
    const { examples, rejected } = await run([{ q: 'Why?', a: 'Because.', topic: 'tax', meta: { lang: 'en' }, extra: 1 }], { mapping });
    expect(rejected).toEqual([]);
    expect(examples.map(msgs)).toEqual([[['system', 'You advise on tax.'], ['user', 'Q: Why? (en)'], ['assistant', 'Because.']]]);
    expect(examples[0]?.meta.extra).toBe(1);
    expect(examples[0]?.meta.q).toBeUndefined();
  });

  it('leaves the system message out when its value is blank, and rejects blank or missing user values', async () => {
    const { examples, rejected } = await run(
      [
        { q: 'Why?', a: 'Because.', topic: '', meta: { lang: 'en' } },
        { q: ' ', a: 'x', topic: 't', meta: { lang: 'en' } },
        { a: 'x', topic: 't', meta: { lang: 'en' } },
        { q: 'Q', a: 'x', topic: 't', meta: {} },
      ],
      { mapping },
    );
    expect(examples.map(msgs)).toEqual([[['user', 'Q: Why? (en)'], ['assistant', 'Because.']]]);
    expect(rejected.map((r) => [r.source.line, r.reason])).toEqual([
      [2, 'empty_content'],
      [3, 'missing_field'],
      [4, 'missing_field'],
    ]);
  });
});

describe('resolveMapping', () => {
  it('detects the preset from the first record', () => {
    expect(resolveMapping('auto', { prompt: 'a', completion: 'b' }, 'x.jsonl')).toBe('prompt-completion');
  });

  it('throws MAPPING_INVALID naming the file and the keys when nothing fits', () => {
    try {
      resolveMapping('auto', { text: 'a', label: 'b' }, 'data/x.jsonl');
      expect.unreachable();
    } catch (e) {
      expect(isLoraPrepError(e) && e.code).toBe('MAPPING_INVALID');
      expect((e as Error).message).toMatch(/data\/x\.jsonl.*"text", "label"/);
    }
  });

  it('finds qa and mcq in columns written in other capitals or with spaces, naming them as written', () => {
    expect(resolveMapping('auto', { Question: 'q', Answer: 'a', Context: 'c', Topic: 't' }, 'x.csv')).toEqual({ preset: 'qa', question: 'Question', answer: 'Answer', context: 'Context' });
    expect(resolveMapping('auto', { QUESTION: 'q', Answer: 'a' }, 'x.csv')).toEqual({ preset: 'qa', question: 'QUESTION', answer: 'Answer' });
    expect(resolveMapping('auto', { Question: 'q', OPA: 'x', OPB: 'y', OPC: 'z', COP: 1, Exp: 'e' }, 'm.csv')).toEqual({
      preset: 'mcq',
      question: 'Question',
      options: ['OPA', 'OPB', 'OPC'],
      answer: 'COP',
      indexBase: 0,
      explanation: 'Exp',
    });
    // Columns as the preset names them are found as before.
    expect(resolveMapping('auto', { question: 'q', answer: 'a' }, 'x.csv')).toBe('qa');
  });

  it.each([
    [{ Instruction: 'i', Input: '', Output: 'o' }, /fit alpaca in other capitals or with spaces: rename "Instruction" to "instruction", "Input" to "input", "Output" to "output"\./],
    [{ Prompt: 'p', Completion: 'c' }, /fit prompt-completion .*rename "Prompt" to "prompt", "Completion" to "completion"/],
    [{ Question: 'q', Context: { contexts: ['c'] }, Long_Answer: 'l', Final_Decision: 'yes' }, /fit qa .*rename "Question" to "question", "Context" to "context", "Long_Answer" to "long_answer"/],
  ])('says which columns to rename where no object form can name them: %j', (first, message) => {
    expect(() => resolveMapping('auto', first, 'x.csv')).toThrow(message);
  });

  it('a named preset whose columns the first row has only in other capitals: qa names them, the others say what to rename', () => {
    expect(resolveMapping('qa', { question: 'q', Answer: 'a' }, 'x.csv')).toEqual({ preset: 'qa', question: 'question', answer: 'Answer' });
    expect(() => resolveMapping('alpaca', { Instruction: 'i', Output: 'o' }, 'x.csv')).toThrow(/mapping "alpaca": the first row has no column "instruction", "output" as written\. .*rename "Instruction" to "instruction", "Output" to "output"/);
    expect(() => resolveMapping('messages', { Messages: [] }, 'x.jsonl')).toThrow(/rename "Messages" to "messages"/);
    // Columns as written, or missing even folded (a bad first row), are left to the rows.
    expect(resolveMapping('qa', { question: 'q', answer: 'a' }, 'x.csv')).toBe('qa');
    expect(resolveMapping('qa', { question: 'q' }, 'x.jsonl')).toBe('qa');
    expect(resolveMapping('prompt-completion', { Prompt: 'p' }, 'x.jsonl')).toBe('prompt-completion');
  });

  it.each([
    [{ prompt: 'p', chosen: 'c', rejected: 'r' }, /preference data \(DPO\).*use mapping \{ user: "\{\{prompt\}\}", assistant: "\{\{chosen\}\}" \}/],
    [{ question: 'p', chosen: 'c', rejected: 'r' }, /user: "\{\{question\}\}", assistant: "\{\{chosen\}\}"/],
    [{ chosen: [{ role: 'user', content: 'q' }], rejected: [] }, /chosen holds a whole conversation: to train on it, write it under "messages"/],
  ])('says how to train on the chosen answers of preference data: %j', (first, message) => {
    expect(() => resolveMapping('auto', first, 'dpo.jsonl')).toThrow(message);
  });

  it('folds no names when two columns would become one', () => {
    expect(() => resolveMapping('auto', { Question: 'q', QUESTION: 'q2', Answer: 'a' }, 'x.csv')).toThrow(/cannot tell the record shape(?!.*other capitals)/);
  });

  it('examples from folded qa and mcq columns are those of the same rows under the preset names', async () => {
    const text = fc.string({ minLength: 1, maxLength: 12 }).filter((t) => t.trim() !== '');
    const caps = (name: string) => fc.constantFrom(name.toUpperCase(), name[0]?.toUpperCase() + name.slice(1), ` ${name[0]?.toUpperCase()}${name.slice(1)}`);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ question: text, answer: text, context: fc.option(text, { nil: undefined }) }), { minLength: 1, maxLength: 5 }), caps('question'), caps('answer'), caps('context'), async (rows, q, a, c) => {
        const lower = rows.map((r) => ({ question: r.question, answer: r.answer, context: r.context ?? '' }));
        const upper = lower.map((r) => ({ [q]: r.question, [a]: r.answer, [c]: r.context }));
        const mapping = resolveMapping('auto', upper[0], 'x.csv');
        expect(mapping).toMatchObject({ preset: 'qa', question: q, answer: a });
        const want = await run(lower, { mapping: 'qa' });
        const got = await run(upper, { mapping });
        expect(got.examples.map(msgs)).toEqual(want.examples.map(msgs));
        expect(got.rejected.map((r) => r.reason)).toEqual(want.rejected.map((r) => r.reason));
      }),
      { numRuns: 50 },
    );
    const mcq = [{ question: 'Which?', opa: 'a', opb: 'b', cop: 1, exp: 'why' }, { question: 'And?', opa: 'c', opb: 'd', cop: 0, exp: '' }];
    const MCQ = mcq.map((r) => ({ Question: r.question, OPA: r.opa, OPB: r.opb, COP: r.cop, Exp: r.exp }));
    const wantMcq = await run(mcq, { mapping: resolveMapping('auto', mcq[0], 'm.csv') });
    const gotMcq = await run(MCQ, { mapping: resolveMapping('auto', MCQ[0], 'm.csv') });
    expect(gotMcq.examples.map(msgs)).toEqual(wantMcq.examples.map(msgs));
    expect(wantMcq.examples).toHaveLength(2);
  });

  it('throws before any row when a template names a column the input lacks, listing the columns', () => {
    try {
      resolveMapping({ user: '{{question}}', assistant: '{{answr}}' }, { question: 'q', answer: 'a' }, 'qa.csv');
      expect.unreachable();
    } catch (e) {
      expect(isLoraPrepError(e) && e.code).toBe('MAPPING_INVALID');
      expect((e as Error).message).toMatch(/\{\{answr\}\}.*columns are: "question", "answer"/);
    }
  });

  it('says which shape auto chose where the columns fit several, and what else they fit', async () => {
    const { alsoFits } = await import('../src/normalize/index.js');
    expect(alsoFits({ prompt: 'p', completion: 'c', question: 'q', answer: 'a' }, 'prompt-completion')).toEqual(['qa']);
    expect(alsoFits({ instruction: 'i', output: 'o', question: 'q', answer: 'a' }, 'alpaca')).toEqual(['qa']);
    // MedQA's question and answer are its own; one shape alone fits nothing else.
    expect(alsoFits({ question: 'q', answer: 'a', options: { A: 'x' }, answer_idx: 'A' }, 'mcq')).toEqual([]);
    expect(alsoFits({ question: 'q', answer: 'a' }, 'qa')).toEqual([]);
    const { prepareDataset } = await import('../src/index.js');
    const { tempDir } = await import('./helpers/index.js');
    const { writeFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const dir = await tempDir();
    const rows = [0, 1, 2].map((i) => JSON.stringify({ prompt: `P${i}?`, completion: `C${i}.`, question: `Q${i}?`, answer: `A${i}.` }));
    await writeFile(join(dir, 'both.jsonl'), `${rows.join('\n')}\n`);
    const result = await prepareDataset({ inputs: [join(dir, 'both.jsonl')], outDir: join(dir, 'o'), split: { validation: 0 } });
    expect(result.warnings).toContainEqual(expect.stringMatching(/both\.jsonl: the columns fit "prompt-completion" and also "qa": read as "prompt-completion" \(the other columns are kept in each example's meta\); name the mapping/));
    const named = await prepareDataset({ inputs: [join(dir, 'both.jsonl')], outDir: join(dir, 'n'), mapping: 'qa', split: { validation: 0 } });
    expect(named.warnings.some((w) => w.includes('also'))).toBe(false);
  });

  it("names the preset a first record half fits, and Python's repr in a messages cell", () => {
    const message = (first: Record<string, unknown>) => {
      try {
        resolveMapping('auto', first, 'x.jsonl');
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    };
    expect(message({ question: 'What is APR?' })).toContain('The first record has "question" of the "qa" preset but not the rest: if later records have it (an exporter that leaves out empty fields), name the preset: mapping "qa" (CLI --mapping qa)');
    expect(message({ instruction: 'Sum 2 and 3' })).toContain('of the "alpaca" preset');
    expect(message({ messages: "[{'role': 'user', 'content': 'Hi'}]" })).toContain("Python's repr of a list (single quotes, as pandas' to_csv writes a list column): write the column with json.dumps.");
    expect(message({ text: 'a', note: 'b' })).not.toContain('preset but not the rest');
  });

  it('throws before any row on a dot path the first row reaches but lacks (a typo under an object), not on one under a value', () => {
    const first = { q: 'Why?', a: 'Because.', meta: { lang: 'en' }, note: 'plain text' };
    const mapping = (user: string) => ({ user, assistant: '{{a}}' });
    expect(() => resolveMapping(mapping('{{q}} ({{meta.nope}})'), first, 'qa.jsonl')).toThrow(/\{\{meta\.nope\}\}/);
    expect(() => resolveMapping(mapping('{{q}} ({{meta.lang}})'), first, 'qa.jsonl')).not.toThrow();
    // Under a value that is not an object, or a key the first row has as null, the rows decide.
    expect(() => resolveMapping(mapping('{{q}} ({{note.x}})'), first, 'qa.jsonl')).not.toThrow();
    expect(() => resolveMapping(mapping('{{q}} ({{meta.lang.x}})'), { ...first, meta: { lang: null } }, 'qa.jsonl')).not.toThrow();
    // A list's length varies from row to row, and a system template is optional content.
    expect(() => resolveMapping(mapping('{{q}} {{turns.1}}'), { ...first, turns: ['only one'] }, 'qa.jsonl')).not.toThrow();
    expect(() => resolveMapping({ system: '{{meta.ctx}}', user: '{{q}}', assistant: '{{a}}' }, first, 'qa.jsonl')).not.toThrow();
  });
});

describe('domain system prompts', () => {
  it('names stand for the short neutral prompts; other text is kept as written', async () => {
    const { DOMAIN_SYSTEM_PROMPTS, systemPromptText } = await import('../src/normalize/domains.js');
    expect(systemPromptText('legal')).toBe(DOMAIN_SYSTEM_PROMPTS.legal);
    expect(systemPromptText('You are terse.')).toBe('You are terse.');
    expect(systemPromptText(undefined)).toBeUndefined();
    for (const text of Object.values(DOMAIN_SYSTEM_PROMPTS)) expect(text.split(' ').length).toBeLessThan(40);
    const { prepareDataset } = await import('../src/index.js');
    const { tempDir } = await import('./helpers/index.js');
    const { readJsonl } = await import('./helpers/output.js');
    const { join } = await import('node:path');
    const result = await prepareDataset({ inputs: ['fixtures/medical/clinical-qa.jsonl'], outDir: join(await tempDir(), 'o'), systemPrompt: 'medical', split: { validation: 0 } });
    const first = (await readJsonl(result.files.train))[0] as { messages: Array<{ role: string; content: string }> };
    expect(first.messages[0]).toEqual({ role: 'system', content: DOMAIN_SYSTEM_PROMPTS.medical });
  });
});
