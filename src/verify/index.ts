/**
 * Checking a prepared output folder against its manifest: {@link verifyOutput} re-hashes every
 * file that `report/manifest.json` lists (the outputs, and the inputs where they can still be
 * found) and says which are unchanged, changed or missing. Consumes a folder written by
 * `prepareDataset`; produces a {@link VerifyReport}; writes nothing.
 */
import { createHash } from 'node:crypto';
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { exists } from '../_exists.js';
import { LoraPrepError, throwIfAborted } from '../errors.js';
import { halfDoneMoveIn } from '../write/_atomic.js';

/**
 * How a listed file compares with the manifest: same bytes (`ok`), different bytes (`changed`),
 * or not there any more (`missing`).
 *
 * @example
 * const status: VerifyStatus = 'changed';
 */
export type VerifyStatus = 'ok' | 'changed' | 'missing';

/**
 * One file the manifest lists, what the manifest says about it, and what is on disk now.
 *
 * @example
 * const f: VerifiedFile = { file: 'train.jsonl', status: 'ok', expected: { bytes: 10, sha256: '…' }, actual: { bytes: 10, sha256: '…' } };
 */
export interface VerifiedFile {
  /** The path as the manifest writes it: relative to the output folder for outputs, as given in `inputs` for inputs. */
  file: string;
  /** `ok`, `changed` or `missing`. */
  status: VerifyStatus;
  /** Size, sha256 (and lines, for outputs) as the manifest records them. */
  expected: { bytes: number; sha256: string; lines?: number };
  /** What the file holds now (of a `partial` input, its first `expected.bytes` bytes); absent when it is missing. */
  actual?: { bytes: number; sha256: string };
  /**
   * An input the run read only the start of (`maxRows`): the manifest records the bytes read, so
   * those are compared, and the file may have grown after them.
   */
  partial?: true;
}

/**
 * The result of {@link verifyOutput}.
 *
 * @example
 * if (!report.ok) for (const f of report.outputs) if (f.status !== 'ok') console.log(f.status, f.file);
 */
export interface VerifyReport {
  /**
   * True when every output is unchanged, no input that still exists changed (missing inputs are
   * only listed), and no data file the manifest does not list sits beside the outputs.
   */
  ok: boolean;
  /** The folder checked. */
  outDir: string;
  /** The manifest read. */
  manifest: string;
  /** Every output the manifest lists. */
  outputs: VerifiedFile[];
  /** Every input the manifest lists. */
  inputs: VerifiedFile[];
  /**
   * Data files (`.jsonl`, `.json`) at the top of the folder that the manifest does not list: a
   * trainer pointed at the folder (`load_dataset("json", data_dir=...)`) would read them too.
   */
  unlisted: string[];
  /**
   * Set when a `prepare` run was killed while moving its files into place: the temporary folder
   * holding its journal. The folder is then a mix of new and earlier outputs and nothing is
   * checked (`ok` is false); the next `prepare` into it puts the earlier outputs back.
   */
  interrupted?: string | undefined;
}

/**
 * Options of {@link verifyOutput}.
 *
 * @example
 * await verifyOutput('out/v1', { cwd: '/srv/data' });
 */
export interface VerifyOptions {
  /**
   * Folder the manifest's input paths are relative to (they are written as given to `prepareDataset`).
   * Default: `process.cwd()`, and for an input not found there, the folder the run was in, which
   * the manifest names from `outDir` (`inputsFrom`).
   */
  cwd?: string | undefined;
  /** Stops the check (`ABORTED`). */
  signal?: AbortSignal | undefined;
}

/**
 * Re-hashes (sha256) every file listed in `outDir/report/manifest.json` and compares each with the
 * manifest: outputs by their path relative to `outDir`, inputs by their path as given (relative to
 * `options.cwd`). An input that no longer exists is reported as `missing` without failing the check,
 * since a dataset is often verified where its sources are not; a missing output fails it.
 *
 * @param outDir - a folder written by `prepareDataset` (or `lora-prep prepare`).
 * @param options - `cwd` for relative input paths, `signal` to stop.
 * @returns one entry per listed file, and `ok`.
 * @throws LoraPrepError `INPUT_NOT_FOUND` when there is no manifest, `INPUT_FORMAT` when it is not
 * JSON or not a lora-prep manifest, `INPUT_UNREADABLE` when a listed file cannot be read (permissions),
 * `ABORTED`.
 *
 * @example
 * const report = await verifyOutput('out/finance-v1');
 * if (!report.ok) process.exitCode = 1;
 */
export async function verifyOutput(outDir: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const manifestPath = join(outDir, 'report', 'manifest.json');
  // Files half moved: nothing to check them against until the next run undoes the move.
  const interrupted = await halfDoneMoveIn(outDir);
  if (interrupted) return { ok: false, outDir, manifest: manifestPath, outputs: [], inputs: [], unlisted: [], interrupted };
  const manifest = parseManifest(manifestPath, await readManifest(manifestPath));
  // Relative input paths start where the run was: from the current folder, or, where an input is
  // not there, from the folder the manifest names from outDir (which a moved outDir no longer finds).
  const inputsFrom = manifest.inputsFrom === undefined ? undefined : resolve(outDir, manifest.inputsFrom);
  const inputPath = async (file: string): Promise<string> => {
    if (options.cwd !== undefined) return resolve(options.cwd, file);
    const here = resolve(file);
    if (inputsFrom === undefined || isAbsolute(file) || (await exists(here))) return here;
    const there = resolve(inputsFrom, file);
    return (await exists(there)) ? there : here;
  };
  const outputs: VerifiedFile[] = [];
  for (const entry of manifest.outputs) outputs.push(await check(entry, join(outDir, entry.file), options.signal));
  const inputs: VerifiedFile[] = [];
  for (const entry of manifest.inputs) inputs.push(await check(entry, await inputPath(entry.file), options.signal));
  const listed = new Set(manifest.outputs.map((e) => relative('.', e.file)));
  const unlisted = (await readdir(outDir, { withFileTypes: true }))
    .filter((d) => d.isFile() && DATA_FILE.test(d.name) && !listed.has(d.name))
    .map((d) => d.name)
    .sort();
  const ok = outputs.every((f) => f.status === 'ok') && inputs.every((f) => f.status !== 'changed') && unlisted.length === 0;
  return { ok, outDir, manifest: manifestPath, outputs, inputs, unlisted };
}

/**
 * The report as text for a terminal: one line per file that is not `ok`, and a summary line.
 *
 * @example
 * console.log(formatVerify(await verifyOutput('out/v1')));
 */
export function formatVerify(report: VerifyReport): string {
  if (report.interrupted) {
    return (
      `${report.outDir}: a lora-prep prepare run was stopped while moving its files into place (its journal is in ${report.interrupted}): ` +
      'the folder holds part of its new outputs and part of the earlier ones. Run lora-prep prepare into the folder again: it first puts the earlier outputs back.'
    );
  }
  const lines: string[] = [];
  const bad = report.outputs.filter((f) => f.status !== 'ok');
  const changedInputs = report.inputs.filter((f) => f.status === 'changed');
  const missingInputs = report.inputs.filter((f) => f.status === 'missing');
  for (const f of bad) lines.push(`  ${f.status.padEnd(8)} ${f.file}${describeChange(f)}`);
  for (const f of changedInputs) lines.push(`  changed  input ${f.file}${describeChange(f)}`);
  for (const f of missingInputs) lines.push(`  missing  input ${f.file} (not checked: not found from here)`);
  for (const f of report.unlisted) lines.push(`  unlisted ${f} (not in the manifest: a trainer reading the folder would read it too)`);
  const okOutputs = report.outputs.length - bad.length;
  const checkedInputs = report.inputs.length - missingInputs.length;
  const partInputs = report.inputs.filter((f) => f.partial && f.status === 'ok').length;
  const parts = partInputs === 0 ? '' : ` (${partInputs === checkedInputs ? (partInputs === 1 ? 'it' : 'all') : partInputs} by the part the run read, maxRows)`;
  const summary = report.ok
    ? `${report.outDir}: ok, ${okOutputs} output${okOutputs === 1 ? '' : 's'} and ${checkedInputs} input${checkedInputs === 1 ? '' : 's'}${parts} match ${report.manifest}`
    : `${report.outDir}: ${differing(bad.length + changedInputs.length + report.unlisted.length)} from ${report.manifest}`;
  return [summary, ...lines].join('\n');
}

// --- internal ---

function differing(n: number): string {
  return n === 1 ? '1 file differs' : `${n} files differ`;
}

interface ManifestEntry {
  file: string;
  bytes: number;
  sha256: string;
  lines?: number;
  partial?: true;
}

const READ_BYTES = 1024 * 1024;

/** Files a trainer reads as data when given the folder. */
const DATA_FILE = /\.(jsonl|json)$/i;

async function readManifest(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new LoraPrepError(
        'INPUT_NOT_FOUND',
        `${path}: no manifest here. Give the folder that lora-prep prepare wrote (its --out), which holds report/manifest.json.`,
        { location: { file: path }, cause: error },
      );
    }
    throw new LoraPrepError('INPUT_UNREADABLE', `${path}: the manifest cannot be read: ${(error as Error).message}`, {
      location: { file: path },
      cause: error,
    });
  }
}

function parseManifest(path: string, text: string): { outputs: ManifestEntry[]; inputs: ManifestEntry[]; inputsFrom?: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new LoraPrepError('INPUT_FORMAT', `${path}: the manifest is not valid JSON (${(error as Error).message}); was it edited by hand? Rerun lora-prep prepare to write it again.`, {
      location: { file: path },
      cause: error,
    });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !Array.isArray((value as { outputs?: unknown }).outputs)) {
    throw new LoraPrepError('INPUT_FORMAT', `${path}: expected a lora-prep manifest, an object with an "outputs" list; got ${describe(value)}.`, {
      location: { file: path },
    });
  }
  const record = value as { outputs: unknown[]; inputs?: unknown; inputsFrom?: unknown };
  const inputs = record.inputs ?? [];
  if (!Array.isArray(inputs)) {
    throw new LoraPrepError('INPUT_FORMAT', `${path}: "inputs" must be a list, got ${describe(inputs)}.`, { location: { file: path } });
  }
  return {
    outputs: record.outputs.map((e, i) => entry(path, `outputs[${i}]`, e, true)),
    inputs: inputs.map((e, i) => entry(path, `inputs[${i}]`, e, false)),
    ...(typeof record.inputsFrom === 'string' ? { inputsFrom: record.inputsFrom } : {}),
  };
}

function entry(path: string, where: string, value: unknown, insideOutDir: boolean): ManifestEntry {
  const e = value as Partial<Record<keyof ManifestEntry, unknown>> | null;
  const fail = (what: string): never => {
    throw new LoraPrepError('INPUT_FORMAT', `${path}: ${where} ${what}; got ${describe(value)}. Rerun lora-prep prepare to write the manifest again.`, {
      location: { file: path, field: where },
    });
  };
  if (typeof e !== 'object' || e === null || Array.isArray(e)) return fail('must be an object { file, bytes, sha256 }');
  if (typeof e.file !== 'string' || e.file === '') return fail('needs "file", a path');
  if (typeof e.bytes !== 'number' || !Number.isSafeInteger(e.bytes) || e.bytes < 0) return fail('needs "bytes", a whole number');
  if (typeof e.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(e.sha256)) return fail('needs "sha256", 64 hex digits');
  // Output paths are the folder's own files: one pointing outside it is not from lora-prep.
  if (insideOutDir && (isAbsolute(e.file) || relative('.', e.file).split(sep).includes('..'))) return fail('"file" must be a path inside the output folder');
  return {
    file: e.file,
    bytes: e.bytes,
    sha256: e.sha256,
    ...(typeof e.lines === 'number' ? { lines: e.lines } : {}),
    ...(!insideOutDir && e.partial === true ? { partial: true as const } : {}),
  };
}

async function check(expected: ManifestEntry, path: string, signal: AbortSignal | undefined): Promise<VerifiedFile> {
  const base = {
    file: expected.file,
    expected: { bytes: expected.bytes, sha256: expected.sha256, ...(expected.lines === undefined ? {} : { lines: expected.lines }) },
    ...(expected.partial ? { partial: true as const } : {}),
  };
  const actual = await hashFile(path, signal, expected.partial ? expected.bytes : Infinity);
  if (actual === undefined) return { ...base, status: 'missing' };
  const same = actual.bytes === expected.bytes && actual.sha256 === expected.sha256;
  return { ...base, status: same ? 'ok' : 'changed', actual };
}

/**
 * sha256 and size of a file (of its first `limit` bytes at most), or undefined when there is no
 * file at `path` (a folder there counts as changed).
 */
async function hashFile(path: string, signal: AbortSignal | undefined, limit: number): Promise<{ bytes: number; sha256: string } | undefined> {
  throwIfAborted(signal, 'verifying stopped because it was aborted.', path);
  // A pipe or a device where a file was listed is not the file (opening a pipe waits for a writer
  // for ever; /dev/zero never ends).
  const kind = await stat(path).catch(() => undefined);
  if (kind && !kind.isFile()) return { bytes: 0, sha256: kind.isDirectory() ? 'a folder, not a file' : 'not a regular file' };
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw unreadable(path, error);
  }
  try {
    const hash = createHash('sha256');
    const buffer = Buffer.allocUnsafe(READ_BYTES);
    let bytes = 0;
    for (;;) {
      throwIfAborted(signal, 'verifying stopped because it was aborted.', path);
      let bytesRead: number;
      try {
        ({ bytesRead } = await handle.read(buffer, 0, Math.min(READ_BYTES, limit - bytes), null));
      } catch (error) {
        // A folder where a file was listed: it is not the file any more.
        if ((error as { code?: unknown }).code === 'EISDIR') return { bytes: 0, sha256: 'a folder, not a file' };
        throw unreadable(path, error);
      }
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      bytes += bytesRead;
    }
    return { bytes, sha256: hash.digest('hex') };
  } finally {
    await handle.close();
  }
}

function unreadable(path: string, error: unknown): LoraPrepError {
  return new LoraPrepError('INPUT_UNREADABLE', `${path}: cannot be read to check it: ${(error as Error).message}. Check its permissions.`, {
    location: { file: path },
    cause: error,
  });
}


function describeChange(f: VerifiedFile): string {
  if (f.actual === undefined) return '';
  const short = (s: string) => (/^[0-9a-f]{64}$/.test(s) ? `${s.slice(0, 12)}…` : s);
  const what = f.partial ? 'the first ' : '';
  return ` (expected ${what}${f.expected.bytes.toLocaleString('en-US')} bytes, sha256 ${short(f.expected.sha256)}; found ${f.actual.bytes.toLocaleString('en-US')} bytes, sha256 ${short(f.actual.sha256)}${f.partial ? ': the run read only that start of the file (maxRows)' : ''})`;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return `an object with keys ${JSON.stringify(Object.keys(value).slice(0, 8))}`;
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 60 ? `${json.slice(0, 59)}…` : json;
}

