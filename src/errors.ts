/**
 * Errors for problems with the job (options, files, output folder). Problems with one row are
 * never thrown: they become {@link Rejection}s in `report/rejected.jsonl`.
 */
import type { PrepareResult } from './prepare.js';

/** Stable codes of {@link LoraPrepError}. Renaming one is a breaking change. */
export type ErrorCode =
  | 'OPTION_INVALID'
  | 'INPUT_NOT_FOUND'
  | 'INPUT_UNREADABLE'
  | 'INPUT_FORMAT'
  | 'MAPPING_INVALID'
  | 'TOKENIZER_UNAVAILABLE'
  | 'OUTPUT_NOT_EMPTY'
  | 'SPLIT_TOO_SMALL'
  | 'DATA_FAILED'
  | 'WRITE_FAILED'
  | 'ABORTED'
  | 'INTERNAL';

/** Where a problem is: a file, and a 1-based line when one applies. */
export interface ErrorLocation {
  /** The input or output path concerned. */
  file?: string | undefined;
  /** 1-based line, where one applies. */
  line?: number | undefined;
  /** The column, key or option concerned. */
  field?: string | undefined;
}

/**
 * The one error type thrown for a bad job. `code` is stable; the message names the file, the line
 * where relevant, and what to do.
 *
 * @example
 * try { await prepareDataset(opts) } catch (e) { if (isLoraPrepError(e) && e.code === 'OUTPUT_NOT_EMPTY') ... }
 */
export class LoraPrepError extends Error {
  /** Always `'LoraPrepError'` (what {@link isLoraPrepError} checks). */
  override readonly name = 'LoraPrepError';
  /** Stable code of the failure (see docs/errors.md). */
  readonly code: ErrorCode;
  /** The file, line or field concerned, when there is one. */
  readonly location: ErrorLocation | undefined;
  /**
   * The run's result where its files were written and a check of the data failed after (`DATA_FAILED`
   * from `failOn`): counts, files and the report, as `prepareDataset` would have returned them.
   */
  readonly result?: PrepareResult | undefined;

  /**
   * `instanceof LoraPrepError` holds for this package's errors from either of its builds (ESM and
   * CommonJS, both loaded in one process, have a class each) and from another copy of it.
   *
   * @example
   * createRequire(import.meta.url)('lora-prep').LoraPrepError; // another class, the same errors
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return Function.prototype[Symbol.hasInstance].call(this, value) || (this === LoraPrepError && branded(value));
  }

  /**
   * Creates the error; `cause` is kept as the standard `Error.cause`.
   *
   * @param code - stable code of the failure.
   * @param message - what failed and what to do, naming the file and line where relevant.
   * @param options - `location` of the problem and the underlying `cause`.
   */
  constructor(code: ErrorCode, message: string, options: { location?: ErrorLocation; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.location = options.location;
  }
}

/**
 * True when `value` is a {@link LoraPrepError} (also across duplicated copies of the package).
 *
 * @example
 * if (isLoraPrepError(err)) console.error(err.code, err.message);
 */
export function isLoraPrepError(value: unknown): value is LoraPrepError {
  return value instanceof LoraPrepError;
}

/** An error of another copy or build of this package: its name and a code. */
function branded(value: unknown): boolean {
  return value instanceof Error && value.name === 'LoraPrepError' && typeof (value as { code?: unknown }).code === 'string';
}

/** `file:line` (or just `file`) for messages. */
export function formatLocation(loc: ErrorLocation): string {
  if (!loc.file) return '';
  return loc.line === undefined ? loc.file : `${loc.file}:${loc.line}`;
}

/** JSON of a value cut to about `max` characters, for the "got ..." part of a message. */
export function preview(value: unknown, max = 80): string {
  let s: string;
  try {
    s = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  } catch {
    s = String(value);
  }
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/**
 * Throws `ABORTED` once `signal` has fired, saying what `stopped` (a fixed text, so nothing is
 * built while the run goes on); with `file`, the message names it and the error's location is it.
 *
 * @example
 * throwIfAborted(ctx.signal, 'loading stopped because the run was aborted.', 'data/a.csv');
 */
export function throwIfAborted(signal: AbortSignal | undefined, stopped: string, file?: string): void {
  if (!signal?.aborted) return;
  throw new LoraPrepError('ABORTED', file === undefined ? stopped : `${file}: ${stopped}`, {
    ...(file === undefined ? {} : { location: { file } }),
    cause: signal.reason,
  });
}
