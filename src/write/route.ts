/**
 * Routing the spill file into the split files: each row's line is copied as bytes to the file its
 * split assignment names, without decoding or re-encoding the text.
 */
import { open } from 'node:fs/promises';
import { LoraPrepError } from '../errors.js';
import type { JsonlWriter } from './jsonl.js';

const READ_BYTES = 1024 * 1024;

/** What {@link routeLines} copied. */
export interface Routed {
  /** Rows read from the spill. */
  rows: number;
  /** Rows written to a split file. */
  written: number;
}

/**
 * Copies row `i` of `path` (a file of lines whose byte lengths, newline included, are
 * `lineBytes[i]`) to `writers[target[i]]`; rows whose target is `skip` are left out.
 *
 * @example
 * await routeLines('.spill.jsonl', lengths, assignment, [train, validation, test], 255);
 */
export async function routeLines(
  path: string,
  lineBytes: Uint32Array,
  target: Uint8Array,
  writers: ReadonlyArray<JsonlWriter | undefined>,
  skip: number,
  /** Called before each read; throws to stop (an abort). */
  checkpoint?: () => void,
): Promise<Routed> {
  const file = await open(path, 'r');
  let rows = 0;
  let written = 0;
  try {
    // `buf[pos..end)` holds bytes read but not yet routed. A fresh buffer per read: the slices
    // handed to the writers may still be waiting in their chunks.
    let buf = Buffer.alloc(0);
    let pos = 0;
    let end = 0;
    let eof = false;
    while (rows < lineBytes.length) {
      const need = lineBytes[rows] as number;
      if (end - pos < need) {
        if (eof) throw new LoraPrepError('INTERNAL', `${path} ended before row ${rows + 1}; please report this bug`);
        checkpoint?.();
        const next = Buffer.allocUnsafe(Math.max(READ_BYTES, need));
        buf.copy(next, 0, pos, end);
        let filled = end - pos;
        const { bytesRead } = await file.read(next, filled, next.length - filled, null);
        if (bytesRead === 0) eof = true;
        filled += bytesRead;
        buf = next;
        pos = 0;
        end = filled;
        continue;
      }
      const a = target[rows] as number;
      if (a !== skip) {
        await (writers[a] as JsonlWriter).writeBytes(buf.subarray(pos, pos + need), 1);
        written++;
      }
      pos += need;
      rows++;
    }
  } finally {
    await file.close();
  }
  return { rows, written };
}

/**
 * Reads a few rows of a file of lines with known byte lengths (for the report page's examples).
 *
 * @example
 * const lines = await readLines('.spill.jsonl', lengths, new Set([0, 41]));
 */
export async function readLines(path: string, lineBytes: Uint32Array, rows: ReadonlySet<number>): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  if (rows.size === 0) return out;
  const file = await open(path, 'r');
  try {
    let offset = 0;
    for (let row = 0; row < lineBytes.length; row++) {
      const n = lineBytes[row] as number;
      if (rows.has(row)) {
        const buf = Buffer.allocUnsafe(n);
        await file.read(buf, 0, n, offset);
        out.set(row, buf.toString('utf8', 0, n - 1));
      }
      offset += n;
    }
  } finally {
    await file.close();
  }
  return out;
}
