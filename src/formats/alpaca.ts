/** The alpaca instruction record `{"instruction","input","output"}` (+ `system`, `history`). */
import type { Message } from '../types.js';
import type { RecordResult, RecordSource } from './index.js';

/** Settings of the alpaca writer. */
export interface AlpacaOptions {
  target: string;
  /** LLaMA-Factory reads earlier turns from `history` ([question, answer] pairs, all trained). */
  history: boolean;
}

/**
 * One instruction and one answer, with `input` always present (`""`): LLaMA-Factory raises
 * `KeyError: 'input'` on files without it. Multi-turn chats go in `history` where the target reads
 * it, and are rejected elsewhere.
 *
 * @example
 * alpacaRecord({ target: 'axolotl', history: false })(example) // { ok: true, record: { instruction, input: '', output } }
 */
export function alpacaRecord(options: AlpacaOptions): (example: RecordSource) => RecordResult {
  const reject = (message: string): RecordResult => ({ ok: false, reason: 'unsupported_shape', message: `${options.target} alpaca: ${message}` });
  return (example) => {
    if (example.tools || example.messages.some((m) => m.tool_calls || m.role === 'tool')) return reject('has no place for tool calls: use format "chat"');
    const system = example.messages.filter((m) => m.role === 'system');
    const turns = example.messages.filter((m) => m.role !== 'system');
    if (system.length > 1) return reject(`holds at most one system prompt; this example has ${system.length}`);
    if (example.messages.findIndex((m) => m.role === 'system') > 0) return reject('the system message is not first');
    for (const [i, m] of turns.entries()) {
      if (m.role !== (i % 2 === 0 ? 'user' : 'assistant')) return reject(`turn ${i + 1} is ${m.role}: alpaca needs user and assistant turns in alternation`);
      // Instructions are never trained: a weight on one is dropped.
      if (m.weight === 0 && m.role === 'assistant') return reject('alpaca has no way to mark a turn untrained (weight 0)');
    }
    if (turns.length !== 2 && !options.history) {
      return reject(`holds one instruction and one answer; this example has ${turns.length / 2} exchanges: use format "chat" for multi-turn data`);
    }
    const [user, assistant] = turns.slice(-2) as [Message, Message];
    // An alpaca row's input goes back in its own field (a trainer's prompt differs with one), while
    // the message still ends with it as read.
    const input = example.alpacaInput;
    const apart = input !== undefined && input !== '' && user.content.endsWith(`\n\n${input}`) && user.content.length > input.length + 2;
    const instruction = apart ? user.content.slice(0, user.content.length - input.length - 2) : user.content;
    const record: Record<string, unknown> = { instruction, input: apart ? input : '', output: assistant.content };
    if (system[0]) record.system = system[0].content;
    if (options.history && turns.length > 2) {
      const pairs: Array<[string, string]> = [];
      for (let i = 0; i < turns.length - 2; i += 2) pairs.push([(turns[i] as Message).content, (turns[i + 1] as Message).content]);
      record.history = pairs;
    }
    return { ok: true, record };
  };
}
