/** Failing on purpose (failOn) and faults (write errors, a throwing callback): outDir stays as it was. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/run.js';
import { isLoraPrepError, prepareDataset } from '../src/index.js';
import { snapshot, tempDir, tinyTokenizer } from './helpers/index.js';

const FIXTURE = 'fixtures/finance/advisor-chat.jsonl'; // 15 rows, 4 rejected (invalid_json, invalid_record ×2, duplicate)


describe('a run that keeps nothing', () => {
  it('shows the run\'s warnings in its error, such as the encoding to pass for a Windows export', async () => {
    const dir = await tempDir();
    const file = join(dir, 'excel.csv');
    // Every row holds Windows-1252 bytes (é as 0xE9, € as 0x80): none is valid UTF-8.
    await writeFile(file, Buffer.from('question,answer\nCaf\xe9 prices?,Caf\xe9 au lait costs 3\x80.\nR\xe9sum\xe9?,A CV.\n', 'latin1'));
    const error = await prepareDataset({ inputs: [file], outDir: join(dir, 'o') }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'DATA_FAILED', message: expect.stringMatching(/all 2 input rows were rejected \(2 invalid_encoding\)[\s\S]*\nWarnings:\n  - .*excel\.csv: 2 rows were rejected as invalid_encoding.*pass encoding: 'windows-1252'/) });
  });
});

describe('failOn', () => {
  it('fails with DATA_FAILED after writing the files and the report, when too many rows are rejected', async () => {
    const outDir = join(await tempDir(), 'o');
    const error = await prepareDataset({ inputs: [FIXTURE], outDir, failOn: { rejectedRatio: 0.1 } }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'DATA_FAILED', message: expect.stringMatching(/4 of 15 rows rejected \(26\.7%\), over failOn\.rejectedRatio 0\.1/) });
    // Typed on the class: no cast (tsc checks this file).
    expect(isLoraPrepError(error) && error.result?.counts.rejected).toBe(4);
    const report = JSON.parse(await readFile(join(outDir, 'report', 'report.json'), 'utf8'));
    expect(report.counts.rejected).toBe(4);
  });

  it('fails on a listed reason, and passes when the data is within bounds', async () => {
    const outDir = join(await tempDir(), 'o');
    await expect(prepareDataset({ inputs: [FIXTURE], outDir, failOn: { reasons: ['invalid_json'] } })).rejects.toMatchObject({
      code: 'DATA_FAILED',
      message: expect.stringMatching(/1 rows rejected as invalid_json/),
    });
    const ok = await prepareDataset({ inputs: [FIXTURE], outDir: join(await tempDir(), 'p'), failOn: { rejectedRatio: 0.5, reasons: ['overlong'] } });
    expect(ok.counts.rejected).toBe(4);
  });

  it('fails with DATA_FAILED when every row is rejected, naming the reasons and the first rows, and writes nothing', async () => {
    const dir = await tempDir();
    // A template that refuses system messages, and a system prompt for every row.
    const template = "{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{{ m.content }}{% endfor %}";
    const tok = await tinyTokenizer({ chat_template: template });
    // An earlier good dataset in outDir stays as it was.
    const outDir = join(dir, 'o');
    await prepareDataset({ inputs: ['fixtures/medical/clinical-qa.jsonl'], outDir });
    const before = await snapshot(outDir);
    const error = await prepareDataset({ inputs: ['fixtures/medical/clinical-qa.jsonl'], outDir, overwrite: true, tokenizer: tok, systemPrompt: 'medical' }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'DATA_FAILED',
      message: expect.stringMatching(
        /^no example was kept: all 15 input rows were rejected \(13 template_error, 1 empty_content, 1 missing_field\)\. Most are the tokenizer's or its chat template's: check tokenizer, and systemPrompt .* Nothing was written\. The first:\n  fixtures\/medical\/clinical-qa\.jsonl:\d+: \w+: /,
      ),
    });
    expect((error as Error).message.split('\n')).toHaveLength(4);
    expect(await snapshot(outDir)).toEqual(before);
    // The CLI exits 1 and prints the message.
    const io = { out: '', err: '' };
    const code = await runCli(['prepare', 'fixtures/medical/clinical-qa.jsonl', '--out', join(dir, 'cli'), '--tokenizer', tok, '--system', 'medical', '--quiet'], {
      stdout: (t: string) => void (io.out += t),
      stderr: (t: string) => void (io.err += t),
    });
    expect(code).toBe(1);
    expect(io.err).toMatch(/DATA_FAILED: no example was kept/);
    // An input with no rows at all fails too (an empty train.jsonl is no dataset), naming the file.
    const empty = join(dir, 'empty.jsonl');
    await writeFile(empty, '');
    await expect(prepareDataset({ inputs: [empty], outDir: join(dir, 'p') })).rejects.toMatchObject({
      code: 'DATA_FAILED',
      message: expect.stringContaining(`the inputs have no rows (an empty file, or a header and no data rows): ${empty}`),
    });
  });

  it('CLI: --fail-on exits 1 and still prints the summary', async () => {
    let out = '';
    let err = '';
    const io = { stdout: (s: string) => void (out += s), stderr: (s: string) => void (err += s) };
    const code = await runCli(['prepare', FIXTURE, '--out', join(await tempDir(), 'o'), '--fail-on', 'rejected=0.1', '--fail-on', 'reasons=pii', '--quiet'], io);
    expect(code).toBe(1);
    expect(out).toMatch(/15 input rows → 11 kept, 4 rejected/);
    expect(err).toMatch(/DATA_FAILED/);
    expect(await runCli(['prepare', FIXTURE, '--out', 'x', '--fail-on', 'lots'], { stdout: () => undefined, stderr: () => undefined })).toBe(2);
  });
});

describe('faults leave outDir as it was', () => {
  it('a callback that throws', async () => {
    const outDir = await tempDir();
    await writeFile(join(outDir, 'train.jsonl'), '{"old":true}\n');
    const before = await snapshot(outDir);
    await expect(
      prepareDataset({
        inputs: [FIXTURE],
        outDir,
        overwrite: true,
        onProgress: (e) => {
          if (e.stage === 'write') throw new Error('callback failed');
        },
      }),
    ).rejects.toThrow('callback failed');
    expect(await snapshot(outDir)).toEqual(before);
  });

  it.skipIf(process.getuid?.() === 0)('a read-only outDir (not testable as root)', async () => {
    const outDir = await tempDir();
    await chmod(outDir, 0o500);
    await expect(prepareDataset({ inputs: [FIXTURE], outDir })).rejects.toMatchObject({ code: 'WRITE_FAILED' });
    await chmod(outDir, 0o700);
  });

  it('an outDir that cannot be created (a file where a folder should be) is WRITE_FAILED, not a raw error', async () => {
    const outDir = await tempDir();
    const before = await snapshot(outDir);
    const blocker = join(outDir, 'file-not-folder');
    await writeFile(blocker, 'x');
    await expect(prepareDataset({ inputs: [FIXTURE], outDir: join(blocker, 'out') })).rejects.toMatchObject({ code: 'WRITE_FAILED' });
    expect(await snapshot(outDir)).toEqual({ ...before, '/file-not-folder': Buffer.from('x').toString('base64') });
  });
});

// A real full disk: a 64 KiB tmpfs, where the machine lets tests mount one (root on Linux).
const tinyDisk = (() => {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'lora-prep-tinyfs-'));
  const ok = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]).status === 0;
  return ok ? dir : undefined;
})();
afterAll(() => {
  if (tinyDisk) {
    spawnSync('umount', ['-l', tinyDisk]);
    spawnSync('rmdir', [tinyDisk]);
  }
});
if (!tinyDisk) console.warn('faults.test.ts: the disk-full test is skipped (needs root on Linux to mount a small tmpfs)');

describe.skipIf(!tinyDisk)('disk full', () => {
  it('fails with WRITE_FAILED and leaves outDir as it was (no temporary files)', async () => {
    const outDir = join(tinyDisk as string, 'out');
    await mkdir(outDir);
    await writeFile(join(outDir, 'train.jsonl'), '{"old":true}\n');
    const before = await snapshot(outDir);
    // ~200 KB of output into 64 KiB.
    const big = join(await tempDir(), 'big.jsonl');
    await writeFile(big, Array.from({ length: 400 }, (_, i) => JSON.stringify({ question: `Q${i}?`, answer: `Answer ${i} `.repeat(40) })).join('\n'));
    await expect(prepareDataset({ inputs: [big], outDir, overwrite: true })).rejects.toMatchObject({ code: 'WRITE_FAILED' });
    expect(await snapshot(outDir)).toEqual(before);
  });
});

describe('manifest', () => {
  it('names the library and tokenizer versions', async () => {
    const outDir = join(await tempDir(), 'o');
    const result = await prepareDataset({ inputs: [FIXTURE], outDir });
    const manifest = JSON.parse(await readFile(result.files.manifest, 'utf8'));
    const pkg = JSON.parse(await readFile('package.json', 'utf8'));
    expect(manifest.tool).toEqual({ name: 'lora-prep', version: pkg.version });
    expect(manifest.tokenizer.source).toMatch(/^gpt-tokenizer@\d+\.\d+\.\d+$/);
  });
});


describe('Ctrl-C (and SIGTERM) in the CLI', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)('%s stops the run, exits non-zero with the reason, and leaves outDir as it was', async (signal) => {
    const dir = await tempDir();
    const input = join(dir, 'big.jsonl');
    const lines: string[] = [];
    for (let i = 0; i < 40_000; i++) lines.push(JSON.stringify({ question: `What does clause ${i} say?`, answer: `Clause ${i} limits liability to direct loss and excludes lost profit. `.repeat(6) }));
    await writeFile(input, `${lines.join('\n')}\n`);
    const outDir = join(dir, 'out');
    await mkdir(outDir);
    await writeFile(join(outDir, 'train.jsonl'), '{"old":true}\n');
    const before = await snapshot(outDir);
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', 'prepare', input, '--out', outDir, '--overwrite', '--concurrency', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => void (stderr += d.toString()));
    // Interrupt once the run is under way: the temporary folder appears in outDir.
    const started = Date.now();
    while (Date.now() - started < 20_000 && !(await readdir(outDir)).some((f) => f.startsWith('.lora-prep-tmp-'))) await new Promise((r) => setTimeout(r, 20));
    child.kill(signal);
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).toBe(1);
    // Without a handler, SIGTERM would end the process by the signal (exit code null), files left behind.
    expect(stderr).toMatch(/ABORTED/);
    expect(await snapshot(outDir)).toEqual(before);
  }, 60_000);
});
