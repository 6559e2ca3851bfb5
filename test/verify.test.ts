import { appendFile, cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/run.js';
import { isLoraPrepError } from '../src/errors.js';
import { prepareDataset } from '../src/index.js';
import { formatVerify, verifyOutput } from '../src/verify/index.js';
import { tempDir } from './helpers/index.js';

const INPUT = 'fixtures/finance/advisor-chat.jsonl';

/** A fresh copy of one prepared folder per test (tempDir is cleaned after each test). */
async function prepared(): Promise<string> {
  const outDir = join(await tempDir(), 'out');
  await prepareDataset({ inputs: [INPUT], outDir, target: 'openai', split: { validation: 0.2 } });
  return outDir;
}

function io() {
  const out = { stdout: '', stderr: '' };
  return { out, io: { stdout: (s: string) => void (out.stdout += s), stderr: (s: string) => void (out.stderr += s) } };
}

async function errorOf(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (e) {
    expect(isLoraPrepError(e)).toBe(true);
    return e as { code: string; message: string };
  }
  throw new Error('expected a LoraPrepError');
}

describe('verifyOutput', () => {
  let manifest: { outputs: Array<{ file: string }>; inputs: Array<{ file: string }> };
  beforeAll(async () => {
    const outDir = join(await tempDir(), 'probe');
    await prepareDataset({ inputs: [INPUT], outDir, target: 'openai', split: { validation: 0.2 } });
    manifest = JSON.parse(await readFile(join(outDir, 'report', 'manifest.json'), 'utf8')) as typeof manifest;
    await rm(outDir, { recursive: true, force: true });
  });

  it('finds every file of a fresh run unchanged, inputs included', async () => {
    const outDir = await prepared();
    const report = await verifyOutput(outDir);
    expect(report.ok).toBe(true);
    expect(report.outputs.map((f) => f.file).sort()).toEqual(manifest.outputs.map((f) => f.file).sort());
    expect(report.outputs.map((f) => f.file)).toEqual(expect.arrayContaining(['train.jsonl', 'validation.jsonl', 'report/rejected.jsonl', 'report/report.json']));
    expect(report.outputs.every((f) => f.status === 'ok' && f.actual?.sha256 === f.expected.sha256)).toBe(true);
    expect(report.inputs).toEqual([expect.objectContaining({ file: INPUT, status: 'ok' })]);
    expect(formatVerify(report)).toMatch(/: ok, \d+ outputs and 1 input match /);
  });

  it('reports a changed byte and a missing file', async () => {
    const outDir = await prepared();
    await appendFile(join(outDir, 'train.jsonl'), '\n');
    await rm(join(outDir, 'validation.jsonl'));
    const report = await verifyOutput(outDir);
    expect(report.ok).toBe(false);
    const status = Object.fromEntries(report.outputs.map((f) => [f.file, f.status]));
    expect(status['train.jsonl']).toBe('changed');
    expect(status['validation.jsonl']).toBe('missing');
    expect(report.outputs.filter((f) => f.status !== 'ok').map((f) => f.file).sort()).toEqual(['train.jsonl', 'validation.jsonl']);
    const train = report.outputs.find((f) => f.file === 'train.jsonl');
    expect(train?.actual?.bytes).toBe((train?.expected.bytes ?? 0) + 1);
    expect(report.outputs.find((f) => f.file === 'validation.jsonl')?.actual).toBeUndefined();
    const text = formatVerify(report);
    expect(text).toMatch(/2 files differ/);
    expect(text).toMatch(/changed {2}train\.jsonl \(expected [\d,]+ bytes/);
    expect(text).toMatch(/missing {2}validation\.jsonl/);
  });

  it('fails on a data file beside the outputs that the manifest does not list, and on nothing else added', async () => {
    const outDir = await prepared();
    await writeFile(join(outDir, 'README.md'), 'notes\n');
    await writeFile(join(outDir, 'report', 'extra.jsonl'), '{}\n');
    expect((await verifyOutput(outDir)).ok).toBe(true);
    await writeFile(join(outDir, 'old-train.jsonl'), '{}\n');
    const report = await verifyOutput(outDir);
    expect(report.ok).toBe(false);
    expect(report.unlisted).toEqual(['old-train.jsonl']);
    expect(formatVerify(report)).toMatch(/1 file differs[\s\S]*unlisted old-train\.jsonl \(not in the manifest/);
  });

  it('lists inputs it cannot find without failing, and fails on an input that changed', async () => {
    const outDir = await prepared();
    const elsewhere = await tempDir();
    const away = await verifyOutput(outDir, { cwd: elsewhere });
    expect(away.ok).toBe(true);
    expect(away.inputs).toEqual([expect.objectContaining({ file: INPUT, status: 'missing' })]);
    expect(formatVerify(away)).toMatch(/missing {2}input fixtures\/finance\/advisor-chat\.jsonl \(not checked/);

    await mkdir(join(elsewhere, 'fixtures', 'finance'), { recursive: true });
    await writeFile(join(elsewhere, INPUT), `${await readFile(INPUT, 'utf8')}\n`);
    const changed = await verifyOutput(outDir, { cwd: elsewhere });
    expect(changed.ok).toBe(false);
    expect(changed.inputs[0]?.status).toBe('changed');
    expect(changed.outputs.every((f) => f.status === 'ok')).toBe(true);
  });

  it('finds relative inputs from any folder: the manifest says where the run was, from outDir', async () => {
    const outDir = await prepared(); // absolute, made from this folder with a relative input
    const written = JSON.parse(await readFile(join(outDir, 'report', 'manifest.json'), 'utf8')) as { inputsFrom: string };
    expect(resolve(outDir, written.inputsFrom)).toBe(process.cwd());
    const here = process.cwd();
    process.chdir(await tempDir());
    try {
      const report = await verifyOutput(outDir);
      expect(report.inputs).toEqual([expect.objectContaining({ file: INPUT, status: 'ok' })]);
      // A manifest written before it said so: inputs from the current folder, here not found.
      const manifestPath = join(outDir, 'report', 'manifest.json');
      const old = JSON.parse(await readFile(manifestPath, 'utf8')) as Record<string, unknown>;
      delete old.inputsFrom;
      await writeFile(manifestPath, JSON.stringify(old));
      const before = await verifyOutput(outDir);
      expect(before.inputs).toEqual([expect.objectContaining({ file: INPUT, status: 'missing' })]);
    } finally {
      process.chdir(here);
    }
  });

  it('finds inputs from the current folder first: an output folder moved elsewhere still verifies from where the run was', async () => {
    const outDir = await prepared();
    const moved = join(await tempDir(), 'archive', 'v1');
    await cp(outDir, moved, { recursive: true });
    const report = await verifyOutput(moved);
    expect(report.ok).toBe(true);
    expect(report.inputs).toEqual([expect.objectContaining({ file: INPUT, status: 'ok' })]);
  });

  it('compares an input read only in part (maxRows) by the bytes the run read', async () => {
    const dir = await tempDir();
    const big = join(dir, 'big.jsonl');
    const never = join(dir, 'never.jsonl');
    const row = (i: number) => `${JSON.stringify({ question: `Question ${i} about ledgers?`, answer: `Answer ${i}: ${'debit and credit '.repeat(20)}` })}\n`;
    const text = Array.from({ length: 8_000 }, (_, i) => row(i)).join('');
    await writeFile(big, text);
    await writeFile(never, row(1));
    const outDir = join(dir, 'out');
    await prepareDataset({ inputs: [big, never], outDir, maxRows: 5, split: { validation: 0 } });
    const read = (JSON.parse(await readFile(join(outDir, 'report', 'manifest.json'), 'utf8')) as { inputs: Array<{ bytes: number; partial?: boolean }> }).inputs;
    expect(read.map((i) => i.partial)).toEqual([true, true]);
    expect(read[0]?.bytes).toBeGreaterThan(0);
    expect(read[0]?.bytes).toBeLessThan(text.length);

    const report = await verifyOutput(outDir);
    expect(report.ok).toBe(true);
    expect(report.inputs.map((f) => [f.status, f.partial])).toEqual([
      ['ok', true],
      ['ok', true],
    ]);
    expect(formatVerify(report)).toMatch(/ok, \d+ outputs and 2 inputs \(all by the part the run read, maxRows\) match/);

    // A change after the part read, or more rows appended, is not a change to what was read.
    await writeFile(big, `${text.slice(0, -10)}XXXXXXXXX\n${row(9_999)}`);
    expect((await verifyOutput(outDir)).ok).toBe(true);
    // A change inside it is.
    await writeFile(big, `{"question":"Changed`.concat(text.slice(20)));
    const changed = await verifyOutput(outDir);
    expect(changed.ok).toBe(false);
    expect(changed.inputs[0]?.status).toBe('changed');
    expect(formatVerify(changed)).toMatch(/changed {2}input .*big\.jsonl \(expected the first [\d,]+ bytes, .*: the run read only that start of the file \(maxRows\)\)/);
    // A file cut shorter than the part read has changed too.
    await writeFile(big, text.slice(0, 100));
    expect((await verifyOutput(outDir)).inputs[0]?.status).toBe('changed');
  });

  it('throws INPUT_NOT_FOUND without a manifest and INPUT_FORMAT for a broken one', async () => {
    const empty = await tempDir();
    const missing = await errorOf(verifyOutput(empty));
    expect(missing.code).toBe('INPUT_NOT_FOUND');
    expect(missing.message).toMatch(/report\/manifest\.json: no manifest here/);

    const outDir = await prepared();
    const path = join(outDir, 'report', 'manifest.json');
    await writeFile(path, '{"outputs": [');
    expect((await errorOf(verifyOutput(outDir))).code).toBe('INPUT_FORMAT');
    await writeFile(path, '{"files": []}');
    expect((await errorOf(verifyOutput(outDir))).message).toMatch(/expected a lora-prep manifest/);
    await writeFile(path, JSON.stringify({ outputs: [{ file: '../../etc/passwd', bytes: 1, sha256: '0'.repeat(64) }] }));
    expect((await errorOf(verifyOutput(outDir))).message).toMatch(/outputs\[0\] "file" must be a path inside the output folder/);
    await writeFile(path, JSON.stringify({ outputs: [{ file: 'train.jsonl', bytes: 1 }] }));
    expect((await errorOf(verifyOutput(outDir))).message).toMatch(/outputs\[0\] needs "sha256"/);
  });
});

describe('lora-prep verify', () => {
  it('exits 0 when everything matches, 1 on a mismatch, with --json', async () => {
    const outDir = await prepared();
    const ok = io();
    expect(await runCli(['verify', outDir], ok.io)).toBe(0);
    expect(ok.out.stdout).toMatch(/: ok, /);

    await appendFile(join(outDir, 'train.jsonl'), 'x');
    const bad = io();
    expect(await runCli(['verify', outDir, '--json'], bad.io)).toBe(1);
    const report = JSON.parse(bad.out.stdout) as { ok: boolean; outputs: Array<{ file: string; status: string }> };
    expect(report.ok).toBe(false);
    expect(report.outputs.find((f) => f.file === 'train.jsonl')?.status).toBe('changed');
  });

  it('exits 2 on usage errors and on a folder without a manifest', async () => {
    for (const argv of [['verify'], ['verify', 'a', 'b'], ['verify', '--nope', 'a']]) {
      const r = io();
      expect(await runCli(argv, r.io)).toBe(2);
      expect(r.out.stderr).toMatch(/^lora-prep verify: /);
    }
    const r = io();
    expect(await runCli(['verify', await tempDir()], r.io)).toBe(2);
    expect(r.out.stderr).toMatch(/INPUT_NOT_FOUND/);
  });
});

describe('verifyOutput on folders a killed or odd run left', () => {
  it('reports a move a killed run left half done (not ok, nothing checked), and is ok again once the next prepare undid it', async () => {
    const outDir = await prepared();
    const manifestBefore = await readFile(join(outDir, 'report', 'manifest.json'), 'utf8');
    // As a run killed after moving its new train.jsonl in: the earlier one aside, the journal there.
    const temp = join(outDir, '.lora-prep-tmp-999999-deadbeef');
    await mkdir(join(temp, '.old'), { recursive: true });
    const { rename } = await import('node:fs/promises');
    await rename(join(outDir, 'train.jsonl'), join(temp, '.old', 'train.jsonl'));
    await writeFile(join(outDir, 'train.jsonl'), '{"messages":[]}\n');
    await writeFile(join(temp, '.commit.json'), JSON.stringify({ written: ['train.jsonl'] }));
    const report = await verifyOutput(outDir);
    expect(report).toMatchObject({ ok: false, interrupted: temp, outputs: [], inputs: [] });
    expect(formatVerify(report)).toMatch(/stopped while moving its files into place .*Run lora-prep prepare into the folder again/);
    const cli = io();
    expect(await runCli(['verify', outDir], cli.io)).toBe(1);
    // A journal cut short while being written: nothing had moved, nothing to report.
    await writeFile(join(temp, '.commit.json'), '{"writ');
    expect((await verifyOutput(outDir)).interrupted).toBeUndefined();
    await writeFile(join(temp, '.commit.json'), JSON.stringify({ written: ['train.jsonl'] }));
    // The next run into the folder puts the earlier outputs back before it checks the folder.
    await expect(prepareDataset({ inputs: [INPUT], outDir: outDir, target: 'openai', split: { validation: 0.2 } })).rejects.toMatchObject({ code: 'OUTPUT_NOT_EMPTY' });
    expect(await readFile(join(outDir, 'report', 'manifest.json'), 'utf8')).toBe(manifestBefore);
    expect((await verifyOutput(outDir)).ok).toBe(true);
  });

  it.skipIf(process.platform === 'win32')('reports a pipe or a device listed as an input as changed, without waiting on it', async () => {
    const outDir = await prepared();
    const fifo = join(await tempDir(), 'pipe');
    const { execFileSync } = await import('node:child_process');
    execFileSync('mkfifo', [fifo]);
    const path = join(outDir, 'report', 'manifest.json');
    const manifest = JSON.parse(await readFile(path, 'utf8')) as { inputs: Array<{ file: string }> };
    (manifest.inputs[0] as { file: string }).file = fifo;
    manifest.inputs.push({ ...(manifest.inputs[0] as { file: string }), file: '/dev/zero' });
    await writeFile(path, JSON.stringify(manifest));
    // The manifest itself is an output: its hash no longer matches, the inputs are what is asked here.
    const report = await verifyOutput(outDir);
    expect(report.inputs.map((f) => [f.file, f.status, f.actual?.sha256])).toEqual([
      [fifo, 'changed', 'not a regular file'],
      ['/dev/zero', 'changed', 'not a regular file'],
    ]);
  });
});
