/**
 * PII detection and redaction: pure, synchronous functions over strings and messages. Text in,
 * findings (type + span) out; redaction writes typed placeholders that stay consistent within one
 * example. Every regex is compiled once at module load and built from bounded quantifiers with a
 * look-behind on its first character, so a scan is linear in the text length.
 *
 * Placeholders: the first distinct value of a type in an example becomes `[EMAIL]`, the second
 * `[EMAIL_2]`, the third `[EMAIL_3]`, and so on, so the common single-value case reads plainly and
 * the numbering works incrementally (the map is filled as the messages are redacted in order).
 *
 * Version numbers: `1.2.3.4` is a valid IPv4 address shape. It is reported as an IP unless a version
 * word (`v`, `ver`, `version`, `release`, `build`, `firmware`) or a numbering word (`section`,
 * `clause`, `article`, `chapter`, `§`) stands right before it.
 */
import type { Message } from '../types.js';
import { parseJsonNode, stringifyJsonNode, type JsonNode } from '../validate/_json-ast.js';

/** The kinds of personal data {@link findPii} looks for. */
export type PiiType =
  | 'email'
  | 'phone'
  | 'card'
  | 'iban'
  | 'ssn'
  | 'dob'
  | 'ip'
  | 'url_credentials'
  | 'mrn'
  | 'account';

/** One piece of personal data found in a text: `text === source.slice(start, end)`. */
export interface PiiFinding {
  /** What kind of personal data. */
  type: PiiType;
  /** UTF-16 offset of the first character in the text searched. */
  start: number;
  /** UTF-16 offset just after the last character. */
  end: number;
  /** The matched text, `text.slice(start, end)`. */
  text: string;
}

/** Every PII type, in the order used for counts and reports. */
export const PII_TYPES: readonly PiiType[] = [
  'email',
  'phone',
  'card',
  'iban',
  'ssn',
  'dob',
  'ip',
  'url_credentials',
  'mrn',
  'account',
];

/** The placeholder stem written for each type. */
export const PII_PLACEHOLDERS: Readonly<Record<PiiType, string>> = {
  email: 'EMAIL',
  phone: 'PHONE',
  card: 'CARD',
  iban: 'IBAN',
  ssn: 'SSN',
  dob: 'DOB',
  ip: 'IP',
  url_credentials: 'URL',
  mrn: 'MRN',
  account: 'ACCOUNT',
};

/**
 * Finds personal data in a text. Findings never overlap and are sorted by `start`; where two
 * candidates overlap, the more specific type wins (credential URL, e-mail, IBAN, card, SSN, IP,
 * MRN, account, date of birth, phone).
 *
 * @param text the text to scan
 * @param types the types to look for (default: all)
 * @returns the findings, sorted by start
 * @example
 * findPii('Mail jane.doe@example.com or call +44 20 7946 0958')
 * // [{ type: 'email', start: 5, end: 25, text: 'jane.doe@example.com' },
 * //  { type: 'phone', start: 34, end: 50, text: '+44 20 7946 0958' }]
 */
export function findPii(text: string, types?: readonly PiiType[]): PiiFinding[] {
  return findIn(text, types, true);
}

/**
 * The findings of {@link findPii}; `keyed`: also values after keys written in the text (`"patientId":
 * "…"`, `<mrn>…</mrn>`, `PatientID=…`), each read after its key's label.
 */
function findIn(text: string, types: readonly PiiType[] | undefined, keyed: boolean): PiiFinding[] {
  const wanted = new Set<PiiType>(types ?? PII_TYPES);
  const view = plainView(text);
  let accepted: PiiFinding[] = [];
  for (const type of PRIORITY) {
    if (!wanted.has(type)) continue;
    const candidates = DETECTORS[type](view.text).sort((a, b) => a.start - b.start);
    if (candidates.length > 0) accepted = mergeFree(accepted, candidates);
  }
  const at = view.at;
  if (at !== undefined) {
    accepted = accepted.map((f) => {
      const start = at[f.start] as number;
      const end = (at[f.end - 1] as number) + 1;
      return { type: f.type, start, end, text: text.slice(start, end) };
    });
  }
  if (!keyed) return accepted;
  // Keys are read in the text as written (the view leaves XML tags out).
  const fromKeys = keyedFindings(text, types);
  return fromKeys.length > 0 ? mergeFree(accepted, fromKeys) : accepted;
}

/** Text as the rules read it, and for each of its characters where it stands in the text given (none: the same). */
interface PlainView {
  text: string;
  at?: Int32Array | undefined;
}

/**
 * What the rules read in place of a text: Markdown emphasis (`**MRN:**`, `_DOB_`) left out, an HTML
 * tag without attributes (`<b>`, `</td><td>`) as a tab, which a label reaches across and a number
 * does not (a tag with attributes stays: its values are read), runs of spaces and tabs as one space, other spaces (no-break,
 * narrow, thin, `&nbsp;`) as a space, hyphens and dashes of other kinds (U+2010–U+2013, U+2212) as
 * `-`, and full-width forms (`０９０`, `＠`) as ASCII; with the offset of each character in the text.
 */
function plainView(text: string): PlainView {
  VIEW_RE.lastIndex = 0;
  let m = VIEW_RE.exec(text);
  if (m === null) return { text };
  const at = new Int32Array(text.length + 1);
  let out = '';
  let n = 0;
  let from = 0;
  for (; m !== null; m = VIEW_RE.exec(text)) {
    const s = m[0];
    const i = m.index;
    const c = s.charCodeAt(0);
    let rep: string;
    if (c === 42 || c === 95) {
      // `*` and `_` inside a word (snake_case, 2*3) are the word's.
      if (VIEW_WORD_CHAR.test(text[i - 1] ?? '') && VIEW_WORD_CHAR.test(text[i + s.length] ?? '')) continue;
      rep = '';
    } else if (c >= 0xff01 && c <= 0xff5e) rep = String.fromCharCode(...Array.from(s, (ch) => ch.charCodeAt(0) - 0xfee0));
    else if ((c >= 0x2010 && c <= 0x2013) || c === 0x2212) rep = '-';
    else if (c === 60) rep = '\t';
    else rep = ' ';
    out += text.slice(from, i);
    for (let k = from; k < i; k++) at[n++] = k;
    for (let k = 0; k < rep.length; k++) at[n++] = rep.length === s.length ? i + k : i;
    out += rep;
    from = i + s.length;
  }
  out += text.slice(from);
  for (let k = from; k < text.length; k++) at[n++] = k;
  at[n] = text.length;
  return { text: out, at };
}

const VIEW_RE =
  /<\/?[A-Za-z][A-Za-z0-9]{0,10}\s*\/?>|&(?:nbsp|#160|#x[aA]0);|[*_]+|[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]{2,}|[\t\u00a0\u2000-\u200a\u202f\u205f\u3000]|[\u2010-\u2013\u2212]|[\uff01-\uff5e]+/g;
const VIEW_WORD_CHAR = /[\p{L}\p{N}]/u;

/**
 * Values after keys written in the text, read after their key's label ({@link keyLabel}): a record
 * pasted as JSON, a dict, `key=value` or XML (`{"patientId": "00482913"}`, `<mrn>00482913</mrn>`).
 */
function keyedFindings(text: string, types: readonly PiiType[] | undefined): PiiFinding[] {
  const out: PiiFinding[] = [];
  const read = (key: string, value: string, at: number): void => {
    const label = keyLabel(key, undefined);
    if (label === undefined) return;
    const prefix = `${label}: `;
    for (const f of findIn(prefix + value, types, false)) {
      if (f.start < prefix.length) continue;
      out.push({ type: f.type, start: at + f.start - prefix.length, end: at + f.end - prefix.length, text: f.text });
    }
  };
  // From each `:` or `=`, the key before it and the value after it (each kind looked for again
  // only once passed: a text of many colons and no `=` is not searched to its end each time).
  let colon = text.indexOf(':');
  let equals = text.indexOf('=');
  for (;;) {
    const i = colon === -1 ? equals : equals === -1 ? colon : Math.min(colon, equals);
    if (i === -1) break;
    if (i === colon) colon = text.indexOf(':', i + 1);
    else equals = text.indexOf('=', i + 1);
    const key = KEY_BEFORE_RE.exec(text.slice(Math.max(0, i - 48), i));
    if (key === null) continue;
    VALUE_AFTER_RE.lastIndex = i + 1;
    const value = VALUE_AFTER_RE.exec(text);
    if (value === null) continue;
    read(key[1] as string, value[1] as string, value.index + value[0].length - (value[1] as string).length);
  }
  if (text.includes('</')) {
    XML_VALUE_RE.lastIndex = 0;
    for (let m = XML_VALUE_RE.exec(text); m !== null; m = XML_VALUE_RE.exec(text)) read(m[1] as string, m[2] as string, m.index + m[0].indexOf('>') + 1);
  }
  return out.sort((a, b) => a.start - b.start);
}

// A key (quoted or not) right before a `:` or `=`; then its value up to its end (a quote, a comma,
// a brace, a line end, or the next key).
const KEY_BEFORE_RE = /(?<![\w.-])["']?([A-Za-z][\w.-]{1,40})["']?[ \t]*$/;
const VALUE_AFTER_RE = /[ \t]*["']?((?:(?![ \t]+["']?[A-Za-z][\w.-]{1,40}["']?[ \t]*[:=])[^"'\n,;{}<>[\]]){1,60})/y;
const XML_VALUE_RE = /<([A-Za-z][\w.-]{0,40})(?:\s[^<>]{0,100})?>([^<>\n]{1,60})<\/\1>/g;

/**
 * Replaces findings with typed placeholders. `placeholders` maps a normalised value to its
 * placeholder and is filled as it goes: pass one map per example so that the same value gets the
 * same placeholder in every message and different values get different ones.
 *
 * @param text the text the findings came from
 * @param findings non-overlapping findings of `text` (as {@link findPii} returns them)
 * @param placeholders the example's value → placeholder map (mutated)
 * @returns the redacted text
 * @example
 * const map = new Map<string, string>();
 * const t = 'a@x.org, b@x.org, a@x.org';
 * redactPii(t, findPii(t), map) // '[EMAIL], [EMAIL_2], [EMAIL]'
 */
export function redactPii(text: string, findings: PiiFinding[], placeholders: Map<string, string>): string {
  const sorted = [...findings].sort((a, b) => a.start - b.start);
  let out = '';
  let at = 0;
  for (const f of sorted) {
    if (f.start < at) continue; // overlapping input: keep the first
    out += text.slice(at, f.start) + placeholderFor(f, placeholders);
    at = f.end;
  }
  return out + text.slice(at);
}

/**
 * Scans every message's content and the arguments of its tool calls (JSON text, where a model
 * learns to write what the conversation said: an e-mail address, a card number). In JSON (tool-call
 * arguments, and a tool message's content when it is JSON), a value is read with its key as its
 * label (`"dob": "1961-03-12"` as `dob: 1961-03-12`), numbers too; and a value found anywhere in
 * the example is found wherever else it stands in it, under the type it was first found as.
 * `labelled`: values the messages hold without their label, each with the column or key it came
 * from (what a template mapping placed: `['mrn', '00482913']`), read after that name as a label
 * and found wherever they stand; not themselves counted.
 *
 * @example
 * scanMessages([{ role: 'user', content: 'SSN 123-45-6789' }]).counts.ssn // 1
 */
export function scanMessages(
  messages: Message[],
  types?: readonly PiiType[],
  labelled?: ReadonlyArray<readonly [string, string]>,
): { findings: Array<PiiFinding & { message: number }>; counts: Record<PiiType, number> } {
  const counts = emptyCounts();
  const findings: Array<PiiFinding & { message: number }> = [];
  const known = knownValues(messages, types, labelled);
  messages.forEach((m, message) => {
    for (const { key, text } of messageTexts(m)) {
      for (const f of findAll(key, text, types, known)) {
        findings.push({ ...f, message });
        counts[f.type]++;
      }
    }
  });
  return { findings, counts };
}

/**
 * Redacts every message's content, and the values of its tool calls' arguments (decoded, so an
 * escape such as `\n` or `\u0040` hides nothing; written back with every other byte as it was; a
 * number found whole becomes its placeholder as a string), and a tool message's JSON content the
 * same way, with placeholders that are consistent across the messages: a value found in one place
 * (after its label) is replaced wherever else it stands, with the same placeholder. Messages
 * without findings are returned as they are; others are shallow copies. `also`: texts copied from
 * the messages (an alpaca row's input), redacted with the same placeholders, not counted.
 * `labelled`: as for {@link scanMessages}.
 *
 * @example
 * redactMessages([
 *   { role: 'user', content: 'Is a@x.org mine?' },
 *   { role: 'assistant', content: 'Yes, a@x.org is yours.' },
 * ]).messages.map((m) => m.content) // ['Is [EMAIL] mine?', 'Yes, [EMAIL] is yours.']
 */
export function redactMessages(
  messages: Message[],
  types?: readonly PiiType[],
  also?: readonly string[],
  labelled?: ReadonlyArray<readonly [string, string]>,
): { messages: Message[]; counts: Record<PiiType, number>; also?: string[] } {
  const counts = emptyCounts();
  const placeholders = new Map<string, string>();
  const known = knownValues(messages, types, labelled);
  const redact = (key: string | undefined, text: string): string => {
    const found = findAll(key, text, types, known);
    if (found.length === 0) return text;
    for (const f of found) counts[f.type]++;
    return redactPii(text, found, placeholders);
  };
  const out = messages.map((m): Message => {
    const content = m.role === 'tool' && looksJson(m.content) ? redactJson(m.content, redact) : redact(undefined, m.content);
    const calls = m.tool_calls?.map((c) => {
      const args = redactJson(c.function.arguments, redact, callLabel(c.function.name));
      return args === c.function.arguments ? c : { ...c, function: { ...c.function, arguments: args } };
    });
    const changedCalls = calls !== undefined && calls.some((c, i) => c !== m.tool_calls?.[i]);
    // A participant name (a chat export names a sender by phone number or e-mail address).
    const name = m.name === undefined ? undefined : redact(undefined, m.name);
    if (content === m.content && !changedCalls && name === m.name) return m;
    const changed: Message = changedCalls ? { ...m, content, tool_calls: calls } : { ...m, content };
    if (name !== m.name) changed.name = name as string;
    return changed;
  });
  if (also === undefined) return { messages: out, counts };
  // Copies of message text (an alpaca row's input), redacted alike and not counted again.
  return { messages: out, counts, also: also.map((text) => redactPii(text, findAll(undefined, text, types, known), placeholders)) };
}

/** A text of a message to scan, with the JSON key it stands under (its label), if any. */
interface KeyedText {
  key: string | undefined;
  text: string;
}

/** The texts of a message: its content (a tool message's JSON by value and key), its tool calls' argument values and keys. */
function messageTexts(m: Message): KeyedText[] {
  const out = m.role === 'tool' && looksJson(m.content) ? jsonTexts(m.content) : [{ key: undefined, text: m.content }];
  for (const c of m.tool_calls ?? []) out.push(...jsonTexts(c.function.arguments, callLabel(c.function.name)));
  if (m.name !== undefined) out.push({ key: undefined, text: m.name });
  return out;
}

/** Whether a text is a JSON object or array (a tool's result is often one). */
function looksJson(text: string): boolean {
  const c = text.trimStart()[0];
  return c === '{' || c === '[';
}

// JSON nested deeper than this is read string by string: walking it would overflow the stack.
const MAX_JSON_DEPTH = 200;

/**
 * The string and number values of JSON text, decoded, each with its label, and the object keys
 * themselves, as {@link redactJson} visits them (so a scan finds what redaction replaces); the text
 * itself when it is not JSON.
 */
function jsonTexts(json: string, toolLabel?: string): KeyedText[] {
  const out: KeyedText[] = [];
  redactJson(
    json,
    (key, text) => {
      out.push({ key, text });
      return text;
    },
    toolLabel,
  );
  return out;
}

/**
 * The label a tool's name gives its arguments: a phone for a tool that texts or rings someone
 * (`send_sms`, `sendWhatsApp`, `dial_number`), whose `to`/`from`/`recipient` is a number.
 */
function callLabel(name: string): string | undefined {
  return keyLabel(name, undefined) === 'phone' || keyWords(name).some((w) => CALL_WORDS.has(w)) ? 'phone' : undefined;
}

const CALL_WORDS = new Set(['sms', 'mms', 'dial', 'voicemail', 'whatsapp', 'ring']);
/** Keys that name whom a message or call goes to or comes from: a phone under a tool that texts or rings. */
const PARTY_KEYS = new Set(['to', 'from', 'recipient', 'recipients', 'sender', 'destination', 'caller', 'callee']);

/** JSON text parsed, or undefined when it is not JSON. */
function parsedJson(json: string): JsonNode | undefined {
  try {
    return parseJsonNode(json);
  } catch {
    return undefined;
  }
}

/**
 * The label an object's string value names for its generic keys (`{"type": "ssn", "value": …}`,
 * FHIR's `{"system": "phone", "value": …}`), if one does.
 */
function siblingLabel(n: Extract<JsonNode, { kind: 'object' }>): string | undefined {
  for (const [k, v] of n.entries) {
    if (!SIBLING_KEYS.has(k.toLowerCase())) continue;
    const label = v.kind === 'string' ? namedLabel(v.value) : v.kind === 'object' ? codedLabel(v) : undefined;
    if (label !== undefined) return label;
  }
  return undefined;
}

/** The label a short name of a kind gives (`"ssn"`, `"Medical record number"`), read as a key. */
function namedLabel(name: string): string | undefined {
  return name.length > 40 ? undefined : keyLabel(name, undefined);
}

/**
 * The label of a FHIR CodeableConcept (`{"coding": [{"code": "MR", "display": …}], "text": …}`, an
 * identifier's `type`): its text or a coding's display read as a name, or a coding's code from
 * HL7's identifier types (v2 table 0203).
 */
function codedLabel(n: Extract<JsonNode, { kind: 'object' }>): string | undefined {
  for (const [k, v] of n.entries) {
    if (k === 'text' && v.kind === 'string') {
      const label = namedLabel(v.value);
      if (label !== undefined) return label;
    }
    if (k !== 'coding' || v.kind !== 'array') continue;
    for (const coding of v.items) {
      if (coding.kind !== 'object') continue;
      for (const [ck, cv] of coding.entries) {
        if (cv.kind !== 'string') continue;
        const label = ck === 'code' ? (Object.hasOwn(IDENTIFIER_TYPES, cv.value) ? IDENTIFIER_TYPES[cv.value] : undefined) : ck === 'display' ? namedLabel(cv.value) : undefined;
        if (label !== undefined) return label;
      }
    }
  }
  return undefined;
}

/** HL7 v2 table 0203 identifier-type codes (FHIR's `identifier.type`) of the label-bound types. */
const IDENTIFIER_TYPES: Readonly<Record<string, string>> = {
  MR: 'MRN',
  MRT: 'MRN',
  PI: 'MRN',
  PT: 'MRN',
  SS: 'SSN',
  SB: 'SSN',
  TAX: 'SSN',
  AN: 'account number',
  ANC: 'account number',
  AND: 'account number',
  ANT: 'account number',
  BA: 'account number',
  BC: 'card number',
  AM: 'card number',
  DI: 'card number',
  DS: 'card number',
  MS: 'card number',
  VS: 'card number',
};

// The keys whose value names what its sibling `value` or `id` is ({"type": "ssn"}, FHIR's "system").
const SIBLING_KEYS = new Set(['type', 'system', 'kind', 'label', 'use']);

/** The label a column path gives its value (`mrn`, `patient.mrn`, `account.number`), as JSON keys do. */
function pathLabel(path: string): string | undefined {
  let label: string | undefined;
  for (const key of path.split('.')) label = keyLabel(key, label);
  return label;
}

/** A key's or a name's words, in lower case, without trailing digits (`phone1`, `sendWhatsApp`, `date_of_birth`). */
function keyWords(key: string): string[] {
  return key
    .replace(/whats_?app/gi, '_whatsapp_')
    .replace(/([a-z\d])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .split(/[^a-z\d]+/)
    .map((w) => w.replace(/\d+$/, ''))
    .filter((w) => w !== '');
}

/**
 * The label a JSON key gives its value, from a vocabulary of the label-bound types (a date of birth,
 * an MRN, an SSN, an account, a phone, a card): `date_of_birth`, `dateOfBirth`, `holder_dob` read as
 * "date of birth: ", `account_number`, `accountId`, `accounts` as "account number: ", `phone1` as
 * "phone: "; other keys (`margin_call_amount`, `call_id`) give none. A generic key (`number`,
 * `value`) takes the label of the key above it (`{"account": {"number": …}}`).
 */
function keyLabel(key: string, parent: string | undefined): string | undefined {
  const words = keyWords(key);
  const has = (...w: string[]) => w.some((x) => words.includes(x));
  // A time of an event about the record (birth_date_updated_at), not the value itself.
  if (has('updated', 'created', 'modified', 'at', 'count', 'total', 'amount')) return undefined;
  if (has('dob', 'birthdate', 'birthday', 'born', 'geburtsdatum', 'nacido', 'nacida') || (has('birth') && (has('date', 'day') || words.length === 1)) || (has('nacimiento', 'naissance') && has('fecha', 'date'))) return 'date of birth';
  if (has('mrn', 'mrns') || (has('medical') && has('record', 'records')) || (has('med') && has('rec')) || (has('patient', 'pt') && has('id', 'number', 'no', 'identifier') && !has('account', 'acct')) || (has('hospital', 'chart') && has('number', 'no'))) return 'MRN';
  if (has('ssn', 'ssns', 'tin', 'itin') || (has('social') && has('security')) || (has('tax') && has('id', 'number', 'no'))) return 'SSN';
  if (has('phone', 'phones', 'telephone', 'tel', 'mobile', 'fax', 'msisdn', 'whatsapp') || (has('cell') && (words.length === 1 || has('number', 'no'))) || (has('contact') && has('number', 'no'))) return 'phone';
  if (has('iban')) return 'IBAN';
  if ((has('card') && has('number', 'no', 'num', 'pan')) || has('pan')) return 'card number';
  const last = words[words.length - 1];
  if (words.length === 1 && ['account', 'accounts', 'acct', 'konto', 'kontonummer'].includes(last as string)) return 'account number';
  if (has('account', 'acct', 'acc', 'konto', 'cuenta', 'compte') && has('number', 'no', 'num', 'id', 'nr', 'numero')) return 'account number';
  if (parent !== undefined && words.length === 1 && ['number', 'no', 'num', 'value', 'id', 'nr'].includes(last as string)) return parent;
  return undefined;
}

/**
 * Findings in `text`, read after its label (from a JSON key, see {@link keyLabel}), only those
 * within the text; and every other place a value already found in the example stands, under that
 * value's type.
 */
function findAll(label: string | undefined, text: string, types: readonly PiiType[] | undefined, known: KnownValues): PiiFinding[] {
  // Read once per example: the search for known values found these already.
  const found = known.found.get(label ?? '')?.get(text) ?? labelledFindings(label, text, types);
  if (known.byValue.size === 0) return found;
  // A value found elsewhere keeps its type here (one placeholder for it), and is found where no
  // label stands before it: looked up by its first characters at each word start, in one pass.
  const typed = found.map((f) => {
    const type = known.byValue.get(f.text);
    return type === undefined || type === f.type ? f : { ...f, type };
  });
  const again: PiiFinding[] = [];
  for (let at = 0; at + KNOWN_MIN_CHARS <= text.length; at++) {
    if (at > 0 && WORD_CHAR.test(text[at - 1] as string)) continue;
    const candidates = known.byHead.get(text.slice(at, at + KNOWN_MIN_CHARS));
    if (candidates === undefined) continue;
    for (const value of candidates) {
      const end = at + value.length;
      if (!text.startsWith(value, at) || WORD_CHAR.test(text[end] ?? '')) continue;
      again.push({ type: known.byValue.get(value) as PiiType, start: at, end, text: value });
      break;
    }
  }
  return again.length === 0 ? typed : mergeFree(typed, again);
}

/** Findings in `text` read after `label` (`dob: …`), only those within the text. */
function labelledFindings(label: string | undefined, text: string, types: readonly PiiType[] | undefined): PiiFinding[] {
  if (label === undefined) return findPii(text, types);
  const prefix = `${label}: `;
  return findPii(prefix + text, types)
    .filter((f) => f.start >= prefix.length)
    .map((f) => ({ ...f, start: f.start - prefix.length, end: f.end - prefix.length }));
}

const WORD_CHAR = /[\p{L}\p{N}_]/u;
// Values shorter than this are not looked for again elsewhere in the example: a short number
// found after its label is no reason to replace the same digits in an amount or a date.
const KNOWN_MIN_CHARS = 6;

/**
 * The values found in an example, by value and by their first KNOWN_MIN_CHARS characters (longest
 * first), and the findings of each text by label, from the reading that found them.
 */
interface KnownValues {
  byValue: Map<string, PiiType>;
  byHead: Map<string, string[]>;
  found: Map<string, Map<string, PiiFinding[]>>;
}

/**
 * Every value found in the example (as read in its place, labels included), with the type it was
 * first found as, and for numbers written with separators their digits alone (`415-555-0132` is
 * also `4155550132`). Phones only in a strong shape (a `+` or trunk `0`, or a North American
 * number): a weaker phone-like number (an audience of 120 000 000 after "reach") is no reason to
 * replace the same digits elsewhere.
 */
function knownValues(messages: Message[], types: readonly PiiType[] | undefined, labelled?: ReadonlyArray<readonly [string, string]>): KnownValues {
  const byValue = new Map<string, PiiType>();
  const found = new Map<string, Map<string, PiiFinding[]>>();
  const add = (value: string, type: PiiType): void => {
    if (value.length >= KNOWN_MIN_CHARS && !byValue.has(value)) byValue.set(value, type);
  };
  const read = (key: string | undefined, text: string, cache: boolean): void => {
    const inText = labelledFindings(key, text, types);
    if (cache) {
      let byText = found.get(key ?? '');
      if (!byText) found.set(key ?? '', (byText = new Map()));
      byText.set(text, inText);
    }
    for (const f of inText) {
      // A phone under a key (`"phone": "4155550132"`) is one whatever its shape; in text, only a strong shape.
      if (f.type === 'phone' && key === undefined && !STRONG_PHONE_RE.test(f.text)) continue;
      add(f.text, f.type);
      // Its digits alone too, for numbers of 8 digits or more written with separators (not dates,
      // not money-grouped amounts: 1 000 000 is no reason to replace 1000000 units).
      const digits = f.text.replace(/\D/g, '');
      if (f.type !== 'dob' && f.type !== 'email' && f.type !== 'url_credentials' && digits.length >= 8 && /^[\d\s().+-]+$/.test(f.text) && !/^\d{1,3}(?:[ ,.]\d{3})+$/.test(f.text)) {
        add(digits, f.type);
        // A North American number without its country code too (+1 646 555 0190 as 6465550190).
        if (f.type === 'phone' && f.text.trimStart().startsWith('+1') && digits.length === 11) add(digits.slice(1), f.type);
      }
    }
  };
  // Values placed from named columns first, each read after its column's label (no label: not read).
  for (const [path, text] of labelled ?? []) {
    const key = pathLabel(path);
    if (key !== undefined) read(key, text, false);
  }
  for (const m of messages) for (const { key, text } of messageTexts(m)) read(key, text, true);
  const byHead = new Map<string, string[]>();
  for (const value of [...byValue.keys()].sort((a, b) => b.length - a.length)) {
    const head = value.slice(0, KNOWN_MIN_CHARS);
    const list = byHead.get(head);
    if (list) list.push(value);
    else byHead.set(head, [value]);
  }
  return { byValue, byHead, found };
}

const STRONG_PHONE_RE = /^(?:\+|0|\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}$)/;

/**
 * JSON text (tool-call arguments, a tool's result) with `redact` applied to each string value,
 * decoded, with its label, and to each key; a number found whole becomes its placeholder (a
 * string). The text as it was when nothing changed, else compact with number literals as written.
 * Text that is not JSON is redacted as text; JSON that nests too deep to walk, string by string.
 */
function redactJson(json: string, redact: (label: string | undefined, text: string) => string, toolLabel?: string): string {
  const node = parsedJson(json);
  if (node === undefined) return redact(undefined, json);
  if (nestsOver(node, MAX_JSON_DEPTH)) return redactStringLiterals(json, redact);
  let changed = false;
  // The tool's own label reaches the keys naming a party at the top (`{"to": …}` of send_sms), no other.
  const party = (n: JsonNode, k: string) => (toolLabel !== undefined && n === node && PARTY_KEYS.has(k.toLowerCase()) ? toolLabel : undefined);
  const walk = (n: JsonNode, label: string | undefined): JsonNode => {
    if (n.kind === 'string' || n.kind === 'number') {
      const text = n.kind === 'string' ? n.value : n.raw;
      const value = redact(label, text);
      if (value === text) return n;
      changed = true;
      return { kind: 'string', value };
    }
    if (n.kind === 'array') return { kind: 'array', items: n.items.map((item) => walk(item, label)) };
    if (n.kind === 'object') {
      const above = label ?? siblingLabel(n);
      return {
        kind: 'object',
        entries: n.entries.map(([k, v]) => {
          const key = redact(undefined, k);
          if (key !== k) changed = true;
          return [key, walk(v, keyLabel(k, above) ?? party(n, k))];
        }),
      };
    }
    return n;
  };
  const redacted = walk(node, undefined);
  return changed ? stringifyJsonNode(redacted) : json;
}

/** Whether a JSON node nests more than `max` levels (looked at no deeper than that). */
function nestsOver(n: JsonNode, max: number): boolean {
  if (n.kind !== 'array' && n.kind !== 'object') return false;
  if (max === 0) return true;
  return n.kind === 'array' ? n.items.some((item) => nestsOver(item, max - 1)) : n.entries.some(([, v]) => nestsOver(v, max - 1));
}

/**
 * JSON too deep to walk, redacted string literal by string literal (keys and values, decoded and
 * written back as JSON strings, without labels): it stays JSON, where redacting it as text would put
 * a placeholder in place of a bare number.
 */
function redactStringLiterals(json: string, redact: (label: string | undefined, text: string) => string): string {
  return json.replace(/"(?:[^"\\]|\\.)*"/g, (literal) => {
    const value = JSON.parse(literal) as string;
    const out = redact(undefined, value);
    return out === value ? literal : JSON.stringify(out);
  });
}

/** True when the digits pass the Luhn check (payment cards). */
export function luhnValid(digits: string): boolean {
  if (!/^\d+$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** True when an IBAN (spaces allowed) has a known country length and passes the mod-97 check. */
export function ibanValid(iban: string): boolean {
  const s = iban.replace(/ /g, '').toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(s)) return false;
  const len = IBAN_LENGTHS[s.slice(0, 2)];
  if (len === undefined || s.length !== len) return false;
  return mod97(s.slice(4) + s.slice(0, 4)) === 1;
}

// --- internal ---

const PRIORITY: readonly PiiType[] = [
  'url_credentials',
  'email',
  'iban',
  'card',
  'ssn',
  'ip',
  'mrn',
  'account',
  'dob',
  'phone',
];

/**
 * Merges candidates (sorted by start) into accepted findings (sorted, non-overlapping), dropping every
 * candidate that overlaps an accepted finding or an earlier kept candidate. Linear in both lengths.
 */
function mergeFree(accepted: PiiFinding[], candidates: PiiFinding[]): PiiFinding[] {
  const out: PiiFinding[] = [];
  let i = 0;
  let lastEnd = -1; // end of the last kept candidate
  for (const c of candidates) {
    while (i < accepted.length && accepted[i]!.start < c.start) out.push(accepted[i++]!);
    const prev = i > 0 ? accepted[i - 1] : undefined;
    const next = accepted[i];
    if (c.start < lastEnd || (prev && prev.end > c.start) || (next && next.start < c.end)) continue;
    out.push(c);
    lastEnd = c.end;
  }
  while (i < accepted.length) out.push(accepted[i++]!);
  return out;
}

function emptyCounts(): Record<PiiType, number> {
  return { email: 0, phone: 0, card: 0, iban: 0, ssn: 0, dob: 0, ip: 0, url_credentials: 0, mrn: 0, account: 0 };
}

function placeholderFor(f: PiiFinding, map: Map<string, string>): string {
  const key = `${f.type}\u0000${normalizeValue(f)}`;
  const known = map.get(key);
  if (known !== undefined) return known;
  const stem = PII_PLACEHOLDERS[f.type];
  const countKey = `\u0000count\u0000${f.type}`;
  const n = Number(map.get(countKey) ?? '0') + 1;
  map.set(countKey, String(n));
  const placeholder = n === 1 ? `[${stem}]` : `[${stem}_${n}]`;
  map.set(key, placeholder);
  return placeholder;
}

function normalizeValue(f: PiiFinding): string {
  switch (f.type) {
    case 'email':
    case 'ip':
    case 'url_credentials':
      return f.text.toLowerCase();
    case 'phone': {
      // One number, one placeholder: +1 (646) 555-0190, 16465550190 and 646-555-0190 alike.
      const digits = f.text.replace(/\D/g, '');
      return digits.length === 11 && digits.startsWith('1') ? digits.slice(1) : digits;
    }
    case 'card':
    case 'ssn':
      return f.text.replace(/\D/g, '');
    case 'iban':
    case 'mrn':
    case 'account':
      return f.text.replace(/[\s-]/g, '').toUpperCase();
    case 'dob':
      return f.text.toLowerCase().replace(/\s+/g, ' ');
  }
}

const finding = (type: PiiType, text: string, start: number, end: number): PiiFinding => ({
  type,
  start,
  end,
  text: text.slice(start, end),
});

/** Runs a global regex and maps each match through `check` (which returns a finding or nothing). */
function scan(re: RegExp, text: string, check: (m: RegExpExecArray) => PiiFinding | undefined): PiiFinding[] {
  const out: PiiFinding[] = [];
  re.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    const f = check(m);
    if (f) out.push(f);
    if (m[0].length === 0) re.lastIndex++;
  }
  return out;
}

/** Context before `index`, at most `chars` long. */
/**
 * The `chars` characters before `index`, for label and context checks, with placeholders left by
 * an earlier redaction (`[PHONE]`, `[SSN_2]`) blanked: a placeholder is never a label, so redacting
 * redacted text changes nothing.
 */
const before = (text: string, index: number, chars: number) => text.slice(Math.max(0, index - chars), index).replace(PLACEHOLDER_RE, (p) => ' '.repeat(p.length));
const PLACEHOLDER_RE = /\[[A-Z]+(?:_[A-Z]+)*(?:_\d+)?\]/g;

// E-mail: a local part and a dotted domain ending in a 2–24 letter TLD; trailing dots are not taken.
// Letters and digits of any script: addresses such as josé.garcia@example.es or müller@firma.de
// (RFC 6531 local parts, internationalised domain names) are found whole.
// An apostrophe inside the local part (o'brien@example.ie, or o’brien with the typographic one
// phones write) belongs to it; one before it is a quote.
const EMAIL_RE =
  /(?<![\p{L}\p{M}\p{N}_.%+-]|[\p{L}\p{N}]['\u2019])[\p{L}\p{N}_%+-](?:[\p{L}\p{M}\p{N}._%+'\u2019-]{0,62}[\p{L}\p{M}\p{N}_%+-])?@(?:[\p{L}\p{N}](?:[\p{L}\p{M}\p{N}-]{0,61}[\p{L}\p{M}\p{N}])?\.){1,8}\p{L}[\p{L}\p{M}]{1,23}(?![\p{L}\p{M}\p{N}_-]|\.[\p{L}\p{N}])/gu;

function findEmails(text: string): PiiFinding[] {
  // The Unicode classes make the expression slow to run over text with no '@' at all: most text.
  if (!text.includes('@')) return [];
  return scan(EMAIL_RE, text, (m) => finding('email', text, m.index, m.index + m[0].length));
}

// scheme://user:password@host[:port][/path], also with no user (redis://:password@host) or a token
// alone (https://ghp_…@github.com); the whole URL is one finding.
const URL_CRED_RE =
  /(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{1,15}:\/\/(?:[^\s:/@<>"']{0,64}:[^\s/@<>"']{1,128}|([^\s:/@<>"']{16,128}))@[A-Za-z0-9.-]{1,253}(?::\d{1,5})?(?:[/?#][^\s<>"']{0,2000})?/g;

function findUrlCredentials(text: string): PiiFinding[] {
  return scan(URL_CRED_RE, text, (m) => {
    // A user name alone (ssh://git@github.com, a long one too) is no secret; a token mixes letters and digits.
    const token = m[1];
    if (token !== undefined && !(/\d/.test(token) && /[A-Za-z]/.test(token))) return undefined;
    let end = m.index + m[0].length;
    while (end > m.index && /[.,;:!?)\]}'"]/.test(text[end - 1] ?? '')) end--;
    return finding('url_credentials', text, m.index, end);
  });
}

// IBAN: country + check digits + BBAN, in one block or in groups of four separated by single spaces;
// in any case (the lower-cased texts near-dedup compares are shown in the report), mod-97 checked.
const IBAN_RE = /(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]){11,30}/g;

function findIbans(text: string): PiiFinding[] {
  return scan(IBAN_RE, text, (m) => {
    const len = IBAN_LENGTHS[m[0].slice(0, 2).toUpperCase()];
    if (len === undefined) return undefined;
    // Take exactly `len` alphanumerics, so a following word in capitals is not swallowed.
    let count = 0;
    let i = 0;
    for (; i < m[0].length && count < len; i++) if (m[0][i] !== ' ') count++;
    if (count < len) return undefined;
    const end = m.index + i;
    if (/[A-Za-z0-9]/.test(text[end] ?? '')) return undefined;
    const f = finding('iban', text, m.index, end);
    // In lower case only grouped by four, as it was written before being lower-cased: a code word
    // such as "se84" before ordinary words, or a lower-case hex id, is no IBAN.
    if (f.text !== f.text.toUpperCase() && !/^[a-z]{2}\d{2}(?: [a-z0-9]{4})+(?: [a-z0-9]{1,3})?$/i.test(f.text) && !/\biban\b[^\w]{0,6}$/i.test(before(text, m.index, 12))) return undefined;
    return ibanValid(f.text) ? f : undefined;
  });
}

// Payment card: 13–19 digits, optionally grouped by single spaces or dashes, Luhn-checked, opening
// with an issuer's number and of that scheme's length.
const CARD_RE = /(?<![\dA-Za-z-])[2-6](?:[ -]?\d){12,18}(?![\dA-Za-z]|[ -]\d)/g;

// The label of another kind of number right before a card-shaped one ("transaction 4539…"), with
// no card word near: it is that number (a Luhn check passes one random number in ten).
const NOT_CARD_LABEL_RE = /(?:\b(?:transaction|txn|trx|order|invoice|inv|ref|reference|tracking|confirmation|booking|ticket|shipment|parcel|id)\b|\bno\.|#)[^\d]{0,12}$/i;
const CARD_WORD_RE = /\b(?:card|visa|master\s?card|amex|american express|discover|maestro|jcb|diners|unionpay|credit|debit|cc|pan)\b/i;

/** Whether the digits open with an issuer's number (IIN) and have that scheme's length. */
function cardIssuerOk(d: string): boolean {
  const n = d.length;
  const p2 = Number(d.slice(0, 2));
  const p3 = Number(d.slice(0, 3));
  const p4 = Number(d.slice(0, 4));
  if (d[0] === '4') return n === 13 || n === 16 || n === 19; // Visa
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return n === 16; // Mastercard
  if (p4 >= 2200 && p4 <= 2204) return n >= 16 && n <= 19; // Mir
  if (p2 === 34 || p2 === 37) return n === 15; // American Express
  if (p4 === 6011 || p2 === 65 || (p3 >= 644 && p3 <= 649) || p2 === 62) return n >= 16 && n <= 19; // Discover, UnionPay
  if (p4 >= 3528 && p4 <= 3589) return n >= 16 && n <= 19; // JCB
  if ((p3 >= 300 && p3 <= 305) || p2 === 36 || p2 === 38 || p2 === 39) return n >= 14 && n <= 19; // Diners
  if (p2 === 50 || (p2 >= 56 && p2 <= 69)) return n >= 12 && n <= 19; // Maestro
  return false;
}

function findCards(text: string): PiiFinding[] {
  return scan(CARD_RE, text, (m) => {
    const digits = m[0].replace(/\D/g, '');
    if (!luhnValid(digits) || /^(\d)\1+$/.test(digits)) return undefined;
    // After a card word the number is a card whatever its issuer; without one it must open with an
    // issuer's number, and not follow the label of another kind of number.
    const ctx = before(text, m.index, 30);
    if (!CARD_WORD_RE.test(ctx) && (!cardIssuerOk(digits) || NOT_CARD_LABEL_RE.test(ctx))) return undefined;
    if (/[ -]/.test(m[0]) && !/^\d{4}([ -])\d{4,6}\1\d{4,6}(?:\1\d{1,4}(?:\1\d{1,3})?)?$/.test(m[0])) return undefined;
    return finding('card', text, m.index, m.index + m[0].length);
  });
}

// US SSN AAA-GG-SSSS, excluding area 000/666/9xx, group 00 and serial 0000.
const SSN_RE = /(?<![\w-])(\d{3})-(\d{2})-(\d{4})(?![\w]|-\d)/g;

// After its label, in the same clause, an SSN may also be written with spaces or as 9 bare digits.
const SSN_SHAPE_RE = /(?<![\w-])(\d{3})([ -]?)(\d{2})\2(\d{4})(?![\w]|[ -]\d)/g;
// Not inside a placeholder: "[SSN]" left by an earlier redaction is no label (redacting twice must
// equal redacting once).
const SSN_LABEL_RE = /(?<![A-Za-z[])(?:ssns?|s\.s\.n\.?|social\s+security|soc\.?\s*sec\.?|ss#)(?![A-Za-z])/gi;
// How far before the number its label may be ("SSN, which she gave at intake, is 421812392").
const SSN_LABEL_REACH = 60;
// What may not stand between the label and the number: the end of a sentence or clause, another
// number (the label is that one's), or the name of another kind of number ("SSN on file and phone
// 421 81 2392"). "patient", "file" and "record" are not names here: "SSN on file: 421 81 2392".
const CLAUSE_BREAK_RE = /[;!?\n]|\.\s+[A-Z]|\d(?:[ -]?\d){4}/;
const OTHER_NUMBER_NAME_RE =
  /\b(?:order|invoice|inv|ref|reference|case|docket|ticket|policy|claim|po|sku|serial|tracking|part|item|contract|batch|lot|receipt|transaction|txn|mrn|account|acct|routing|phone|tel|telephone|fax|mobile|cell|passport|licen[cs]e|ein)\b/i;
// The label of another kind of number right before an SSN-shaped value: it is that number.
const NOT_SSN_LABEL_RE =
  /(?:\b(?:order|invoice|inv|ref|reference|case|docket|ticket|policy|claim|po|sku|serial|tracking|part|item|contract|file|batch|lot|receipt|transaction|txn|mrn|record|patient|account|acct)\b|\bno\.|#)[^\d]{0,12}$/i;

// The same words, tested anywhere in a window.
const SSN_WORD_RE = new RegExp(SSN_LABEL_RE.source, 'i');

function ssnValid(area: string, group: string, serial: string): boolean {
  return !(area === '000' || area === '666' || area.startsWith('9') || group === '00' || serial === '0000');
}

function findSsns(text: string): PiiFinding[] {
  const dashed = scan(SSN_RE, text, (m) => {
    const [, area = '', group = '', serial = ''] = m;
    if (!ssnValid(area, group, serial)) return undefined;
    const ctx = before(text, m.index, 30);
    if (NOT_SSN_LABEL_RE.test(ctx) && !SSN_WORD_RE.test(ctx)) return undefined;
    return finding('ssn', text, m.index, m.index + m[0].length);
  });
  // SSNs found so far are no other number between a label and the next SSN: a list after one
  // label ("my SSN is 866731931 and my spouse's is 263929999") is read whole.
  const found = [...dashed];
  const labelledSsns = scan(SSN_SHAPE_RE, text, (m) => {
    const [, area = '', sep = '', group = '', serial = ''] = m;
    if (!ssnValid(area, group, serial)) return undefined;
    const from = Math.max(0, m.index - SSN_LABEL_REACH);
    let window = before(text, m.index, SSN_LABEL_REACH);
    for (const f of found) {
      if (f.end <= from || f.start >= m.index) continue;
      const [a, b] = [Math.max(f.start, from) - from, Math.min(f.end, m.index) - from];
      window = window.slice(0, a) + ' '.repeat(b - a) + window.slice(b);
    }
    let label: RegExpExecArray | undefined;
    for (const w of window.matchAll(SSN_LABEL_RE)) label = w;
    if (!label) return undefined;
    const connector = window.slice(label.index + label[0].length);
    // Nine bare digits are a less certain shape: nothing numeric between them and the label.
    if (CLAUSE_BREAK_RE.test(connector) || OTHER_NUMBER_NAME_RE.test(connector) || (sep === '' && /\d/.test(connector))) return undefined;
    const f = finding('ssn', text, m.index, m.index + m[0].length);
    found.push(f);
    return f;
  });
  const seen = new Set(dashed.map((f) => f.start));
  return [...dashed, ...labelledSsns.filter((f) => !seen.has(f.start))].sort((a, b) => a.start - b.start);
}

const IPV4_RE = /(?<![\w.:-])(?:\d{1,3}\.){3}\d{1,3}(?![\w-]|\.\d)/g;
// A dotted quad right after one of these words is a version or section number, not an address.
const VERSION_WORD_RE =
  /(?:^|[^A-Za-z])(?:v|ver|version|release|build|firmware|update|rev|revision|section|sect|clause|article|art|chapter|para|paragraph|§)\.?\s*$/i;
// "Upgrade the client to 10.4.2.1": a dotted quad that something is upgraded or downgraded to, in
// the same clause, is a version. Nothing is upgraded to an address; "update the gateway to
// 192.168.1.1" or "move the server to 10.0.0.5" stay addresses.
const UPGRADE_TO_RE = /\b(?:upgrad|downgrad)(?:e|es|ed|ing)\b[^.;\n]{0,40}\bto\s*$/i;
const IPV6_RE = /(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:]|\.\d)/g;

function findIps(text: string): PiiFinding[] {
  const v4 = scan(IPV4_RE, text, (m) => {
    const octets = m[0].split('.');
    if (!octets.every((o) => Number(o) <= 255 && !(o.length > 1 && o.startsWith('0')))) return undefined;
    if (VERSION_WORD_RE.test(before(text, m.index, 20)) || UPGRADE_TO_RE.test(before(text, m.index, 60))) return undefined;
    // A network (192.0.2.0/24: no host bits) or a netmask (255.255.255.0) is no one's address; a
    // host written with its prefix (10.20.30.40/24, /32) is.
    const prefix = /^\/(\d{1,2})(?!\d)/.exec(text.slice(m.index + m[0].length, m.index + m[0].length + 4));
    if (prefix !== null && Number(prefix[1]) < 32) {
      const host = octets.reduce((v, o) => v * 256 + Number(o), 0) % 2 ** (32 - Number(prefix[1]));
      if (host === 0) return undefined;
    }
    if (octets[0] === '255' || m[0] === '0.0.0.0') return undefined;
    return finding('ip', text, m.index, m.index + m[0].length);
  });
  const v6 = scan(IPV6_RE, text, (m) => (ipv6Valid(m[0]) ? finding('ip', text, m.index, m.index + m[0].length) : undefined));
  return [...v4, ...v6];
}

function ipv6Valid(s: string): boolean {
  const halves = s.split('::');
  if (halves.length > 2) return false;
  const groups = (h: string | undefined) => (h === undefined || h === '' ? [] : h.split(':'));
  const left = groups(halves[0]);
  const right = groups(halves[1]);
  const all = [...left, ...right];
  if (!all.every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g))) return false;
  if (halves.length === 1) return all.length === 8;
  // Compressed: at least two groups written (so `::` and `a::` in prose are not addresses).
  return all.length >= 2 && all.length <= 7;
}

// Dates of birth: a date right after a birth word (only a short, digit-free connector between).
const MONTHS =
  'jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?' +
  // French, Spanish and German month names, for the birth words in those languages below.
  '|janv(?:ier)?|f[ée]vr(?:ier)?|mars|avr(?:il)?|mai|juin|juil(?:let)?|ao[uû]t|sept(?:embre)?|oct(?:obre)?|nov(?:embre)?|d[ée]c(?:embre)?' +
  '|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre' +
  '|januar|februar|m[äa]rz|juni|juli|oktober|dezember';
const DATE_RE = new RegExp(
  String.raw`(?<![\w./-])(?:\d{4}-\d{1,2}-\d{1,2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?|(?:19|20)\d{2}[./]\d{1,2}[./]\d{1,2}|(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])|\d{1,2}-(?:${MONTHS})-\d{4}|\d{1,2}\s(?:de\s)?(?:${MONTHS})\s(?:de\s)?\d{4}|\d{1,2}[./-]\d{1,2}[./-](?:\d{4}|\d{2})|\d{1,2}(?:st|nd|rd|th)?\.?\s(?:of\s)?(?:${MONTHS})\.?,?\s\d{4}|(?:${MONTHS})\.?\s\d{1,2}(?:st|nd|rd|th)?,?\s\d{4})(?![\w]|[./-]\d)`,
  'gi',
);
const BIRTH_WORD_RE =
  /(?<![A-Za-zÀ-ÿ])(?:born|d\.?o\.?b\.?|date[\s_]*of[\s_]*birth|birth[\s_]*date|birthday|né|née|geb\.|geboren|geburtsdatum|date\s+de\s+naissance|fecha\s+de\s+nacimiento|nacid[oa])(?![A-Za-zÀ-ÿ])/gi;
// Quotes and `=` too: a birth word as a JSON or dict key ("dob": "1961-03-12", dob='12/03/1961').
// Arrows and a format hint too: `DOB → 1979-11-02`, `DOB (MM/DD/YYYY): 11/02/1979`.
const DOB_CONNECTOR_RE = /^[\s:,(–—"'=>→-]*(?:\((?:[dmyj]{1,4}[/.\- ]?){2,3}\)[\s:]*)?(?:(?:on|in|at|is|was|am|le|den|the|of|:)[\s"']*)*$/i;
// Between two dates of birth listed after one birth word: `DOB: 02/11/2010, 03/12/2012`.
const DOB_LIST_RE = /^\s*(?:[,&/]|and|or|und|et|y)\s*$/i;
const DATE_NAMED_RE = /^\s+(?!(?:and|or|und|et|y)\b)[A-Za-z]/i;

function findDobs(text: string): PiiFinding[] {
  let previous: PiiFinding | undefined;
  return scan(DATE_RE, text, (m) => {
    // A date listed after a date of birth, unless a word follows it ("DOB 1990-01-01, 2024-03-01 admission").
    const listed = previous !== undefined && DOB_LIST_RE.test(text.slice(previous.end, m.index)) && !DATE_NAMED_RE.test(text.slice(m.index + m[0].length, m.index + m[0].length + 20));
    if (!listed) {
      const window = before(text, m.index, 40);
      let last: RegExpExecArray | undefined;
      BIRTH_WORD_RE.lastIndex = 0;
      for (let w = BIRTH_WORD_RE.exec(window); w !== null; w = BIRTH_WORD_RE.exec(window)) last = w;
      if (!last) return undefined;
      const between = window.slice(last.index + last[0].length);
      if (!DOB_CONNECTOR_RE.test(between)) return undefined;
    }
    previous = finding('dob', text, m.index, m.index + m[0].length);
    return previous;
  });
}

// Medical record numbers and account numbers: a value right after its label.
// Between a label and its value: words, punctuation and arrows (`MRN: `, `MRN is `, `MRN - `, `MRN → `).
const LABEL_CONNECTOR = String.raw`(?:\s*(?:is|was|:|=|#|no\.?|number|\)|["']|-{1,2}>?|=>|→|—)){0,4}`;
const MRN_RE = new RegExp(
  String.raw`(?<![A-Za-z])(?:MRNs?|MR(?=#)|medical[\s_]+records?(?:[\s_]+(?:numbers?|no\.?|#))?|med\.?\s+rec\.?(?:\s+(?:number|no\.?|#))?|patient\s+(?:record\s+)?(?:id|identifier|number|no\.?)|patient\s*#|pt\.?\s+id|hospital\s+(?:number|no\.?|#)|hosp\.?\s*(?:no\.?|#)|chart\s*(?:number|no\.?|#))` +
    LABEL_CONNECTOR +
    String.raw`\s*([A-Z]{0,4}-?\d[A-Z0-9-]{3,19})(?![A-Za-z0-9])`,
  'gi',
);
const ACCOUNT_RE = new RegExp(
  String.raw`(?<![A-Za-z])(?:accounts?[\s_]+(?:numbers?|no\.?|#)|kontonummer|konto-?nr\.?|n[úu]mero\s+de\s+cuenta|num[ée]ro\s+de\s+compte|acct\.?(?:\s+(?:number|no\.?|#))?|a\/c(?:\s+no\.?)?|acc\.?\s+no\.?|konto|accounts?)` +
    LABEL_CONNECTOR +
    String.raw`\s*([A-Z]{0,3}-?\d(?:[ -]?\d){5,19})(?![A-Za-z0-9])`,
  'gi',
);
// More values of a list after one label: `MRNs: 00482913, 00482914 and 00482915`.
const LIST_NEXT_MRN_RE = /(?:\s*(?:,|;|&|\/|\band\b|\bor\b))+\s*([A-Z]{0,4}-?\d[A-Z0-9-]{3,19})(?![A-Za-z0-9])/iy;
const LIST_NEXT_ACCOUNT_RE = /(?:\s*(?:,|;|&|\/|\band\b|\bor\b))+\s*([A-Z]{0,3}-?\d(?:[ -]?\d){5,19})(?![A-Za-z0-9])/iy;
// A general-ledger account (a chart of accounts' code), not a person's: `GL account 401000`.
const LEDGER_BEFORE_RE = /\b(?:g\/?l|general\s+ledger|ledger|nominal|sap|chart\s+of)\s*$/i;

function labelled(type: PiiType, re: RegExp, text: string): PiiFinding[] {
  const next = type === 'mrn' ? LIST_NEXT_MRN_RE : LIST_NEXT_ACCOUNT_RE;
  const out: PiiFinding[] = [];
  const take = (m: RegExpExecArray, labelText: string): PiiFinding | undefined => {
    const value = m[1] ?? '';
    let end = m.index + m[0].length;
    let start = end - value.length;
    while (end > start && text[end - 1] === '-') end--;
    if (start >= end) return undefined;
    const v = text.slice(start, end);
    if ((v.match(/\d/g) ?? []).length < 4) return undefined;
    if (type === 'account') {
      // An amount grouped as money after the bare word "account" ("the escrow account was 1 250 000
      // EUR short") is money; after "account number" it is the number, currency or not.
      if (/^accounts?\b(?![\s_]*(?:numbers?|no|#))/i.test(labelText) && /^\d{1,3}(?:[ ,.]\d{3})+$/.test(v) && MONEY_AFTER_RE.test(text.slice(end, end + 10))) return undefined;
      // A range of years ("Konto 2023-2024") is no account.
      if (/^(?:19|20)\d{2}-(?:19|20)?\d{2}$/.test(v)) return undefined;
    }
    if (v.startsWith('-')) start++;
    return finding(type, text, start, end);
  };
  scan(re, text, (m) => {
    // A ledger's account ("GL account 401000") is a company's code; so is a short one after
    // "debit"/"credit" (a bank account has eight digits or more).
    if (type === 'account' && (LEDGER_BEFORE_RE.test(before(text, m.index, 20)) || (/\b(?:debit|credit)\s*$/i.test(before(text, m.index, 10)) && (m[1] ?? '').replace(/\D/g, '').length < 8))) return undefined;
    const f = take(m, m[0]);
    if (!f) return undefined;
    out.push(f);
    // The rest of a list after the same label, values of its shape (its runs of digits, letters and
    // separators alike, as many digits give or take two: "MRN 00482913, 2024 visits" or
    // "MRN 00482913, 2024-03-15: …" lists no second MRN).
    const digits = (v: string) => v.replace(/\D/g, '').length;
    const shape = (v: string) => v.replace(/\d+/g, '9').replace(/[A-Za-z]+/g, 'a');
    for (let at = f.end; ; ) {
      next.lastIndex = at;
      const n = next.exec(text);
      if (n === null) break;
      const g = take(n, m[0]);
      if (!g || Math.abs(digits(g.text) - digits(f.text)) > 2 || shape(g.text) !== shape(f.text)) break;
      out.push(g);
      at = g.end;
    }
    return undefined;
  });
  return out;
}

// Phone: a run of digits, spaces, dots, dashes and parentheses, checked in code (see phoneOk).
const PHONE_RE = /(?<![\w+.,/#$€£¥-])(?:\+|\()?\d[\d() .-]{5,30}\d(?![\w])/g;
const PHONE_LABEL_RE = /\b(?:tel|phone|mobile|cell|fax|call|ring|whatsapp|contact|reach|hotline|helpline|sms|telefon|appelez|llame|anrufen)\b[^\d]{0,12}$/i;
const NOT_PHONE_LABEL_RE =
  /(?:\b(?:order|invoice|inv|ref|reference|case|docket|ticket|policy|claim|po|isbn|sku|serial|tracking|part|item|contract|file|batch|lot|receipt|transaction|txn|id|ndc)\b|\bno\.|#)[^\d]{0,12}$/i;
const IBAN_HEAD_RE = /(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: [A-Z0-9]{4})+ $/;
// Right before the digits, a token that mixes letters and digits (a parcel or part code) with only
// a space between: the digits continue that code.
const CODE_HEAD_RE = /(?:^|\s)(?=[A-Za-z]*\d)(?=\d*[A-Za-z])[A-Za-z\d]{2,} $/;
const MONEY_BEFORE_RE = /(?:[$€£¥]|\b(?:usd|eur|gbp|chf|jpy|cad|aud|rs|inr)\.?)\s?$/i;
const MONEY_AFTER_RE = /^\s?(?:[$€£¥]|(?:usd|eur|gbp|chf|jpy|cad|aud|inr|dollars?|euros?|pounds?|million|billion|bn|m)\b)/i;

function findPhones(text: string): PiiFinding[] {
  return scan(PHONE_RE, text, (m) => {
    let s = m[0];
    let start = m.index;
    // A leading "(" without its ")" is punctuation, not an area code.
    if (s.startsWith('(') && !/^\(\d{1,5}\)/.test(s)) {
      s = s.slice(1);
      start++;
    }
    const end = start + s.length;
    const ctxBefore = before(text, start, 30);
    const hasLabel = PHONE_LABEL_RE.test(ctxBefore);
    if (!phoneOk(s, hasLabel)) return undefined;
    if (!hasLabel && (NOT_PHONE_LABEL_RE.test(ctxBefore) || VERSION_WORD_RE.test(before(text, start, 20)))) return undefined;
    if (IBAN_HEAD_RE.test(ctxBefore)) return undefined; // the tail of an IBAN-shaped string (failed mod-97)
    if (CODE_HEAD_RE.test(ctxBefore)) return undefined; // the tail of a code such as "1Z 4F8 803 61 2231"
    if (MONEY_BEFORE_RE.test(before(text, start, 5)) || MONEY_AFTER_RE.test(text.slice(end, end + 10))) return undefined;
    return finding('phone', text, start, end);
  });
}

function phoneOk(s: string, labelled: boolean): boolean {
  const plus = s.startsWith('+');
  const body = plus ? s.slice(1) : s;
  if (/[ .-]{2}|\(\)|[.-]\(|\)[.-]/.test(body.replace(/ - /g, '-'))) return false;
  const opens = (body.match(/\(/g) ?? []).length;
  const closes = (body.match(/\)/g) ?? []).length;
  if (opens !== closes || opens > 1) return false;
  if (opens === 1 && !/\(\d{1,5}\)/.test(body)) return false;
  if (/^\d{3}-\d{2}-\d{4}$/.test(s)) return false; // SSN-shaped (even an invalid one) is not a phone
  if (/^\d{5}-\d{4}$/.test(s)) return false; // a US ZIP+4 code
  if (!labelled && /^\d{2}-\d{7}$/.test(s)) return false; // a US employer id (EIN), no phone's grouping
  // A drug's National Drug Code (4-4-2, 5-3-2, 5-4-1 with dashes): no phone is written so.
  if (!labelled && /^(?:\d{4}-\d{4}-\d{2}|\d{5}-\d{3}-\d{2}|\d{5}-\d{4}-\d)$/.test(s)) return false;
  const digits = body.replace(/\D/g, '');
  if (digits.length < 9 || digits.length > 15) return false;
  const groups = body.split(/[^\d]+/).filter((g) => g !== '');
  const seps = new Set(body.match(/[ .-]/g) ?? []);
  if (groups.length === 1 && !plus && !labelled) return false; // a bare digit run is an id, not a phone
  // A national number after its trunk 0 in two groups, as the UK writes mobiles (07700 900123).
  if (!plus && groups.length === 2 && /^0\d{3,4}$/.test(groups[0] as string) && /^\d{6}$/.test(groups[1] as string)) return true;
  if (plus) {
    // A country code, then the national number unspaced (+91 9876543210) or in two groups of five
    // (+91 98765 43210, as Indian numbers are written).
    const [code = '', ...national] = groups;
    if (code.length <= 3 && national.length === 1 && (national[0] as string).length >= 8 && (national[0] as string).length <= 12) return true;
    if (code.length <= 3 && national.length === 2 && national.every((g) => g.length === 5)) return true;
  }
  if (groups.some((g) => g.length > 8)) return groups.length === 1 && (plus || labelled);
  if (groups.filter((g) => g.length > 4).length > 1) return false;
  // More than five dotted groups: an object identifier or a version, not a phone (French numbers
  // written with dots have five).
  if (seps.size === 1 && seps.has('.') && groups.length > 5) return false;
  // Dotted groups with a group of one digit after the first: a version or build number
  // (10.0.19045.3570, 20240315.1); a first one is a country code (1.800.555.0199).
  if (!labelled && !plus && seps.size === 1 && seps.has('.') && groups.slice(1).some((g) => g.length === 1)) return false;
  // Dotted quad: an IP address or a version number, not a phone.
  if (seps.size === 1 && seps.has('.') && groups.length === 4 && groups.every((g) => g.length <= 3)) return false;
  // Thousands grouping (1 234 567 890, 12.500.000.000): money or a count, unless a phone label
  // stands before it (Spanish and Polish mobiles are written 612 345 678).
  if (!plus && !labelled && opens === 0 && groups.length >= 3 && !(groups[0] ?? '').startsWith('0')) {
    const rest = groups.slice(1);
    if (rest.every((g) => g.length === 3)) return false;
  }
  // ISBN-13 written with dashes.
  if (!plus && seps.size === 1 && seps.has('-') && /^97[89]/.test(digits) && digits.length === 13 && isbn13Valid(digits))
    return false;
  return true;
}

function isbn13Valid(d: string): boolean {
  let sum = 0;
  for (let i = 0; i < 13; i++) sum += (d.charCodeAt(i) - 48) * (i % 2 === 0 ? 1 : 3);
  return sum % 10 === 0;
}

function mod97(s: string): number {
  let rem = 0;
  for (const ch of s) {
    const code = ch.charCodeAt(0);
    const v = code >= 65 ? String(code - 55) : ch;
    for (const c of v) rem = (rem * 10 + (c.charCodeAt(0) - 48)) % 97;
  }
  return rem;
}

const DETECTORS: Readonly<Record<PiiType, (text: string) => PiiFinding[]>> = {
  email: findEmails,
  phone: findPhones,
  card: findCards,
  iban: findIbans,
  ssn: findSsns,
  dob: findDobs,
  ip: findIps,
  url_credentials: findUrlCredentials,
  mrn: (t) => labelled('mrn', MRN_RE, t),
  account: (t) => labelled('account', ACCOUNT_RE, t),
};

/** IBAN length per country (SWIFT IBAN registry). */
const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BR: 29, BY: 28, CH: 21, CR: 22,
  CY: 28, CZ: 24, DE: 22, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18, FO: 18, FR: 27, GB: 22, GE: 22,
  GI: 23, GL: 18, GR: 27, GT: 28, HR: 21, HU: 28, IE: 22, IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30,
  KZ: 20, LB: 28, LC: 32, LI: 21, LT: 20, LU: 20, LV: 21, MC: 27, MD: 24, ME: 22, MK: 19, MR: 27, MT: 31,
  MU: 30, NL: 18, NO: 15, PK: 24, PL: 28, PS: 29, PT: 25, QA: 29, RO: 24, RS: 22, SA: 24, SC: 31, SE: 24,
  SI: 19, SK: 24, SM: 27, ST: 25, SV: 28, TL: 23, TN: 24, TR: 26, UA: 29, VA: 22, VG: 24, XK: 20,
};
