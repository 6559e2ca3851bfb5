/** The tokenizer contract every engine (OpenAI encodings, Hugging Face tokenizers) meets. */
import type { Message } from '../types.js';

/** Tokens of one example: all of it, and the prompt part before the final answer. */
export interface Measure {
  /** Every token the trainer sees for the example. */
  total: number;
  /** Tokens before the final assistant message's content; `total - prompt` is the trainable part. */
  prompt: number;
}

/** A loaded tokenizer. */
export interface Tokenizer {
  /** The name as resolved (`o200k_base`, `llama-3`, or a folder). */
  name: string;
  /** Where the vocabulary came from, with its version where known (for the manifest). */
  source: string;
  /** Where the chat template came from (Hugging Face tokenizers only). */
  chatTemplate?: string | undefined;
  /**
   * What about this tokenizer may make counts differ from the trainer's (a chat template construct
   * the renderer does not render as jinja2 does), to say once per run.
   */
  warnings?: readonly string[] | undefined;
  /**
   * The text of the tokenizer's control tokens (a Hugging Face tokenizer's special added tokens:
   * `<|im_end|>`, `<|eot_id|>`, `</s>`), which it reads as those tokens wherever they stand in text.
   */
  specialTokens?: readonly string[] | undefined;
  /** Tokens of a plain text. */
  count(text: string): number;
  /** Token ids of a plain text (no special tokens added). */
  encode(text: string): number[];
  /** Text of token ids (used to cut an answer on a token boundary). */
  decode(ids: number[]): string;
  /** Tokens of a chat example as the trainer sees it (with its tool definitions, if any). */
  countMessages(messages: readonly Message[], tools?: readonly unknown[]): number;
  /**
   * Total and prompt tokens of a chat example in one pass. `options.argumentsAsText`: tool-call
   * `arguments` reach the chat template as the JSON text the file holds, as TRL hands them on (a
   * template that tests `arguments is string` prints the text as it is), not as objects (the
   * Hugging Face convention, and what Axolotl and MLX-LM pass); engines that count the arguments'
   * text anyway (OpenAI encodings) ignore it.
   */
  measure(messages: readonly Message[], tools?: readonly unknown[], options?: { argumentsAsText?: boolean | undefined }): Measure;
  /**
   * Total and prompt tokens of an example a trainer builds as plain text, not through the chat
   * template (an Alpaca prompt, a prompt and its completion): `prompt` and then `completion`, with
   * the special tokens the tokenizer adds to a text it encodes (a BOS) and an end-of-sequence token
   * after the completion. `apart`: the two are tokenized one after the other (as Axolotl does),
   * not as one text. Absent where the engine has no such count; chats are measured then.
   */
  measureText?(prompt: string, completion: string, apart: boolean): Measure;
}
