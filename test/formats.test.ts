import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { recordBuilder } from '../src/formats/index.js';
import { prepareDataset } from '../src/index.js';
import { tempDir } from './helpers/index.js';
import { readJsonl } from './helpers/output.js';
import type { Example, Message } from '../src/types.js';

const ex = (messages: Message[]): Example => ({ id: 'x', messages, meta: { source: { file: 'f', line: 1 } } });
const S: Message = { role: 'system', content: 'S' };
const U: Message = { role: 'user', content: 'Q' };
const A: Message = { role: 'assistant', content: 'A' };

describe('openai / axolotl chat', () => {
  it('writes messages with weight only on assistant messages', () => {
    const r = recordBuilder('openai', 'chat')(ex([S, { ...U, name: 'ana', weight: 1 }, { ...A, weight: 0 }, U, A]));
    expect(r).toEqual({
      ok: true,
      record: {
        messages: [
          { role: 'system', content: 'S' },
          { role: 'user', content: 'Q', name: 'ana' },
          { role: 'assistant', content: 'A', weight: 0 },
          { role: 'user', content: 'Q' },
          { role: 'assistant', content: 'A' },
        ],
      },
    });
    expect(recordBuilder('axolotl', 'chat')(ex([U, A]))).toEqual({ ok: true, record: { messages: [{ role: 'user', content: 'Q' }, { role: 'assistant', content: 'A' }] } });
  });
});

describe('axolotl instruction (alpaca)', () => {
  const alpaca = recordBuilder('axolotl', 'instruction');

  it.each([
    [[U, A], { instruction: 'Q', input: '', output: 'A' }],
    [[S, U, A], { instruction: 'Q', input: '', output: 'A', system: 'S' }],
  ])('%j → %j (input always present)', (messages, record) => {
    expect(alpaca(ex(messages))).toEqual({ ok: true, record });
  });

  it.each([
    ['multi-turn', [U, A, U, A], /one instruction and one answer.*2 exchanges/],
    ['two system prompts', [S, S, U, A], /at most one system prompt/],
    ['an untrained answer', [U, { ...A, weight: 0 as const }], /weight 0/],
  ])('rejects %s as unsupported_shape', (_name, messages, message) => {
    const r = alpaca(ex(messages as Message[]));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason).toBe('unsupported_shape');
      expect(r.message).toMatch(message);
    }
  });
});

describe('alpaca in, alpaca out', () => {
  it("keeps an alpaca row's input in its own field (through prepare), every alpaca target; chat holds both in the user message", async () => {
    const dir = await tempDir();
    const file = join(dir, 'a.jsonl');
    const rows = [
      { instruction: 'Summarise clause 4.', input: 'Clause 4: the tenant pays rent monthly.', output: 'Rent is due monthly.', system: 'You are a contracts lawyer.' },
      { instruction: 'Name a zero-coupon bond issuer.', input: '', output: 'The US Treasury (STRIPS).' },
      { instruction: 'Define EBITDA.', output: 'Earnings before interest, taxes, depreciation and amortisation.' },
      { instruction: 'Translate.', input: 'Bonjour\n\nle monde', output: 'Hello, world.', history: [['Hi', 'Hello.']] },
    ];
    await writeFile(file, rows.map((r) => JSON.stringify(r)).join('\n'));
    for (const target of ['axolotl', 'torchtune', 'unsloth', 'llama-factory'] as const) {
      const result = await prepareDataset({ inputs: [file], outDir: join(dir, target), target, format: 'instruction', split: { validation: 0 }, dedup: false });
      const written = await readJsonl(result.files.train);
      const single = written.filter((r) => r.history === undefined);
      expect(single.slice(0, 3).map((r) => [r.instruction, r.input])).toEqual([
        ['Summarise clause 4.', 'Clause 4: the tenant pays rent monthly.'],
        ['Name a zero-coupon bond issuer.', ''],
        ['Define EBITDA.', ''],
      ]);
      if (target === 'llama-factory') expect(written[3]).toMatchObject({ instruction: 'Translate.', input: 'Bonjour\n\nle monde', history: [['Hi', 'Hello.']] });
    }
    const chat = await prepareDataset({ inputs: [file], outDir: join(dir, 'chat'), split: { validation: 0 }, dedup: false });
    expect(((await readJsonl(chat.files.train))[0]?.messages as Message[])[1]?.content).toBe('Summarise clause 4.\n\nClause 4: the tenant pays rent monthly.');
  });

  it('keeps the input apart under pii redaction too: redacted with the placeholders of the message', async () => {
    const dir = await tempDir();
    const file = join(dir, 'a.jsonl');
    await writeFile(file, `${JSON.stringify({ instruction: 'Email the client about SSN 536-22-1234.', input: 'Client: ana.perez@example.org, SSN 536-22-1234', output: 'Done.' })}\n`);
    const result = await prepareDataset({ inputs: [file], outDir: join(dir, 'o'), target: 'axolotl', format: 'instruction', pii: { action: 'redact' }, split: { validation: 0 } });
    expect((await readJsonl(result.files.train))[0]).toMatchObject({ instruction: 'Email the client about SSN [SSN].', input: 'Client: [EMAIL], SSN [SSN]' });
  });

  it('writes the whole message as the instruction where it no longer ends with the input as read (redacted)', () => {
    const alpaca = recordBuilder('axolotl', 'instruction');
    const redacted = { ...ex([{ role: 'user', content: 'Email the client.\n\n[EMAIL]' }, A]), alpacaInput: 'ana@example.com' };
    expect(alpaca(redacted)).toEqual({ ok: true, record: { instruction: 'Email the client.\n\n[EMAIL]', input: '', output: 'A' } });
    const kept = { ...ex([{ role: 'user', content: 'Email the client.\n\nana@example.com' }, A]), alpacaInput: 'ana@example.com' };
    expect(alpaca(kept)).toEqual({ ok: true, record: { instruction: 'Email the client.', input: 'ana@example.com', output: 'A' } });
  });
});

// --- tool calls, weights and names per target (audit of what prepare writes) ---

const call = (id: string, args: string, name = 'get_rate') => ({ id, type: 'function' as const, function: { name, arguments: args } });
const RATE_TOOL = { type: 'function', function: { name: 'get_rate', description: 'Get a rate.', parameters: { type: 'object', properties: { c: { type: 'string' } } } } };
const NOW_TOOL = { type: 'function', function: { name: 'now', description: 'Current time.' } };
/** user, a call-only assistant turn, its tool answer(s), the final answer. */
const toolChat = (args: string, answers = 1, tools?: unknown[]): Example => ({
  ...ex([
    U,
    { role: 'assistant', content: '', tool_calls: [call('call_a', args)] },
    ...Array.from({ length: answers }, (_, i): Message => ({ role: 'tool', content: `r${i}`, tool_call_id: 'call_a' })),
    A,
  ]),
  ...(tools ? { tools } : {}),
});
const built = (target: Parameters<typeof recordBuilder>[0], example: Example, format: 'chat' | 'instruction' = 'chat') => recordBuilder(target, format)(example);
const record = (r: ReturnType<typeof built>): Record<string, unknown> => {
  if (!r.ok) throw new Error(`rejected: ${r.message}`);
  return r.record;
};
const assistantCall = (r: Record<string, unknown>) => (r.messages as Array<Record<string, unknown>>)[1] as { content?: unknown; tool_calls: Array<{ function: { arguments: unknown } }> };

describe('tool-call arguments keep one type per file and every digit', () => {
  it.each(['trl', 'unsloth', 'axolotl', 'openai', 'mistral'] as const)('%s writes the arguments text as it is', (target) => {
    for (const args of ['{"c":"EUR"}', '{"c":978}', '[1,2]', '"s"', 'null', '7', '{"big":12345678901234567890}', '{ "x" : 1.0 }']) {
      expect(assistantCall(record(built(target, toolChat(args, 1, [RATE_TOOL])))).tool_calls[0]?.function.arguments).toBe(args);
    }
  });

  it('trl and unsloth write tools as JSON text (TRL json.loads it), axolotl the parameters (it json.loads them)', () => {
    for (const target of ['trl', 'unsloth'] as const) expect(record(built(target, toolChat('{}', 1, [RATE_TOOL]))).tools).toBe(JSON.stringify([RATE_TOOL]));
    const tools = record(built('axolotl', toolChat('{}', 1, [RATE_TOOL]))).tools as Array<{ function: { parameters: unknown } }>;
    expect(tools[0]?.function.parameters).toBe(JSON.stringify(RATE_TOOL.function.parameters));
  });

  it('mlx-lm writes objects, and rejects arguments that are no object or would lose digits', () => {
    expect(assistantCall(record(built('mlx-lm', toolChat('{"c":978,"r":0.25}')))).tool_calls[0]?.function.arguments).toEqual({ c: 978, r: 0.25 });
    for (const [args, why] of [['[1,2]', /arguments is \[1,2\], not a JSON object/], ['"s"', /not a JSON object/], ['null', /not a JSON object/], ['{"big":12345678901234567890}', /12345678901234567890/], ['{"x":1.0}', /1\.0/]] as const) {
      expect(built('mlx-lm', toolChat(args)), args).toMatchObject({ ok: false, reason: 'unsupported_shape', message: expect.stringMatching(why) });
    }
  });

  it('llama-factory puts the arguments into the function_call turn digit for digit', () => {
    const r = record(built('llama-factory', toolChat('{"big": 12345678901234567890, "f": 1.0, "s": "\\u00e9"}', 1, [RATE_TOOL])));
    expect((r.conversations as Array<{ from: string; value: string }>)[1]).toEqual({ from: 'function_call', value: '{"name":"get_rate","arguments":{"big":12345678901234567890,"f":1.0,"s":"é"}}' });
  });
});

describe('a tool without parameters', () => {
  it.each(['openai', 'trl', 'unsloth', 'axolotl', 'mlx-lm', 'mistral'] as const)('%s: gets an empty object schema', (target) => {
    const r = record(built(target, toolChat('{}', 1, [NOW_TOOL])));
    const tools = (typeof r.tools === 'string' ? JSON.parse(r.tools) : r.tools) as Array<{ function: { name: string; parameters: unknown } }>;
    const parameters = tools[0]?.function.parameters;
    expect(typeof parameters === 'string' ? JSON.parse(parameters) : parameters).toEqual({ type: 'object', properties: {} });
  });

  it('llama-factory: gets parameters with properties, which its tool formatter reads', () => {
    const r = record(built('llama-factory', toolChat('{}', 1, [NOW_TOOL, { name: 'flat', parameters: {} }])));
    expect(JSON.parse(r.tools as string)).toEqual([
      { type: 'function', function: { name: 'now', description: 'Current time.', parameters: { type: 'object', properties: {} } } },
      { name: 'flat', parameters: { properties: {} } },
    ]);
  });

  it('a tool that is no function definition is an invalid record', () => {
    for (const bad of [{ type: 'function', name: 'now' }, { function: { name: 'now' } }, { name: 7 }, 'now']) {
      expect(built('openai', toolChat('{}', 1, [bad]))).toMatchObject({ ok: false, reason: 'invalid_record', message: expect.stringMatching(/tools\[0\] is not a function definition/) });
    }
  });

  it("wraps a flat {name, parameters} tool (LLaMA-Factory's own data) into OpenAI's shape for the other targets", () => {
    const flat = { name: 'get_rate', description: 'Exchange rate.', parameters: { type: 'object', properties: { from: { type: 'string' } } } };
    for (const target of ['openai', 'mlx-lm', 'mistral'] as const) {
      expect(record(built(target, toolChat('{}', 1, [flat]))).tools, target).toEqual([{ type: 'function', function: flat }]);
    }
    // No parameters: filled in, as for a wrapped tool.
    expect(record(built('openai', toolChat('{}', 1, [{ name: 'now' }]))).tools).toEqual([{ type: 'function', function: { name: 'now', parameters: { type: 'object', properties: {} } } }]);
  });
});

describe('tool conversations per target', () => {
  it('mistral rejects more tool responses than calls, and a user turn right after a tool message', () => {
    expect(built('mistral', toolChat('{}', 2, [RATE_TOOL]))).toEqual({
      ok: false,
      reason: 'unsupported_shape',
      message: 'mistral: message 4 is tool response 2 to an assistant turn that made 1 call: Mistral refuses more tool responses than tool calls',
    });
    const userAfterTool = ex([U, { role: 'assistant', content: '', tool_calls: [call('call_a', '{}')] }, { role: 'tool', content: 'r', tool_call_id: 'call_a' }, U, A]);
    expect(built('mistral', userAfterTool)).toMatchObject({ ok: false, message: expect.stringMatching(/message 4 is user after a tool message/) });
    expect(built('mistral', toolChat('{}', 1, [RATE_TOOL])).ok).toBe(true);
  });

  it('axolotl and the Hugging Face targets write content "" on a call-only turn; openai and mistral leave it out', () => {
    for (const target of ['axolotl', 'trl', 'unsloth', 'mlx-lm'] as const) expect(assistantCall(record(built(target, toolChat('{}')))).content, target).toBe('');
    for (const target of ['openai', 'mistral'] as const) expect('content' in assistantCall(record(built(target, toolChat('{}')))), target).toBe(false);
  });

  it.each(['together', 'torchtune'] as const)('%s names the missing tool support first, whatever else the conversation breaks', (target) => {
    // Two tool answers in a row: also two neighbours with one role, and an assistant after a tool.
    expect(built(target, toolChat('{}', 2))).toEqual({ ok: false, reason: 'unsupported_shape', message: `${target} takes no tool calls, tool messages or tools` });
  });

  it('llama-factory rejects tool calls without tools, since function_call and observation turns need a tools column', () => {
    expect(built('llama-factory', toolChat('{}'))).toMatchObject({ ok: false, reason: 'unsupported_shape', message: expect.stringMatching(/calls tools but the row has no tools/) });
    expect(built('llama-factory', toolChat('{}', 1, [RATE_TOOL])).ok).toBe(true);
  });
});

describe('weights on turns the trainer never trains, and names', () => {
  const userWeight0 = ex([S, { ...U, weight: 0 }, A]);
  it.each([
    ['llama-factory', 'chat'],
    ['llama-factory', 'instruction'],
    ['axolotl', 'instruction'],
    ['unsloth', 'instruction'],
    ['torchtune', 'instruction'],
    ['trl', 'chat'],
    ['openai', 'chat'],
    ['mistral', 'chat'],
  ] as const)('%s %s drops weight 0 on a user turn', (target, format) => {
    const r = record(built(target, userWeight0, format));
    expect(JSON.stringify(r)).not.toContain('weight');
  });

  it('an untrained assistant turn is still rejected where the trainer would train it', () => {
    for (const [target, format] of [['llama-factory', 'chat'], ['llama-factory', 'instruction']] as const) {
      expect(built(target, ex([U, { ...A, weight: 0 }, U, A]), format)).toMatchObject({ ok: false, message: expect.stringMatching(/weight 0/) });
    }
  });

  it('mlx-lm (which trains only the last message, --mask-prompt) drops weight 0 on an earlier answer and rejects it on the last', () => {
    expect(record(built('mlx-lm', ex([U, { ...A, weight: 0 }, U, A])))).toEqual({ messages: [{ role: 'user', content: 'Q' }, { role: 'assistant', content: 'A' }, { role: 'user', content: 'Q' }, { role: 'assistant', content: 'A' }] });
    expect(built('mlx-lm', ex([U, A, U, { ...A, weight: 0 }]))).toMatchObject({ ok: false, reason: 'unsupported_shape', message: expect.stringMatching(/weight 0/) });
    // Trainers that train every turn still refuse it anywhere.
    expect(built('trl', ex([U, { ...A, weight: 0 }, U, A])).ok).toBe(false);
  });

  it.each(['openai', 'together', 'mistral'] as const)('%s rejects an example whose every answer has weight 0: it trains nothing', (target) => {
    expect(built(target, ex([U, { ...A, weight: 0 }, U, { ...A, weight: 0 }]))).toMatchObject({ ok: false, reason: 'unsupported_shape', message: expect.stringMatching(/every assistant message has weight 0: the example trains nothing/) });
    expect(built(target, ex([U, { ...A, weight: 0 }, U, A])).ok).toBe(true);
  });

  it('together: a row with any weight gets weight 0 on its unweighted prompt turns (Together then trains every unweighted turn), and one that trains a prompt turn is kept', () => {
    expect(record(built('together', ex([S, U, { ...A, weight: 0 }, U, A])))).toEqual({
      messages: [
        { role: 'system', content: 'S', weight: 0 },
        { role: 'user', content: 'Q', weight: 0 },
        { role: 'assistant', content: 'A', weight: 0 },
        { role: 'user', content: 'Q', weight: 0 },
        { role: 'assistant', content: 'A' },
      ],
    });
    // No weight anywhere: written as read (Together trains the answers by default).
    expect(record(built('together', ex([S, U, A])))).toEqual({ messages: [{ role: 'system', content: 'S' }, { role: 'user', content: 'Q' }, { role: 'assistant', content: 'A' }] });
    // A prompt turn marked weight 1 is trained on purpose: the row trains something.
    expect(record(built('together', ex([{ ...U, weight: 1 }, { ...A, weight: 0 }])))).toEqual({ messages: [{ role: 'user', content: 'Q', weight: 1 }, { role: 'assistant', content: 'A', weight: 0 }] });
  });

  it('together drops name (it has no such key); tool messages never carry one', () => {
    expect(record(built('together', ex([{ ...U, name: 'bob' }, A])))).toEqual({ messages: [{ role: 'user', content: 'Q' }, { role: 'assistant', content: 'A' }] });
    const named = toolChat('{}', 1, [RATE_TOOL]);
    named.messages = named.messages.map((m) => ({ ...m, name: 'x' }));
    const messages = record(built('openai', named)).messages as Array<Record<string, unknown>>;
    expect(messages.map((m) => m.name)).toEqual(['x', 'x', undefined, 'x']);
  });
});
