/** ShareGPT `{"conversations":[{"from","value"}], "system"?}`, as LLaMA-Factory reads it. */
import type { RecordResult, RecordSource } from './index.js';
import { compactJson, llamaFactoryTools } from './_tools.js';

/**
 * Roles become `human` / `gpt`; the system prompt goes in the `system` column (never also as a
 * message). LLaMA-Factory skips, with only a log line, any example whose turns do not strictly
 * alternate human, gpt, human, gpt ... ending with gpt: those are rejected here instead.
 *
 * @example
 * sharegptRecord(example) // { ok: true, record: { conversations: [{ from: 'human', value: 'Q' }, { from: 'gpt', value: 'A' }] } }
 */
export function sharegptRecord(example: RecordSource): RecordResult {
  const system = example.messages.filter((m) => m.role === 'system');
  if (system.length > 1) return reject(`${system.length} system messages: ShareGPT holds one system prompt`);
  if (example.messages.findIndex((m) => m.role === 'system') > 0) return reject('the system message is not first');
  const turns = joinedAnswers(example.messages.filter((m) => m.role !== 'system'));
  // LLaMA-Factory reads function_call and observation turns only with a tools column (FORMATS.md G.3).
  if (!example.tools && turns.some((m) => m.tool_calls || m.role === 'tool')) {
    return reject('the conversation calls tools but the row has no tools (their definitions): LLaMA-Factory reads function_call and observation turns only with a tools column');
  }
  const conversations: Array<{ from: string; value: string }> = [];
  for (const [i, m] of turns.entries()) {
    // Even positions are the human's (or a tool's answer: observation), odd ones the model's
    // (an answer: gpt, or a call: function_call), as LLaMA-Factory's converter checks.
    const even = i % 2 === 0;
    if (even ? m.role !== 'user' && m.role !== 'tool' : m.role !== 'assistant') {
      return reject(`turn ${i + 1} is ${m.role} where ShareGPT needs ${even ? 'human or observation' : 'gpt or function_call'}: turns must strictly alternate`);
    }
    // A weight on a human or observation turn is dropped: LLaMA-Factory never trains those.
    if (m.weight === 0 && m.role === 'assistant') return reject('ShareGPT has no per-turn weight: LLaMA-Factory would train on the turn marked weight 0');
    if (m.tool_calls) {
      if (m.content !== '') return reject(`turn ${i + 1} has both text and tool calls: ShareGPT holds one or the other in a turn`);
      // The arguments go in as written: parsing them would change digits (12345678901234567890).
      const calls: string[] = [];
      for (const c of m.tool_calls) {
        const args = compactJson(c.function.arguments);
        if (args === undefined) return reject(`turn ${i + 1}: the arguments of ${c.function.name} nest too deep to write`);
        calls.push(`{"name":${JSON.stringify(c.function.name)},"arguments":${args}}`);
      }
      conversations.push({ from: 'function_call', value: calls.length === 1 ? (calls[0] as string) : `[${calls.join(',')}]` });
      continue;
    }
    conversations.push({ from: m.role === 'user' ? 'human' : m.role === 'tool' ? 'observation' : 'gpt', value: m.content });
  }
  if (turns.length % 2 !== 0 || conversations.at(-1)?.from !== 'gpt') return reject('the conversation does not end with a gpt turn');
  const record: Record<string, unknown> = { conversations };
  if (system[0]) record.system = system[0].content;
  // LLaMA-Factory reads tool definitions as a JSON string column.
  // Its tool formatter reads tool["parameters"]["properties"]: a tool without them gets empty ones.
  if (example.tools) record.tools = JSON.stringify(llamaFactoryTools(example.tools));
  return { ok: true, record };
}

// --- internal ---

/**
 * Turns with the answers to parallel calls (tool messages one after another) joined into one
 * observation: its value the JSON list of their contents, as strings, which the ShareGPT reader
 * splits again. ShareGPT turns alternate, so N answers cannot be N turns.
 */
function joinedAnswers(turns: RecordSource['messages']): RecordSource['messages'] {
  if (!turns.some((m, i) => m.role === 'tool' && turns[i + 1]?.role === 'tool')) return turns;
  const out: RecordSource['messages'] = [];
  for (let i = 0; i < turns.length; ) {
    const m = turns[i] as RecordSource['messages'][number];
    let end = i + 1;
    if (m.role === 'tool') while (turns[end]?.role === 'tool') end++;
    // Joined only when they answer every call of the turn before, one each, in the calls' order
    // (the reader pairs a list's answers with the calls by place; tools answer in the order they
    // finish): other runs of tool messages are refused below (turns must alternate).
    const answers = end - i > 1 ? inCallOrder(turns[i - 1]?.tool_calls, turns.slice(i, end)) : undefined;
    out.push(answers ? { ...m, content: JSON.stringify(answers) } : m);
    if (end - i > 1 && !answers) out.push(...turns.slice(i + 1, end));
    i = end;
  }
  return out;
}

/** The contents of `answers` in the order of `calls`, or undefined unless each call has exactly one. */
function inCallOrder(calls: RecordSource['messages'][number]['tool_calls'], answers: RecordSource['messages']): string[] | undefined {
  if (!calls || calls.length !== answers.length) return undefined;
  const out: string[] = [];
  for (const call of calls) {
    const found = answers.filter((a) => a.tool_call_id === call.id);
    if (found.length !== 1) return undefined;
    out.push((found[0] as RecordSource['messages'][number]).content);
  }
  return out;
}

function reject(message: string): RecordResult {
  return { ok: false, reason: 'unsupported_shape', message: `llama-factory: ${message}` };
}
