/**
 * Which record schema each trainer reads, per format (DESIGN.md, Targets, and plain `{text}` where a
 * trainer reads it), and the guess that `target: 'auto'` makes from the first records.
 */
import type { TargetName } from '../formats/index.js';

/**
 * Every trainer the validator knows, with the formats `prepareDataset` writes for it (chat,
 * instruction). Some also read plain-text records: see {@link TEXT_TARGETS}.
 */
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

/** A record shape that `prepareDataset` writes: chat or instruction. */
export type ValidationFormat = 'chat' | 'instruction';

/**
 * Every record shape the validator checks: a {@link ValidationFormat}, or `text` (one
 * `{"text": "..."}` string per line: language-modelling / continued pre-training data, read by the
 * targets in {@link TEXT_TARGETS}).
 */
export type ValidationRecordFormat = ValidationFormat | 'text';

/**
 * The targets that read plain-text records `{"text": "..."}` (FORMATS.md): Together's general
 * format (§2), MLX-LM's TextDataset (§4), TRL's language-modelling rows (§5) and so Unsloth (§6),
 * Axolotl with `type: completion` (§7), and torchtune's `text_completion_dataset` (its
 * `torchtune/datasets/_text_completion.py`, column `text`). OpenAI, Mistral's instruct data and
 * LLaMA-Factory without a pre-training `dataset_info.json` entry do not.
 *
 * @example
 * TEXT_TARGETS.includes('mlx-lm') // true
 */
export const TEXT_TARGETS: readonly ValidationTarget[] = ['together', 'mlx-lm', 'trl', 'unsloth', 'axolotl', 'torchtune'];

/**
 * The formats a target reads: its chat and instruction formats, and `text` for {@link TEXT_TARGETS}.
 *
 * @example
 * formatsOf('together') // ['chat', 'instruction', 'text']
 */
export function formatsOf(target: ValidationTarget): readonly ValidationRecordFormat[] {
  const formats: readonly ValidationRecordFormat[] = VALIDATION_TARGETS[target];
  return TEXT_TARGETS.includes(target) ? [...formats, 'text'] : formats;
}

/**
 * The record schema a file is checked against:
 * - `messages`: `{messages}` for OpenAI-style readers (OpenAI, MLX, TRL, Axolotl, Unsloth, torchtune);
 * - `together-chat` / `together-instruction`, `mistral`, `mlx-completions`, `trl-pc`;
 * - `sharegpt` (LLaMA-Factory chat) and `alpaca` (the instruction format of four targets);
 * - `together-text` (exactly `{text}`), `mlx-text` (TextDataset), `trl-text` (TRL and Unsloth:
 *   `{text}` only) and `text` (Axolotl `type: completion`, torchtune `text_completion_dataset`:
 *   `text` read, other keys ignored).
 */
export type Schema =
  | 'messages'
  | 'together-chat'
  | 'together-instruction'
  | 'mistral'
  | 'mlx-completions'
  | 'trl-pc'
  | 'sharegpt'
  | 'alpaca'
  | 'together-text'
  | 'mlx-text'
  | 'trl-text'
  | 'text';

/** The schema of a target and format (`text` only for {@link TEXT_TARGETS}). */
export function schemaOf(target: ValidationTarget, format: ValidationRecordFormat): Schema {
  if (format === 'text') {
    if (target === 'together') return 'together-text';
    if (target === 'mlx-lm') return 'mlx-text';
    if (target === 'trl' || target === 'unsloth') return 'trl-text';
    return 'text';
  }
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
 * The format a record looks like, or undefined when it holds none of the known keys. Chat keys win
 * over instruction keys, which win over `text`.
 *
 * @example
 * formatOfRecord({ instruction: 'x', input: '', output: 'y' }) // 'instruction'
 * formatOfRecord({ text: 'A document.' }) // 'text'
 */
export function formatOfRecord(record: Record<string, unknown>): ValidationRecordFormat | undefined {
  if ('messages' in record || 'conversations' in record) return 'chat';
  if ('prompt' in record || 'completion' in record || 'instruction' in record || 'output' in record) return 'instruction';
  if ('text' in record) return 'text';
  return undefined;
}

/**
 * The target and format `target: 'auto'` settles on for a file whose first record is `record`:
 * `conversations` → LLaMA-Factory ShareGPT; `instruction`/`input`/`output` → Axolotl alpaca
 * (LLaMA-Factory when there is a `history`); `prompt`/`completion` → TRL; `text` alone → TRL
 * language modelling; `messages` → OpenAI, unless its keys or roles point elsewhere
 * (`chat_template_kwargs` or `tools` as JSON text → TRL, tool `parameters` as JSON text → Axolotl,
 * an `ipython` role → torchtune, Mistral-style 9-character tool-call ids or Mistral-only keys →
 * Mistral, a weight on a non-assistant message → Together, which allows it). `validateFile` and
 * `fixFile` read further records while the guess is only the default (OpenAI, or Axolotl for
 * alpaca): see {@link TargetGuesser}.
 *
 * @example
 * guessTarget({ messages: [], tools: '[]' }) // { target: 'trl', format: 'chat', why: 'tools as JSON text (TRL, Unsloth)' }
 */
export function guessTarget(record: Record<string, unknown>): { target: ValidationTarget; format: ValidationRecordFormat; why: string } | undefined {
  const g = guessRecord(record);
  return g && { target: g.target, format: g.format, why: g.why };
}

/** A guess and whether it is only the default of its format, which a later record may refine. */
interface RecordGuess {
  target: ValidationTarget;
  format: ValidationRecordFormat;
  why: string;
  /** True for the default of the format (OpenAI for `messages`, Axolotl for alpaca without `history`). */
  fallback: boolean;
}

function guessRecord(record: Record<string, unknown>): RecordGuess | undefined {
  const sure = (target: ValidationTarget, format: ValidationRecordFormat, why: string): RecordGuess => ({ target, format, why, fallback: false });
  if ('conversations' in record) return sure('llama-factory', 'chat', 'a conversations key (ShareGPT)');
  if ('instruction' in record || ('output' in record && !('messages' in record))) {
    if ('history' in record) return sure('llama-factory', 'instruction', 'alpaca keys with history (LLaMA-Factory)');
    return { target: 'axolotl', format: 'instruction', why: 'alpaca keys (instruction/input/output)', fallback: true };
  }
  if ('prompt' in record && 'completion' in record && !('messages' in record)) return sure('trl', 'instruction', 'prompt/completion keys');
  if (!('messages' in record)) return 'text' in record ? sure('trl', 'text', 'a text key (language modelling)') : undefined;
  if ('chat_template_kwargs' in record) return sure('trl', 'chat', 'messages with chat_template_kwargs (TRL)');
  // How lora-prep (and many Hugging Face datasets) write tools for readers that need one type a column.
  if (typeof record.tools === 'string') return sure('trl', 'chat', 'tools as JSON text (TRL, Unsloth)');
  if (Array.isArray(record.tools) && record.tools.some((t) => typeof (t as { function?: { parameters?: unknown } } | null)?.function?.parameters === 'string')) {
    return sure('axolotl', 'chat', 'tool parameters as JSON text (Axolotl)');
  }
  if ('interactions' in record || 'available_tools' in record || 'system_prompt' in record) return sure('mistral', 'chat', 'messages with Mistral-only keys');
  const messages = Array.isArray(record.messages) ? record.messages : [];
  const ids: string[] = [];
  let roleHint: { target: ValidationTarget; why: string } | undefined;
  for (const m of messages) {
    if (typeof m !== 'object' || m === null) continue;
    const msg = m as Record<string, unknown>;
    if (msg.role === 'ipython') roleHint ??= { target: 'torchtune', why: 'an ipython role (torchtune)' };
    if ('weight' in msg && msg.role !== 'assistant') roleHint ??= { target: 'together', why: 'a weight on a non-assistant message (Together)' };
    if (Array.isArray(msg.tool_calls)) {
      for (const c of msg.tool_calls) {
        if (typeof c !== 'object' || c === null) continue;
        if (typeof (c as { id?: unknown }).id === 'string') ids.push((c as { id: string }).id);
        // OpenAI, Mistral, TRL and Axolotl take arguments as JSON text; objects are the Hugging Face
        // chat templates' convention, which MLX-LM hands them as read.
        const args = (c as { function?: { arguments?: unknown } }).function?.arguments;
        if (typeof args === 'object' && args !== null && !Array.isArray(args)) roleHint ??= { target: 'mlx-lm', why: 'tool-call arguments as objects (MLX-LM)' };
      }
    }
  }
  if (roleHint) return sure(roleHint.target, 'chat', roleHint.why);
  if (ids.length > 0 && ids.every((id) => /^[A-Za-z0-9]{9}$/.test(id))) return sure('mistral', 'chat', 'messages with 9-character tool-call ids (Mistral)');
  return { target: 'openai', format: 'chat', why: 'a messages key', fallback: true };
}

/**
 * Most records, and bytes, `target: 'auto'` reads while its guess is only a default: a file whose
 * first lines have no tools may show Mistral ids or tools as text further down. Bounded so that
 * a large file of plain chats is not read twice.
 */
export const GUESS_MAX_RECORDS = 1_000;
/** See {@link GUESS_MAX_RECORDS}. */
export const GUESS_MAX_BYTES = 4 * 1024 * 1024;

/**
 * The guess of `target: 'auto'` over the first records of a file. The first record fixes the
 * format, as the trainers that detect a format (MLX-LM, TRL, Unsloth) read it from there; the
 * target is that record's guess unless it is only the default of its format, in which case later
 * records of the same format are read (up to {@link GUESS_MAX_RECORDS}) until one points to a
 * trainer.
 *
 * @example
 * const g = new TargetGuesser();
 * g.add(1, { messages: [] }); // false: OpenAI, but only by default
 * g.add(2, { messages: [], tools: '[]' }); // true: TRL, decided by line 2
 */
export class TargetGuesser {
  #first: { guess: RecordGuess | undefined; line: number } | undefined;
  #decided: { guess: RecordGuess; line: number } | undefined;
  #records = 0;
  #done = false;

  /** Feeds the record on `line`; true once the guess needs no more records. */
  add(line: number, record: Record<string, unknown>): boolean {
    if (this.#done) return true;
    this.#records++;
    const guess = guessRecord(record);
    if (!this.#first) {
      this.#first = { guess, line };
      this.#done = guess === undefined || !guess.fallback;
      if (guess && this.#done) this.#decided = { guess, line };
    } else if (guess && !guess.fallback && guess.format === this.#first.guess?.format) {
      this.#decided = { guess, line };
      this.#done = true;
    } else if (this.#records >= GUESS_MAX_RECORDS) this.#done = true;
    return this.#done;
  }

  /**
   * The guess: target, format, why, and the line that decided it (`firstLine` is the first
   * record's line); undefined when the first record has no known shape or none was fed.
   */
  result(): { target: ValidationTarget; format: ValidationRecordFormat; why: string; line: number; firstLine: number } | undefined {
    const first = this.#first;
    if (!first?.guess) return undefined;
    if (this.#decided) {
      const { guess, line } = this.#decided;
      return { target: guess.target, format: guess.format, why: guess.why, line, firstLine: first.line };
    }
    const read = this.#records > 1 ? `; none of the ${this.#records.toLocaleString('en-US')} records read points to a particular trainer` : '';
    return { target: first.guess.target, format: first.guess.format, why: `${first.guess.why}${read}`, line: first.line, firstLine: first.line };
  }
}

/** The target, format and schema a file is checked against, settled from its first records. */
export interface Resolved {
  target: ValidationTarget;
  format: ValidationRecordFormat;
  schema: Schema;
  /** Set when `target` was `'auto'`: why this target was chosen. */
  guessedFrom?: string | undefined;
  /** Set when `target` was `'auto'`: the line of the record that decided the guess. */
  guessedAt?: number | undefined;
}

/**
 * Settles the target and format for a file whose first JSON object is `record`: a given format
 * wins; otherwise the record's keys pick among the formats the target reads. For `'auto'`, the
 * target is `guess` (from {@link TargetGuesser}, over the first records) or else guessed from
 * `record` alone ({@link guessTarget}); undefined when it cannot be.
 *
 * @example
 * resolveSchema({ target: 'together' }, { prompt: 'a', completion: 'b' }) // { target: 'together', format: 'instruction', schema: 'together-instruction' }
 */
export function resolveSchema(
  options: { target: ValidationTarget | 'auto'; format?: ValidationRecordFormat | undefined },
  record: Record<string, unknown>,
  guess?: { target: ValidationTarget; format: ValidationRecordFormat; why: string; line?: number } | undefined,
): Resolved | undefined {
  if (options.target === 'auto') {
    const g = guess ?? guessTarget(record);
    if (!g) return undefined;
    let { target, format } = g;
    if (options.format !== undefined && options.format !== format) {
      format = options.format;
      if (!formatsOf(target).includes(format)) target = format === 'chat' ? 'openai' : format === 'text' ? 'trl' : 'axolotl';
    }
    return { target, format, schema: schemaOf(target, format), guessedFrom: g.why, guessedAt: guess?.line };
  }
  const target = options.target;
  const formats = formatsOf(target);
  let format = options.format;
  if (format === undefined) {
    const seen = formatOfRecord(record);
    format = seen !== undefined && formats.includes(seen) ? seen : (formats[0] as ValidationRecordFormat);
  }
  return { target, format, schema: schemaOf(target, format) };
}
