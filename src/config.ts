/**
 * Config files: `defineConfig()` types a `lora-prep.config.ts`, and `loadConfigFile()` (used by the
 * CLI's `--config`) reads one: TypeScript or JavaScript through jiti, JSON as it is. Relative paths
 * in a config (`inputs`, `outDir`, `mapping.promptFile`, a `./` tokenizer folder) are relative to the
 * config file's folder.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, extname, isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LoraPrepError } from './errors.js';
import { givenCrossIssues, prepareOptionsSchema, resolveOptions, type InputSpec, type PrepareOptions } from './options.js';

/**
 * What a config file holds: every option of `prepareDataset()`. `inputs` and `outDir` may be left
 * out when the command line gives them (`lora-prep prepare data.csv --out DIR --config FILE`);
 * `onProgress` and `signal` belong to the caller, not to a file.
 */
export type LoraPrepConfig = Omit<PrepareOptions, 'inputs' | 'outDir' | 'onProgress' | 'signal'> & {
  /** Input files; relative paths are relative to the config file's folder. */
  inputs?: Array<string | InputSpec> | undefined;
  /** Output folder; a relative path is relative to the config file's folder. */
  outDir?: string | undefined;
};

/**
 * Types a config file, so the editor completes and checks every option. Returns its argument.
 *
 * @param config - the options, as `prepareDataset()` takes them.
 * @returns the same object.
 *
 * @example
 * // lora-prep.config.ts
 * import { defineConfig } from 'lora-prep';
 * export default defineConfig({ inputs: ['data/finance.csv'], outDir: 'out/finance-v1', target: 'openai' });
 */
export function defineConfig(config: LoraPrepConfig): LoraPrepConfig {
  return config;
}

/** Extensions `loadConfigFile()` reads. */
export const CONFIG_EXTENSIONS = ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs', '.json'] as const;

/**
 * Reads a config file and checks its options (unknown or bad ones throw, naming the file). Relative
 * paths in it are rewritten relative to the current folder, so they point where the file meant.
 *
 * @param path - a `.ts`, `.mts`, `.cts`, `.js`, `.mjs`, `.cjs` or `.json` file.
 * @returns the options it holds.
 * @throws LoraPrepError `INPUT_NOT_FOUND` (no such file), `OPTION_INVALID` (cannot be loaded, not an object, bad options).
 *
 * @example
 * const config = await loadConfigFile('lora-prep.config.ts');
 */
export async function loadConfigFile(path: string): Promise<LoraPrepConfig> {
  const ext = extname(path).toLowerCase();
  if (!(CONFIG_EXTENSIONS as readonly string[]).includes(ext)) {
    throw new LoraPrepError('OPTION_INVALID', `${path}: a config file is ${CONFIG_EXTENSIONS.join(', ')}, got ${JSON.stringify(ext || 'no extension')}`, {
      location: { file: path },
    });
  }
  if (!existsSync(path)) throw new LoraPrepError('INPUT_NOT_FOUND', `${path}: no such config file. Check the path, or create one with lora-prep init.`, { location: { file: path } });
  const value = ext === '.json' ? await readJson(path) : await importModule(path);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new LoraPrepError('OPTION_INVALID', `${path}: expected ${ext === '.json' ? 'a JSON object' : 'a default export'} of options (export default defineConfig({ ... })), got ${describe(value)}`, {
      location: { file: path },
    });
  }
  const config = value as Record<string, unknown>;
  check(path, config);
  return relativeTo(dirname(path), config) as LoraPrepConfig;
}

// --- internal ---

async function readJson(path: string): Promise<unknown> {
  const text = await readFile(path, 'utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new LoraPrepError('OPTION_INVALID', `${path}: not valid JSON: ${(e as Error).message}`, { location: { file: path }, cause: e });
  }
}

async function importModule(path: string): Promise<unknown> {
  // Loaded only here, so the library bundle does not pull jiti in.
  const { createJiti } = await import('jiti');
  const entry = packageEntry();
  // `import { defineConfig } from 'lora-prep'` resolves to this very package, so a config works
  // anywhere: beside a global install, in a folder without node_modules, inside this repository.
  const jiti = createJiti(import.meta.url, { moduleCache: false, ...(entry ? { alias: { 'lora-prep': entry } } : {}) });
  try {
    const mod = await jiti.import<Record<string, unknown> | null>(resolve(path));
    // `module.exports = null`: nothing to look into (check() says what it got).
    if (mod === null || typeof mod !== 'object') return mod;
    // `export default { ... }` (or a promise of it); in a file that may be CommonJS, `module.exports`
    // (which jiti hands back as it is when the file required something).
    if ('default' in mod) {
      const value = await mod.default;
      // jiti hands `export default undefined` back as the module namespace itself.
      return isNamespaceOfNothing(value) ? undefined : value;
    }
    return ['.cjs', '.cts', '.js'].includes(extname(path).toLowerCase()) ? mod : undefined;
  } catch (e) {
    // jiti fails this way on `export default null`: say what the file exports, as for any other value.
    if (e instanceof TypeError && e.message.includes("of null (reading 'then')")) return null;
    throw new LoraPrepError('OPTION_INVALID', `${path}: cannot load the config: ${e instanceof Error ? e.message : String(e)}`, { location: { file: path }, cause: e });
  }
}

/** A module namespace whose only export is a `default` of undefined. */
function isNamespaceOfNothing(value: unknown): boolean {
  if (value === null || typeof value !== 'object' || Object.getPrototypeOf(value) !== null) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && keys[0] === 'default' && (value as { default?: unknown }).default === undefined;
}

/**
 * The package's public entry beside this module: `dist/index.js` when running the build (the CLI
 * bundle sits in `dist/`), `src/index.ts` when running from source.
 */
function packageEntry(): string | undefined {
  for (const name of ['./index.js', './index.ts']) {
    const file = fileURLToPath(new URL(name, import.meta.url));
    if (existsSync(file)) return file;
  }
  return undefined;
}

/** Checks each option's type and name; `inputs` and `outDir` may still come from the command line. */
function check(path: string, config: Record<string, unknown>): void {
  const probe = { ...config };
  if (probe.inputs === undefined) probe.inputs = ['(from the command line)'];
  if (probe.outDir === undefined) probe.outDir = '(from the command line)';
  if (prepareOptionsSchema.safeParse(probe).success) {
    const cross = givenCrossIssues(probe);
    if (cross.length === 0) return;
    throw new LoraPrepError('OPTION_INVALID', `${path}: Invalid options:\n${cross.map((l) => `  - ${l}`).join('\n')}`, { location: { file: path } });
  }
  try {
    resolveOptions(probe);
  } catch (e) {
    throw new LoraPrepError('OPTION_INVALID', `${path}: ${(e as Error).message}`, { location: { file: path }, cause: e });
  }
}

function relativeTo(dir: string, config: Record<string, unknown>): Record<string, unknown> {
  const fix = (p: string): string => (isAbsolute(p) ? p : relative(process.cwd(), resolve(dir, p)) || '.');
  // `mapping: { preset: 'template', promptFile }`, job-wide or per input.
  const fixMapping = (m: unknown): unknown =>
    m !== null && typeof m === 'object' && typeof (m as { promptFile?: unknown }).promptFile === 'string'
      ? { ...m, promptFile: fix((m as { promptFile: string }).promptFile) }
      : m;
  const out = { ...config };
  if (Array.isArray(out.inputs)) {
    out.inputs = out.inputs.map((i: unknown) => {
      if (typeof i === 'string') return fix(i);
      if (i === null || typeof i !== 'object' || typeof (i as InputSpec).path !== 'string') return i;
      const spec: Record<string, unknown> = { ...(i as Record<string, unknown>), path: fix((i as InputSpec).path) };
      if (spec.mapping !== undefined) spec.mapping = fixMapping(spec.mapping);
      return spec;
    });
  }
  if (typeof out.outDir === 'string') out.outDir = fix(out.outDir);
  if (out.mapping !== undefined) out.mapping = fixMapping(out.mapping);
  // A tokenizer is a name (o200k_base, llama-3) or a folder; only an explicit ./ or ../ is a path.
  if (typeof out.tokenizer === 'string' && /^\.\.?[\\/]/.test(out.tokenizer)) out.tokenizer = fix(out.tokenizer);
  return out;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing (no default export)';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
