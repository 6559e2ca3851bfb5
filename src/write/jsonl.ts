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
  /** The file written. */
  path: string;
  /** Lines (records) written. */
  lines: number;
  /** Size in bytes. */
  bytes: number;
  /** sha256 of the bytes written, lower-case hex. */
  sha256: string;
}

/** Lines are gathered and handed to the file in chunks of about this many bytes. */
const CHUNK_BYTES = 256 * 1024;

/**
 * A line writer with backpressure that hashes what it writes. Lines are gathered into chunks of
 * about 256 KiB before they are encoded, hashed and written: one buffer and one write per chunk
 * instead of per line.
 *
 * @example
 * const w = new JsonlWriter('out/x.jsonl'); await w.writeLine(serializeRecord(r)); const info = await w.close();
 */
export class JsonlWriter {
  /** The file being written. */
  readonly path: string;
  #stream: WriteStream;
  #hash: Hash | undefined;
  #lines = 0;
  #bytes = 0;
  #text = '';
  #chunks: Buffer[] = [];
  #chunkBytes = 0;
  #error: Error | undefined;
  #wake: (() => void) | undefined;

  /**
   * Creates `path` (which must not exist yet) and opens it for writing. `hash: false` skips the
   * sha256 (scratch files nobody is told about).
   */
  constructor(path: string, options: { hash?: boolean } = {}) {
    this.path = path;
    this.#hash = options.hash === false ? undefined : createHash('sha256');
    this.#stream = createWriteStream(path, { flags: 'wx', highWaterMark: CHUNK_BYTES * 2 });
    // One listener each for the life of the stream: a write waiting for 'drain' is woken by
    // either, so an error never leaves it hanging.
    this.#stream.on('error', (e) => {
      this.#error ??= e;
      this.#wake?.();
    });
    this.#stream.on('drain', () => this.#wake?.());
  }

  /** Lines written so far. */
  get lines(): number {
    return this.#lines;
  }

  /** Writes one line (a newline is added); waits when the OS buffer is full. */
  async writeLine(line: string): Promise<void> {
    this.#throwIfFailed();
    this.#text += `${line}\n`;
    this.#lines++;
    // UTF-16 length is at most the UTF-8 byte length / 1, at least / 3: a cheap trigger.
    if (this.#text.length >= CHUNK_BYTES) await this.#flush();
  }

  /**
   * Writes bytes that already hold `lines` whole lines, each ending in `\n` (lines copied from
   * another JSONL file without decoding them).
   */
  async writeBytes(bytes: Buffer, lines: number): Promise<void> {
    this.#throwIfFailed();
    this.#takeText();
    this.#chunks.push(bytes);
    this.#chunkBytes += bytes.length;
    this.#lines += lines;
    if (this.#chunkBytes >= CHUNK_BYTES) await this.#flush();
  }

  /** Flushes and closes; returns what was written. */
  async close(): Promise<WrittenFile> {
    this.#throwIfFailed();
    await this.#flush();
    const done = once(this.#stream, 'finish');
    this.#stream.end();
    await Promise.race([done, once(this.#stream, 'error')]).catch(() => undefined);
    this.#throwIfFailed();
    return { path: this.path, lines: this.#lines, bytes: this.#bytes, sha256: this.#hash?.digest('hex') ?? '' };
  }

  /** Closes without caring about the content (the run failed). */
  destroy(): void {
    this.#stream.destroy();
  }

  #takeText(): void {
    if (this.#text === '') return;
    const buf = Buffer.from(this.#text, 'utf8');
    this.#text = '';
    this.#chunks.push(buf);
    this.#chunkBytes += buf.length;
  }

  async #flush(): Promise<void> {
    this.#takeText();
    if (this.#chunks.length === 0) return;
    const buf = this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks, this.#chunkBytes);
    this.#chunks = [];
    this.#chunkBytes = 0;
    this.#hash?.update(buf);
    this.#bytes += buf.length;
    if (!this.#stream.write(buf)) {
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
      this.#wake = undefined;
      this.#throwIfFailed();
    }
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
