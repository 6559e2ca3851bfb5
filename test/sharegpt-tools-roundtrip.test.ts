/**
 * Round trip of tool conversations through the llama-factory writer: a `messages` row, mapped,
 * written as ShareGPT (function_call / observation turns, tools as JSON text) and read back gives
 * the same messages and tools. ShareGPT holds no call ids, so ids are compared by what they link
 * (which call a tool message answers), and the writer writes arguments compact: they come back as
 * `compactJson` of the input's, every digit kept.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { recordBuilder } from '../src/formats/index.js';
import { compactJson } from '../src/formats/_tools.js';
import { isBlank, normalizeRecords, resolveMapping } from '../src/normalize/index.js';
import type { Example, Message } from '../src/types.js';
import { collect, fromArray, recordingContext } from './helpers/index.js';

const toLlamaFactory = recordBuilder('llama-factory', 'chat');

/** One row through the mapping `'auto'` resolves for it; the example, or the rejection's message. */
async function normalizeOne(data: Record<string, unknown>): Promise<Example> {
  const ctx = recordingContext();
  const mapping = resolveMapping('auto', data, 'in.jsonl');
  const [example] = await collect(normalizeRecords(fromArray([{ data, source: { file: 'in.jsonl', line: 1 } }]), { mapping }, ctx));
  if (!example) throw new Error(`rejected: ${ctx.rejected.map((r) => `${r.reason}: ${r.message}`).join('; ')}`);
  return example;
}

/** The example written for llama-factory, as a line of the file holds it. */
function written(example: Example): Record<string, unknown> {
  const r = toLlamaFactory(example);
  if (!r.ok) throw new Error(`not written: ${r.message}`);
  return JSON.parse(JSON.stringify(r.record)) as Record<string, unknown>;
}

/**
 * Messages with each call id replaced by where its call is (`message.call`), so that two examples
 * compare by what their ids link; arguments through `args`.
 */
function linked(messages: Message[], args: (a: string) => string | undefined): unknown[] {
  const at = new Map<string, string>();
  for (const [i, m] of messages.entries()) for (const [n, c] of (m.tool_calls ?? []).entries()) if (!at.has(c.id)) at.set(c.id, `${i}.${n}`);
  return messages.map((m) => ({
    ...m,
    ...(m.tool_calls ? { tool_calls: m.tool_calls.map((c) => ({ ...c, id: at.get(c.id), function: { ...c.function, arguments: args(c.function.arguments) } })) } : {}),
    ...(m.tool_call_id !== undefined ? { tool_call_id: at.get(m.tool_call_id) } : {}),
  }));
}

// --- arbitraries: OpenAI-style tool conversations that LLaMA-Factory's ShareGPT can hold ---

// Text a message can hold: not blank as the normaliser reads it (a Braille blank alone is blank).
const text = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 16 }).filter((t) => !isBlank(t));
const fnName = fc.stringMatching(/^[a-z_][a-z0-9_]{0,11}$/);
/** Arguments as JSON text: compact or spaced, and literals JSON.parse would change. */
const argsText = fc.oneof(
  fc.tuple(fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }), fc.constantFrom(undefined, 1, '\t')).map(([o, space]) => JSON.stringify(o, null, space)),
  fc.constantFrom('{}', '{"big": 12345678901234567890, "f": 1.0}', '{ "e" : 1E+2, "s": "\\u00e9\\u2028" }', '{"a":1,"a":2}'),
);
const call = fc.record({ id: fc.option(fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/), { nil: undefined }), name: fnName, args: argsText, asObject: fc.boolean() });
/** A model's tool step: a call-only turn (1-3 calls), and one tool answer (ShareGPT alternates turns). */
const step = fc.record({ calls: fc.array(call, { minLength: 1, maxLength: 3 }), answer: text });
const round = fc.record({ user: text, steps: fc.array(step, { maxLength: 2 }), answer: text });
const tool = fc.record({
  type: fc.constant('function'),
  function: fc.record({ name: fnName, description: text, parameters: fc.record({ type: fc.constant('object'), properties: fc.dictionary(fnName, fc.constant({ type: 'string' }), { maxKeys: 3 }) }) }),
});
const conversation = fc.record({
  system: fc.option(text, { nil: undefined }),
  rounds: fc.array(round, { minLength: 1, maxLength: 3 }),
  tools: fc.array(tool, { minLength: 1, maxLength: 3 }),
});

type Conversation = typeof conversation extends fc.Arbitrary<infer T> ? T : never;

/** The `messages` row for a generated conversation; every call id unique where the data gives one. */
function messagesRow(c: Conversation): Record<string, unknown> {
  const messages: Array<Record<string, unknown>> = [];
  if (c.system !== undefined) messages.push({ role: 'system', content: c.system });
  for (const r of c.rounds) {
    messages.push({ role: 'user', content: r.user });
    for (const s of r.steps) {
      const at = messages.length;
      const calls = s.calls.map((k, n) => ({
        ...(k.id === undefined ? {} : { id: `${k.id}_${at}_${n}` }),
        type: 'function',
        function: { name: k.name, arguments: k.asObject ? (JSON.parse(k.args) as unknown) : k.args },
      }));
      messages.push({ role: 'assistant', content: null, tool_calls: calls });
      // The one answer ShareGPT can hold answers the first call (it reads an observation so).
      messages.push({ role: 'tool', content: s.answer, tool_call_id: calls[0]?.id ?? `call_${at}_0` });
    }
    messages.push({ role: 'assistant', content: r.answer });
  }
  return { messages, tools: c.tools };
}

describe('sharegpt tool rows: mapping → llama-factory writer → normalizeRecords', () => {
  it('gives back the same messages and tools (ids by what they link, arguments compact with every digit)', async () => {
    await fc.assert(
      fc.asyncProperty(conversation, async (c) => {
        const mapped = await normalizeOne(messagesRow(c));
        const row = written(mapped);
        expect(resolveMapping('auto', row, 'train.jsonl')).toBe('sharegpt');
        const back = await normalizeOne(row);
        expect(linked(back.messages, (a) => a)).toEqual(linked(mapped.messages, compactJson));
        expect(back.tools).toEqual(mapped.tools);
      }),
      { numRuns: 200 },
    );
  });

  it('a row it read and wrote again reads back exactly the same, ids included', async () => {
    await fc.assert(
      fc.asyncProperty(conversation, async (c) => {
        const once = await normalizeOne(written(await normalizeOne(messagesRow(c))));
        const twice = await normalizeOne(written(once));
        expect(twice.messages).toEqual(once.messages);
        expect(twice.tools).toEqual(once.tools);
        expect(written(twice)).toEqual(written(once));
      }),
      { numRuns: 100 },
    );
  });

  it.each([
    ['one call, ids in the data', [{ id: 'call_abc', name: 'get_rate', args: '{"c":"EUR"}' }], '{"name":"get_rate","arguments":{"c":"EUR"}}'],
    ['parallel calls, no ids', [{ name: 'a', args: '{"n": 12345678901234567890}' }, { name: 'b', args: '{"f": 1.0}' }], '[{"name":"a","arguments":{"n":12345678901234567890}},{"name":"b","arguments":{"f":1.0}}]'],
  ])('table: %s', async (_name, calls, value) => {
    const row = {
      messages: [
        { role: 'user', content: 'Q' },
        { role: 'assistant', content: null, tool_calls: calls.map((k) => ({ ...('id' in k ? { id: k.id } : {}), type: 'function', function: { name: k.name, arguments: k.args } })) },
        { role: 'tool', content: 'R', tool_call_id: 'id' in (calls[0] ?? {}) ? 'call_abc' : 'call_1_0' },
        { role: 'assistant', content: 'A' },
      ],
      tools: [{ type: 'function', function: { name: 'get_rate', parameters: { type: 'object', properties: {} } } }],
    };
    const mapped = await normalizeOne(row);
    const line = written(mapped);
    expect((line.conversations as Array<{ from: string; value: string }>)[1]).toEqual({ from: 'function_call', value });
    const back = await normalizeOne(line);
    expect(back.messages).toEqual([
      { role: 'user', content: 'Q' },
      { role: 'assistant', content: '', tool_calls: calls.map((k, n) => ({ id: `call_1_${n}`, type: 'function', function: { name: k.name, arguments: compactJson(k.args) } })) },
      { role: 'tool', content: 'R', tool_call_id: 'call_1_0' },
      { role: 'assistant', content: 'A' },
    ]);
    expect(back.tools).toEqual(row.tools);
  });
});
