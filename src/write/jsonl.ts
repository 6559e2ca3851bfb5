/**
 * JSONL writing as every trainer's reader wants it: one object per line, UTF-8 without BOM, `\n`
 * endings, exactly one newline at the end, no blank line, U+2028/U+2029/U+0085 escaped (some line
 * splitters treat them as newlines). Lone surrogates are escaped by JSON.stringify itself.
 */
import { createHash, type Hash } from 'node:crypto';
import { closeSync, createWriteStream, openSync, writeSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { LoraPrepError } from '../errors.js';

const LINE_BREAKERS = /[\u2028\u2029\u0085]/g;
const ESCAPES: Record<string, string> = { '\u2028': '\\u2028', '\u2029': '\\u2029', '\u0085': '\\u0085' };

/**
 * One record as one JSONL line (without the newline).
 *
 * @example
 * serializeRecord({ text: 'a\u2028b' }) // '{"text":"a\\u2028b"}'
 */
export function serializeRecord(record: unknown): string {
  return JSON.stringify(record).replace(LINE_BREAKERS, (c) => ESCAPES[c] as string);
}

/** What a closed writer wrote. */
export interface WrittenFile {
  path: string;
  lines: number;
  bytes: number;
  sha256: string;
}

/**
 * A line writer with backpressure that hashes what it writes.
 *
 * @example
 * const w = new JsonlWriter('out/x.jsonl'); await w.writeLine(serializeRecord(r)); const info = await w.close();
 */
export class JsonlWriter {
  readonly path: string;
  #stream: WriteStream;
  #hash: Hash = createHash('sha256');
  #lines = 0;
  #bytes = 0;
  #error: Error | undefined;
  #wake: (() => void) | undefined;

  constructor(path: string) {
    this.path = path;
    this.#stream = createWriteStream(path, { flags: 'wx' });
    // One listener each for the life of the stream: a write waiting for 'drain' is woken by
    // either, so an error never leaves it hanging.
    this.#stream.on('error', (e) => {
      this.#error ??= e;
      this.#wake?.();
    });
    this.#stream.on('drain', () => this.#wake?.());
  }

  /** Writes one line (a newline is added); waits when the OS buffer is full. */
  async writeLine(line: string): Promise<void> {
    this.#throwIfFailed();
    const data = `${line}\n`;
    const buf = Buffer.from(data, 'utf8');
    this.#hash.update(buf);
    this.#lines++;
    this.#bytes += buf.length;
    if (!this.#stream.write(buf)) {
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
      this.#wake = undefined;
      this.#throwIfFailed();
    }
  }

  /** Flushes and closes; returns what was written. */
  async close(): Promise<WrittenFile> {
    this.#throwIfFailed();
    const done = once(this.#stream, 'finish');
    this.#stream.end();
    await Promise.race([done, once(this.#stream, 'error')]).catch(() => undefined);
    this.#throwIfFailed();
    return { path: this.path, lines: this.#lines, bytes: this.#bytes, sha256: this.#hash.digest('hex') };
  }

  /** Closes without caring about the content (the run failed). */
  destroy(): void {
    this.#stream.destroy();
  }

  #throwIfFailed(): void {
    if (this.#error) {
      throw new LoraPrepError('WRITE_FAILED', `cannot write ${this.path}: ${this.#error.message}. Check free space and permissions.`, {
        cause: this.#error,
      });
    }
  }
}

/**
 * A small synchronous line writer, for streams of rejections that stages report from synchronous
 * callbacks: each line goes to the file at once, so nothing piles up in memory.
 */
export class SyncJsonlWriter {
  readonly path: string;
  #fd: number;
  #hash: Hash = createHash('sha256');
  #lines = 0;
  #bytes = 0;

  constructor(path: string) {
    this.path = path;
    try {
      this.#fd = openSync(path, 'wx');
    } catch (e) {
      throw new LoraPrepError('WRITE_FAILED', `cannot create ${path}: ${(e as Error).message}. Check free space and permissions.`, { cause: e });
    }
  }

  /** Writes one line (a newline is added). */
  writeLine(line: string): void {
    const buf = Buffer.from(`${line}\n`, 'utf8');
    try {
      writeSync(this.#fd, buf);
    } catch (e) {
      throw new LoraPrepError('WRITE_FAILED', `cannot write ${this.path}: ${(e as Error).message}. Check free space and permissions.`, { cause: e });
    }
    this.#hash.update(buf);
    this.#lines++;
    this.#bytes += buf.length;
  }

  /** Closes the file and returns what was written. */
  close(): WrittenFile {
    closeSync(this.#fd);
    return { path: this.path, lines: this.#lines, bytes: this.#bytes, sha256: this.#hash.digest('hex') };
  }
}
