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
}

const standardFiles = { train: 'train.jsonl', validation: 'validation.jsonl', test: 'test.jsonl' };

/** Every target, by name. Later targets plug in here. */
export const targets = {
  openai: { name: 'openai', formats: { chat: messagesRecord }, files: standardFiles },
  axolotl: { name: 'axolotl', formats: { chat: messagesRecord, instruction: alpacaRecord }, files: standardFiles },
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
