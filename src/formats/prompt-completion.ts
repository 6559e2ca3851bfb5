/** `{"prompt","completion"}`: Together, MLX-LM and TRL instruction data. */
import type { RecordResult, RecordSource } from './index.js';

/**
 * One prompt and its completion, as plain strings. These files have no system field and no
 * turns: a system prompt or a multi-turn chat cannot be expressed and is rejected (use format "chat").
 *
 * @example
 * promptCompletionRecord('trl')(example) // { ok: true, record: { prompt: 'Q', completion: 'A' } }
 */
export function promptCompletionRecord(target: string): (example: RecordSource) => RecordResult {
  return (example) => {
    if (example.tools || example.messages.some((m) => m.tool_calls || m.role === 'tool')) {
      return { ok: false, reason: 'unsupported_shape', message: `${target} prompt/completion has no place for tool calls: use format "chat"` };
    }
    const [user, assistant, ...rest] = example.messages;
    if (user?.role === 'system') {
      return { ok: false, reason: 'unsupported_shape', message: `${target} prompt/completion has no system field: use format "chat" to keep the system prompt` };
    }
    if (rest.length > 0 || user?.role !== 'user' || assistant?.role !== 'assistant') {
      return { ok: false, reason: 'unsupported_shape', message: `${target} prompt/completion holds one prompt and one completion: use format "chat" for multi-turn data` };
    }
    if (assistant.weight === 0) return { ok: false, reason: 'unsupported_shape', message: `${target}: the only completion has weight 0 (not trained)` };
    return { ok: true, record: { prompt: user.content, completion: assistant.content } };
  };
}
