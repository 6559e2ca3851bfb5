/** Reading one row's fields for the converters: required and optional text, the system column. */
import type { Message, ReasonCode } from '../types.js';

/** A converted row: its messages and the columns it read, or why it was rejected. */
export type Converted = { messages: Message[]; used: string[]; nearUser?: string } | { reason: ReasonCode; message: string };
/** Why a row was rejected. */
export type Rejected = Extract<Converted, { reason: unknown }>;
/** Turns one row into messages. */
export type Converter = (data: Record<string, unknown>) => Converted;

/**
 * Content as written: CRLF becomes LF and surrounding whitespace is trimmed; nothing else changes.
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

/** A required text field: missing/null → missing_field, blank → empty_content. */
export function text(data: Record<string, unknown>, key: string): string | Converted {
  const v = data[key];
  if (!Object.hasOwn(data, key) || v === undefined || v === null) return missing(key);
  if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
    return invalid(`field "${key}" must be text, got ${Array.isArray(v) ? 'an array' : 'an object'}`);
  }
  const s = cleanContent(String(v));
  if (s === '') return { reason: 'empty_content', message: `field "${key}" is blank` };
  return s;
}

/** An optional text field: absent, null or blank → undefined. */
export function optionalText(data: Record<string, unknown>, key: string): string | undefined {
  const v = data[key];
  if (typeof v !== 'string' && typeof v !== 'number') return undefined;
  const s = cleanContent(String(v));
  return s === '' ? undefined : s;
}

/** Prepends the row's `system` column, when it has one, as a system message. */
export function withSystem(data: Record<string, unknown>, messages: Message[]): Message[] {
  const system = optionalText(data, 'system');
  return system === undefined ? messages : [{ role: 'system', content: system }, ...messages];
}
