/**
 * Inputs as files: a path names a file, or a folder standing for the data files in it (a sharded
 * export as Spark or BigQuery writes it).
 */
import { open, readdir, realpath, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { LoraPrepError } from './errors.js';
import { formatFromExtension, isGzipped } from './load/format.js';
import { GZIP_MAGIC } from './load/text.js';
import type { InputSpec } from './options.js';

/**
 * Why a path that does not exist may be no path at all: a glob pattern (expanded by a shell, never
 * here) or standard input.
 */
function notAPath(path: string): string {
  if (path === '-' || path === '/dev/stdin') return ' Inputs are files or folders, not standard input: save the data to a file first.';
  if (/[*?[\]{}]/.test(path)) return ' Patterns such as *.csv are not expanded here: let the shell expand them (unquoted, on the command line), or give the folder that holds the files.';
  if (/^~[^/]*(\/|$)/.test(path)) return ' A leading ~ is not expanded here (the shell expands it only at the start of a word, unquoted: not after --out= or in a config file): give the full path.';
  if (sep === '/' && path.includes('\\')) return ` Backslashes are part of a name here, not folder separators: write ${JSON.stringify(path.replace(/\\/g, '/'))}.`;
  return '';
}

/** Folder entries looked at in one go. */
const STATS_AT_ONCE = 64;

/**
 * The files an input stands for, with their sizes: a file itself; a folder, the files in it whose
 * names say their format (or all of them when the input gives `format`), in natural name order
 * (`part-2` before `part-10`), each with the folder's settings. Hidden files and markers such as
 * Spark's `_SUCCESS` are left out; other files and subfolders are left out with a warning.
 */
export async function inputFiles(spec: InputSpec, warn: (message: string) => void): Promise<Array<{ spec: InputSpec; bytes: number }>> {
  const missing = (e: unknown) =>
    new LoraPrepError('INPUT_NOT_FOUND', `input ${spec.path} does not exist (${(e as NodeJS.ErrnoException).code ?? 'unreadable'}). Check the path; relative paths start at ${process.cwd()}.${notAPath(spec.path)}`, {
      location: { file: spec.path },
    });
  let s: Stats;
  try {
    s = await stat(spec.path);
  } catch (e) {
    throw missing(e);
  }
  if (s.isFile()) return [{ spec, bytes: s.size }];
  if (!s.isDirectory()) throw new LoraPrepError('INPUT_NOT_FOUND', `input ${spec.path} is not a file. Give the path of a CSV, TSV, JSONL or JSON file, or of a folder of them.${notAPath(spec.path)}`);
  const files: Array<{ spec: InputSpec; bytes: number }> = [];
  const skipped: string[] = [];
  const folders: string[] = [];
  let names: string[];
  try {
    names = (await readdir(spec.path)).sort(naturalOrder);
  } catch (e) {
    throw missing(e);
  }
  const listedNames = names.filter((name) => !name.startsWith('.') && !name.startsWith('_'));
  // Stat several at once: one at a time, a folder of 5,000 files waited 0.5 s on them.
  const entries: Array<Stats | undefined> = [];
  for (let i = 0; i < listedNames.length; i += STATS_AT_ONCE) {
    entries.push(...(await Promise.all(listedNames.slice(i, i + STATS_AT_ONCE).map((name) => stat(join(spec.path, name)).catch(() => undefined)))));
  }
  for (const [i, name] of listedNames.entries()) {
    const path = join(spec.path, name);
    const entry = entries[i];
    if (entry?.isFile() === true && (spec.format !== undefined || formatFromExtension(name) !== undefined)) files.push({ spec: { ...spec, path }, bytes: entry.size });
    else if (entry?.isDirectory() === true) folders.push(`${name}/`);
    else skipped.push(name);
  }
  if (files.length === 0) {
    throw new LoraPrepError(
      'INPUT_NOT_FOUND',
      `input ${spec.path} is a folder with no CSV, TSV, JSONL or JSON file (.gz too) in it${skipped.length + folders.length > 0 ? ` (it holds ${listed([...skipped, ...folders])})` : ''}. ` +
        'List the files in inputs, or give the folder a format to read files of other names.',
      { location: { file: spec.path } },
    );
  }
  const left = [
    ...(skipped.length > 0 ? [`${listed(skipped)} (no format in the name)`] : []),
    ...(folders.length > 0 ? [`${listed(folders)} (subfolders are not read)`] : []),
  ];
  if (left.length > 0) warn(`${spec.path}: read ${files.length} file${files.length === 1 ? '' : 's'} of the folder; left out ${left.join(' and ')}`);
  return files;
}

/**
 * The first path that names the same file as an earlier one (by absolute path, or by `keys`, one a
 * path: their real paths), with that one.
 *
 * @example
 * repeatedPath(['a.csv', './b.csv', 'a.csv']) // { file: 'a.csv', earlier: 'a.csv' }
 */
export function repeatedPath(paths: readonly string[], keys: readonly string[] = paths.map((p) => resolve(p))): { file: string; earlier: string } | undefined {
  const seen = new Map<string, string>();
  for (const [i, file] of paths.entries()) {
    const key = keys[i] as string;
    const earlier = seen.get(key);
    if (earlier !== undefined) return { file, earlier };
    seen.set(key, file);
  }
  return undefined;
}

/**
 * The real path of a file (through symbolic links), or its resolved path when it cannot be found.
 * Not part of the public API.
 *
 * @example
 * await realPath('data/link-to-rows.jsonl') // '/srv/data/rows.jsonl'
 */
export async function realPath(path: string): Promise<string> {
  return realpath(path).catch(() => resolve(path));
}

/**
 * The first input that lies inside `outDir` (through links), or undefined; `outDir` need not
 * exist. `reals`: the inputs' real paths, where the caller has them. A run replaces the files it writes there, and a later run would read them as input.
 *
 * @example
 * await inputInside(['raw/train.jsonl'], 'raw') // 'raw/train.jsonl'
 */
export async function inputInside(paths: readonly string[], outDir: string, reals?: readonly string[]): Promise<string | undefined> {
  const folder = await realPath(outDir);
  for (const [i, path] of paths.entries()) {
    const rel = relative(folder, reals?.[i] ?? (await realPath(path)));
    // `..old.jsonl` is a name inside the folder; `..` and `../x` are outside it.
    if (rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel)) return path;
  }
  return undefined;
}

/**
 * Up to five names, then how many more.
 *
 * @example
 * listed(['a', 'b']) // 'a, b'
 */
export function listed(names: string[]): string {
  return names.length <= 5 ? names.join(', ') : `${names.slice(0, 5).join(', ')} and ${names.length - 5} more`;
}

/**
 * Names in natural order: runs of digits compare as numbers (`part-2` before `part-10`), the rest by code point.
 *
 * @example
 * ['part-10', 'part-2'].sort(naturalOrder) // ['part-2', 'part-10']
 */
export function naturalOrder(a: string, b: string): number {
  const pa = a.match(/\d+|\D+/g) ?? [];
  const pb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i] as string;
    const y = pb[i] as string;
    if (x === y) continue;
    const nx = /^\d/.test(x) && /^\d/.test(y);
    if (nx && BigInt(x) !== BigInt(y)) return BigInt(x) < BigInt(y) ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return pa.length - pb.length || (a < b ? -1 : a > b ? 1 : 0);
}

/** A gzip file holds several times its size in text (4x is low for text; the bench corpus is 8x). */
const GZIP_TEXT_RATIO = 4;

/**
 * About how many bytes of text the inputs hold, counted until `enough` is reached: a gzip file
 * (named `.gz`, or with gzip's first bytes under any name, as the loaders read it) as four times
 * its size. Decides whether worker threads pay off.
 *
 * @example
 * (await textBytes([{ path: 'rows.jsonl', bytes: 2e6 }], 4e6)) >= 4e6 // true when rows.jsonl is gzipped
 */
export async function textBytes(files: ReadonlyArray<{ path: string; bytes: number }>, enough: number): Promise<number> {
  let total = 0;
  for (const f of files) {
    if (total >= enough) break;
    total += ((await gzipped(f.path)) ? GZIP_TEXT_RATIO : 1) * f.bytes;
  }
  return total;
}

async function gzipped(path: string): Promise<boolean> {
  if (isGzipped(path)) return true;
  const head = Buffer.alloc(GZIP_MAGIC.length);
  try {
    const file = await open(path, 'r');
    try {
      await file.read(head, 0, head.length, 0);
    } finally {
      await file.close();
    }
  } catch {
    return false; // the loader reports an unreadable file
  }
  return GZIP_MAGIC.every((b, i) => head[i] === b);
}
