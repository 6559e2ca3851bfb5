import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFile, mkdir, readdir, readFile, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { prepareDataset } from '../src/index.js';
import { OutputTransaction, TEMP_PREFIX } from '../src/write/_atomic.js';
import { snapshot, tempDir } from './helpers/index.js';

const FIXTURE = 'fixtures/finance/advisor-chat.jsonl'; // 15 rows

/** A lock as a process of this machine, boot and pid namespace writes it. */
function localLock(fields: Record<string, unknown>): string {
  const read = (path: string, link = false) => {
    try {
      return link ? readlinkSync(path) : readFileSync(path, 'utf8').trim();
    } catch {
      return undefined;
    }
  };
  return JSON.stringify({ host: hostname(), boot: read('/proc/sys/kernel/random/boot_id'), pidns: read('/proc/self/ns/pid', true), started: 'then', ...fields });
}

async function rows(n: number, tag: string): Promise<string> {
  const file = join(await tempDir(), `${tag}.jsonl`);
  await writeFile(file, Array.from({ length: n }, (_, i) => JSON.stringify({ question: `${tag} question ${i}?`, answer: `${tag} answer ${i}.` })).join('\n'));
  return file;
}

describe('inputs and outDir', () => {
  it('refuses an input inside outDir (a run there would replace or remove it), and leaves everything as it was', async () => {
    const raw = await tempDir();
    await copyFile(await rows(30, 'train'), join(raw, 'train.jsonl'));
    await copyFile(await rows(10, 'held-out'), join(raw, 'test.jsonl'));
    const before = await snapshot(raw);
    for (const inputs of [[raw], [join(raw, 'train.jsonl')]]) {
      await expect(prepareDataset({ inputs, outDir: raw, overwrite: true })).rejects.toMatchObject({
        code: 'OPTION_INVALID',
        message: expect.stringMatching(/^inputs: .*(train|test)\.jsonl is inside outDir .*: a run replaces the files it writes there .*write to another folder$/),
      });
    }
    // Through a link to the folder too.
    const link = join(await tempDir(), 'link');
    await symlink(raw, link);
    await expect(prepareDataset({ inputs: [join(raw, 'test.jsonl')], outDir: link, overwrite: true })).rejects.toMatchObject({ code: 'OPTION_INVALID' });
    expect(await snapshot(raw)).toEqual(before);
    // A name that starts with two dots is inside the folder too.
    await copyFile(await rows(5, 'dots'), join(raw, '..old.jsonl'));
    await expect(prepareDataset({ inputs: [join(raw, '..old.jsonl')], outDir: raw, overwrite: true })).rejects.toMatchObject({ code: 'OPTION_INVALID' });
  });

  it('takes a link to an input given too for the same file (exact dedup on)', async () => {
    const dir = await tempDir();
    await symlink(join(process.cwd(), FIXTURE), join(dir, 'same.jsonl'));
    await expect(prepareDataset({ inputs: [FIXTURE, join(dir, 'same.jsonl')], outDir: join(dir, 'o') })).rejects.toMatchObject({
      code: 'OPTION_INVALID',
      message: expect.stringMatching(/same\.jsonl is the same file as fixtures\/finance\/advisor-chat\.jsonl/),
    });
  });
});

describe('making outDir', () => {
  it('makes the missing folders of a deep path, and fails at once (WRITE_FAILED) where no folder can be made (/proc/x, where Node\'s own mkdir -p loops)', async () => {
    const outDir = join(await tempDir(), 'a', 'b', 'c');
    await prepareDataset({ inputs: [FIXTURE], outDir });
    expect((await readdir(outDir)).includes('train.jsonl')).toBe(true);
    if (process.platform === 'linux') {
      await expect(prepareDataset({ inputs: [FIXTURE], outDir: '/proc/lora-prep-test/out' })).rejects.toMatchObject({ code: 'WRITE_FAILED', message: expect.stringMatching(/cannot create \/proc\/lora-prep-test\/out/) });
      await expect(prepareDataset({ inputs: [FIXTURE], outDir: '/proc/lora-prep-test' })).rejects.toMatchObject({ code: 'WRITE_FAILED' });
    }
    // A file on the way is no folder: refused, not looped on.
    const file = join(await tempDir(), 'f');
    await writeFile(file, 'x');
    await expect(prepareDataset({ inputs: [FIXTURE], outDir: join(file, 'o') })).rejects.toMatchObject({ code: 'WRITE_FAILED' });
  });
});

describe('committing the outputs', () => {
  it('leaves outDir as it was when onProgress throws, at done as at every other stage', async () => {
    const outDir = join(await tempDir(), 'o');
    await prepareDataset({ inputs: [FIXTURE], outDir });
    const before = await snapshot(outDir);
    for (const stage of ['read', 'write', 'done']) {
      const boom = new Error(`callback failed at ${stage}`);
      await expect(
        prepareDataset({
          inputs: [await rows(40, stage)],
          outDir,
          overwrite: true,
          onProgress: (e) => {
            if (e.stage === stage) throw boom;
          },
        }),
      ).rejects.toBe(boom);
      expect(await snapshot(outDir)).toEqual(before);
    }
    const fresh = join(await tempDir(), 'new');
    await expect(prepareDataset({ inputs: [FIXTURE], outDir: fresh, onProgress: (e) => void (e.stage === 'done' && (() => { throw new Error('x'); })()) })).rejects.toThrow('x');
    expect(existsSync(fresh)).toBe(false);
  });

  it('puts the earlier outputs back when a move fails part-way: none of the new files, none of the old lost', async () => {
    const outDir = join(await tempDir(), 'o');
    await prepareDataset({ inputs: [FIXTURE], outDir, split: { validation: 0.2, test: 0.2 } });
    // A file named `report` where the new report folder must go: the moves of train and
    // validation succeed, the first report file's fails.
    const { rm } = await import('node:fs/promises');
    await rm(join(outDir, 'report'), { recursive: true });
    await writeFile(join(outDir, 'report'), 'a note of the user\n');
    const before = await snapshot(outDir);
    await expect(prepareDataset({ inputs: [await rows(40, 'new')], outDir, overwrite: true })).rejects.toMatchObject({
      code: 'WRITE_FAILED',
      message: expect.stringMatching(/Nothing was changed: the earlier outputs are in place/),
    });
    expect(await snapshot(outDir)).toEqual(before);
  });

  it('lets one run at a time write into a folder: of two at once without overwrite, one fails with OUTPUT_NOT_EMPTY', async () => {
    const outDir = join(await tempDir(), 'o');
    const [a, b] = await Promise.allSettled([
      prepareDataset({ inputs: [await rows(300, 'a')], outDir, split: { validation: 0.1 } }),
      prepareDataset({ inputs: [await rows(300, 'b')], outDir, split: { validation: 0.2, test: 0.1 } }),
    ]);
    expect([a.status, b.status].sort()).toEqual(['fulfilled', 'rejected']);
    const failed = (a.status === 'rejected' ? a : b) as PromiseRejectedResult;
    expect(failed.reason).toMatchObject({ code: 'OUTPUT_NOT_EMPTY' });
    // What is there is one run's, whole.
    const won = a.status === 'fulfilled' ? 'a' : 'b';
    const train = await readFile(join(outDir, 'train.jsonl'), 'utf8');
    expect(train).toContain(`${won} question`);
    expect(train).not.toContain(`${won === 'a' ? 'b' : 'a'} question`);
    expect((await readdir(outDir)).filter((f) => f.startsWith(TEMP_PREFIX))).toEqual([]);
  });
});

describe('OutputTransaction under contention', () => {
  it('of several transactions begun at once on one folder, exactly one holds it; the others fail with OUTPUT_NOT_EMPTY', async () => {
    for (let trial = 0; trial < 40; trial++) {
      const outDir = await tempDir();
      const results = await Promise.allSettled(Array.from({ length: 4 }, () => OutputTransaction.begin(outDir, true)));
      const won = results.filter((r): r is PromiseFulfilledResult<OutputTransaction> => r.status === 'fulfilled');
      expect(won, `trial ${trial}: ${results.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : 'ok')).join(' | ')}`).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'OUTPUT_NOT_EMPTY' });
      await (won[0] as PromiseFulfilledResult<OutputTransaction>).value.rollback();
    }
  });

  it('judges a lock of another pid namespace (a container with this hostname) by its age alone, not by a process id of its own', async () => {
    const outDir = await tempDir();
    const lock = join(outDir, `${TEMP_PREFIX}lock`);
    // Process 1 with an earlier start would be a dead predecessor in this namespace; in another it is a live run.
    await writeFile(lock, localLock({ pid: 1, pidStart: 0, pidns: 'pid:[1]' }));
    await expect(OutputTransaction.begin(outDir, true)).rejects.toMatchObject({ code: 'OUTPUT_NOT_EMPTY', message: expect.stringMatching(/not touched for 5 minutes/) });
    const old = new Date(Date.now() - 6 * 60_000);
    await utimes(lock, old, old);
    await (await OutputTransaction.begin(outDir, true)).rollback();
  });

  it('of several transactions begun at once on a folder with a stale lock, exactly one takes it over', async () => {
    for (let trial = 0; trial < 30; trial++) {
      const outDir = await tempDir();
      await writeFile(join(outDir, `${TEMP_PREFIX}lock`), localLock({ pid: 4_000_000_000 }));
      const results = await Promise.allSettled(Array.from({ length: 4 }, () => OutputTransaction.begin(outDir, true)));
      const won = results.filter((r): r is PromiseFulfilledResult<OutputTransaction> => r.status === 'fulfilled');
      expect(won, `trial ${trial}`).toHaveLength(1);
      await (won[0] as PromiseFulfilledResult<OutputTransaction>).value.rollback();
    }
  });

  it('takes over an empty or garbled lock file', async () => {
    for (const garbage of ['', '{"pid":', 'not json']) {
      const outDir = await tempDir();
      await writeFile(join(outDir, `${TEMP_PREFIX}lock`), garbage);
      await (await OutputTransaction.begin(outDir, true)).rollback();
    }
  });

  it("does not release a lock that is no longer its own", async () => {
    const outDir = await tempDir();
    const tx = await OutputTransaction.begin(outDir, true);
    const lock = join(outDir, `${TEMP_PREFIX}lock`);
    await writeFile(lock, JSON.stringify({ pid: 1, host: 'another-machine', started: 'later' }));
    await tx.rollback();
    expect(JSON.parse(await readFile(lock, 'utf8'))).toMatchObject({ host: 'another-machine' });
  });
});

describe('OutputTransaction after a killed run', () => {
  it('refuses a folder whose lock a live process holds, naming it; takes it over once that process is gone', async () => {
    const outDir = await tempDir();
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
    try {
      await writeFile(join(outDir, `${TEMP_PREFIX}lock`), localLock({ pid: child.pid, started: '2026-11-29T10:00:00.000Z' }));
      await expect(OutputTransaction.begin(outDir, true)).rejects.toMatchObject({
        code: 'OUTPUT_NOT_EMPTY',
        message: expect.stringMatching(new RegExp(`being written by another lora-prep run \\(process ${child.pid} on .*since 2026-11-29T10:00:00\\.000Z\\)`)),
      });
    } finally {
      child.kill();
      await once(child, 'exit');
    }
    const tx = await OutputTransaction.begin(outDir, true);
    await tx.rollback();
  });

  it.skipIf(process.platform !== 'linux')('takes over a lock whose process id now belongs to another live process (started at another time), not one whose process started then', async () => {
    const outDir = await tempDir();
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
    try {
      await once(child, 'spawn');
      const childStart = Date.now();
      // The holder died three days ago; its id went to the child.
      await writeFile(join(outDir, `${TEMP_PREFIX}lock`), localLock({ pid: child.pid, pidStart: childStart - 3 * 86_400_000 }));
      await (await OutputTransaction.begin(outDir, true)).rollback();
      // The child's own lock (its start, to within the second the system gives it): kept.
      await writeFile(join(outDir, `${TEMP_PREFIX}lock`), localLock({ pid: child.pid, pidStart: childStart }));
      await expect(OutputTransaction.begin(outDir, true)).rejects.toMatchObject({ code: 'OUTPUT_NOT_EMPTY' });
    } finally {
      child.kill();
      await once(child, 'exit');
    }
  });

  it('takes over a lock that names this process id with an earlier start (a restarted container is PID 1 again), or one of another machine not touched for 5 minutes', async () => {
    const outDir = await tempDir();
    const lock = join(outDir, `${TEMP_PREFIX}lock`);
    const start = Math.round(Date.now() - process.uptime() * 1000);
    await writeFile(lock, localLock({ pid: process.pid, pidStart: start - 60_000 }));
    await (await OutputTransaction.begin(outDir, true)).rollback();
    // The same id and start: this process's own run (another thread's), which is alive.
    await writeFile(lock, localLock({ pid: process.pid, pidStart: start }));
    await expect(OutputTransaction.begin(outDir, true)).rejects.toMatchObject({ code: 'OUTPUT_NOT_EMPTY' });
    await writeFile(lock, JSON.stringify({ pid: 1, host: 'another-machine', started: 'then' }));
    await expect(OutputTransaction.begin(outDir, true)).rejects.toMatchObject({ code: 'OUTPUT_NOT_EMPTY' });
    const old = new Date(Date.now() - 6 * 60_000);
    await utimes(lock, old, old);
    await (await OutputTransaction.begin(outDir, true)).rollback();
  });

  it('lets a second transaction into a folder wait for none: it fails while the first holds the lock, naming the holder', async () => {
    const outDir = await tempDir();
    const first = await OutputTransaction.begin(outDir, true);
    await expect(prepareDataset({ inputs: [FIXTURE], outDir, overwrite: true })).rejects.toMatchObject({
      code: 'OUTPUT_NOT_EMPTY',
      message: expect.stringMatching(new RegExp(`being written by another lora-prep run \\(process ${process.pid} `)),
    });
    await first.rollback();
    expect((await prepareDataset({ inputs: [FIXTURE], outDir, overwrite: true })).counts.input).toBe(15);
  });

  it('takes over the lock of a process that is gone, removes its temporary folder and undoes its half-done move', async () => {
    const outDir = await tempDir();
    const dead = 4_000_000_000; // no such process
    await writeFile(join(outDir, `${TEMP_PREFIX}lock`), localLock({ pid: dead }));
    // The killed run had moved the earlier train.jsonl and validation.jsonl aside and its new
    // train.jsonl into place; its validation.jsonl was still in its temporary folder.
    const temp = join(outDir, `${TEMP_PREFIX}${dead}-0badcafe`);
    await mkdir(join(temp, '.old', 'report'), { recursive: true });
    await writeFile(join(temp, '.commit.json'), JSON.stringify({ written: ['train.jsonl', 'validation.jsonl', 'report/report.json'] }));
    await writeFile(join(temp, '.old', 'train.jsonl'), 'old train\n');
    await writeFile(join(temp, '.old', 'validation.jsonl'), 'old validation\n');
    await writeFile(join(temp, '.old', 'report', 'report.json'), '{"old":true}\n');
    await writeFile(join(temp, 'validation.jsonl'), 'new validation\n');
    await mkdir(join(temp, 'report'));
    await writeFile(join(temp, 'report', 'report.json'), '{"new":true}\n');
    await writeFile(join(outDir, 'train.jsonl'), 'new train\n');
    // A second killed run's folder that never reached its commit.
    await mkdir(join(outDir, `${TEMP_PREFIX}${dead + 1}-00000000`));
    const tx = await OutputTransaction.begin(outDir, true);
    expect(tx.notes).toEqual([expect.stringMatching(/^outDir held 2 temporary folders left by a run that was killed .*that move was undone/)]);
    await tx.rollback();
    expect(await snapshot(outDir)).toEqual({
      '/train.jsonl': Buffer.from('old train\n').toString('base64'),
      '/validation.jsonl': Buffer.from('old validation\n').toString('base64'),
      '/report': 'dir',
      '/report/report.json': Buffer.from('{"old":true}\n').toString('base64'),
    });
  });

  it('leaves a committed run alone (its journal gone: killed while removing its temporary folder): the folder goes, its outputs stay', async () => {
    const outDir = await tempDir();
    const temp = join(outDir, `${TEMP_PREFIX}4000000000-12345678`);
    await mkdir(join(temp, '.old'), { recursive: true });
    await writeFile(join(temp, '.old', 'train.jsonl'), 'old train\n');
    await writeFile(join(outDir, 'train.jsonl'), 'new train\n');
    const tx = await OutputTransaction.begin(outDir, true);
    expect(tx.notes).toEqual([expect.stringMatching(/temporary folder left by a run that was killed .*; removed$/)]);
    await tx.rollback();
    expect(await snapshot(outDir)).toEqual({ '/train.jsonl': Buffer.from('new train\n').toString('base64') });
  });

  it('undoes a half-done move safely twice: a run killed while undoing one leaves what the next can finish', async () => {
    const outDir = await tempDir();
    const temp = join(outDir, `${TEMP_PREFIX}4000000000-aaaaaaaa`);
    await mkdir(join(temp, '.old'), { recursive: true });
    // The first undo had put the new train.jsonl back into the temporary folder and the earlier
    // one in place, and was killed before it removed the journal.
    await writeFile(join(temp, '.commit.json'), JSON.stringify({ written: ['train.jsonl', 'validation.jsonl'] }));
    await writeFile(join(temp, 'train.jsonl'), 'new train\n');
    await writeFile(join(outDir, 'train.jsonl'), 'old train\n');
    // validation.jsonl: the new one in place, the earlier one still in the backup.
    await writeFile(join(outDir, 'validation.jsonl'), 'new validation\n');
    await writeFile(join(temp, '.old', 'validation.jsonl'), 'old validation\n');
    const tx = await OutputTransaction.begin(outDir, true);
    await tx.rollback();
    expect(await snapshot(outDir)).toEqual({
      '/train.jsonl': Buffer.from('old train\n').toString('base64'),
      '/validation.jsonl': Buffer.from('old validation\n').toString('base64'),
    });
  });
});

describe('a killed run in a new folder', () => {
  it('is undone by the next run without --overwrite: the folder held nothing before it', async () => {
    const outDir = join(await tempDir(), 'o');
    await mkdir(outDir);
    // Killed while moving its files into a new folder: train.jsonl moved, validation.jsonl not yet.
    const temp = join(outDir, `${TEMP_PREFIX}4000000000-deadbeef`);
    await mkdir(temp);
    await writeFile(join(temp, '.commit.json'), JSON.stringify({ written: ['train.jsonl', 'validation.jsonl'] }));
    await writeFile(join(temp, 'validation.jsonl'), '{}\n');
    await writeFile(join(outDir, 'train.jsonl'), '{}\n');
    const result = await prepareDataset({ inputs: [FIXTURE], outDir });
    expect(result.warnings).toContainEqual(expect.stringMatching(/that move was undone/));
    expect(result.counts.input).toBe(15);
  });

  it('still refuses a folder of finished outputs without --overwrite', async () => {
    const outDir = join(await tempDir(), 'o');
    await prepareDataset({ inputs: [FIXTURE], outDir });
    await mkdir(join(outDir, `${TEMP_PREFIX}4000000000-00000000`));
    await expect(prepareDataset({ inputs: [FIXTURE], outDir })).rejects.toMatchObject({ code: 'OUTPUT_NOT_EMPTY' });
  });
});
