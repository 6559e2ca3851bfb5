/**
 * A second opinion: the independent referee in shared/tools/conform.py (written from the trainers'
 * published rules) must accept what we write. Skipped, saying so, where the referee or python3 is
 * not there (it lives outside this repository).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { prepareDataset } from '../src/index.js';
import expected from '../fixtures/expected.json' with { type: 'json' };
import { tempDir } from './helpers/index.js';

const REFEREE = resolve('..', 'shared', 'tools', 'conform.py');
const hasPython = spawnSync('python3', ['--version']).status === 0;
const available = existsSync(REFEREE) && hasPython;
if (!available) console.warn(`conform.test.ts: skipped, ${existsSync(REFEREE) ? 'python3 is not installed' : `no referee at ${REFEREE}`}`);

const inputs = Object.entries(expected).map(([path, spec]) => ('encoding' in spec ? { path, encoding: spec.encoding as 'windows-1252' } : path));

describe.skipIf(!available)('conform.py accepts our output', () => {
  it.each([
    ['openai', 'chat'],
    ['axolotl', 'chat'],
    ['axolotl', 'instruction'],
  ] as const)('%s %s', async (target, format) => {
    const outDir = join(await tempDir(), `${target}-${format}`);
    await prepareDataset({ inputs, outDir, target, format, split: { validation: 0.1, test: 0.1 } });
    const output = execFileSync('python3', [REFEREE, target, format, outDir], { encoding: 'utf8' });
    expect(output).not.toMatch(/problem|error/i);
  });
});
