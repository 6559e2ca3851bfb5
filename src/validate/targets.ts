/**
 * Which record schema each trainer reads, per format (DESIGN.md, Targets), and the guess that
 * `target: 'auto'` makes from the first record.
 */
import type { TargetName } from '../formats/index.js';

/** Every trainer the validator knows, with the formats it reads. */
export const VALIDATION_TARGETS = {
  openai: ['chat'],
  together: ['chat', 'instruction'],
  mistral: ['chat'],
  'mlx-lm': ['chat', 'instruction'],
  trl: ['chat', 'instruction'],
  axolotl: ['chat', 'instruction'],
  'llama-factory': ['chat', 'instruction'],
  unsloth: ['chat', 'instruction'],
  torchtune: ['chat', 'instruction'],
} as const satisfies Record<string, readonly ('chat' | 'instruction')[]>;

/** A trainer name accepted by `validateFile`. */
export type ValidationTarget = keyof typeof VALIDATION_TARGETS;

// The validator knows exactly the targets the writers know: adding one there fails to compile here.
type SameNames = [TargetName] extends [ValidationTarget] ? ([ValidationTarget] extends [TargetName] ? true : false) : false;
const sameNames: SameNames = true;
void sameNames;

/** A record shape: chat or instruction. */
export type ValidationFormat = 'chat' | 'instruction';

/**
 * The record schema a file is checked against:
 * - `messages`: `{messages}` for OpenAI-style readers (OpenAI, MLX, TRL, Axolotl, Unsloth, torchtune);
 * - `together-chat` / `together-instruction`, `mistral`, `mlx-completions`, `trl-pc`;
 * - `sharegpt` (LLaMA-Factory chat) and `alpaca` (the instruction format of four targets).
 */
export type Schema =
  | 'messages'
  | 'together-chat'
  | 'together-instruction'
  | 'mistral'
  | 'mlx-completions'
  | 'trl-pc'
  | 'sharegpt'
  | 'alpaca';

/** The schema of a target and format. */
export function schemaOf(target: ValidationTarget, format: ValidationFormat): Schema {
  if (format === 'chat') {
    if (target === 'together') return 'together-chat';
    if (target === 'mistral') return 'mistral';
    if (target === 'llama-factory') return 'sharegpt';
    return 'messages';
  }
  if (target === 'together') return 'together-instruction';
  if (target === 'mlx-lm') return 'mlx-completions';
  if (target === 'trl') return 'trl-pc';
  return 'alpaca';
}

/** True when `name` is a target the validator knows. */
export function isValidationTarget(name: string): name is ValidationTarget {
  return Object.hasOwn(VALIDATION_TARGETS, name);
}

/**
 * The format a record looks like, or undefined when it holds none of the known keys.
 *
 * @example
 * formatOfRecord({ instruction: 'x', input: '', output: 'y' }) // 'instruction'
 */
export function formatOfRecord(record: Record<string, unknown>): ValidationFormat | undefined {
  if ('messages' in record || 'conversations' in record) return 'chat';
  if ('prompt' in record || 'completion' in record || 'instruction' in record || 'output' in record) return 'instruction';
  return undefined;
}

/**
 * The target and format `target: 'auto'` settles on for a file whose first record is `record`:
 * `conversations` → LLaMA-Factory ShareGPT; `instruction`/`input`/`output` → Axolotl alpaca
 * (LLaMA-Factory when there is a `history`); `prompt`/`completion` → TRL; `messages` → OpenAI,
 * unless its keys or roles point elsewhere (`chat_template_kwargs` or `tools` as JSON text → TRL,
 * tool `parameters` as JSON text → Axolotl, an `ipython` role →
 * torchtune, Mistral-style 9-character tool-call ids or Mistral-only keys → Mistral, a weight on a
 * non-assistant message → Together, which allows it).
 */
export function guessTarget(record: Record<string, unknown>): { target: ValidationTarget; format: ValidationFormat; why: string } | undefined {
  if ('conversations' in record) return { target: 'llama-factory', format: 'chat', why: 'a conversations key (ShareGPT)' };
  if ('instruction' in record || ('output' in record && !('messages' in record))) {
    if ('history' in record) return { target: 'llama-factory', format: 'instruction', why: 'alpaca keys with history (LLaMA-Factory)' };
    return { target: 'axolotl', format: 'instruction', why: 'alpaca keys (instruction/input/output)' };
  }
  if ('prompt' in record && 'completion' in record && !('messages' in record)) {
    return { target: 'trl', format: 'instruction', why: 'prompt/completion keys' };
  }
  if (!('messages' in record)) return undefined;
  if ('chat_template_kwargs' in record) return { target: 'trl', format: 'chat', why: 'messages with chat_template_kwargs (TRL)' };
  // How lora-prep (and many Hugging Face datasets) write tools for readers that need one type a column.
  if (typeof record.tools === 'string') return { target: 'trl', format: 'chat', why: 'tools as JSON text (TRL, Unsloth)' };
  if (Array.isArray(record.tools) && record.tools.some((t) => typeof (t as { function?: { parameters?: unknown } } | null)?.function?.parameters === 'string')) {
    return { target: 'axolotl', format: 'chat', why: 'tool parameters as JSON text (Axolotl)' };
  }
  if ('interactions' in record || 'available_tools' in record || 'system_prompt' in record) {
    return { target: 'mistral', format: 'chat', why: 'messages with Mistral-only keys' };
  }
  const messages = Array.isArray(record.messages) ? record.messages : [];
  const ids: string[] = [];
  let roleHint: { target: ValidationTarget; why: string } | undefined;
  for (const m of messages) {
    if (typeof m !== 'object' || m === null) continue;
    const msg = m as Record<string, unknown>;
    if (msg.role === 'ipython') roleHint ??= { target: 'torchtune', why: 'an ipython role (torchtune)' };
    if ('weight' in msg && msg.role !== 'assistant') roleHint ??= { target: 'together', why: 'a weight on a non-assistant message (Together)' };
    if (Array.isArray(msg.tool_calls)) {
      for (const c of msg.tool_calls) if (typeof c === 'object' && c !== null && typeof (c as { id?: unknown }).id === 'string') ids.push((c as { id: string }).id);
    }
  }
  if (roleHint) return { target: roleHint.target, format: 'chat', why: roleHint.why };
  if (ids.length > 0 && ids.every((id) => /^[A-Za-z0-9]{9}$/.test(id))) {
    return { target: 'mistral', format: 'chat', why: 'messages with 9-character tool-call ids (Mistral)' };
  }
  return { target: 'openai', format: 'chat', why: 'a messages key' };
}

/** The target, format and schema a file is checked against, settled from its first record. */
export interface Resolved {
  target: ValidationTarget;
  format: ValidationFormat;
  schema: Schema;
  /** Set when `target` was `'auto'`: why this target was chosen. */
  guessedFrom?: string | undefined;
}

/**
 * Settles the target and format for a file whose first JSON object is `record`: a given format
 * wins; otherwise the record's keys pick among the formats the target reads. For `'auto'`, the
 * target is guessed ({@link guessTarget}); undefined when it cannot be.
 *
 * @example
 * resolveSchema({ target: 'together' }, { prompt: 'a', completion: 'b' }) // { target: 'together', format: 'instruction', schema: 'together-instruction' }
 */
export function resolveSchema(
  options: { target: ValidationTarget | 'auto'; format?: ValidationFormat | undefined },
  record: Record<string, unknown>,
): Resolved | undefined {
  if (options.target === 'auto') {
    const guess = guessTarget(record);
    if (!guess) return undefined;
    let { target, format } = guess;
    if (options.format !== undefined && options.format !== format) {
      format = options.format;
      if (!(VALIDATION_TARGETS[target] as readonly string[]).includes(format)) target = format === 'chat' ? 'openai' : 'axolotl';
    }
    return { target, format, schema: schemaOf(target, format), guessedFrom: guess.why };
  }
  const target = options.target;
  const formats: readonly ValidationFormat[] = VALIDATION_TARGETS[target];
  let format = options.format;
  if (format === undefined) {
    const seen = formatOfRecord(record);
    format = seen !== undefined && formats.includes(seen) ? seen : (formats[0] as ValidationFormat);
  }
  return { target, format, schema: schemaOf(target, format) };
}
