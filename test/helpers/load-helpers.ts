/** Helpers for the loading-stage tests: temp files, chunked sources, a recording context. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect } from 'vitest';
import type { Rejection, SourceRow, StageContext } from '../../src/types.js';
import type { LoadOptions, LoadSource } from '../../src/load/index.js';

let dir: string | undefined;
afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** Writes `content` to a fresh file named `name` in this test file's temp folder; returns its path. */
export async function writeTemp(name: string, content: string | Uint8Array): Promise<string> {
  dir ??= await mkdtemp(join(tmpdir(), 'lora-prep-load-'));
  const sub = await mkdtemp(join(dir, 'case-'));
  const path = join(sub, name);
  await writeFile(path, content);
  return path;
}

/** A `{ name, chunks }` source yielding exactly the given chunks. */
export function chunked(name: string, ...chunks: (string | Uint8Array)[]): LoadSource {
  return {
    name,
    chunks: (async function* () {
      for (const chunk of chunks) yield chunk;
    })(),
  };
}

/** What a load produced: rows as `[line, data]`, rejections, warnings, and the error if it threw. */
export interface LoadResult {
  rows: SourceRow[];
  lines: number[];
  data: Record<string, unknown>[];
  rejected: Rejection[];
  warnings: string[];
  /** Every event in order: `row@line`, `reject:reason@line`, so tests can check interleaving. */
  events: string[];
  error: unknown;
}

/** An expected row: its line and data. */
export type Row = [line: number, data: Record<string, string>];
/** An expected rejection: its line, reason, and the message (exactly, or a pattern). */
export type Rej = [line: number, reason: string, message: string | RegExp];

/** A table case of a CSV/TSV loader test. */
export interface LoadCase {
  name: string;
  text: string;
  file?: string;
  options?: LoadOptions;
  rows: Row[];
  rejected?: Rej[];
  warnings?: RegExp[];
}

/**
 * Checks a load against a case: no error, the rows with their lines, the rejections in order with
 * their reasons and messages, and the warnings (each passed through `warning` first).
 */
export function expectLoaded(result: LoadResult, c: Pick<LoadCase, 'rows' | 'rejected' | 'warnings'>, warning = (w: string) => w): void {
  const rejected = c.rejected ?? [];
  const warnings = c.warnings ?? [];
  expect(result.error).toBeUndefined();
  expect(result.rows.map((r) => [r.source.line, r.data])).toEqual(c.rows);
  expect(result.rejected.map((r) => [r.source.line, r.reason])).toEqual(rejected.map(([l, reason]) => [l, reason]));
  result.rejected.forEach((r, i) => {
    const want = (rejected[i] as Rej)[2];
    if (typeof want === 'string') expect(r.message).toBe(want);
    else expect(r.message).toMatch(want);
  });
  expect(result.warnings).toHaveLength(warnings.length);
  warnings.forEach((w, i) => expect(warning(result.warnings[i] as string)).toMatch(w));
}

/** Runs a loader to the end with a recording context; an error is caught into `error`. */
export async function runLoad(
  load: (ctx: StageContext) => AsyncIterable<SourceRow>,
  signal?: AbortSignal,
): Promise<LoadResult> {
  const result: LoadResult = { rows: [], lines: [], data: [], rejected: [], warnings: [], events: [], error: undefined };
  const ctx: StageContext = {
    reject: (r) => {
      result.rejected.push(r);
      result.events.push(`reject:${r.reason}@${r.source.line}`);
    },
    warn: (m) => void result.warnings.push(m),
    signal,
  };
  try {
    for await (const row of load(ctx)) {
      result.rows.push(row);
      result.lines.push(row.source.line);
      result.data.push(row.data);
      result.events.push(`row@${row.source.line}`);
    }
  } catch (error) {
    result.error = error;
  }
  return result;
}

/** Bytes of `text` in windows-1252-compatible Latin-1 (every char must be ≤ U+00FF). */
export function latin1(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

/** `text` as UTF-16 LE bytes, with a BOM when asked. */
export function utf16le(text: string, bom: boolean): Uint8Array {
  const body = Buffer.from(text, 'utf16le');
  return bom ? Buffer.concat([Buffer.from([0xff, 0xfe]), body]) : body;
}

/**
 * A source whose chunks are made on demand, counting how many were pulled: a loader that streams
 * yields its first row after pulling one or two chunks, not all of them.
 */
export function lazySource(name: string, head: string, makeChunk: (i: number) => string, count: number) {
  const state = { pulled: 0 };
  const source: LoadSource = {
    name,
    chunks: (async function* () {
      state.pulled++;
      yield head;
      for (let i = 0; i < count; i++) {
        state.pulled++;
        yield makeChunk(i);
      }
    })(),
  };
  return { source, state };
}
