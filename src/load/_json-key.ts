/**
 * The records of a JSON file whose top level is an object holding them under one key, as exports
 * and Hugging Face's `field` have them (`{"version": 1, "data": [{...}, ...]}`). The text is
 * passed on with everything before that array turned into blanks of the same UTF-8 length (line
 * breaks kept), so the array scanner reads the array with the file's own lines and byte offsets;
 * from its `[` on, the text passes as it is (what follows the array is the scanner's trailing
 * text). Scans without parsing: memory is one key at most, whatever the values before it hold.
 */
import { LoraPrepError } from '../errors.js';
import { MAX_KEYS_LISTED } from './_json-object.js';
import { utf8Length } from './_utf8.js';

/** Longest key kept while scanning; a longer one is not the key asked for (nor listed in full). */
const MAX_KEY_CHARS = 1000;

/**
 * Turns a JSON object's text into the text of the array under `key`, chunk by chunk.
 *
 * @example
 * const under = new RecordsUnder('data', 'export.json');
 * under.push('{"v": 1, "data": [{"q": 1}]}') // '         ' + ' '.repeat(8) + '[{"q": 1}]}'
 */
export class RecordsUnder {
  readonly #key: string;
  readonly #file: string;
  /** Bracket depth in the object; 1 is its top level. */
  #depth = 0;
  #inString = false;
  #escaped = false;
  /** At the object's top level: the next string is a key. */
  #expectKey = false;
  /** The raw text of the top-level key being read, or undefined outside one. */
  #rawKey: string | undefined;
  /** The last top-level key read, waiting for its `:`. */
  #pending: string | undefined;
  /** After the `:` of the key asked for: its value comes next. */
  #isTarget = false;
  /** The top-level keys seen, for the error. */
  readonly #keys: string[] = [];
  #found = false;
  #line = 1;

  constructor(key: string, file: string) {
    this.#key = key;
    this.#file = file;
  }

  /** The chunk as the array scanner should see it. */
  push(chunk: string): string {
    if (this.#found) return chunk;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i] as string;
      if (c === '\n') this.#line++;
      if (this.#inString) {
        if (this.#escaped) this.#escaped = false;
        else if (c === '\\') this.#escaped = true;
        else if (c === '"') {
          this.#inString = false;
          if (this.#rawKey !== undefined) this.#keyEnd();
          continue;
        }
        if (this.#rawKey !== undefined && this.#rawKey.length <= MAX_KEY_CHARS) this.#rawKey += c;
        continue;
      }
      if (c === ' ' || c === '\t' || c === '\r' || c === '\n') continue;
      if (this.#isTarget) {
        // The first thing after the key's ':' is its value: the records if it is an array.
        if (c !== '[') throw this.#notArray(c);
        this.#found = true;
        return blank(chunk.slice(0, i)) + chunk.slice(i);
      }
      switch (c) {
        case '"':
          this.#inString = true;
          if (this.#depth === 1 && this.#expectKey) {
            this.#rawKey = '';
            this.#expectKey = false;
          }
          break;
        case '{':
        case '[':
          if (this.#depth === 0 && c === '[') throw this.#wrongTop('an array');
          this.#depth++;
          if (this.#depth === 1) this.#expectKey = true;
          break;
        case '}':
        case ']':
          this.#depth--;
          if (this.#depth === 0) throw this.#missing();
          break;
        case ',':
          if (this.#depth === 1) this.#expectKey = true;
          break;
        case ':':
          if (this.#depth === 1 && this.#pending !== undefined) {
            this.#isTarget = this.#pending === this.#key;
            this.#pending = undefined;
          }
          break;
        default:
          if (this.#depth === 0) throw this.#wrongTop('text that is not an object');
      }
    }
    return blank(chunk);
  }

  /** The end of the text: the key was never found (or its array never began). */
  end(): void {
    if (!this.#found) throw this.#missing();
  }

  #keyEnd(): void {
    const raw = this.#rawKey as string;
    this.#rawKey = undefined;
    let name: string;
    try {
      name = JSON.parse(`"${raw}"`) as string;
    } catch {
      name = raw;
    }
    this.#pending = name;
    if (this.#keys.length <= MAX_KEYS_LISTED) this.#keys.push(name);
  }

  #missing(): LoraPrepError {
    const names = this.#keys.slice(0, MAX_KEYS_LISTED).map((k) => JSON.stringify(k));
    if (this.#keys.length > MAX_KEYS_LISTED) names.push('…');
    return new LoraPrepError(
      'INPUT_FORMAT',
      `${this.#file}: recordsKey ${JSON.stringify(this.#key)}: the top-level object has no such key` +
        `${names.length > 0 ? ` (its keys: ${names.join(', ')})` : ''}. Name the key that holds the array of records.`,
      { location: { file: this.#file } },
    );
  }

  #notArray(c: string): LoraPrepError {
    return new LoraPrepError(
      'INPUT_FORMAT',
      `${this.#file}:${this.#line}: recordsKey ${JSON.stringify(this.#key)} holds ${c === '{' ? 'an object' : c === '"' ? 'a string' : 'a value'}, not an array of records.`,
      { location: { file: this.#file, line: this.#line } },
    );
  }

  #wrongTop(what: string): LoraPrepError {
    return new LoraPrepError(
      'INPUT_FORMAT',
      `${this.#file}: recordsKey ${JSON.stringify(this.#key)} reads an object's key, but the file holds ${what}.`,
      { location: { file: this.#file } },
    );
  }
}

/** Blanks of the same UTF-8 length, line breaks kept. */
function blank(text: string): string {
  return text.replace(/[^\r\n]+/g, (run) => ' '.repeat(utf8Length(run)));
}
