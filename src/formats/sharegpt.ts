/** ShareGPT `{"conversations":[{"from","value"}], "system"?}`, as LLaMA-Factory reads it. */
import type { Example } from '../types.js';
import type { RecordResult } from './index.js';

/**
 * Roles become `human` / `gpt`; the system prompt goes in the `system` column (never also as a
 * message). LLaMA-Factory skips, with only a log line, any example whose turns do not strictly
 * alternate human, gpt, human, gpt ... ending with gpt: those are rejected here instead.
 *
 * @example
 * sharegptRecord(example) // { ok: true, record: { conversations: [{ from: 'human', value: 'Q' }, { from: 'gpt', value: 'A' }] } }
 */
export function sharegptRecord(example: Example): RecordResult {
  if (example.tools || example.messages.some((m) => m.tool_calls || m.role === 'tool')) {
    return reject('tool calls are not written as ShareGPT function_call/observation turns yet: use another target for tool data');
  }
  const system = example.messages.filter((m) => m.role === 'system');
  if (system.length > 1) return reject(`${system.length} system messages: ShareGPT holds one system prompt`);
  if (example.messages.findIndex((m) => m.role === 'system') > 0) return reject('the system message is not first');
  const turns = example.messages.filter((m) => m.role !== 'system');
  const conversations: Array<{ from: string; value: string }> = [];
  for (const [i, m] of turns.entries()) {
    const expected = i % 2 === 0 ? 'user' : 'assistant';
    if (m.role !== expected) return reject(`turn ${i + 1} is ${m.role} where ShareGPT needs ${expected}: turns must strictly alternate human, gpt`);
    if (m.weight === 0) return reject('ShareGPT has no per-turn weight: LLaMA-Factory would train on the turn marked weight 0');
    conversations.push({ from: m.role === 'user' ? 'human' : 'gpt', value: m.content });
  }
  if (turns.length % 2 !== 0) return reject('the conversation does not end with a gpt turn');
  const record: Record<string, unknown> = { conversations };
  if (system[0]) record.system = system[0].content;
  return { ok: true, record };
}

// --- internal ---

function reject(message: string): RecordResult {
  return { ok: false, reason: 'unsupported_shape', message: `llama-factory: ${message}` };
}
