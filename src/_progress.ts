/**
 * Progress facts for `prepareDataset()` and the file commands (`validateFile`, `fileStats`,
 * `checkLeakage`): one `read` event every {@link PROGRESS_EVERY_ROWS} rows (or second, whichever
 * comes first), stage changes as they happen, then one `done` event with the final counts.
 */
import type { ProgressEvent } from './options.js';

/** Rows between two `read` events; calling back more often would cost more than it tells. */
export const PROGRESS_EVERY_ROWS = 10_000;

/** Time after which a `read` event comes even before {@link PROGRESS_EVERY_ROWS} more rows. */
export const PROGRESS_EVERY_MS = 1_000;

/** Emits throttled {@link ProgressEvent}s; does nothing without a callback. */
export class ProgressTicker {
  #last = 0;
  #lastAt = Date.now();
  readonly #onProgress: ((event: ProgressEvent) => void) | undefined;
  readonly #started: number;
  /** Input bytes read so far and in all (0: unknown), for a progress bar's fraction. */
  bytes = 0;
  readonly totalBytes: number;

  /** `started`: when the run began (`Date.now()`), if before this ticker was made. */
  constructor(onProgress: ((event: ProgressEvent) => void) | undefined, totalBytes = 0, started = Date.now()) {
    this.#onProgress = onProgress;
    this.totalBytes = totalBytes;
    this.#started = started;
  }

  #sizes(): { bytes?: number; totalBytes?: number } {
    return this.totalBytes > 0 ? { bytes: this.bytes, totalBytes: this.totalBytes } : {};
  }

  /**
   * `rows` read so far (over every file), `kept` of them usable; emits every
   * {@link PROGRESS_EVERY_ROWS} rows, or after {@link PROGRESS_EVERY_MS} with fewer (rows of
   * megabytes, a few hundred of which take minutes).
   */
  tick(rows: number, kept: number, file?: string): void {
    if (!this.#onProgress || rows === this.#last) return;
    const now = Date.now();
    if (rows - this.#last < PROGRESS_EVERY_ROWS && now - this.#lastAt < PROGRESS_EVERY_MS) return;
    this.#last = rows;
    this.#lastAt = now;
    this.#onProgress({ stage: 'read', rows, kept, file, elapsedMs: Date.now() - this.#started, ...this.#sizes() });
  }

  /** A stage change (`read` at the start, `plan`, `write`), always emitted. */
  stage(stage: ProgressEvent['stage'], rows: number, kept: number): void {
    this.#onProgress?.({ stage, rows, kept, elapsedMs: Date.now() - this.#started, ...this.#sizes() });
  }

  /** How far the near-duplicate search of the `plan` stage has come (`fraction`, 0 to 1). */
  plan(rows: number, kept: number, fraction: number): void {
    this.#onProgress?.({ stage: 'plan', rows, kept, elapsedMs: Date.now() - this.#started, ...this.#sizes(), fraction });
  }

  /** The final counts, always emitted. */
  done(rows: number, kept: number): void {
    this.bytes = this.totalBytes;
    this.stage('done', rows, kept);
  }
}
