/** Reading one row's fields for the converters: required and optional text, the system column. */
import type { Message, ReasonCode } from '../types.js';

/** A converted row: its messages and the columns it read, or why it was rejected. */
export type Converted = { messages: Message[]; used: string[]; nearUser?: string; alpacaInput?: string; templateValues?: Array<[string, string]> } | { reason: ReasonCode; message: string };
/** Why a row was rejected. */
export type Rejected = Extract<Converted, { reason: unknown }>;
/** Turns one row into messages. */
export type Converter = (data: Record<string, unknown>) => Converted;

/**
 * Content as written, except line breaks: CRLF and a lone CR (old Mac files) become LF, and
 * surrounding whitespace is trimmed; nothing else changes.
 */
export function cleanContent(text: string): string {
  // Most text has no CR: indexOf is much cheaper than a regex scan that replaces nothing.
  return (text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text).trim();
}

/** The rejection of a row that lacks a mapped key. */
export function missing(key: string): Rejected {
  return { reason: 'missing_field', message: `field "${key}" is missing or null` };
}

/** The rejection of a row whose field is there but wrong. */
export function invalid(message: string): Rejected {
  return { reason: 'invalid_record', message };
}

/** What a value that is not text is, for messages: `a list`, `an object`, `null`, `undefined`. */
export function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'an object' : typeof v;
}

/**
 * True for a number whose shortest decimal form is the number written, as far as can be told
 * once it is read: finite, and not an integer past 2^53 (`12345678901234567890` reads as
 * 12345678901234567000, `1e400` as Infinity). A fraction of more digits than a double holds
 * (`3.14159265358979323846`) reads as its nearest double and cannot be told from one written so
 * (`json.dumps(1/3)`, `0.30000000000000004`): it is written as read.
 */
export function exactNumber(n: number): boolean {
  return Number.isFinite(n) && (Number.isSafeInteger(n) || !Number.isInteger(n));
}

/**
 * A number used as text: its shortest decimal form (`1.50` → `1.5`), or the rejection of a number
 * that JSON could not hold as written.
 */
export function numberText(n: number, key: string): string | Rejected {
  if (exactNumber(n)) return String(n);
  return invalid(inexactNumber(n, `field "${key}"`));
}

/** Why a number cannot be used as text (see {@link exactNumber}); `where` names the field. */
export function inexactNumber(n: number, where: string): string {
  const read = Number.isFinite(n) ? `the whole number ${String(n)} as read, past 2^53, where numbers lose their last digits` : `a number too large for a double, read as ${String(n)}`;
  return `${where} holds ${read}; quote it as a string in the file to keep it exactly`;
}

/** For MongoDB's extended JSON (`{"$oid": …}`, `{"$date": …}`, `{"$numberLong": …}`): how to export plain values. */
function extendedJsonHint(v: unknown): string {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return '';
  const keys = Object.keys(v);
  if (keys.length !== 1 || !(keys[0] as string).startsWith('$')) return '';
  return ` (${keys[0]}: MongoDB's extended JSON, as mongoexport writes it by default; export with --jsonFormat=relaxed for plain dates and numbers, or map another field)`;
}

/**
 * A required text field: missing/null → missing_field, blank → empty_content, a list or an object
 * (or a number JSON could not hold exactly) → invalid_record. Numbers and booleans become text.
 */
export function text(data: Record<string, unknown>, key: string): string | Rejected {
  const v = data[key];
  if (!Object.hasOwn(data, key) || v === undefined || v === null) return missing(key);
  const s = cleanText(v, key);
  if (s === '') return { reason: 'empty_content', message: `field "${key}" is blank` };
  return s;
}

/**
 * An optional text field: absent, null or blank → undefined (no such text). Otherwise read as
 * {@link text} reads it: a list or an object is rejected as invalid_record, never dropped.
 */
export function optionalText(data: Record<string, unknown>, key: string): string | undefined | Rejected {
  const v = data[key];
  if (v === undefined || v === null || !Object.hasOwn(data, key)) return undefined;
  const s = cleanText(v, key);
  return s === '' ? undefined : s;
}

/**
 * A present field's value as cleaned text (see {@link cleanContent}): a string as it is, a number
 * JSON holds exactly or a boolean as written; anything else is the row's rejection.
 */
function cleanText(v: unknown, key: string): string | Rejected {
  if (typeof v === 'string') return cleanContent(v);
  if (typeof v === 'number') {
    const t = numberText(v, key);
    return typeof t === 'string' ? cleanContent(t) : t;
  }
  if (typeof v === 'boolean') return String(v);
  return invalid(`field "${key}" must be text, got ${kindOf(v)}${extendedJsonHint(v)}`);
}

/**
 * The converted row: its messages, with the row's `system` column, when it has one, as the system
 * message. A conversation that has its own system message keeps it when the column says the same;
 * when they differ the row is rejected, since either choice would drop one.
 */
export function withSystem(data: Record<string, unknown>, messages: Message[], used: string[]): Converted {
  const system = optionalText(data, 'system');
  if (system === undefined) return { messages, used };
  if (typeof system !== 'string') return system;
  const own = messages.find((m) => m.role === 'system');
  if (own === undefined) messages.unshift({ role: 'system', content: system });
  else if (own.content !== system) {
    return invalid('field "system" and the conversation\'s own system message differ; keep one of them (the column, or the system message)');
  }
  return { messages, used };
}
