/**
 * Outputs on the disk before they are moved into place: every file a run commits, and its journal,
 * is flushed (fsync) before the first move, and the folders that name the moved files after it.
 */
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';

const events: string[] = [];

vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...fs,
    open: async (...args: Parameters<typeof fs.open>) => {
      const handle = await fs.open(...args);
      const sync = handle.sync.bind(handle);
      handle.sync = async () => {
        events.push(`sync ${String(args[0])}`);
        return sync();
      };
      return handle;
    },
    rename: async (from: string, to: string) => {
      events.push(`rename ${from} -> ${to}`);
      return fs.rename(from, to);
    },
  };
});

const { OutputTransaction } = await import('../src/write/_atomic.js');
const { writeFile } = await import('node:fs/promises');
const { tempDir } = await import('./helpers/index.js');

describe('committing outputs', () => {
  it('flushes each new file and the journal before the first move, and the folders after the moves', async () => {
    const outDir = join(await tempDir(), 'o');
    const tx = await OutputTransaction.begin(outDir, false);
    const written = ['train.jsonl', 'report/report.json'];
    for (const rel of written) await writeFile(await tx.path(rel), 'x\n');
    events.length = 0;
    await tx.commit(written, written);
    const firstMove = events.findIndex((e) => e.startsWith('rename '));
    const lastMove = events.findLastIndex((e) => e.startsWith('rename '));
    expect(firstMove).toBeGreaterThan(0);
    for (const rel of written) {
      const at = events.indexOf(`sync ${join(tx.tempDir, rel)}`);
      expect(at, rel).toBeGreaterThanOrEqual(0);
      expect(at, rel).toBeLessThan(firstMove);
    }
    expect(events.indexOf(`sync ${join(tx.tempDir, '.commit.json')}`)).toBeLessThan(firstMove);
    for (const dir of [outDir, join(outDir, 'report')]) expect(events.indexOf(`sync ${dir}`), dir).toBeGreaterThan(lastMove);
  });
});
