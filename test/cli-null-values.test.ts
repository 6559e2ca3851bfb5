/**
 * `--null-values LIST` end to end: comma-separated, `''` for none, over a config's `nullValues`;
 * with `--quote none --escape '\'` a PostgreSQL text-format export reads as its writer meant.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/run.js';
import { fakeIo } from './helpers/cli.js';
import { tempDir } from './helpers/index.js';

const PANDAS = ['question,answer,system', 'What is a lien?,A right to keep property.,None', 'What is escrow?,nan,None', 'What is a tort?,A civil wrong.,Be brief.', ''].join('\n');
const PG = ['question\tanswer', String.raw`Two lines?${'\t'}first\nsecond`, String.raw`Where?${'\t'}C:\\dir`, String.raw`Who?${'\t'}\N`, ''].join('\n');

/** Runs `prepare` on one file with the flags; the exit code, the result (--json) or stderr, and the files. */
async function prepare(name: string, text: string, flags: string[]) {
  const dir = await tempDir();
  const file = join(dir, name);
  await writeFile(file, text);
  const out = join(dir, 'out');
  const io = fakeIo();
  const code = await runCli(['prepare', file, '--out', out, '--validation', '0', '--dedup', 'none', '--json', '--quiet', ...flags], io);
  if (code !== 0) return { code, file, err: io.err, result: undefined, rejected: [], train: [], manifest: undefined };
  const lines = async (path: string) => (await readFile(path, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l));
  return {
    code,
    file,
    err: io.err,
    result: JSON.parse(io.out) as { warnings: string[]; counts: { input: number; kept: number; rejected: number } },
    rejected: await lines(join(out, 'report', 'rejected.jsonl')),
    train: await lines(join(out, 'train.jsonl')),
    manifest: JSON.parse(await readFile(join(out, 'report', 'manifest.json'), 'utf8')),
  };
}

const markerWarnings = (warnings: string[] | undefined) => (warnings ?? []).filter((w) => w.includes('missing-value markers'));

describe('lora-prep prepare --null-values', () => {
  it('reads the listed values as missing; the manifest records them', async () => {
    const run = await prepare('faq.csv', PANDAS, ['--null-values', 'nan, None']);
    expect(run.code).toBe(0);
    expect(run.result?.counts).toMatchObject({ input: 3, kept: 2, rejected: 1 });
    expect(run.rejected.map((r) => [r.source, r.reason, r.message])).toEqual([[{ file: run.file, line: 3 }, 'missing_field', 'field "answer" is missing or null (it holds "nan", one of nullValues)']]);
    expect(run.train.map((r) => r.messages[0].role)).toEqual(['user', 'system']);
    expect(run.manifest.options.nullValues).toEqual(['nan', 'None']);
    expect(markerWarnings(run.result?.warnings)).toEqual([]);
  });

  it('without the flag, warns of the markers it kept as text, naming the flag to pass', async () => {
    const run = await prepare('faq.csv', PANDAS, []);
    expect(run.result?.counts).toMatchObject({ input: 3, kept: 3, rejected: 0 });
    expect(run.manifest.options.nullValues).toEqual(['\\N']);
    expect(markerWarnings(run.result?.warnings)).toEqual([
      `${run.file}: values that look like missing-value markers were kept as text in the columns the mapping reads: "nan" 1 value (column "answer"), "None" 2 values (column "system"). ` +
        "If they stand for a missing value (a SQL NULL, pandas' NaN), read them as missing with nullValues: [\"\\\\N\", \"nan\", \"None\"] (CLI --null-values '\\N,nan,None'): " +
        'a required field then rejects its row as missing_field, an optional one is left out.',
    ]);
  });

  it("--quote none --escape '\\' reads a PostgreSQL text export: escapes decoded, \\N missing", async () => {
    const run = await prepare('export.tsv', PG, ['--quote', 'none', '--escape', '\\']);
    expect(run.code).toBe(0);
    expect(run.rejected.map((r) => [r.source.line, r.reason, r.message])).toEqual([[4, 'missing_field', String.raw`field "answer" is missing or null (it holds "\N", one of nullValues)`]]);
    expect(run.train.map((r) => r.messages[1].content)).toEqual(['first\nsecond', 'C:\\dir']);
  });

  it("--null-values '' reads every value as text, and the warning names \\N", async () => {
    const run = await prepare('export.tsv', PG, ['--quote', 'none', '--escape', '\\', '--null-values', '']);
    expect(run.result?.counts).toMatchObject({ input: 3, kept: 3, rejected: 0 });
    expect(run.manifest.options.nullValues).toEqual([]);
    expect(run.train.at(-1).messages[1].content).toBe('\\N');
    expect(markerWarnings(run.result?.warnings)).toHaveLength(1);
    expect(markerWarnings(run.result?.warnings)[0]).toContain(`"\\N" 1 value (column "answer")`);
    expect(markerWarnings(run.result?.warnings)[0]).toContain(`(CLI --null-values '\\N')`);
  });

  it("overrides a config's nullValues", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'faq.csv'), PANDAS);
    const config = join(dir, 'lora-prep.config.json');
    await writeFile(config, JSON.stringify({ inputs: ['faq.csv'], outDir: 'out', nullValues: ['nan', 'None'], split: { validation: 0 }, dedup: false }));
    const io = fakeIo();
    expect(await runCli(['prepare', '--config', config, '--null-values', 'None', '--json', '--quiet'], io)).toBe(0);
    const result = JSON.parse(io.out) as { counts: { kept: number; rejected: number } };
    expect(result.counts).toMatchObject({ kept: 3, rejected: 0 });
    const manifest = JSON.parse(await readFile(join(dir, 'out', 'report', 'manifest.json'), 'utf8'));
    expect(manifest.options.nullValues).toEqual(['None']);
  });

  it.each([
    ['a blank entry', 'nan,,None', /nullValues\.1: a null value is not blank/],
    ['a value over 64 characters', 'x'.repeat(65), /nullValues\.0: a null value is at most 64 characters/],
  ])('exits 2 on %s, naming it', async (_name, value, message) => {
    const dir = await tempDir();
    await writeFile(join(dir, 'faq.csv'), PANDAS);
    const io = fakeIo();
    expect(await runCli(['prepare', join(dir, 'faq.csv'), '--out', join(dir, 'out'), '--null-values', value, '--quiet'], io)).toBe(2);
    expect(io.err).toMatch(/OPTION_INVALID/);
    expect(io.err).toMatch(message);
  });

  it('is in the help', async () => {
    const io = fakeIo();
    expect(await runCli(['prepare', '--help'], io)).toBe(0);
    expect(io.out).toMatch(/--null-values LIST +text read as a missing value, comma-separated/);
  });
});
