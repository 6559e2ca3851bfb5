/**
 * Output files whole or not at all: everything is written in a temporary folder inside `outDir`
 * and moved into place at the end, all of them or none; a failed or aborted run leaves `outDir` as
 * it was. One run at a time writes into a folder (a lock file), and what a killed run left behind
 * is cleaned up, or undone, by the next run into the same folder.
 */
import { randomBytes } from 'node:crypto';
import { link, lstat, mkdir, open, readdir, readFile, readlink, rename, rm, rmdir, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { LoraPrepError } from '../errors.js';

/** Prefix of the temporary folder (dot-named so trainers that read the folder skip it). */
export const TEMP_PREFIX = '.lora-prep-tmp-';

/**
 * The lock of a folder being written: it names the process (and machine) writing. Its name starts
 * with {@link TEMP_PREFIX}, so that a folder holding only it counts as empty.
 */
const LOCK = `${TEMP_PREFIX}lock`;
/**
 * In the temporary folder: the files being moved into place, written before the first move and
 * deleted once every new file is in place (the commit point): while it is there, a later run
 * undoes the move.
 */
const JOURNAL = '.commit.json';
/** A lock not touched for this long is stale, whoever holds it (its holder touches it every minute). */
const LOCK_STALE_MS = 5 * 60_000;
const LOCK_TOUCH_MS = 60_000;
/**
 * When this process started (ms since the epoch, to about a millisecond): a lock naming this
 * process's id but an earlier start is a dead predecessor's (a restarted container's PID 1), one
 * naming the same start is this process's own (another thread's run, or another call's).
 */
const PROCESS_START = Math.round(Date.now() - process.uptime() * 1000);
/** In the temporary folder: the earlier outputs, moved aside while the new ones move in. */
const BACKUP = '.old';

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

/**
 * Whether `outDir` holds what a killed run left (a temporary folder): the run about to begin there
 * cleans it up, or undoes its half-done move, before it checks that the folder may be written.
 *
 * @example
 * await checkOutDir(outDir, overwrite || (await killedRunIn(outDir)));
 */
export async function killedRunIn(outDir: string): Promise<boolean> {
  try {
    return (await readdir(outDir, { withFileTypes: true })).some((e) => e.isDirectory() && e.name.startsWith(TEMP_PREFIX));
  } catch {
    return false;
  }
}

/**
 * The temporary folder of a run killed while moving its files into place (its journal is there),
 * or undefined: until the next run into `outDir` undoes that move, the folder holds part of the new
 * outputs and part of the earlier ones.
 *
 * @example
 * const half = await halfDoneMoveIn('out/v1'); // '/…/out/v1/.lora-prep-tmp-123-ab12cd34' or undefined
 */
export async function halfDoneMoveIn(outDir: string): Promise<string | undefined> {
  let entries;
  try {
    entries = await readdir(outDir, { withFileTypes: true });
  } catch {
    return undefined;
  }
  for (const entry of entries) {
    if (!entry.isDirectory() || !entry.name.startsWith(TEMP_PREFIX)) continue;
    const dir = join(outDir, entry.name);
    if (await readJournal(dir)) return dir;
  }
  return undefined;
}

/**
 * A set of files being written into a temporary folder, then committed together.
 *
 * @example
 * const tx = await OutputTransaction.begin('out/v1', false);
 * await writeFile(await tx.path('train.jsonl'), text);
 * await tx.commit(['train.jsonl'], ['train.jsonl', 'validation.jsonl']);
 */
export class OutputTransaction {
  readonly outDir: string;
  readonly tempDir: string;
  /** What was found and cleaned up on the way in (a killed run's temporary folder), for the run's warnings. */
  readonly notes: readonly string[];
  readonly #createdOutDir: boolean;
  readonly #lock: HeldLock;
  /** Set when a failed commit could not put every earlier output back: the temporary folder holds them. */
  #keepTemp = false;

  private constructor(outDir: string, tempDir: string, createdOutDir: boolean, notes: string[], lock: HeldLock) {
    this.outDir = outDir;
    this.tempDir = tempDir;
    this.#createdOutDir = createdOutDir;
    this.notes = notes;
    this.#lock = lock;
  }

  /**
   * Creates `outDir` if needed, takes its lock (`OUTPUT_NOT_EMPTY` while another run holds it),
   * cleans up after killed runs, checks again that the folder may be written (another run may
   * have finished there meanwhile) and creates the temporary folder.
   */
  static async begin(outDir: string, overwrite: boolean): Promise<OutputTransaction> {
    let created = false;
    try {
      await stat(outDir);
    } catch {
      created = true;
    }
    try {
      await makeFolders(outDir);
    } catch (e) {
      throw new LoraPrepError('WRITE_FAILED', `cannot create ${outDir}: ${(e as Error).message}. Check the outDir path and permissions.`, { cause: e });
    }
    const lock = await takeLock(outDir);
    const release = async () => {
      await lock.release();
      if (created) await rmdir(outDir).catch(() => undefined);
    };
    const notes: string[] = [];
    let tempDir: string;
    try {
      const restored = await cleanUpAfterKilledRuns(outDir);
      if (restored.folders > 0) {
        notes.push(
          `outDir held ${restored.folders === 1 ? 'the temporary folder' : `${restored.folders} temporary folders`} left by a run that was killed (or whose last move failed); ` +
            (restored.undone ? 'it was stopped while moving its files into place, so that move was undone (the outputs before it were put back) and the folder removed' : 'removed'),
        );
      }
      await checkOutDir(outDir, overwrite);
      tempDir = join(outDir, `${TEMP_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`);
      await mkdir(tempDir);
    } catch (e) {
      await release();
      if (e instanceof LoraPrepError) throw e;
      throw new LoraPrepError('WRITE_FAILED', `cannot prepare ${outDir} for writing: ${(e as Error).message}. Check the outDir path and permissions.`, { cause: e });
    }
    return new OutputTransaction(outDir, tempDir, created, notes, lock);
  }

  /** Path inside the temporary folder for a file that will land at `outDir/relPath`. */
  async path(relPath: string): Promise<string> {
    const p = join(this.tempDir, relPath);
    await mkdir(dirname(p), { recursive: true });
    return p;
  }

  /**
   * Moves the written files into place, all of them or none. `owned` lists every relative path
   * lora-prep may write, so an earlier run's file that this run did not produce (an old
   * `test.jsonl`) goes. The earlier files are first moved aside; if a move fails (a permission,
   * a full disk), the new files are taken out again and the earlier ones put back.
   */
  async commit(written: string[], owned: string[]): Promise<void> {
    const backup = join(this.tempDir, BACKUP);
    const moved: string[] = [];
    const placed: string[] = [];
    try {
      // On the disk before any move, so that after a power cut the moved files are whole (a
      // rename is often on the disk before the data it names), and the journal too.
      await Promise.all(written.map((rel) => flushToDisk(join(this.tempDir, rel))));
      await writeFile(join(this.tempDir, JOURNAL), JSON.stringify({ written }));
      await flushToDisk(join(this.tempDir, JOURNAL));
      await flushToDisk(this.tempDir);
      for (const rel of new Set([...owned, ...written])) {
        if (!(await exists(join(this.outDir, rel)))) continue;
        await mkdir(dirname(join(backup, rel)), { recursive: true });
        await rename(join(this.outDir, rel), join(backup, rel));
        moved.push(rel);
      }
      for (const rel of written) {
        const to = join(this.outDir, rel);
        await mkdir(dirname(to), { recursive: true });
        await rename(join(this.tempDir, rel), to);
        placed.push(rel);
      }
      // The moves themselves: the folders that name the new files.
      await Promise.all([...new Set(written.map((rel) => dirname(join(this.outDir, rel))))].map((dir) => flushToDisk(dir)));
      await unlink(join(this.tempDir, JOURNAL));
    } catch (e) {
      const stuck = await this.#undo(placed, moved);
      this.#keepTemp = stuck.length > 0;
      // Undone: the journal goes first, so that a run killed while removing the temporary folder
      // leaves nothing a later run would take for a half-done move. Not undone: it stays, and the
      // next run into the folder puts the earlier outputs back from it.
      if (!this.#keepTemp) await unlink(join(this.tempDir, JOURNAL)).catch(() => undefined);
      const after =
        stuck.length === 0
          ? 'Nothing was changed: the earlier outputs are in place.'
          : `These earlier outputs could not be put back and are in ${backup}: ${stuck.join(', ')}.`;
      throw new LoraPrepError('WRITE_FAILED', `cannot move the output into ${this.outDir}: ${(e as Error).message}. ${after} Check permissions and free space.`, { cause: e });
    }
    await rm(this.tempDir, { recursive: true, force: true }).catch(() => undefined);
    await this.#lock.release();
  }

  /** Removes the temporary folder and the lock (and `outDir` itself when this run created it and it is empty). */
  async rollback(): Promise<void> {
    if (!this.#keepTemp) await rm(this.tempDir, { recursive: true, force: true }).catch(() => undefined);
    await this.#lock.release();
    if (this.#createdOutDir) await rmdir(this.outDir).catch(() => undefined);
  }

  /** Takes the new files out again and puts the earlier ones back; returns those it could not put back. */
  async #undo(placed: string[], moved: string[]): Promise<string[]> {
    for (const rel of placed.reverse()) await rename(join(this.outDir, rel), join(this.tempDir, rel)).catch(() => undefined);
    const stuck: string[] = [];
    for (const rel of moved.reverse()) {
      try {
        await rename(join(this.tempDir, BACKUP, rel), join(this.outDir, rel));
      } catch {
        stuck.push(rel);
      }
    }
    return stuck;
  }
}

// --- internal ---

/**
 * Asks the system to put a file's data, or a folder's entries, on the disk (fsync). A folder that
 * cannot be opened for it (Windows) is left to the system.
 */
async function flushToDisk(path: string): Promise<void> {
  let file;
  try {
    file = await open(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EISDIR' || (e as NodeJS.ErrnoException).code === 'EPERM') return;
    throw e;
  }
  try {
    await file.sync();
  } finally {
    await file.close();
  }
}

/**
 * `mkdir -p`, which fails where the system makes no folder: Node's recursive mkdir loops for ever
 * on a path whose parent exists but takes no folders (`/proc/x`: mkdir answers ENOENT there).
 */
async function makeFolders(path: string): Promise<void> {
  const make = async (): Promise<'made' | 'no parent'> => {
    try {
      await mkdir(path);
      return 'made';
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && (await stat(path)).isDirectory()) return 'made';
      if (code === 'ENOENT' && dirname(path) !== path) return 'no parent';
      throw e;
    }
  };
  if ((await make()) === 'made') return;
  await makeFolders(dirname(path));
  if ((await make()) === 'no parent') throw Object.assign(new Error(`no folder can be made at ${path}`), { code: 'ENOENT' });
}

/** Who holds a folder's lock. */
interface LockHolder {
  pid: number;
  /** When the process started (see PROCESS_START). */
  pidStart?: number | undefined;
  host: string;
  /** The kernel's boot id (Linux), telling a lock from before a reboot. */
  boot?: string | undefined;
  /** The process id namespace (Linux): containers on one machine and boot number their processes apart. */
  pidns?: string | undefined;
  started: string;
  /** The lock file's text, as read (not written into it). */
  text?: string | undefined;
}

/** A lock this process holds: touched every minute while held. */
interface HeldLock {
  release(): Promise<void>;
}

/**
 * Takes `outDir`'s lock: a file made whole under another name and linked to the lock's name, so
 * that it exists complete or not at all, and of two runs only one links it (where the file system
 * has no hard links, FAT or some network shares, it is created with `wx` instead). A stale lock is
 * taken over: on this machine, one from before a reboot, one whose process is gone, or one naming
 * this process's id with an earlier start (a restarted container's PID 1); from another machine,
 * one not touched for {@link LOCK_STALE_MS} (its holder touches it every minute).
 */
async function takeLock(outDir: string): Promise<HeldLock> {
  const path = join(outDir, LOCK);
  const mine = join(outDir, `${LOCK}-${process.pid}-${randomBytes(4).toString('hex')}`);
  const holder: LockHolder = { pid: process.pid, pidStart: PROCESS_START, host: hostname(), boot: await bootId(), pidns: await pidNamespace(), started: new Date().toISOString() };
  const text = JSON.stringify(holder);
  try {
    await writeFile(mine, text);
    let other: LockHolder | 'unreadable' | undefined;
    for (let attempt = 0; attempt < 20; attempt++) {
      if (await linkOrCreate(mine, path, text)) return heldLock(path, text);
      other = await readLock(path);
      if (other === undefined) continue; // released meanwhile
      if (!(await isStale(path, other, holder))) break;
      if (await takeOver(path, other === 'unreadable' ? undefined : other.text, mine)) return heldLock(path, text);
      // Another run is taking it over: look again in a moment.
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20));
    }
    const local = other !== undefined && other !== 'unreadable' && sameProcessSpace(other, holder);
    const who = other === undefined || other === 'unreadable' ? 'another lora-prep run' : `another lora-prep run (process ${other.pid} on ${other.host}, since ${other.started})`;
    const stale = local ? 'a lock whose process is gone is taken over' : `a lock not touched for ${LOCK_STALE_MS / 60_000} minutes is taken over`;
    throw new LoraPrepError(
      'OUTPUT_NOT_EMPTY',
      `outDir ${outDir} is being written by ${who}. Wait for it to finish or choose another outDir ` +
        `(${stale}; if no run is writing there, you may delete ${path}).`,
    );
  } catch (e) {
    if (e instanceof LoraPrepError) throw e;
    throw new LoraPrepError('WRITE_FAILED', `cannot lock ${outDir} for writing: ${(e as Error).message}. Check the outDir path and permissions.`, { cause: e });
  } finally {
    await unlink(mine).catch(() => undefined);
  }
}

/** Links `from` to `to` (false when `to` exists); without hard links, creates `to` exclusively. */
async function linkOrCreate(from: string, to: string, text: string): Promise<boolean> {
  try {
    await link(from, to);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS' && code !== 'EXDEV') throw e;
  }
  try {
    await writeFile(to, text, { flag: 'wx' });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

/** A lock just taken: touched every minute; released only while it is still ours. */
function heldLock(path: string, text: string): HeldLock {
  const touch = setInterval(() => {
    const now = new Date();
    utimes(path, now, now).catch(() => undefined);
  }, LOCK_TOUCH_MS);
  touch.unref();
  let released = false;
  return {
    release: async () => {
      if (released) return;
      released = true;
      clearInterval(touch);
      // Only our own lock: one taken over meanwhile (ours judged stale) is the new holder's.
      if ((await readFile(path, 'utf8').catch(() => undefined)) === text) await unlink(path).catch(() => undefined);
    },
  };
}

/**
 * Replaces a stale lock by ours, one run at a time: the run that links the takeover guard first
 * checks that the lock is still the stale one and renames its own over it (atomically); the others
 * look again. A guard older than 10 seconds is a killed run's, and goes.
 */
async function takeOver(path: string, staleText: string | undefined, mine: string): Promise<boolean> {
  const guard = `${path}-takeover`;
  try {
    await link(mine, guard);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
      // No hard links here (FAT, some shares): take the stale lock as it is.
      await unlink(path).catch(() => undefined);
      return false;
    }
    const age = await stat(guard).then((g) => Date.now() - g.mtimeMs).catch(() => 0);
    if (age > 10_000) await unlink(guard).catch(() => undefined);
    return false;
  }
  try {
    const now = await readFile(path, 'utf8').catch(() => undefined);
    // Still the lock judged stale (an unreadable one: still unreadable), not taken or released meanwhile.
    const still = now !== undefined && (staleText === undefined ? (await readLock(path)) === 'unreadable' : now === staleText);
    if (!still) return false;
    await rename(mine, path);
    return true;
  } finally {
    await unlink(guard).catch(() => undefined);
  }
}

/** Whether two holders' processes are numbered alike: one machine, one boot, one pid namespace. */
function sameProcessSpace(other: LockHolder, me: LockHolder): boolean {
  return other.host === me.host && other.boot === me.boot && other.pidns === me.pidns;
}

async function isStale(path: string, other: LockHolder | 'unreadable', me: LockHolder): Promise<boolean> {
  if (other === 'unreadable') return true;
  if (other.host === me.host && other.boot !== undefined && me.boot !== undefined && other.boot !== me.boot) return true; // from before a reboot
  if (sameProcessSpace(other, me)) {
    // This machine, this boot: the process tells (a paused run keeps its lock however long).
    if (other.pid !== process.pid) return !isAlive(other.pid) || (other.pidStart !== undefined && (await startedApart(other.pid, other.pidStart)));
    return other.pidStart === undefined || Math.abs(other.pidStart - PROCESS_START) > 1_000;
  }
  // Another machine (or container): only the lock's age tells, as its holder touches it each minute.
  try {
    return Date.now() - (await stat(path)).mtimeMs > LOCK_STALE_MS;
  } catch {
    return true; // gone meanwhile
  }
}

/** The process id namespace of this process, where Linux gives one. */
async function pidNamespace(): Promise<string | undefined> {
  try {
    return await readlink('/proc/self/ns/pid');
  } catch {
    return undefined;
  }
}

/** The kernel's boot id, where Linux gives one. */
async function bootId(): Promise<string | undefined> {
  try {
    return (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The lock's holder; undefined when the lock went away meanwhile, 'unreadable' when it is not a lock this code wrote. */
async function readLock(path: string): Promise<LockHolder | 'unreadable' | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const holder = JSON.parse(text) as Partial<LockHolder>;
    if (typeof holder.pid === 'number' && typeof holder.host === 'string') {
      return {
      pid: holder.pid,
      pidStart: typeof holder.pidStart === 'number' ? holder.pidStart : undefined,
      host: holder.host,
      boot: typeof holder.boot === 'string' ? holder.boot : undefined,
      pidns: typeof holder.pidns === 'string' ? holder.pidns : undefined,
      started: String(holder.started),
      text,
    };
    }
  } catch {
    // below
  }
  return 'unreadable';
}

/**
 * Whether the live process `pid` started more than a few seconds away from `pidStart` (Linux): the
 * holder died and its id went to another process. False where the start cannot be read.
 */
async function startedApart(pid: number, pidStart: number): Promise<boolean> {
  try {
    // Field 22 of /proc/PID/stat, after the command name in parentheses: clock ticks (100 a second) since boot.
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const boot = Number(/^btime (\d+)$/m.exec(await readFile('/proc/stat', 'utf8'))?.[1]);
    if (!Number.isFinite(ticks) || !Number.isFinite(boot)) return false;
    return Math.abs(boot * 1000 + ticks * 10 - pidStart) > 5_000;
  } catch {
    return false;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temporary folders of runs that were killed (with the lock held, no live run owns
 * one). A run killed while moving its files into place left some new files beside earlier ones:
 * that move is undone from its journal (the new files out, the earlier ones back).
 */
async function cleanUpAfterKilledRuns(outDir: string): Promise<{ folders: number; undone: boolean }> {
  let folders = 0;
  let undone = false;
  for (const entry of await readdir(outDir, { withFileTypes: true })) {
    if (!entry.name.startsWith(TEMP_PREFIX) || entry.name === LOCK) continue;
    const dir = join(outDir, entry.name);
    if (!entry.isDirectory()) {
      // A lock's content file, left by a run killed while taking the lock (one a minute old is no
      // other run's, still taking it).
      // (Another run taking the lock this moment deletes its own file: gone, it is no concern.)
      const made = await stat(dir).catch(() => undefined);
      if (entry.name.startsWith(`${LOCK}-`) && made && Date.now() - made.mtimeMs > 60_000) await unlink(dir).catch(() => undefined);
      continue;
    }
    if (await undoHalfCommit(outDir, dir)) undone = true;
    await rm(dir, { recursive: true, force: true });
    folders++;
  }
  return { folders, undone };
}

/**
 * The files a temporary folder's journal lists; undefined where there is no journal (the commit
 * finished, or none began) or one cut short while being written (nothing had moved yet).
 */
async function readJournal(dir: string): Promise<string[] | undefined> {
  try {
    return (JSON.parse(await readFile(join(dir, JOURNAL), 'utf8')) as { written: string[] }).written;
  } catch {
    return undefined;
  }
}

/**
 * Undoes the move of a commit that did not reach its commit point (its journal is still there);
 * true when there was one. Safe to run again if this run is killed too: a new file goes back into
 * the temporary folder (not deleted), an earlier one back from the backup, and the journal goes last.
 */
async function undoHalfCommit(outDir: string, dir: string): Promise<boolean> {
  const written = await readJournal(dir);
  if (!written) return false;
  // A new file no longer in the temporary folder was moved into place: it goes back.
  for (const rel of written) {
    if (await exists(join(dir, rel))) continue;
    await mkdir(dirname(join(dir, rel)), { recursive: true });
    await rename(join(outDir, rel), join(dir, rel)).catch(() => undefined);
  }
  const backup = join(dir, BACKUP);
  for (const rel of await filesUnder(backup)) {
    await mkdir(dirname(join(outDir, rel)), { recursive: true });
    await rename(join(backup, rel), join(outDir, rel));
  }
  await unlink(join(dir, JOURNAL));
  return true;
}

/** Relative paths of the files under `dir` (none when it does not exist). */
async function filesUnder(dir: string, under = ''): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(join(dir, under), { withFileTypes: true });
  } catch {
    return [];
  }
  const files: string[] = [];
  for (const e of entries) {
    const rel = join(under, e.name);
    if (e.isDirectory()) files.push(...(await filesUnder(dir, rel)));
    else files.push(rel);
  }
  return files;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}
