/**
 * Output files whole or not at all: everything is written in a temporary folder inside `outDir`
 * and renamed into place at the end; a failed or aborted run leaves `outDir` as it was.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { LoraPrepError } from '../errors.js';

/** Prefix of the temporary folder (dot-named so trainers that read the folder skip it). */
export const TEMP_PREFIX = '.lora-prep-tmp-';

/**
 * Checks that `outDir` may be written: absent, empty, or `overwrite`.
 * Throws `OUTPUT_NOT_EMPTY` otherwise, saying what to do.
 */
export async function checkOutDir(outDir: string, overwrite: boolean): Promise<void> {
  let entries: string[];
  try {
    const s = await stat(outDir);
    if (!s.isDirectory()) {
      throw new LoraPrepError('OUTPUT_NOT_EMPTY', `outDir ${outDir} exists and is not a folder. Choose another outDir.`);
    }
    entries = await readdir(outDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    if (e instanceof LoraPrepError) throw e;
    throw new LoraPrepError('WRITE_FAILED', `outDir ${outDir} cannot be used: ${(e as Error).message}. Choose a folder path you can write to.`, { cause: e });
  }
  const visible = entries.filter((e) => !e.startsWith(TEMP_PREFIX));
  if (visible.length > 0 && !overwrite) {
    throw new LoraPrepError(
      'OUTPUT_NOT_EMPTY',
      `outDir ${outDir} is not empty (${visible.slice(0, 3).join(', ')}${visible.length > 3 ? ', …' : ''}). ` +
        'Choose a new folder, or pass overwrite: true (CLI --overwrite) to replace the files lora-prep wrote there.',
    );
  }
}

/** A set of files being written into a temporary folder, then committed together. */
export class OutputTransaction {
  readonly outDir: string;
  readonly tempDir: string;
  readonly #createdOutDir: boolean;

  private constructor(outDir: string, tempDir: string, createdOutDir: boolean) {
    this.outDir = outDir;
    this.tempDir = tempDir;
    this.#createdOutDir = createdOutDir;
  }

  /** Creates `outDir` if needed and the temporary folder inside it. */
  static async begin(outDir: string): Promise<OutputTransaction> {
    let created = false;
    try {
      await stat(outDir);
    } catch {
      created = true;
    }
    const tempDir = join(outDir, `${TEMP_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      await mkdir(tempDir, { recursive: true });
    } catch (e) {
      throw new LoraPrepError('WRITE_FAILED', `cannot create ${tempDir}: ${(e as Error).message}. Check the outDir path and permissions.`, {
        cause: e,
      });
    }
    return new OutputTransaction(outDir, tempDir, created);
  }

  /** Path inside the temporary folder for a file that will land at `outDir/relPath`. */
  async path(relPath: string): Promise<string> {
    const p = join(this.tempDir, relPath);
    await mkdir(dirname(p), { recursive: true });
    return p;
  }

  /**
   * Moves the written files into place. `owned` lists every relative path lora-prep may write, so
   * an earlier run's file that this run did not produce (an old `test.jsonl`) is removed.
   */
  async commit(written: string[], owned: string[]): Promise<void> {
    try {
      const keep = new Set(written);
      for (const rel of owned) if (!keep.has(rel)) await rm(join(this.outDir, rel), { force: true });
      for (const rel of written) {
        const to = join(this.outDir, rel);
        await mkdir(dirname(to), { recursive: true });
        await rename(join(this.tempDir, rel), to);
      }
      await rm(this.tempDir, { recursive: true, force: true });
    } catch (e) {
      throw new LoraPrepError('WRITE_FAILED', `cannot move the output into ${this.outDir}: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Removes the temporary folder (and `outDir` itself when this run created it and it is empty). */
  async rollback(): Promise<void> {
    await rm(this.tempDir, { recursive: true, force: true }).catch(() => undefined);
    if (this.#createdOutDir) await rmdir(this.outDir).catch(() => undefined);
  }
}
