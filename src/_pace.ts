/**
 * Giving way to the event loop during long synchronous passes (near-duplicate verification:
 * seconds at 200,000 rows, minutes at millions), so that Ctrl-C, an `AbortSignal` and progress
 * events are seen while they run instead of after.
 */
import { throwIfAborted } from './errors.js';

/**
 * Called at a pass's checkpoints with the share of it done (0 to 1). Returns undefined at once
 * (most calls), or, once {@link PACE_MS} have passed since it last gave way, a promise that
 * resolves after the event loop has run (or rejects with `ABORTED` when the run was aborted):
 * `const wait = pace?.(done); if (wait) await wait;`.
 */
export type Pace = (done: number) => Promise<void> | undefined;

/** How long a pass runs before it gives way: short enough that Ctrl-C feels immediate. */
export const PACE_MS = 100;

/**
 * A {@link Pace} that reports each pause to `onPause` (progress) and stops with `ABORTED`
 * (message `stopped`) once `signal` is aborted.
 *
 * @example
 * const pace = pacer(opts.signal, 'the run was aborted', (done) => progress.plan(rows, kept, done));
 */
export function pacer(signal: AbortSignal | undefined, stopped: string, onPause?: (done: number) => void, everyMs = PACE_MS): Pace {
  let last = performance.now();
  return (done) => {
    const now = performance.now();
    if (now - last < everyMs) return undefined;
    onPause?.(done);
    return new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      last = performance.now();
      throwIfAborted(signal, stopped);
    });
  };
}
