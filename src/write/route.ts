/**
 * Routing the spill file into the split files: each row's line is copied as bytes to the file its
 * split assignment names, without decoding or re-encoding the text. Lines are found by their
 * `\n` (JSON text never holds a raw newline), so no per-row length needs to be kept.
 */
import { open } from 'node:fs/promises';
import { LoraPrepError } from '../errors.js';
import type { JsonlWriter } from './jsonl.js';

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
 * Calls `each(row, bytes)` for every line of a JSONL file, `bytes` ending in its `\n`. The bytes
 * stay valid until `each`'s promise settles and after (a fresh buffer backs every read).
 */
async function forEachLine(path: string, each: (row: number, bytes: Buffer) => Promise<void> | void, checkpoint?: () => void): Promise<number> {
  const file = await open(path, 'r');
  let rows = 0;
  try {
    let buf = Buffer.alloc(0);
    let pos = 0;
    let end = 0;
    for (;;) {
      const nl = buf.indexOf(NEWLINE, pos);
      if (nl !== -1 && nl < end) {
        await each(rows++, buf.subarray(pos, nl + 1));
        pos = nl + 1;
        continue;
      }
      checkpoint?.();
      // A fresh buffer, twice as large when one line fills the whole of the last one.
      const next = Buffer.allocUnsafe(Math.max(READ_BYTES, (end - pos) * 2));
      buf.copy(next, 0, pos, end);
      const kept = end - pos;
      const { bytesRead } = await file.read(next, kept, next.length - kept, null);
      buf = next.subarray(0, kept + bytesRead);
      pos = 0;
      end = buf.length;
      if (bytesRead === 0) {
        if (end > 0) throw new LoraPrepError('INTERNAL', `${path} ends without a newline after row ${rows}; please report this bug`);
        return rows;
      }
    }
  } finally {
    await file.close();
  }
}

/**
 * Copies row `i` of the JSONL file `path` to `writers[target[i]]`; rows whose target is `skip`
 * are left out. The lines of the rows in `keep` are also returned as text, in the same pass.
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
  } = {},
): Promise<Routed> {
  let written = 0;
  const kept = new Map<number, string>();
  const rows = await forEachLine(
    path,
    async (row, bytes) => {
      if (options.keep?.has(row)) kept.set(row, bytes.toString('utf8', 0, bytes.length - 1));
      const a = target[row];
      if (a === undefined) throw new LoraPrepError('INTERNAL', `${path} has more rows than were planned; please report this bug`);
      if (a === skip) return;
      await (writers[a] as JsonlWriter).writeBytes(bytes, 1);
      written++;
    },
    options.checkpoint,
  );
  return { rows, written, kept };
}
