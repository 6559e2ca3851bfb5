/** Shared record types: what flows between the pipeline stages. */

/** A chat role in the canonical example. */
export type Role = 'system' | 'user' | 'assistant' | 'tool';

/** A function call made by an assistant turn. `arguments` is JSON text (as OpenAI writes it). */
export interface ToolCall {
  /** The call's id, answered by a `tool` message's `tool_call_id`. */
  id: string;
  /** Always `'function'`. */
  type: 'function';
  /** The function called and its arguments as JSON text. */
  function: { name: string; arguments: string };
}

/** One message of a canonical example. */
export interface Message {
  /** Who speaks: `system`, `user`, `assistant` or `tool`. */
  role: Role;
  /** May be empty on an assistant turn that only calls tools. */
  content: string;
  /** 0 = do not train on this turn, 1 = train (targets that support it). */
  weight?: 0 | 1;
  /** A participant name (OpenAI's `name` field). */
  name?: string;
  /** Calls made by an assistant turn. */
  tool_calls?: ToolCall[];
  /** On a `tool` message: the id of the call it answers. */
  tool_call_id?: string;
}

/** Where a row came from: the path as given in `inputs` and the 1-based line where it starts. */
export interface SourceLocation {
  /** The path as given in `inputs`. */
  file: string;
  /** 1-based line where the row starts (for CSV the physical line; the header is line 1). */
  line: number;
}

/** A row as read by a loader, before normalising. */
export interface SourceRow {
  /** The row's fields: CSV columns by header name, or a JSON object's keys. */
  data: Record<string, unknown>;
  /** Where the row starts. */
  source: SourceLocation;
}

/** The canonical example every stage after normalising works on. */
export interface Example {
  /** Stable: an `id` column when the input has one, else `file:line`. */
  id: string;
  /** The conversation, ending with the assistant's answer. */
  messages: Message[];
  /** Tool (function) definitions offered to the model, as OpenAI writes them. */
  tools?: unknown[];
  /**
   * What near-duplicate detection compares in place of the user message, when only part of it
   * varies from row to row. A template mapping sets it to the values its placeholders took, so two
   * rows that share a long fixed prompt (instructions, few-shot examples) are not near-duplicates
   * for that alone. Never written to the output.
   */
  nearUser?: string;
  /**
   * The values a template mapping placed, each with its placeholder's column path, when the PII
   * stage asks for them: it reads each after its column's name as a label (`{{mrn}}` placed
   * `00482913`, an MRN wherever it stands). Never written to the output.
   */
  templateValues?: Array<[string, string]>;
  /**
   * An alpaca row's `input`, which the last user message holds after its instruction
   * (`instruction\n\ninput`): an alpaca writer writes the two apart again, while the message still
   * ends with this text (redaction or truncation may have changed it; then it holds both). Never
   * written to the output itself.
   */
  alpacaInput?: string;
  /**
   * Where the row came from, its `domain`, and every input column the mapping did not use, under
   * its own name (what `split.groupBy` and `split.stratifyBy` name).
   */
  meta: { source: SourceLocation; domain?: string; [key: string]: unknown };
}

/**
 * Reason codes of rejected rows. The first eight are fixed by the design and never renamed;
 * others are added as stages need them.
 */
export type ReasonCode = (typeof REASON_CODES)[number];

/** Every {@link ReasonCode}, for checking a name a user gives (`failOn.reasons`). */
export const REASON_CODES = [
  'invalid_json',
  'malformed_row',
  'missing_field',
  'empty_content',
  'invalid_record',
  'duplicate',
  'near_duplicate',
  'overlong',
  'invalid_encoding',
  'line_too_long',
  'field_too_long',
  'prompt_overflow',
  'too_short',
  'template_error',
  'tokenizer_error',
  'pii',
  'unsupported_shape',
] as const;

/** One input row that did not make it to the output, with why. */
export interface Rejection {
  /** Where the rejected row starts. */
  source: SourceLocation;
  /** Why, as a stable code (see docs/errors.md). */
  reason: ReasonCode;
  /** The same in words, naming what to fix. */
  message: string;
  /** For `duplicate` and `near_duplicate`: the row that was kept. */
  duplicateOf?: SourceLocation;
  /** For `near_duplicate`: the exact Jaccard similarity to the example kept. */
  similarity?: number;
  /** A capped excerpt of the raw row, when one helps the user find and fix it. */
  raw?: unknown;
}

/**
 * What every stage receives besides its input: where rejected rows and warnings go, and the abort
 * signal. Stages never throw for a bad row; they call `reject` and move on.
 */
export interface StageContext {
  /** Records a row that does not go on, with its reason and location. */
  reject(rejection: Rejection): void;
  /** Adds a warning for the report (a job-level remark, not a row). */
  warn(message: string): void;
  /** Aborts the stage when signalled. */
  signal?: AbortSignal | undefined;
}
