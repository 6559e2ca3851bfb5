/**
 * Routing the spill file into the split files: each row's line is copied as bytes to the file its
 * split assignment names, without decoding or re-encoding the text. Lines are found by their
 * `\n` (JSON text never holds a raw newline), so no per-row length needs to be kept.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { LoraPrepError } from '../errors.js';
import { keyBytes, type JsonlWriter } from './jsonl.js';

const READ_BYTES = 1024 * 1024;
const NEWLINE = 0x0a;

/** What {@link routeLines} copied. */
export interface Routed {
  /** Rows read from the spill. */
  rows: number;
  /** Rows written to a split file. */
  written: number;
  /** The lines of the rows asked for in `options.keep`, without their newline. */
  kept: Map<number, string>;
}

/**
 * Copies row `i` of the JSONL file `path` to `writers[target[i]]`; rows whose target is `skip`
 * are left out. The lines of the rows in `keep` are also returned as text, in the same pass.
 * Consecutive rows bound for the same file go to it as one slice (most rows are train rows): one
 * hand-over a run instead of one a row.
 *
 * @example
 * await routeLines('.spill.jsonl', assignment, [train, validation, test], 255, { keep: new Set([0]) });
 */
export async function routeLines(
  path: string,
  target: Uint8Array,
  writers: ReadonlyArray<JsonlWriter | undefined>,
  skip: number,
  options: {
    /** Called before each read; throws to stop (an abort). */
    checkpoint?: (() => void) | undefined;
    /** Rows whose line to return as text. */
    keep?: ReadonlySet<number> | undefined;
    /** A top-level key added, with this value, to each line (a JSON object) that has none. */
    fill?: { key: string; value: string } | undefined;
  } = {},
): Promise<Routed> {
  let rows = 0;
  let written = 0;
  const kept = new Map<number, string>();
  const fill = options.fill ? lineFiller(options.fill.key, options.fill.value) : undefined;
  const copy = (to: number, bytes: Buffer, lines: number) => copyRun(writers, to, skip, fill && to !== skip ? fill(bytes) : bytes, lines);
  const file = await open(path, 'r');
  // The next chunk is read while this one is routed, so the disk and the copying overlap.
  let pending: Promise<Buffer> | undefined;
  try {
    // The pieces of a line begun in earlier chunks.
    let carry: Buffer[] = [];
    const targetOf = (row: number): number => {
      const a = target[row];
      if (a === undefined) throw new LoraPrepError('INTERNAL', `${path} has more rows than were planned; please report this bug`);
      return a;
    };
    pending = readChunk(file);
    for (;;) {
      options.checkpoint?.();
      const buf = await pending;
      pending = undefined;
      if (buf.length === 0) {
        if (carry.length > 0) throw new LoraPrepError('INTERNAL', `${path} ends without a newline after row ${rows}; please report this bug`);
        return { rows, written, kept };
      }
      pending = readChunk(file);
      let pos = 0;
      if (carry.length > 0) {
        // The line that straddles two chunks is joined and copied on its own.
        const nl = buf.indexOf(NEWLINE);
        if (nl === -1) {
          carry.push(buf);
          continue;
        }
        carry.push(buf.subarray(0, nl + 1));
        const line = Buffer.concat(carry);
        carry = [];
        if (options.keep?.has(rows)) kept.set(rows, line.toString('utf8', 0, line.length - 1));
        written += await copy(targetOf(rows), line, 1);
        rows++;
        pos = nl + 1;
      }
      // The whole lines in buf[pos, ...), as runs of rows with one target.
      let runStart = pos;
      let runTarget = skip;
      let runRows = 0;
      for (let nl = buf.indexOf(NEWLINE, pos); nl !== -1; nl = buf.indexOf(NEWLINE, pos)) {
        const a = targetOf(rows);
        if (options.keep?.has(rows)) kept.set(rows, buf.toString('utf8', pos, nl));
        if (a !== runTarget) {
          if (runRows > 0) written += await copy(runTarget, buf.subarray(runStart, pos), runRows);
          runStart = pos;
          runTarget = a;
          runRows = 0;
        }
        runRows++;
        rows++;
        pos = nl + 1;
      }
      if (runRows > 0) written += await copy(runTarget, buf.subarray(runStart, pos), runRows);
      if (pos < buf.length) carry.push(buf.subarray(pos));
    }
  } finally {
    // A read still in flight finishes before the file is closed under it.
    await pending?.catch(() => undefined);
    await file.close();
  }
}

/** The next chunk of the file, in a buffer of its own (the writers keep the slices they are given); empty at the end. */
async function readChunk(file: FileHandle): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(READ_BYTES);
  const { bytesRead } = await file.read(buf, 0, READ_BYTES, null);
  return buf.subarray(0, bytesRead);
}

/**
 * Adds `,"key":value` before the closing `}` of each whole line that has no `"key":` (in JSON text
 * only ever a key; the records it is used on are flat).
 */
function lineFiller(key: string, value: string): (bytes: Buffer) => Buffer {
  const needle = keyBytes(key);
  const tail = Buffer.from(`,${JSON.stringify(key)}:${JSON.stringify(value)}}\n`, 'utf8');
  return (bytes) => {
    const parts: Buffer[] = [];
    let start = 0;
    for (let nl = bytes.indexOf(NEWLINE); nl !== -1; nl = bytes.indexOf(NEWLINE, start)) {
      const line = bytes.subarray(start, nl + 1);
      const has = line.indexOf(needle) !== -1;
      if (!has && line[line.length - 2] !== 0x7d) throw new LoraPrepError('INTERNAL', `a line to give "${key}" is no JSON object; please report this bug`);
      parts.push(...(has ? [line] : [line.subarray(0, line.length - 2), tail]));
      start = nl + 1;
    }
    return Buffer.concat(parts);
  };
}

/** Hands a run of whole lines to its writer (none for `skip`); returns the rows written. */
async function copyRun(writers: ReadonlyArray<JsonlWriter | undefined>, target: number, skip: number, bytes: Buffer, rows: number): Promise<number> {
  if (target === skip) return 0;
  await (writers[target] as JsonlWriter).writeBytes(bytes, rows);
  return rows;
}
