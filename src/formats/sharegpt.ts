/** ShareGPT `{"conversations":[{"from","value"}], "system"?}`, as LLaMA-Factory reads it. */
import type { RecordResult, RecordSource } from './index.js';

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
  const turns = example.messages.filter((m) => m.role !== 'system');
  const conversations: Array<{ from: string; value: string }> = [];
  for (const [i, m] of turns.entries()) {
    // Even positions are the human's (or a tool's answer: observation), odd ones the model's
    // (an answer: gpt, or a call: function_call), as LLaMA-Factory's converter checks.
    const even = i % 2 === 0;
    if (even ? m.role !== 'user' && m.role !== 'tool' : m.role !== 'assistant') {
      return reject(`turn ${i + 1} is ${m.role} where ShareGPT needs ${even ? 'human or observation' : 'gpt or function_call'}: turns must strictly alternate`);
    }
    if (m.weight === 0) return reject('ShareGPT has no per-turn weight: LLaMA-Factory would train on the turn marked weight 0');
    if (m.tool_calls) {
      if (m.content !== '') return reject(`turn ${i + 1} has both text and tool calls: ShareGPT holds one or the other in a turn`);
      const calls = m.tool_calls.map((c) => ({ name: c.function.name, arguments: JSON.parse(c.function.arguments) as unknown }));
      conversations.push({ from: 'function_call', value: JSON.stringify(calls.length === 1 ? calls[0] : calls) });
      continue;
    }
    conversations.push({ from: m.role === 'user' ? 'human' : m.role === 'tool' ? 'observation' : 'gpt', value: m.content });
  }
  if (turns.length % 2 !== 0 || conversations.at(-1)?.from !== 'gpt') return reject('the conversation does not end with a gpt turn');
  const record: Record<string, unknown> = { conversations };
  if (system[0]) record.system = system[0].content;
  // LLaMA-Factory reads tool definitions as a JSON string column.
  if (example.tools) record.tools = JSON.stringify(example.tools);
  return { ok: true, record };
}

// --- internal ---

function reject(message: string): RecordResult {
  return { ok: false, reason: 'unsupported_shape', message: `llama-factory: ${message}` };
}
