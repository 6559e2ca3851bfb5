/**
 * Target registry: for each trainer, which record shapes it reads, how an example becomes its
 * record, and how its files are named. Writers come last in the pipeline; a record a target cannot
 * express is rejected with a reason naming the rule, never bent.
 */
import type { Example, ReasonCode } from '../types.js';
import { alpacaRecord } from './alpaca.js';
import { messagesRecord } from './openai.js';

/** Record shape: a chat (`messages`) or an instruction record (alpaca / prompt-completion). */
export type RecordFormat = 'chat' | 'instruction';

/** What a writer returns for one example. */
export type RecordResult =
  | { ok: true; record: Record<string, unknown> }
  | { ok: false; reason: ReasonCode; message: string };

/** One trainer's writer. */
export interface Target {
  name: string;
  /** Record builder per supported format. */
  formats: Partial<Record<RecordFormat, (example: Example) => RecordResult>>;
  /** File names in `outDir`. */
  files: { train: string; validation: string; test: string };
  /**
   * The trainer's own length limit when the user sets no `maxTokens`, for the warning that says
   * how many examples it would cut or drop.
   */
  defaultLimit?: ((tokenizer: string) => DefaultLimit) | undefined;
}

/** A trainer's default sequence limit. */
export interface DefaultLimit {
  tokens: number;
  /** E.g. "Axolotl's default sequence_len". */
  label: string;
  /** The trainer setting to raise, e.g. `sequence_len`. */
  setting: string;
}

/**
 * OpenAI's per-example limits (fine-tuning guide): the model is known when `tokenizer` names one;
 * otherwise the limit of the current fine-tunable models applies.
 */
export function openAiLimit(tokenizer: string): DefaultLimit {
  const t = tokenizer.toLowerCase();
  if (t.startsWith('gpt-3.5-turbo-0613')) return { tokens: 4_096, label: "OpenAI's limit for gpt-3.5-turbo-0613", setting: 'a shorter example' };
  if (t.startsWith('gpt-3.5')) return { tokens: 16_385, label: "OpenAI's limit for gpt-3.5-turbo", setting: 'a shorter example' };
  const model = /^(gpt|o\d)/.test(t) ? t : 'gpt-4o and gpt-4o-mini';
  return { tokens: 65_536, label: `OpenAI's per-example limit for ${model}`, setting: 'a shorter example' };
}

const standardFiles = { train: 'train.jsonl', validation: 'validation.jsonl', test: 'test.jsonl' };

/** Every target, by name. Later targets plug in here. */
export const targets = {
  openai: { name: 'openai', formats: { chat: messagesRecord }, files: standardFiles, defaultLimit: openAiLimit },
  axolotl: {
    name: 'axolotl',
    formats: { chat: messagesRecord, instruction: alpacaRecord },
    files: standardFiles,
    // Axolotl drops rows over sequence_len (excess_length_strategy: drop) without a word.
    defaultLimit: () => ({ tokens: 512, label: "Axolotl's default sequence_len", setting: 'sequence_len' }),
  },
} satisfies Record<string, Target>;

/** Names accepted by the `target` option. */
export type TargetName = keyof typeof targets;

/**
 * The record builder of a target and format.
 *
 * @example
 * const toRecord = recordBuilder('axolotl', 'instruction');
 * const r = toRecord(example); if (r.ok) write(r.record);
 */
export function recordBuilder(target: TargetName, format: RecordFormat): (example: Example) => RecordResult {
  const t: Target = targets[target];
  const build = t.formats[format];
  if (!build) throw new Error(`target ${target} has no ${format} format`); // options validation prevents this
  return build;
}
