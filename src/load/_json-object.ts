/**
 * What a `.json` file starting with `{` holds: JSONL saved under the wrong extension (an object, a
 * newline, another object), or one object, of which we note the top-level keys and which of them
 * hold arrays so the error can point at the records. Scans without parsing, so a huge object costs
 * no memory.
 */

/** Longest key kept for the message; longer keys are cut (they are not records' names anyway). */
const MAX_KEY_CHARS = 200;

/**
 * Keys listed in a message at most (the rest are counted): enough to recognise the file, short
 * enough for one line of a terminal.
 *
 * @example
 * keys.slice(0, MAX_KEYS_LISTED);
 */
export const MAX_KEYS_LISTED = 10;

/**
 * One top-level key of the object and what its value starts as.
 *
 * @example
 * const key: TopLevelKey = { name: 'data', value: 'array of objects' };
 */
export interface TopLevelKey {
  name: string;
  value: 'array of objects' | 'array' | 'object' | 'other';
}

/**
 * The scanner's verdict, once it has one.
 *
 * @example
 * if (verdict.kind === 'jsonl') yield* jsonlRows(text, file, ctx);
 */
export type TopObjectVerdict =
  | { kind: 'jsonl' }
  | { kind: 'object'; keys: TopLevelKey[]; closed: boolean; more: boolean };

/**
 * Feed the file's text from its start until {@link TopObjectScanner.push} returns a verdict (or
 * call {@link TopObjectScanner.end} at the end of the file).
 *
 * @example
 * const s = new TopObjectScanner();
 * s.push('{"a":1}\n{"a":2}\n'); // { kind: 'jsonl' }
 */
export class TopObjectScanner {
  #depth = 0;
  #inString = false;
  #escaped = false;
  #closed = false;
  /** After the object closed: whether a newline has been seen since. */
  #newline = false;
  readonly #keys: TopLevelKey[] = [];
  /** The text of the depth-1 string being read (a key candidate), or undefined. */
  #string: string[] | undefined;
  #stringLength = 0;
  /** A depth-1 string that just closed, waiting to see whether a `:` makes it a key. */
  #candidate: string | undefined;
  /** The key whose value comes next (after its `:`), and then the key whose array's first element comes next. */
  #awaitingValue: TopLevelKey | undefined;
  #awaitingFirstElement: TopLevelKey | undefined;

  push(chunk: string): TopObjectVerdict | undefined {
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (this.#closed) {
        if (c === LF) this.#newline = true;
        else if (!isSpace(c)) {
          return c === OPEN_OBJECT && this.#newline ? { kind: 'jsonl' } : this.#verdict(true, true);
        }
        continue;
      }
      if (this.#inString) {
        if (this.#escaped) this.#escaped = false;
        else if (c === BACKSLASH) this.#escaped = true;
        else if (c === QUOTE) {
          this.#inString = false;
          if (this.#string !== undefined) {
            this.#candidate = unescape(this.#string.join(''));
            this.#string = undefined;
          }
          continue;
        }
        if (this.#string !== undefined && this.#stringLength < MAX_KEY_CHARS) {
          this.#string.push(chunk[i] as string);
          this.#stringLength++;
        }
        continue;
      }
      if (isSpace(c)) continue;
      this.#atDepthOne(c);
      if (c === QUOTE) {
        this.#inString = true;
        if (this.#depth === 1) {
          this.#string = [];
          this.#stringLength = 0;
        }
      } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) this.#depth++;
      else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
        this.#depth--;
        if (this.#depth <= 0) this.#closed = true;
      }
    }
    return undefined;
  }

  end(): TopObjectVerdict {
    return this.#verdict(this.#closed, false);
  }

  // --- internal ---

  /** Key bookkeeping for a non-space character outside strings. */
  #atDepthOne(c: number): void {
    if (this.#awaitingFirstElement !== undefined && this.#depth === 2) {
      if (c === OPEN_OBJECT) this.#awaitingFirstElement.value = 'array of objects';
      this.#awaitingFirstElement = undefined;
    }
    if (this.#depth !== 1) return;
    if (this.#awaitingValue !== undefined) {
      if (c === OPEN_ARRAY) {
        this.#awaitingValue.value = 'array';
        this.#awaitingFirstElement = this.#awaitingValue;
      } else if (c === OPEN_OBJECT) this.#awaitingValue.value = 'object';
      this.#awaitingValue = undefined;
    }
    if (this.#candidate !== undefined) {
      if (c === COLON) {
        const key: TopLevelKey = { name: this.#candidate, value: 'other' };
        this.#keys.push(key);
        this.#awaitingValue = key;
      }
      this.#candidate = undefined;
    }
  }

  #verdict(closed: boolean, more: boolean): TopObjectVerdict {
    return { kind: 'object', keys: this.#keys, closed, more };
  }
}

// --- internal ---

const LF = 0x0a;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

function isSpace(c: number): boolean {
  return c === 0x20 || c === LF || c === 0x0d || c === 0x09;
}

function unescape(raw: string): string {
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return raw;
  }
}
