/**
 * Target registry: for each trainer, which record shapes it reads, how an example becomes its
 * record, and how its files are named. Writers come last in the pipeline; a record a target cannot
 * express is rejected with a reason naming the rule, never bent.
 */
import type { Example, ReasonCode } from '../types.js';
import { alternatingRoles, oneLeadingSystem, torchtuneOrder, userFirst } from './_rules.js';
import { alpacaRecord } from './alpaca.js';
import type { CountAs } from './_counted-text.js';
import { messagesRecord } from './openai.js';
import { promptCompletionRecord } from './prompt-completion.js';
import { sharegptRecord } from './sharegpt.js';
import type { ToolSupport } from './openai.js';

export { countedText, recordText, COUNT_AS, type CountAs, type CountedText } from './_counted-text.js';

/** Record shape: a chat (`messages`) or an instruction record (alpaca / prompt-completion). */
export type RecordFormat = 'chat' | 'instruction';

/**
 * What a record is built from: the messages and tools of an example. Nothing else of it reaches
 * the file, so the worker threads can build records from what they tokenized.
 */
export type RecordSource = Pick<Example, 'messages' | 'tools' | 'alpacaInput'>;

/** What a writer returns for one example. */
export type RecordResult =
  | { ok: true; record: Record<string, unknown> }
  | { ok: false; reason: ReasonCode; message: string };

/** One trainer's writer. */
export interface Target {
  /** The `target` option's value for this trainer. */
  name: string;
  /** Record builder per supported format. */
  formats: Partial<Record<RecordFormat, (example: RecordSource) => RecordResult>>;
  /** File names in `outDir`. */
  files: { train: string; validation: string; test: string };
  /**
   * The trainer's own length limit when the user sets no `maxTokens`, for the warning that says
   * how many examples it would cut or drop.
   */
  defaultLimit?: ((tokenizer: string) => DefaultLimit) | undefined;
  /**
   * The least number of examples every written split must hold (MLX-LM batches evaluation too:
   * each file needs its default batch size).
   */
  minPerSplit?: number | undefined;
  /** The trainer always reads a validation file (MLX-LM before its PR #857 fails without one). */
  needsValidation?: boolean | undefined;
  /** Fewer training examples than this is allowed but worth a warning (OpenAI needs 10). */
  warnTrainUnder?: number | undefined;
  /** Formats whose records have no system field (prompt/completion). */
  systemless?: readonly RecordFormat[] | undefined;
  /**
   * Formats the trainer builds as plain text, not with the chat template, and how: each example is
   * counted as that text ({@link countedText}).
   */
  countsAs?: Partial<Record<RecordFormat, CountAs>> | undefined;
  /**
   * The trainer hands tool-call arguments to the chat template as the JSON text its file holds
   * (TRL), not as objects: they are counted so.
   */
  argumentsAsText?: boolean | undefined;
}

/** A trainer's default sequence limit. */
export interface DefaultLimit {
  /** The limit, in tokens. */
  tokens: number;
  /** E.g. "Axolotl's default sequence_len". */
  label: string;
  /** The trainer setting to raise, e.g. `sequence_len`. */
  setting: string;
  /**
   * What to do instead, where the limit is not a setting the user can raise (OpenAI's per-model
   * limit): the warning gives this advice in place of "set SETTING >= N".
   */
  advice?: string | undefined;
}

/**
 * The warning for examples over a trainer's default limit when `maxTokens` is unset.
 *
 * @example
 * overLimitWarning(targets.axolotl.defaultLimit(), 2, 530) // "2 examples exceed Axolotl's default sequence_len 512; set sequence_len >= 530 or maxTokens"
 */
export function overLimitWarning(limit: DefaultLimit, count: number, longest: number): string {
  if (limit.advice !== undefined) return `${count} examples exceed ${limit.label} of ${limit.tokens.toLocaleString('en-US')} tokens (the longest has ${longest.toLocaleString('en-US')}): ${limit.advice}`;
  return `${count} examples exceed ${limit.label} ${limit.tokens}; set ${limit.setting} >= ${longest} or maxTokens`;
}

/**
 * OpenAI's per-example limits (fine-tuning guide): the model is known when `tokenizer` names one;
 * otherwise the limit of the current fine-tunable models applies.
 */
export function openAiLimit(tokenizer: string): DefaultLimit {
  const t = tokenizer.toLowerCase();
  const limit = (tokens: number, label: string): DefaultLimit => ({
    tokens,
    label,
    setting: 'maxTokens',
    advice: `OpenAI cuts such examples from the end: shorten them, set maxTokens <= ${tokens} (CLI --max-tokens) to drop or truncate them here, or choose a model with a larger context`,
  });
  if (t.startsWith('gpt-3.5-turbo-0613')) return limit(4_096, "OpenAI's limit for gpt-3.5-turbo-0613");
  if (t.startsWith('gpt-3.5')) return limit(16_385, "OpenAI's limit for gpt-3.5-turbo");
  const model = /^(gpt|o\d)/.test(t) ? t : 'gpt-4o and gpt-4o-mini';
  return limit(65_536, `OpenAI's per-example limit for ${model}`);
}

/** Tool settings per reader (see {@link ToolSupport}). */
const OPENAI_TOOLS: ToolSupport = { callOnlyContent: 'omit', arguments: 'text', tools: 'array' };
const MISTRAL_TOOLS: ToolSupport = { callOnlyContent: 'omit', arguments: 'text', tools: 'array', mistral: true };
// Arrow (datasets) gives a column one type over all rows and fills absent keys with null: argument
// objects and parameter schemas would change type between rows or gain other tools' keys.
const TRL_TOOLS: ToolSupport = { callOnlyContent: 'empty', arguments: 'text', tools: 'text' };
const AXOLOTL_TOOLS: ToolSupport = { callOnlyContent: 'empty', arguments: 'text', tools: 'parameters-text' };
// MLX-LM reads each line with json.loads: objects, as Hugging Face chat templates take them.
const MLX_TOOLS: ToolSupport = { callOnlyContent: 'empty', arguments: 'object', tools: 'array' };

const standardFiles = { train: 'train.jsonl', validation: 'validation.jsonl', test: 'test.jsonl' };

const limit = (tokens: number, label: string, setting: string) => (): DefaultLimit => ({ tokens, label, setting });

/** Every target, by name (the Targets table of docs/targets.md). */
export const targets = {
  openai: {
    name: 'openai',
    formats: { chat: messagesRecord({ target: 'openai', weights: 'assistant', tools: OPENAI_TOOLS }) },
    files: standardFiles,
    defaultLimit: openAiLimit,
    warnTrainUnder: 10,
  },
  together: {
    name: 'together',
    systemless: ['instruction'],
    formats: {
      // Together checks neighbours only; the stricter order avoids templates that refuse it.
      chat: messagesRecord({ target: 'together', weights: 'any', names: false, rules: [oneLeadingSystem, userFirst, alternatingRoles] }),
      instruction: promptCompletionRecord('together'),
    },
    countsAs: { instruction: 'prompt-completion' },
    files: standardFiles,
  },
  mistral: {
    name: 'mistral',
    formats: { chat: messagesRecord({ target: 'mistral', weights: 'assistant', rules: [oneLeadingSystem], tools: MISTRAL_TOOLS }) },
    files: standardFiles,
    warnTrainUnder: 10,
  },
  'mlx-lm': {
    name: 'mlx-lm',
    systemless: ['instruction'],
    formats: { chat: messagesRecord({ target: 'mlx-lm', weights: 'none', tools: MLX_TOOLS, trains: 'last' }), instruction: promptCompletionRecord('mlx-lm') },
    files: { train: 'train.jsonl', validation: 'valid.jsonl', test: 'test.jsonl' },
    defaultLimit: limit(2048, "MLX-LM's default max_seq_length", '--max-seq-length'),
    minPerSplit: 4,
    needsValidation: true,
  },
  trl: {
    name: 'trl',
    systemless: ['instruction'],
    formats: { chat: messagesRecord({ target: 'trl', weights: 'none', tools: TRL_TOOLS }), instruction: promptCompletionRecord('trl') },
    // A prompt and completion that are strings: TRL tokenizes the two as one text, EOS added.
    countsAs: { instruction: 'prompt-completion' },
    argumentsAsText: true,
    files: standardFiles,
    defaultLimit: limit(1024, "TRL's default max_length", 'SFTConfig(max_length=...)'),
  },
  axolotl: {
    name: 'axolotl',
    formats: { chat: messagesRecord({ target: 'axolotl', weights: 'none', tools: AXOLOTL_TOOLS }), instruction: alpacaRecord({ target: 'axolotl', history: false }) },
    countsAs: { instruction: 'alpaca-axolotl' },
    files: standardFiles,
    // Axolotl drops rows over sequence_len (excess_length_strategy: drop) without a word.
    defaultLimit: limit(512, "Axolotl's default sequence_len", 'sequence_len'),
  },
  'llama-factory': {
    name: 'llama-factory',
    formats: { chat: sharegptRecord, instruction: alpacaRecord({ target: 'llama-factory', history: true }) },
    files: standardFiles,
    defaultLimit: limit(2048, "LLaMA-Factory's default cutoff_len", 'cutoff_len'),
  },
  unsloth: {
    name: 'unsloth',
    formats: { chat: messagesRecord({ target: 'unsloth', weights: 'none', tools: TRL_TOOLS }), instruction: alpacaRecord({ target: 'unsloth', history: false }) },
    // The glue's to_text: the notebooks' Alpaca prompt (LLaMA-Factory and torchtune use the chat template).
    countsAs: { instruction: 'alpaca-unsloth' },
    files: standardFiles,
  },
  torchtune: {
    name: 'torchtune',
    formats: {
      chat: messagesRecord({ target: 'torchtune', weights: 'none', rules: [oneLeadingSystem, torchtuneOrder] }),
      instruction: alpacaRecord({ target: 'torchtune', history: false }),
    },
    files: standardFiles,
  },
} satisfies Record<string, Target>;

/** Names accepted by the `target` option. */
export type TargetName = keyof typeof targets;

/**
 * Whether the records of `target` in `format` leave out a message's `name` (Together's chat
 * records, ShareGPT's and Alpaca's have no place for it): the trainer never sees it, so a chat
 * template that prints names must not count it. Asked of the record builder itself, with a named
 * user turn.
 *
 * @example
 * namesDropped('together', 'chat') // true; namesDropped('openai', 'chat') // false
 */
export function namesDropped(target: TargetName, format: RecordFormat): boolean {
  const build = (targets[target] as Target).formats[format];
  if (!build) return false;
  const name = 'probe_name_7f3a';
  const r = build({ messages: [{ role: 'user', content: 'q', name }, { role: 'assistant', content: 'a' }] });
  return r.ok && !JSON.stringify(r.record).includes(name);
}

/**
 * The record builder of a target and format.
 *
 * @example
 * const toRecord = recordBuilder('axolotl', 'instruction');
 * const r = toRecord(example); if (r.ok) write(r.record);
 */
export function recordBuilder(target: TargetName, format: RecordFormat): (example: RecordSource) => RecordResult {
  const t: Target = targets[target];
  const build = t.formats[format];
  if (!build) throw new Error(`target ${target} has no ${format} format`); // options validation prevents this
  return build;
}
