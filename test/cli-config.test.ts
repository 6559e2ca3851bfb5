import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/run.js';
import { loadConfigFile } from '../src/config.js';
import { defineConfig } from '../src/index.js';
import { tempDir } from './helpers/index.js';
import { fakeIo } from './helpers/cli.js';

const REPO = process.cwd();
const FAQ = join(REPO, 'fixtures/medical/patient-faq.json'); // 15 rows: 14 kept, 1 rejected


/** A folder with `data/patient-faq.json` and the given config file. */
async function project(name: string, text: string): Promise<{ dir: string; config: string }> {
  const dir = await tempDir();
  await mkdir(join(dir, 'data'));
  await copyFile(FAQ, join(dir, 'data', 'patient-faq.json'));
  const config = join(dir, name);
  await writeFile(config, text);
  return { dir, config };
}

const TS_CONFIG = `import { defineConfig, type LoraPrepConfig } from 'lora-prep';

const split: LoraPrepConfig['split'] = { validation: 0.5, seed: 7 };

export default defineConfig({
  inputs: [{ path: 'data/patient-faq.json', domain: 'medical' }],
  outDir: 'out',
  target: 'openai',
  split,
});
`;

describe('defineConfig', () => {
  it('returns its argument', () => {
    const config = { inputs: ['a.csv'], target: 'openai' as const };
    expect(defineConfig(config)).toBe(config);
  });
});

describe('loadConfigFile', () => {
  it('resolves relative paths against the config file\'s folder, and leaves names and absolute paths alone', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'conf'));
    const config = join(dir, 'conf', 'c.json');
    const abs = join(dir, 'abs.csv');
    await writeFile(
      config,
      JSON.stringify({
        inputs: ['data/a.csv', { path: '../b.jsonl', domain: 'legal', mapping: { preset: 'template', promptFile: 'prompts/task.txt', answer: 'label' } }, abs],
        outDir: 'out',
        mapping: { preset: 'template', promptFile: './prompt.txt', answer: 'label' },
        tokenizer: './tok',
      }),
    );
    const at = (...p: string[]): string => relative(REPO, join(dir, ...p));
    const loaded = await loadConfigFile(config);
    expect(loaded.inputs).toEqual([at('conf/data/a.csv'), { path: at('b.jsonl'), domain: 'legal', mapping: { preset: 'template', promptFile: at('conf/prompts/task.txt'), answer: 'label' } }, abs]);
    expect(loaded.outDir).toBe(at('conf/out'));
    expect(loaded.mapping).toMatchObject({ promptFile: at('conf/prompt.txt') });
    expect(loaded.tokenizer).toBe(at('conf/tok'));
    await writeFile(config, JSON.stringify({ tokenizer: 'o200k_base', outDir: '.' }));
    expect(await loadConfigFile(config)).toEqual({ tokenizer: 'o200k_base', outDir: at('conf') });
  });
});

describe('lora-prep init', () => {
  it('writes lora-prep.config.ts in the current folder (the built-in name)', async () => {
    const dir = await tempDir();
    const { stdout } = await promisify(execFile)(process.execPath, [join(REPO, 'node_modules/tsx/dist/cli.mjs'), join(REPO, 'src/cli/index.ts'), 'init'], { cwd: dir });
    expect(stdout).toMatch(/wrote lora-prep\.config\.ts/);
    expect(stdout).toMatch(/lora-prep prepare --config lora-prep\.config\.ts/);
    const text = await readFile(join(dir, 'lora-prep.config.ts'), 'utf8');
    expect(text).toMatch(/^import \{ defineConfig \} from 'lora-prep';$/m);
    expect(text).toMatch(/^export default defineConfig\(\{$/m);
    for (const option of ['inputs', 'domain', 'mapping', 'target', 'tokenizer', 'maxTokens', 'split', 'stratifyBy', 'groupBy', 'dedup', 'pii', 'failOn']) {
      expect(text).toContain(`${option}:`);
    }
  }, 30_000);

  it.each(['starter.config.ts', 'starter.config.mjs', 'starter.config.cjs', 'starter.config.json'])('writes %s, which loads as valid options', async (name) => {
    const file = join(await tempDir(), name);
    const io = fakeIo();
    expect(await runCli(['init', file], io)).toBe(0);
    const config = await loadConfigFile(file);
    expect(config).toMatchObject({ target: 'openai', maxTokens: 4096, split: { stratifyBy: 'domain' }, pii: { action: 'report' } });
    expect(config.inputs).toHaveLength(2);
  }, 30_000);

  it('writes the same options in every flavour (the JSON one has its own copy of the values)', async () => {
    const dir = await tempDir();
    const loaded = [];
    for (const name of ['a.config.ts', 'a.config.cjs', 'a.config.json']) {
      expect(await runCli(['init', join(dir, name)], fakeIo())).toBe(0);
      loaded.push(await loadConfigFile(join(dir, name)));
    }
    expect(loaded[1]).toEqual(loaded[0]);
    expect(loaded[2]).toEqual(loaded[0]);
  }, 30_000);

  it('refuses to replace an existing file without --force (exit 2), and replaces it with --force', async () => {
    const file = join(await tempDir(), 'lora-prep.config.ts');
    await writeFile(file, '// mine\n');
    const io = fakeIo();
    expect(await runCli(['init', file], io)).toBe(2);
    expect(io.err).toMatch(/already exists.*--force/);
    expect(await readFile(file, 'utf8')).toBe('// mine\n');
    expect(await runCli(['init', '--force', file], fakeIo())).toBe(0);
    expect(await readFile(file, 'utf8')).toMatch(/defineConfig/);
  });

  it('exits 2 on a file type it cannot write', async () => {
    const io = fakeIo();
    expect(await runCli(['init', join(await tempDir(), 'config.yaml')], io)).toBe(2);
    expect(io.err).toMatch(/\.ts, \.mts.*\.json.*config\.yaml/);
  });
});

describe('lora-prep prepare --config', () => {
  it('reads a TypeScript config that imports defineConfig from lora-prep; its paths are relative to its folder', async () => {
    const { dir, config } = await project('lora-prep.config.ts', TS_CONFIG);
    const io = fakeIo();
    expect(await runCli(['prepare', '--config', config, '--json', '--quiet'], io)).toBe(0);
    const result = JSON.parse(io.out);
    expect(result.counts).toMatchObject({ input: 15, kept: 14, validation: 7 });
    expect(existsSync(join(dir, 'out', 'train.jsonl'))).toBe(true);
    // Paths are rewritten relative to the folder lora-prep runs in, so reports stay relative.
    const manifest = JSON.parse(await readFile(join(dir, 'out', 'report', 'manifest.json'), 'utf8'));
    expect(JSON.stringify(manifest)).toContain(relative(REPO, join(dir, 'data', 'patient-faq.json')));
  }, 30_000);

  it.each([
    ['lora-prep.config.mjs', `import { defineConfig } from 'lora-prep';\nexport default defineConfig({ inputs: ['data/patient-faq.json'], outDir: 'out', split: { validation: 0.5 } });\n`],
    ['lora-prep.config.cjs', `const { defineConfig } = require('lora-prep');\nmodule.exports = defineConfig({ inputs: ['data/patient-faq.json'], outDir: 'out', split: { validation: 0.5 } });\n`],
    ['lora-prep.config.json', JSON.stringify({ inputs: ['data/patient-faq.json'], outDir: 'out', split: { validation: 0.5 } })],
  ])('reads %s', async (name, text) => {
    const { dir, config } = await project(name, text);
    const io = fakeIo();
    expect(await runCli(['prepare', '--config', config, '--json', '--quiet'], io)).toBe(0);
    expect(JSON.parse(io.out).counts).toMatchObject({ input: 15, validation: 7 });
    expect(existsSync(join(dir, 'out', 'validation.jsonl'))).toBe(true);
  }, 30_000);

  it("takes --pii-types with the config's pii (its action kept), and --pii over it keeps the config's types", async () => {
    const { dir, config } = await project('lora-prep.config.json', JSON.stringify({ inputs: ['data/patient-faq.json'], outDir: 'out', pii: { action: 'redact' } }));
    const io = fakeIo();
    expect(await runCli(['prepare', '--config', config, '--pii-types', 'email', '--json', '--quiet'], io), io.err).toBe(0);
    expect(JSON.parse(await readFile(join(dir, 'out', 'report', 'manifest.json'), 'utf8')).options.pii).toEqual({ action: 'redact', types: ['email'] });
    const typed = await project('lora-prep.config.json', JSON.stringify({ inputs: ['data/patient-faq.json'], outDir: 'out', pii: { action: 'redact', types: ['phone'] } }));
    expect(await runCli(['prepare', '--config', typed.config, '--pii', 'drop', '--json', '--quiet'], fakeIo())).toBe(0);
    expect(JSON.parse(await readFile(join(typed.dir, 'out', 'report', 'manifest.json'), 'utf8')).options.pii).toEqual({ action: 'drop', types: ['phone'] });
  }, 30_000);

  it('lets flags and input files on the command line override the config', async () => {
    const { dir, config } = await project('lora-prep.config.ts', TS_CONFIG);
    const io = fakeIo();
    const out = join(dir, 'from-flag');
    const input = join(REPO, 'fixtures/medical/clinical-qa.jsonl'); // 15 rows: 13 kept
    expect(await runCli(['prepare', input, '--config', config, '--out', out, '--validation', '0.2', '--json', '--quiet'], io)).toBe(0);
    const result = JSON.parse(io.out);
    expect(result.counts).toMatchObject({ input: 15, kept: 13, validation: 3 });
    expect(existsSync(join(out, 'train.jsonl'))).toBe(true);
    expect(existsSync(join(dir, 'out'))).toBe(false);
    // The config's other split settings stay: seed 7 with validation 0.2.
    const manifest = JSON.parse(await readFile(join(out, 'report', 'manifest.json'), 'utf8'));
    expect(JSON.stringify(manifest)).toMatch(/"seed":\s*7/);
  }, 30_000);

  it('merges dedup flags into the config\'s dedup, as the split flags merge into split', async () => {
    const cases: Array<[config: unknown, flags: string[], dedup: unknown]> = [
      [{ near: { threshold: 0.9, keep: 'longest' }, exact: { key: 'prompt' } }, ['--near-threshold', '0.85'], { exact: { key: 'prompt' }, near: { threshold: 0.85, action: 'remove', keep: 'longest' } }],
      [{ near: false }, ['--dedup-key', 'prompt'], { exact: { key: 'prompt' }, near: false }],
      [{ near: { action: 'group' } }, ['--dedup', 'near'], { exact: { key: 'conversation' }, near: { threshold: 0.8, action: 'group', keep: 'first' } }],
      [{ exact: { key: 'prompt' }, near: { threshold: 0.9 } }, ['--dedup', 'exact'], { exact: { key: 'prompt' }, near: false }],
      [{ exact: false }, ['--dedup', 'exact'], { exact: { key: 'conversation' }, near: false }],
      [false, ['--dedup', 'near', '--near-keep', 'longest'], { exact: { key: 'conversation' }, near: { threshold: 0.8, action: 'remove', keep: 'longest' } }],
      [{ exact: { key: 'prompt' } }, [], { exact: { key: 'prompt' }, near: { threshold: 0.8, action: 'remove', keep: 'first' } }],
    ];
    for (const [dedup, flags, want] of cases) {
      const { dir, config } = await project('c.json', JSON.stringify({ inputs: ['data/patient-faq.json'], dedup }));
      const io = fakeIo();
      expect(await runCli(['prepare', '--config', config, '--out', join(dir, 'o'), '--quiet', ...flags], io), io.err).toBe(0);
      const manifest = JSON.parse(await readFile(join(dir, 'o', 'report', 'manifest.json'), 'utf8'));
      expect(manifest.options.dedup, `${JSON.stringify(dedup)} ${flags.join(' ')}`).toEqual(want);
    }
  }, 60_000);

  it.each([
    [{ near: false }, ['--near-threshold', '0.9'], /--near-threshold, --near-action and --near-keep: .*c\.json turns that dedup off \(dedup\.near: false\); add --dedup near/],
    [false, ['--dedup-key', 'prompt'], /--dedup-key: .*c\.json turns that dedup off \(dedup: false\); add --dedup exact or --dedup near/],
    [{ exact: false }, ['--dedup-key', 'prompt'], /--dedup-key: .*c\.json turns that dedup off \(dedup\.exact: false\)/],
  ])('refuses a dedup flag for what the config turns off (%j, %j) instead of turning it back on', async (dedup, flags, message) => {
    const { dir, config } = await project('c.json', JSON.stringify({ inputs: ['data/patient-faq.json'], dedup }));
    const io = fakeIo();
    expect(await runCli(['prepare', '--config', config, '--out', join(dir, 'o'), '--quiet', ...flags], io)).toBe(2);
    expect(io.err).toMatch(message);
  });

  it('takes --out from the command line when the config has no outDir', async () => {
    const { dir, config } = await project('c.json', JSON.stringify({ inputs: ['data/patient-faq.json'] }));
    const io = fakeIo();
    expect(await runCli(['prepare', '--config', config, '--out', join(dir, 'o'), '--quiet'], io)).toBe(0);
    expect(existsSync(join(dir, 'o', 'train.jsonl'))).toBe(true);
    const noOut = fakeIo();
    expect(await runCli(['prepare', '--config', config, '--quiet'], noOut)).toBe(2);
    expect(noOut.err).toMatch(/--out DIR is required \(or outDir in .*c\.json\)/);
  });

  it.each([
    ['a syntax error', 'bad.config.ts', 'export default { inputs: [,, };\n', /bad\.config\.ts: cannot load the config/],
    ['no default export', 'named.config.mjs', 'export const config = { outDir: "o" };\n', /named\.config\.mjs: expected a default export of options.*got nothing/],
    ['a default export that is not an object', 'num.config.ts', 'export default 42;\n', /num\.config\.ts: expected a default export.*got a number/],
    ['a default export of null', 'nul.config.mjs', 'export default null;\n', /nul\.config\.mjs: expected a default export of options.*got null/],
    ['module.exports = null', 'nul.config.cjs', 'module.exports = null;\n', /nul\.config\.cjs: expected a default export of options.*got null/],
    ['a default export of undefined', 'u.config.mjs', 'export default undefined;\n', /u\.config\.mjs: expected a default export of options.*got nothing/],
    ['an unknown option', 'unknown.config.ts', "export default { outDir: 'o', frobnicate: true };\n", /unknown\.config\.ts: Invalid options:\n\s+- \(options\): unknown option "frobnicate"/],
    ['a bad value', 'bad-value.config.ts', "export default { split: { validation: 2 } };\n", /bad-value\.config\.ts: Invalid options:\n\s+- split\.validation: .*got 2/],
    ['split fractions that leave no train', 'split.json', '{ "split": { "validation": 0.6, "test": 0.5 } }', /split\.json: Invalid options:\n\s+- split: validation \+ test must leave room for train, got 0\.6 \+ 0\.5/],
    ['invalid JSON', 'broken.json', '{ "outDir": ', /broken\.json: not valid JSON/],
    ['a JSON array', 'list.json', '[]', /list\.json: expected a JSON object of options.*got an array/],
    ['an unsupported file type', 'config.yaml', 'outDir: o\n', /config\.yaml: a config file is \.ts.*got "\.yaml"/],
  ])('exits 2 on %s, naming the file', async (_name, file, text, message) => {
    const { config } = await project(file, text);
    const io = fakeIo();
    expect(await runCli(['prepare', 'x.jsonl', '--out', 'never', '--config', config, '--quiet'], io)).toBe(2);
    expect(io.err).toMatch(/^lora-prep prepare: --config /);
    expect(io.err).toMatch(message);
  }, 30_000);

  it('exits 2 on a config file that does not exist', async () => {
    const io = fakeIo();
    expect(await runCli(['prepare', '--config', 'nowhere/lora-prep.config.ts'], io)).toBe(2);
    expect(io.err).toMatch(/nowhere\/lora-prep\.config\.ts: no such config file.*lora-prep init/);
  });
});
