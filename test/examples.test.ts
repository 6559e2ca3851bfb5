/**
 * Runs every script in examples/ as a user would (`npx tsx examples/<name>.ts`), so the examples
 * cannot drift from the API: exit code, key output and the files each one writes.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO = process.cwd();
const TSX = join(REPO, 'node_modules/tsx/dist/cli.mjs');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(script: string, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [TSX, join('examples', script), ...args], { cwd: REPO, timeout: 120_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function jsonLines(file: string): Promise<unknown[]> {
  return (await readFile(file, 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as unknown);
}

describe('examples/', () => {
  it('has a test for every script', () => {
    const scripts = readdirSync(join(REPO, 'examples')).filter((f) => f.endsWith('.ts')).sort();
    expect(scripts).toEqual(['custom-pipeline.ts', 'notebook.ts', 'pipeline-step.ts']);
  });

  it('notebook.ts prepares, reads back, measures, checks leakage and prints next steps', async () => {
    const r = await run('notebook.ts');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/49 input rows → 43 kept, 6 rejected/);
    expect(r.stdout).toMatch(/counts: 49 in = 34 train \+ 9 validation \+ 0 test \+ 6 rejected/);
    expect(r.stdout).toMatch(/user: What is the difference between a Roth IRA/);
    expect(r.stdout).toMatch(/first rejected: fixtures\/finance\/fiqa-qa\.csv:\d+ malformed_row/);
    expect(r.stdout).toMatch(/train\.jsonl: 34 examples \(o200k_base\)/);
    expect(r.stdout).toMatch(/no overlaps between the files/);
    expect(r.stdout).toMatch(/# Next steps: train with openai/);
    const out = join(REPO, 'out/examples/notebook');
    expect(await jsonLines(join(out, 'train.jsonl'))).toHaveLength(34);
    expect(await jsonLines(join(out, 'validation.jsonl'))).toHaveLength(9);
    expect(existsSync(join(out, 'report', 'report.json'))).toBe(true);
  }, 120_000);

  it('pipeline-step.ts passes with the lenient failOn', async () => {
    const r = await run('pipeline-step.ts');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/data check passed: 30 rows, 3 rejected; wrote 22 train \+ 5 validation examples/);
    expect(existsSync(join(REPO, 'out/examples/pipeline-step/lenient/train.jsonl'))).toBe(true);
  }, 120_000);

  it('pipeline-step.ts --strict exits 1 on DATA_FAILED, with a message, after writing the files', async () => {
    const r = await run('pipeline-step.ts', '--strict');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^data check failed: .*1 rows rejected as invalid_record, listed in failOn\.reasons/);
    const out = join(REPO, 'out/examples/pipeline-step/strict');
    expect(existsSync(join(out, 'train.jsonl'))).toBe(true);
    const rejected = (await jsonLines(join(out, 'report', 'rejected.jsonl'))) as Array<{ reason: string }>;
    expect(rejected.map((x) => x.reason)).toContain('invalid_record');
  }, 120_000);

  it('custom-pipeline.ts composes the stage functions into train/validation files', async () => {
    const r = await run('custom-pipeline.ts');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/mapping qa/);
    expect(r.stdout).toMatch(/train\.jsonl \(10 examples\).*validation\.jsonl \(5 examples\)/);
    expect(r.stdout).toMatch(/rejected 1: fixtures\/legal\/contracts-qa\.tsv:7 malformed_row/);
    const out = join(REPO, 'out/examples/custom-pipeline');
    const train = (await jsonLines(join(out, 'train.jsonl'))) as Array<{ messages: Array<{ role: string }> }>;
    expect(train).toHaveLength(10);
    expect(train[0]?.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant']);
    expect(await jsonLines(join(out, 'validation.jsonl'))).toHaveLength(5);
    expect(await jsonLines(join(out, 'rejected.jsonl'))).toHaveLength(1);
  }, 120_000);
});
