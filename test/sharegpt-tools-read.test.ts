/**
 * Reading LLaMA-Factory's ShareGPT tool turns: `function_call` turns become assistant tool calls,
 * `observation` turns tool messages, the row's `tools` the example's tools.
 */
import { describe, expect, it } from 'vitest';
import { normalizeRecords, resolveMapping } from '../src/normalize/index.js';
import type { SourceRow } from '../src/types.js';
import { collect, fromArray, recordingContext } from './helpers/index.js';

async function read(data: Record<string, unknown>[]) {
  const ctx = recordingContext();
  const rows: SourceRow[] = data.map((d, i) => ({ data: d, source: { file: 'lf.jsonl', line: i + 1 } }));
  const mapping = resolveMapping('auto', data[0], 'lf.jsonl');
  const examples = await collect(normalizeRecords(fromArray(rows), { mapping }, ctx));
  return { mapping, examples, rejected: ctx.rejected };
}

/** Tools as LLaMA-Factory's own demo data writes them: flat definitions, as JSON text. */
const FLAT_TOOLS = [{ name: 'get_rate', description: 'Exchange rate.', parameters: { type: 'object', properties: { from: { type: 'string' }, to: { type: 'string' } } } }];
const human = (value: string) => ({ from: 'human', value });
const gpt = (value: string) => ({ from: 'gpt', value });
const fcall = (value: string) => ({ from: 'function_call', value });
const obs = (value: string) => ({ from: 'observation', value });

describe('sharegpt input: function_call and observation turns', () => {
  it('reads a LLaMA-Factory tool row: a call-only assistant turn, its tool answer, the tools and the system column', async () => {
    const { mapping, examples, rejected } = await read([
      {
        system: 'You convert currencies.',
        conversations: [human('EUR to USD?'), fcall('{"name": "get_rate", "arguments": {"from": "EUR", "to": "USD"}}'), obs('{"rate": 1.08}'), gpt('1 EUR is 1.08 USD.')],
        tools: JSON.stringify(FLAT_TOOLS),
      },
    ]);
    expect(mapping).toBe('sharegpt');
    expect(rejected).toEqual([]);
    expect(examples[0]?.messages).toEqual([
      { role: 'system', content: 'You convert currencies.' },
      { role: 'user', content: 'EUR to USD?' },
      { role: 'assistant', content: '', tool_calls: [{ id: 'call_1_0', type: 'function', function: { name: 'get_rate', arguments: '{"from":"EUR","to":"USD"}' } }] },
      { role: 'tool', content: '{"rate": 1.08}', tool_call_id: 'call_1_0' },
      { role: 'assistant', content: '1 EUR is 1.08 USD.' },
    ]);
    // The tools are the example's, not a meta column; flat definitions stay flat.
    expect(examples[0]?.tools).toEqual(FLAT_TOOLS);
    expect(examples[0]?.meta).not.toHaveProperty('tools');
  });

  it('reads a list of calls (parallel calls), arguments given as JSON text, and a later call turn', async () => {
    const { examples, rejected } = await read([
      {
        conversations: [
          human('Rates for EUR and GBP?'),
          fcall('[{"name":"get_rate","arguments":"{\\"from\\": \\"EUR\\"}"},{"name":"get_rate","arguments":{"from":"GBP"}}]'),
          obs('1.08 and 1.27'),
          fcall('{"name":"now"}'),
          obs('12:00'),
          gpt('EUR 1.08, GBP 1.27 at noon.'),
        ],
        tools: FLAT_TOOLS,
      },
    ]);
    expect(rejected).toEqual([]);
    const [, calls, answer, later, laterAnswer] = examples[0]?.messages ?? [];
    // Text arguments are kept as written (the space stays), as `messages` input keeps them.
    expect(calls?.tool_calls?.map((c) => [c.id, c.function.name, c.function.arguments])).toEqual([
      ['call_1_0', 'get_rate', '{"from": "EUR"}'],
      ['call_1_1', 'get_rate', '{"from":"GBP"}'],
    ]);
    // ShareGPT has no ids: one observation for two calls is read as the answer to the first.
    expect(answer).toEqual({ role: 'tool', content: '1.08 and 1.27', tool_call_id: 'call_1_0' });
    // No arguments: `{}`, as for `messages` input.
    expect(later?.tool_calls).toEqual([{ id: 'call_3_0', type: 'function', function: { name: 'now', arguments: '{}' } }]);
    expect(laterAnswer?.tool_call_id).toBe('call_3_0');
    expect(examples[0]?.tools).toEqual(FLAT_TOOLS);
  });

  it('keeps every digit of the arguments: numbers as written, never through a double', async () => {
    const { examples } = await read([
      { conversations: [human('q'), fcall('{"name":"f","arguments":{ "big" : 12345678901234567890, "f": 1.0, "e": 1E+2, "s": "\\u00e9\\n" }}'), obs('r'), gpt('a')] },
    ]);
    expect(examples[0]?.messages[1]?.tool_calls?.[0]?.function.arguments).toBe('{"big":12345678901234567890,"f":1.0,"e":1E+2,"s":"é\\n"}');
  });

  it('reads the tags in any case, and a row whose tools are blank text as one without tools', async () => {
    const { examples, rejected } = await read([
      { conversations: [human('q'), { from: ' Function_Call ', value: '{"name":"f","arguments":{}}' }, { from: 'OBSERVATION', value: 'r' }, gpt('a')], tools: '' },
      { conversations: [human('q2'), gpt('a2')], tools: '  ' },
    ]);
    expect(rejected).toEqual([]);
    expect(examples.map((e) => e.messages.map((m) => m.role))).toEqual([['user', 'assistant', 'tool', 'assistant'], ['user', 'assistant']]);
    expect(examples.map((e) => e.tools)).toEqual([undefined, undefined]);
  });

  it.each([
    ['a value that is not JSON', [human('q'), fcall('get_rate(EUR)'), obs('r'), gpt('a')], 'invalid_record', /^conversations\[1\] \(function_call\): the value is not valid JSON \(.*\); it must be the JSON text of a call \{"name","arguments"\} or of a list of calls, got "get_rate\(EUR\)"$/],
    ['a call without a name', [human('q'), fcall('{"arguments":{"a":1}}'), obs('r'), gpt('a')], 'invalid_record', /^conversations\[1\] \(function_call\): the call needs a name \(the function called, as text\), got none$/],
    ['a blank name', [human('q'), fcall('{"name":" ","arguments":{}}'), obs('r'), gpt('a')], 'invalid_record', /^conversations\[1\] \(function_call\): the call needs a name .*, got " "$/],
    ['a call of a list without a name', [human('q'), fcall('[{"name":"f"},{"name":7}]'), obs('r'), gpt('a')], 'invalid_record', /^conversations\[1\] \(function_call\): call 2 of the list needs a name .*, got 7$/],
    ['a call that is no object', [human('q'), fcall('["f"]'), obs('r'), gpt('a')], 'invalid_record', /^conversations\[1\] \(function_call\): call 1 of the list must be an object \{"name","arguments"\}, got string$/],
    ['an empty list of calls', [human('q'), fcall('[]'), obs('r'), gpt('a')], 'invalid_record', /^conversations\[1\] \(function_call\): the value is an empty list/],
    ['arguments text that is not JSON', [human('q'), fcall('{"name":"f","arguments":"{a:1}"}'), obs('r'), gpt('a')], 'invalid_record', /^conversations\[1\] \(function_call\): the call \(f\): arguments is text that is not valid JSON, got "\{a:1\}"/],
    ['a blank value', [human('q'), fcall('  '), obs('r'), gpt('a')], 'empty_content', /^conversations\[1\] \(function_call\) is blank/],
    ['an observation with no call before it', [human('q'), obs('r'), gpt('a')], 'invalid_record', /^conversations\[1\]\.from must be system, human or gpt here, got "observation": .*no function_call turn comes before it$/],
    ['more observations than calls', [human('q'), fcall('{"name":"f"}'), obs('r'), obs('r2'), gpt('a')], 'invalid_record', /^conversations\[3\] \(observation\) answers no call: the function_call turn conversations\[1\] made 1 call, each answered already/],
  ])('rejects %s, naming the turn and what is wrong', async (_name, conversations, reason, message) => {
    const { examples, rejected } = await read([{ conversations, tools: FLAT_TOOLS }]);
    expect(examples).toEqual([]);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]?.reason).toBe(reason);
    expect(rejected[0]?.message).toMatch(message);
    expect(rejected[0]?.source).toEqual({ file: 'lf.jsonl', line: 1 });
  });

  it('reads the tools column of every ShareGPT row: text that holds no list is an invalid record', async () => {
    const { examples, rejected } = await read([{ conversations: [human('q'), gpt('a')], tools: 'get_rate' }]);
    expect(examples).toEqual([]);
    expect(rejected.map((r) => [r.reason, r.message])).toEqual([['invalid_record', 'field "tools" must be a list of tool definitions (or that list as JSON text)']]);
  });
});

describe('sharegpt: the answers to parallel calls', () => {
  it('splits one observation holding a JSON list of as many answers as calls into one tool message per call', async () => {
    const { examples, rejected } = await read([
      {
        conversations: [human('Rates for EUR and GBP?'), fcall('[{"name":"get_rate","arguments":{"from":"EUR"}},{"name":"get_rate","arguments":{"from":"GBP"}}]'), obs('["1.08", {"rate": 1.27}]'), gpt('EUR 1.08, GBP 1.27.')],
        tools: FLAT_TOOLS,
      },
      // A list of another length is one answer, to the first call, as before.
      {
        conversations: [human('Rates?'), fcall('[{"name":"get_rate","arguments":{"from":"EUR"}},{"name":"get_rate","arguments":{"from":"GBP"}}]'), obs('["1.08", "1.27", "0.9"]'), gpt('Done.')],
        tools: FLAT_TOOLS,
      },
    ]);
    expect(rejected).toEqual([]);
    expect(examples[0]?.messages.slice(2)).toEqual([
      { role: 'tool', content: '1.08', tool_call_id: 'call_1_0' },
      { role: 'tool', content: '{"rate":1.27}', tool_call_id: 'call_1_1' },
      { role: 'assistant', content: 'EUR 1.08, GBP 1.27.' },
    ]);
    expect(examples[1]?.messages.slice(2)).toEqual([
      { role: 'tool', content: '["1.08", "1.27", "0.9"]', tool_call_id: 'call_1_0' },
      { role: 'assistant', content: 'Done.' },
    ]);
  });

  it('round trip: answers to parallel calls written for llama-factory (one observation) read back as they were', async () => {
    const { recordBuilder } = await import('../src/formats/index.js');
    const messages = [
      { role: 'user' as const, content: 'Rates for EUR and GBP?' },
      { role: 'assistant' as const, content: '', tool_calls: [0, 1].map((k) => ({ id: `call_1_${k}`, type: 'function' as const, function: { name: 'get_rate', arguments: `{"from":"${k ? 'GBP' : 'EUR'}"}` } })) },
      { role: 'tool' as const, content: '{"rate": 1.08}', tool_call_id: 'call_1_0' },
      { role: 'tool' as const, content: 'unavailable', tool_call_id: 'call_1_1' },
      { role: 'assistant' as const, content: 'EUR 1.08; GBP unavailable.' },
    ];
    const tools = [{ type: 'function', function: { name: 'get_rate', parameters: { type: 'object', properties: { from: { type: 'string' } } } } }];
    const built = recordBuilder('llama-factory', 'chat')({ messages, tools });
    expect(built.ok).toBe(true);
    const record = (built as { record: Record<string, unknown> }).record;
    expect(record.conversations).toHaveLength(4);
    const { examples, rejected } = await read([record]);
    expect(rejected).toEqual([]);
    expect(examples[0]?.messages).toEqual(messages);
  });
});

describe('sharegpt: parallel answers, edge cases', () => {
  it('does not split a list when separate observations follow, one per call', async () => {
    const { examples, rejected } = await read([
      {
        conversations: [human('Both?'), fcall('[{"name":"a","arguments":{}},{"name":"b","arguments":{}}]'), obs('["a1","a2"]'), obs('["b1","b2"]'), gpt('Done.')],
        tools: FLAT_TOOLS,
      },
    ]);
    expect(rejected).toEqual([]);
    expect(examples[0]?.messages.slice(2, 4)).toEqual([
      { role: 'tool', content: '["a1","a2"]', tool_call_id: 'call_1_0' },
      { role: 'tool', content: '["b1","b2"]', tool_call_id: 'call_1_1' },
    ]);
  });

  it('the llama-factory writer joins answers in the order of the calls, not of the tool messages (tools finish in any order)', async () => {
    const { recordBuilder } = await import('../src/formats/index.js');
    const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } }, { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: {} } } }];
    const messages = [
      { role: 'user' as const, content: 'Weather in Paris and time in Tokyo?' },
      {
        role: 'assistant' as const,
        content: '',
        tool_calls: [
          { id: 'call_w', type: 'function' as const, function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
          { id: 'call_t', type: 'function' as const, function: { name: 'get_time', arguments: '{"city":"Tokyo"}' } },
        ],
      },
      { role: 'tool' as const, content: '21:04', tool_call_id: 'call_t' },
      { role: 'tool' as const, content: '18C cloudy', tool_call_id: 'call_w' },
      { role: 'assistant' as const, content: '18C and cloudy in Paris; 21:04 in Tokyo.' },
    ];
    const built = recordBuilder('llama-factory', 'chat')({ messages, tools });
    const record = (built as unknown as { record: { conversations: Array<{ from: string; value: string }> } }).record;
    expect(record.conversations[2]).toEqual({ from: 'observation', value: '["18C cloudy","21:04"]' });
    const { examples } = await read([record as unknown as Record<string, unknown>]);
    const back = examples[0]?.messages ?? [];
    const callName = (id: string | undefined) => back[1]?.tool_calls?.find((c) => c.id === id)?.function.name;
    expect(back.slice(2, 4).map((m) => [callName(m.tool_call_id), m.content])).toEqual([
      ['get_weather', '18C cloudy'],
      ['get_time', '21:04'],
    ]);
  });

  it('the llama-factory writer joins tool messages only when they answer every call, else refuses the row as before', async () => {
    const { recordBuilder } = await import('../src/formats/index.js');
    const call = (k: number) => ({ id: `c${k}`, type: 'function' as const, function: { name: 'get_rate', arguments: '{}' } });
    const tools = [{ type: 'function', function: { name: 'get_rate', parameters: { type: 'object', properties: {} } } }];
    const messages = [
      { role: 'user' as const, content: 'Rates?' },
      { role: 'assistant' as const, content: '', tool_calls: [call(0), call(1), call(2)] },
      { role: 'tool' as const, content: 'r0', tool_call_id: 'c0' },
      { role: 'tool' as const, content: 'r1', tool_call_id: 'c1' },
      { role: 'assistant' as const, content: 'Two of three.' },
    ];
    expect(recordBuilder('llama-factory', 'chat')({ messages, tools })).toMatchObject({ ok: false, reason: 'unsupported_shape', message: expect.stringMatching(/turns must strictly alternate/) });
  });
});
