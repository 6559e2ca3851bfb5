/**
 * How many tokenizer workers to start when the user does not say: the CPUs this process may
 * use, as many as its memory holds, at most {@link MAX_DEFAULT_CONCURRENCY}.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { LoraPrepError } from './errors.js';
import { openAiEncodingFor } from './tokenizers/index.js';

/**
 * The most workers started by default. Each holds its own tokenizer (about 55 MB with an OpenAI
 * encoding); on a 16-core machine 15 workers still beat 8 (8.5–8.9 s against 11.2 s at 200,000
 * rows), while the main thread's own work (reading, parsing, handling replies: 7.3–7.8 s busy at
 * 15 workers) bounds what more could bring. `concurrency` sets any number up to 64.
 */
export const MAX_DEFAULT_CONCURRENCY = 16;

/** What the default is chosen from. */
export interface Machine {
  /** CPUs the scheduler gives this process (`os.availableParallelism()`). */
  cpus: number;
  /** The container's CPU quota in whole CPUs, if one is set. */
  cpuQuota?: number | undefined;
  /** Memory this process may use: the container's limit where one is set, else the machine's. */
  memoryBytes: number;
}

/**
 * Memory reckoned per worker when the memory limits the default: an OpenAI encoding's worker
 * peaks near 55 MB; a Hugging Face tokenizer holds more (Llama 3's took 170 MB of one thread's
 * RSS, 85 MB of it heap), and its workers keep V8's default heap limits.
 */
export const WORKER_BYTES = { openai: 64 * 2 ** 20, huggingface: 192 * 2 ** 20 } as const;
// Memory reckoned for the main thread (200–300 MB at 200,000 rows).
const MAIN_BYTES = 320 * 2 ** 20;

/**
 * The default `concurrency`: the CPUs available to this process, where a container's CPU quota
 * counts (Node 20's `availableParallelism()` counts the host's CPUs under a quota, so a container
 * limited to 2 CPUs on a 64-core host would start 64 workers); no more workers than its memory
 * holds at `workerBytes` each beside 320 MB for the main thread (a container limited to 1 GiB
 * gets 11 workers for an OpenAI encoding, 3 for a Hugging Face tokenizer); at most
 * {@link MAX_DEFAULT_CONCURRENCY}.
 *
 * @example
 * defaultConcurrency({ cpus: 64, cpuQuota: 2, memoryBytes: 2 ** 34 }) // 2
 */
export function defaultConcurrency(machine: Machine = thisMachine(), workerBytes: number = WORKER_BYTES.openai): number {
  const byMemory = Math.floor((machine.memoryBytes - MAIN_BYTES) / workerBytes);
  return Math.max(1, Math.min(machine.cpus, machine.cpuQuota ?? Number.POSITIVE_INFINITY, byMemory, MAX_DEFAULT_CONCURRENCY));
}

/**
 * The input size (text bytes) from which counting in worker threads pays off: 48 MiB on a machine
 * of two CPUs or fewer (a container's quota counts), 16 MiB on more; the environment variable
 * `LORA_PREP_WORKERS_FROM_BYTES` sets it (bytes; 0: workers for any input). Each worker loads its own
 * tokenizer (0.6–1.2 s), and counting inline runs at some 45 MB/s with o200k_base and 15–20 MB/s
 * with Llama 3. Measured on two cores, where the workers share the CPUs with the main thread: two
 * workers were slower than none up to 47 MB with o200k_base (3.93 against 3.69 s) and faster from
 * about 40 MB with Llama 3 (6.12 against 6.79 s at 47 MB). With a core for the main thread, the
 * start is repaid once inline counting would take longer than it: some 17–27 MB
 * (docs/performance.md, "Since 2026-11-30").
 *
 * @example
 * workersFromBytes({ cpus: 2, memoryBytes: 2 ** 33 }) // 50331648
 */
export function workersFromBytes(machine: Machine = thisMachine(), env: Record<string, string | undefined> = process.env): number {
  const set = env.LORA_PREP_WORKERS_FROM_BYTES;
  if (set !== undefined) {
    if (!/^\d+$/.test(set.trim())) {
      throw new LoraPrepError('OPTION_INVALID', `LORA_PREP_WORKERS_FROM_BYTES must be a whole number of bytes (0: worker threads for any input), got ${JSON.stringify(set)}. Unset it for the default line.`);
    }
    return Number(set.trim());
  }
  const cpus = Math.min(machine.cpus, machine.cpuQuota ?? Number.POSITIVE_INFINITY);
  return (cpus <= 2 ? 48 : 16) * 2 ** 20;
}

/**
 * The default `concurrency` for a tokenizer: {@link defaultConcurrency} with the memory its
 * workers take ({@link WORKER_BYTES}).
 *
 * @example
 * concurrencyFor('llama-3', { cpus: 32, memoryBytes: 2 ** 30 }) // 3, where o200k_base gets 11
 */
export function concurrencyFor(tokenizer: string, machine: Machine = thisMachine()): number {
  return defaultConcurrency(machine, openAiEncodingFor(tokenizer) ? WORKER_BYTES.openai : WORKER_BYTES.huggingface);
}

/**
 * This process's CPUs, CPU quota and memory limit.
 *
 * @example
 * thisMachine() // { cpus: 16, cpuQuota: 4, memoryBytes: 8589934592 } in a container run with --cpus=4 --memory=8g
 */
export function thisMachine(): Machine {
  const total = totalmem();
  // No limit reads as 0, or as a huge number (cgroup v1's "unlimited").
  const constrained = process.constrainedMemory?.() ?? 0;
  return { cpus: availableParallelism(), cpuQuota: cpuQuota(), memoryBytes: constrained > 0 && constrained < total ? constrained : total };
}

/**
 * The Linux cgroup CPU quota in whole CPUs (rounded down, at least 1), or `undefined` where none
 * is set or none can be read (any other system). cgroup v2 (`cpu.max`) is read first, then v1
 * (`cpu.cfs_quota_us` over `cpu.cfs_period_us`), at the cgroup root a container sees.
 *
 * @example
 * cpuQuota((path) => (path.endsWith('cpu.max') ? '250000 100000\n' : '')) // 2
 */
export function cpuQuota(read: (path: string) => string = readLinuxFile): number | undefined {
  const v2 = attempt(() => read('/sys/fs/cgroup/cpu.max'));
  if (v2 !== undefined) {
    const [quota, period] = v2.trim().split(/\s+/);
    return quota === 'max' ? undefined : wholeCpus(Number(quota), Number(period));
  }
  for (const dir of ['/sys/fs/cgroup/cpu', '/sys/fs/cgroup/cpu,cpuacct']) {
    const quota = attempt(() => read(`${dir}/cpu.cfs_quota_us`));
    const period = attempt(() => read(`${dir}/cpu.cfs_period_us`));
    if (quota !== undefined && period !== undefined) return wholeCpus(Number(quota), Number(period));
  }
  return undefined;
}

// --- internal ---

function readLinuxFile(path: string): string {
  if (process.platform !== 'linux') throw new Error('not Linux');
  return readFileSync(path, 'utf8');
}

function attempt(read: () => string): string | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

/** A quota of `quota` µs per `period` µs as whole CPUs; `undefined` for none (v1 writes -1). */
function wholeCpus(quota: number, period: number): number | undefined {
  if (!(quota > 0 && period > 0)) return undefined;
  return Math.max(1, Math.floor(quota / period));
}
