/**
 * JSONL writing as every trainer's reader wants it: one object per line, UTF-8 without BOM, `\n`
 * endings, exactly one newline at the end, no blank line, U+2028/U+2029/U+0085 escaped (some line
 * splitters treat them as newlines). Lone surrogates are escaped by JSON.stringify itself.
 */
import { createHash, type Hash } from 'node:crypto';
import { closeSync, createReadStream, createWriteStream, openSync, writeSync, type WriteStream } from 'node:fs';
import { rename } from 'node:fs/promises';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
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
  const json = JSON.stringify(record);
  // Three native searches cost a third of one regex scan, and these characters are rare.
  return json.includes('\u2028') || json.includes('\u2029') || json.includes('\u0085') ? json.replace(LINE_BREAKERS, (c) => ESCAPES[c] as string) : json;
}

/**
 * Rewrites a JSONL file line by line (`edit` returns the line to write, without its newline) and
 * returns what was written; the new file replaces the old one whole, by a rename.
 *
 * @example
 * await rewriteLines('report/rejected.jsonl', (line) => line.replace('"a"', '"b"'));
 */
export async function rewriteLines(path: string, edit: (line: string) => string): Promise<WrittenFile> {
  const next = `${path}.new`;
  const out = new JsonlWriter(next);
  try {
    for await (const line of createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity })) await out.writeLine(edit(line));
  } catch (e) {
    out.destroy();
    throw e;
  }
  const written = await out.close();
  await rename(next, path);
  return { ...written, path };
}

/**
 * A key as it stands in compact JSON text, `"key":`, in UTF-8: in a JSON line these bytes are only
 * ever a key (a quote inside a string is escaped).
 *
 * @example
 * keyBytes('system') // <Buffer 22 73 79 73 74 65 6d 22 3a>
 */
export function keyBytes(key: string): Buffer {
  return Buffer.from(`${JSON.stringify(key)}:`, 'utf8');
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
  /** Of the keys the writer was asked to `watch`, those written on at least one line. */
  keys?: string[] | undefined;
}

const SETTLED: Promise<void> = Promise.resolve();

/** The synchronous writer's chunk, in UTF-16 characters. */
const SYNC_CHUNK_CHARS = 16 * 1024;

/** Lines are gathered and handed to the file in chunks of about this many bytes. */
const CHUNK_BYTES = 256 * 1024;

/**
 * A line writer with backpressure that hashes what it writes. Lines are encoded straight into a
 * 256 KiB buffer, which is hashed and written when the next line may not fit: one write per chunk
 * instead of per line, and no large intermediate string.
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
  /** Lines being gathered: `#buf[0, #used)`. A new buffer after each hand-over (the stream keeps the old one). */
  #buf: Buffer | undefined;
  #used = 0;
  /** Bytes handed over, waiting to be written together. */
  #chunks: Buffer[] = [];
  #chunkBytes = 0;
  #error: Error | undefined;
  #wake: (() => void) | undefined;
  /** Watched keys not yet seen, as the bytes `"key":`. */
  #unseen: Array<{ key: string; bytes: Buffer }>;
  #seen: string[] | undefined;

  /**
   * Creates `path` (which must not exist yet) and opens it for writing. `hash: false` skips the
   * sha256 (scratch files nobody is told about). `watch` names keys to look for: `close()` says
   * which were written (as `"key":`, which in JSON text is only ever a key; a nested key of the
   * same name counts too, so watch keys that appear only at the top level of the records).
   */
  constructor(path: string, options: { hash?: boolean; watch?: readonly string[] | undefined } = {}) {
    this.path = path;
    this.#hash = options.hash === false ? undefined : createHash('sha256');
    this.#unseen = (options.watch ?? []).map((key) => ({ key, bytes: keyBytes(key) }));
    this.#seen = options.watch ? [] : undefined;
    // Up to 2 MiB handed to the OS and not yet written: the writer waits less often for 'drain'
    // (routing the spill into the split files took a quarter less time than with 512 KiB).
    this.#stream = createWriteStream(path, { flags: 'wx', highWaterMark: CHUNK_BYTES * 8 });
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
  writeLine(line: string): Promise<void> {
    this.#throwIfFailed();
    this.#lines++;
    // A UTF-16 unit is at most 3 UTF-8 bytes: room for the worst case, or the chunk is done.
    const worst = line.length * 3 + 1;
    if (worst > CHUNK_BYTES) return this.#writeAlone(Buffer.from(`${line}\n`, 'utf8'));
    const flushed = this.#makeRoom(worst);
    const buf = this.#buf as Buffer;
    this.#used += buf.write(line, this.#used, 'utf8');
    buf[this.#used++] = 0x0a;
    // Most lines only gather: they share one settled promise instead of an async call's own.
    return flushed ?? SETTLED;
  }

  /**
   * Writes one line already encoded: its UTF-8 bytes, ending in `\n` (a record serialised in a
   * worker thread). The bytes are copied; the caller may reuse them.
   */
  writeEncoded(line: Uint8Array): Promise<void> {
    this.#throwIfFailed();
    this.#lines++;
    if (line.length > CHUNK_BYTES) return this.#writeAlone(Buffer.from(line));
    const flushed = this.#makeRoom(line.length);
    (this.#buf as Buffer).set(line, this.#used);
    this.#used += line.length;
    return flushed ?? SETTLED;
  }

  /**
   * Writes bytes that already hold `lines` whole lines, each ending in `\n` (lines copied from
   * another JSONL file without decoding them).
   */
  async writeBytes(bytes: Uint8Array, lines: number): Promise<void> {
    this.#throwIfFailed();
    this.#takeLines();
    // A Buffer over the same memory (no copy): chunks are searched with Buffer's indexOf.
    this.#chunks.push(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
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
    const written: WrittenFile = { path: this.path, lines: this.#lines, bytes: this.#bytes, sha256: this.#hash?.digest('hex') ?? '' };
    if (this.#seen) written.keys = [...this.#seen];
    return written;
  }

  /** Closes without caring about the content (the run failed). */
  destroy(): void {
    this.#stream.destroy();
  }

  /** A line too long for a chunk: handed over on its own, after the lines gathered before it. */
  #writeAlone(bytes: Buffer): Promise<void> {
    this.#takeLines();
    this.#chunks.push(bytes);
    this.#chunkBytes += bytes.length;
    return this.#flush();
  }

  /**
   * Room for `bytes` more in the gathering buffer: when they would not fit, the chunk is handed
   * over (the promise to wait for) and a new buffer begins.
   */
  #makeRoom(bytes: number): Promise<void> | undefined {
    const flushed = this.#buf !== undefined && this.#used + bytes > this.#buf.length ? this.#flush() : undefined;
    this.#buf ??= Buffer.allocUnsafe(CHUNK_BYTES);
    return flushed;
  }

  #takeLines(): void {
    if (this.#buf === undefined || this.#used === 0) return;
    this.#chunks.push(this.#buf.subarray(0, this.#used));
    this.#chunkBytes += this.#used;
    this.#buf = undefined;
    this.#used = 0;
  }

  async #flush(): Promise<void> {
    this.#takeLines();
    if (this.#chunks.length === 0) return;
    const buf = this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks, this.#chunkBytes);
    this.#chunks = [];
    this.#chunkBytes = 0;
    this.#hash?.update(buf);
    this.#bytes += buf.length;
    // Chunks hold whole lines, so a key is never split between two of them.
    if (this.#unseen.length > 0) {
      this.#unseen = this.#unseen.filter((w) => {
        if (buf.indexOf(w.bytes) === -1) return true;
        this.#seen?.push(w.key);
        return false;
      });
    }
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
 * callbacks. Lines are gathered up to about 64 KiB and written with one synchronous call, so
 * little piles up in memory and a file of many rejections does not cost a system call each.
 */
export class SyncJsonlWriter {
  readonly path: string;
  #fd: number;
  #hash: Hash = createHash('sha256');
  #lines = 0;
  #bytes = 0;
  #text = '';
  #closed = false;

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
    this.#text += `${line}\n`;
    this.#lines++;
    if (this.#text.length >= SYNC_CHUNK_CHARS) this.#flush();
  }

  /** Closes the file and returns what was written. */
  close(): WrittenFile {
    try {
      this.#flush();
    } finally {
      this.#closed = true;
      closeSync(this.#fd);
    }
    return { path: this.path, lines: this.#lines, bytes: this.#bytes, sha256: this.#hash.digest('hex') };
  }

  /** Closes without writing what is gathered (the run failed). */
  destroy(): void {
    this.#text = '';
    if (this.#closed) return; // the descriptor may belong to another file by now
    this.#closed = true;
    closeSync(this.#fd);
  }

  #flush(): void {
    if (this.#text === '') return;
    const buf = Buffer.from(this.#text, 'utf8');
    this.#text = '';
    try {
      writeSync(this.#fd, buf);
    } catch (e) {
      throw new LoraPrepError('WRITE_FAILED', `cannot write ${this.path}: ${(e as Error).message}. Check free space and permissions.`, { cause: e });
    }
    this.#hash.update(buf);
    this.#bytes += buf.length;
  }
}
