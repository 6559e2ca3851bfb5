/** Whether a path names something (a file, a folder; a link by what it points to). Not part of the public API. */
import { access } from 'node:fs/promises';

/**
 * True when `path` exists (following links), false for any error.
 *
 * @example
 * if (await exists('out/train.fixed.jsonl')) throw new Error('would overwrite');
 */
export async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
