import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import expected from '../fixtures/expected.json' with { type: 'json' };

const run = promisify(execFile);

describe('npm run demo', () => {
  it('prepares every bundled fixture into out/demo and prints the summary', async () => {
    const { stdout } = await run('npx', ['tsx', 'scripts/demo.ts'], { cwd: process.cwd(), timeout: 60_000 });
    const rows = Object.values(expected).reduce((n, s) => n + s.rows, 0);
    expect(stdout).toContain(`lora-prep: ${rows} input rows`);
    const report = JSON.parse(await readFile('out/demo/report/report.json', 'utf8'));
    expect(report.counts.input).toBe(rows);
    expect(report.counts.train).toBeGreaterThan(0);
    expect(report.counts.validation).toBeGreaterThan(0);
    const train = (await readFile('out/demo/train.jsonl', 'utf8')).trimEnd().split('\n');
    expect(train).toHaveLength(report.counts.train);
  }, 90_000);
});
