/** The alpaca instruction record `{"instruction","input","output"}` (+ `system`). */
import type { Example } from '../types.js';
import type { RecordResult } from './index.js';

/**
 * One instruction and one answer, with `input` always present (`""`): LLaMA-Factory raises
 * `KeyError: 'input'` on files without it. Multi-turn chats cannot be expressed and are rejected.
 *
 * @example
 * alpacaRecord(example) // { ok: true, record: { instruction, input: '', output } }
 */
export function alpacaRecord(example: Example): RecordResult {
  const system = example.messages.filter((m) => m.role === 'system');
  const turns = example.messages.filter((m) => m.role !== 'system');
  const [user, assistant] = turns;
  if (turns.length !== 2 || user?.role !== 'user' || assistant?.role !== 'assistant') {
    const users = turns.filter((m) => m.role === 'user').length;
    return {
      ok: false,
      reason: 'unsupported_shape',
      message: `alpaca holds one instruction and one answer; this example has ${users} user turns and ${turns.length - users} other turns: use format "chat" for multi-turn data`,
    };
  }
  if (system.length > 1) {
    return {
      ok: false,
      reason: 'unsupported_shape',
      message: `alpaca holds at most one system prompt; this example has ${system.length}`,
    };
  }
  if (assistant.weight === 0) {
    return {
      ok: false,
      reason: 'unsupported_shape',
      message: 'the only answer has weight 0 (not trained); alpaca has no way to express that',
    };
  }
  const record: Record<string, unknown> = { instruction: user.content, input: '', output: assistant.content };
  if (system[0]) record.system = system[0].content;
  return { ok: true, record };
}
