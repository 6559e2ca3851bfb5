import { stat, writeFile } from 'node:fs/promises';
import { availableParallelism, totalmem } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { concurrencyFor, cpuQuota, defaultConcurrency, MAX_DEFAULT_CONCURRENCY, thisMachine, WORKER_BYTES, workersFromBytes } from '../src/_cpus.js';
import { prepareDataset } from '../src/index.js';
import { TokenizerPool } from '../src/tokenizers/pool.js';
import { tempDir } from './helpers/index.js';

/** A reader of the given files only; any other path is missing, as on a machine without them. */
function files(contents: Record<string, string>): (path: string) => string {
  return (path) => {
    const text = contents[path];
    if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    return text;
  };
}

describe('cpuQuota', () => {
  it.each<[string, Record<string, string>, number | undefined]>([
    ['cgroup v2, 2 CPUs', { '/sys/fs/cgroup/cpu.max': '200000 100000\n' }, 2],
    ['cgroup v2, 2.5 CPUs (rounded down, as libuv does)', { '/sys/fs/cgroup/cpu.max': '250000 100000\n' }, 2],
    ['cgroup v2, a quarter CPU (at least 1)', { '/sys/fs/cgroup/cpu.max': '25000 100000\n' }, 1],
    ['cgroup v2, no quota', { '/sys/fs/cgroup/cpu.max': 'max 100000\n' }, undefined],
    ['cgroup v1, 4 CPUs', { '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '400000\n', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n' }, 4],
    ['cgroup v1 under cpu,cpuacct', { '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us': '300000\n', '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us': '100000\n' }, 3],
    ['cgroup v1, no quota (-1)', { '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1\n', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n' }, undefined],
    ['no cgroup files (another system)', {}, undefined],
    ['an unreadable value', { '/sys/fs/cgroup/cpu.max': 'garbage\n' }, undefined],
  ])('%s', (_name, contents, expected) => {
    expect(cpuQuota(files(contents))).toBe(expected);
  });
});

describe('defaultConcurrency', () => {
  const GiB = 2 ** 30;
  it.each<[string, Parameters<typeof defaultConcurrency>[0], number]>([
    ['one per CPU on an ordinary machine', { cpus: 8, memoryBytes: 16 * GiB }, 8],
    ['the container\'s CPU quota, not the host\'s CPUs', { cpus: 64, cpuQuota: 2, memoryBytes: 64 * GiB }, 2],
    ['no more than 16 on a big machine', { cpus: 96, memoryBytes: 256 * GiB }, MAX_DEFAULT_CONCURRENCY],
    ['what a 1 GiB memory limit holds', { cpus: 32, memoryBytes: 1 * GiB }, 11],
    ['at least one, however little memory', { cpus: 4, memoryBytes: 256 * 2 ** 20 }, 1],
  ])('%s', (_name, machine, expected) => {
    expect(defaultConcurrency(machine)).toBe(expected);
  });

  it('reckons more memory per worker for a Hugging Face tokenizer', () => {
    expect(defaultConcurrency({ cpus: 32, memoryBytes: 1 * GiB }, WORKER_BYTES.huggingface)).toBe(3);
    expect(concurrencyFor('fixtures/tokenizers/tiny-chatml', { cpus: 32, memoryBytes: 1 * GiB })).toBe(3);
    expect(concurrencyFor('llama-3', { cpus: 32, memoryBytes: 1 * GiB })).toBe(3);
    expect(concurrencyFor('o200k_base', { cpus: 32, memoryBytes: 1 * GiB })).toBe(11);
    expect(concurrencyFor('gpt-4o-mini', { cpus: 8, memoryBytes: 64 * GiB })).toBe(8);
  });

  it('reads this machine: its CPUs, its quota where one is set, and a memory limit no larger than its memory', () => {
    const machine = thisMachine();
    expect(machine.cpus).toBe(availableParallelism());
    expect(machine.cpuQuota).toBe(cpuQuota());
    expect(machine.memoryBytes).toBeGreaterThan(0);
    expect(machine.memoryBytes).toBeLessThanOrEqual(totalmem());
  });
});

describe('workersFromBytes', () => {
  it('starts workers later where they share two CPUs with the main thread, a quota counting', () => {
    const MiB = 2 ** 20;
    expect(workersFromBytes({ cpus: 1, memoryBytes: 2 ** 33 })).toBe(48 * MiB);
    expect(workersFromBytes({ cpus: 2, memoryBytes: 2 ** 33 })).toBe(48 * MiB);
    expect(workersFromBytes({ cpus: 64, cpuQuota: 2, memoryBytes: 2 ** 33 })).toBe(48 * MiB);
    expect(workersFromBytes({ cpus: 4, memoryBytes: 2 ** 33 })).toBe(16 * MiB);
    expect(workersFromBytes({ cpus: 64, cpuQuota: 8, memoryBytes: 2 ** 33 })).toBe(16 * MiB);
  });

  it('takes the line from LORA_PREP_WORKERS_FROM_BYTES where it is set, and refuses one that is not a number of bytes', () => {
    const machine = { cpus: 2, memoryBytes: 2 ** 33 };
    expect(workersFromBytes(machine, {})).toBe(48 * 2 ** 20);
    expect(workersFromBytes(machine, { LORA_PREP_WORKERS_FROM_BYTES: '4194304' })).toBe(4194304);
    expect(workersFromBytes(machine, { LORA_PREP_WORKERS_FROM_BYTES: ' 0 ' })).toBe(0);
    for (const bad of ['', '4MiB', '-1', '1e6', 'lots']) {
      expect(() => workersFromBytes(machine, { LORA_PREP_WORKERS_FROM_BYTES: bad }), bad).toThrow(expect.objectContaining({ code: 'OPTION_INVALID', message: expect.stringMatching(/LORA_PREP_WORKERS_FROM_BYTES must be a whole number of bytes/) }));
    }
  });

  it('leaves an input under the line to the main thread, whatever the concurrency', async () => {
    // 5 MB: over the 4 MiB from which workers once started, under the line on any machine.
    delete process.env.LORA_PREP_WORKERS_FROM_BYTES;
    const dir = await tempDir();
    const file = join(dir, 'rows.jsonl');
    const row = (i: number) => JSON.stringify({ question: `Question ${i} on the bond's coupon?`, answer: `The coupon is ${i % 97}% a year, paid twice. ${'It accrues daily. '.repeat(20)}` });
    await writeFile(file, `${Array.from({ length: 12_000 }, (_, i) => row(i)).join('\n')}\n`);
    expect((await stat(file)).size).toBeGreaterThan(5 * 10 ** 6);
    const start = vi.spyOn(TokenizerPool, 'start');
    try {
      const result = await prepareDataset({ inputs: [file], outDir: join(dir, 'o'), concurrency: 4 });
      expect(result.counts.input).toBe(12_000);
      expect(start).not.toHaveBeenCalled();
    } finally {
      start.mockRestore();
    }
  }, 60_000);
});
