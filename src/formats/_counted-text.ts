/**
 * The text a trainer builds from an instruction record when it does not use the chat template:
 * what lora-prep counts for those (target, format) pairs (docs/tokens.md, "Instruction records").
 */
import type { Message } from '../types.js';
import { alpacaRecord } from './alpaca.js';
import { promptCompletionRecord } from './prompt-completion.js';

/**
 * How a trainer turns an instruction record into tokens, where it is not the chat template:
 * - `alpaca-axolotl`: Axolotl's `alpaca` prompt (`alpaca_w_system.load_instruct` for a row with a
 *   system prompt), the prompt and the output tokenized one after the other, then EOS;
 * - `alpaca-unsloth`: the Alpaca prompt of Unsloth's notebooks as the written snippet builds it
 *   (a row's system prompt first), one text ending in EOS;
 * - `prompt-completion`: the prompt followed by the completion, one text, then EOS (TRL, Together).
 */
export type CountAs = 'alpaca-axolotl' | 'alpaca-unsloth' | 'prompt-completion';

/** The count modes, for validation of what a worker is sent. */
export const COUNT_AS: readonly CountAs[] = ['alpaca-axolotl', 'alpaca-unsloth', 'prompt-completion'];

/** The text counted: the prompt, the completion after it, and whether they are tokenized apart. */
export interface CountedText {
  prompt: string;
  completion: string;
  apart: boolean;
}

// Axolotl's AlpacaPrompter (instruct style) and SystemDataPrompter; the notebooks' prompt.
const PREAMBLE_INPUT = 'Below is an instruction that describes a task, paired with an input that provides further context. Write a response that appropriately completes the request.\n\n';
const PREAMBLE_NO_INPUT = 'Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n';
const turn = (instruction: string, input: string): string =>
  input !== '' ? `### Instruction:\n${instruction}\n\n### Input:\n${input}\n\n### Response:\n` : `### Instruction:\n${instruction}\n\n### Response:\n`;

/**
 * The text `countAs` builds from a conversation as its record will be written, or undefined where the
 * writer refuses the conversation (it is rejected then, and counted as a chat meanwhile).
 *
 * @example
 * countedText('prompt-completion', [{ role: 'user', content: 'Q' }, { role: 'assistant', content: 'A' }]) // { prompt: 'Q', completion: 'A', apart: false }
 */
export function countedText(countAs: CountAs, messages: Message[], alpacaInput?: string): CountedText | undefined {
  const built =
    countAs === 'prompt-completion'
      ? promptCompletionRecord('count')({ messages })
      : alpacaRecord({ target: 'count', history: false })(alpacaInput === undefined ? { messages } : { messages, alpacaInput });
  return built.ok ? recordText(countAs, built.record) : undefined;
}

/**
 * The text `countAs` builds from a written record (`{prompt, completion}` strings, or an alpaca
 * record), or undefined for a record of another shape (a conversational prompt/completion).
 *
 * @example
 * recordText('alpaca-axolotl', { instruction: 'What is APR?', input: '', output: 'A rate.' })?.prompt // 'Below is an instruction …### Response:\n'
 */
export function recordText(countAs: CountAs, record: Record<string, unknown>): CountedText | undefined {
  const text = (key: string): string | undefined => (typeof record[key] === 'string' ? (record[key] as string) : undefined);
  if (countAs === 'prompt-completion') {
    const prompt = text('prompt');
    const completion = text('completion');
    return prompt === undefined || completion === undefined ? undefined : { prompt, completion, apart: false };
  }
  const instruction = text('instruction');
  const output = text('output');
  if (instruction === undefined || output === undefined) return undefined;
  const input = text('input') ?? '';
  const system = text('system');
  if (countAs === 'alpaca-unsloth') {
    // PROMPT.format(instruction, input, output) always holds the Input section.
    const head = `${PREAMBLE_INPUT}### Instruction:\n${instruction}\n\n### Input:\n${input}\n\n### Response:\n`;
    return { prompt: system ? `${system}\n\n${head}` : head, completion: output, apart: false };
  }
  // A row with a system prompt is read by alpaca_w_system (no preamble); one without, by alpaca or by
  // alpaca_w_system, which the other rows decide: counted with the preamble, the longer of the two.
  const prompt = system ? `### System:\n${system}\n\n${turn(instruction, input)}` : `${input !== '' ? PREAMBLE_INPUT : PREAMBLE_NO_INPUT}${turn(instruction, input)}`;
  return { prompt, completion: output, apart: true };
}
