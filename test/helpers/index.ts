/** Test helpers: collecting async iterables, temp folders, a recording stage context. */
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach } from 'vitest';
import type { Rejection, StageContext } from '../../src/types.js';

/** All items of an async iterable. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** An async iterable over the given items. */
export async function* fromArray<T>(items: T[]): AsyncIterable<T> {
  for (const item of items) yield item;
}

/** A stage context that records what stages report. */
export function recordingContext(): StageContext & { rejected: Rejection[]; warnings: string[] } {
  const rejected: Rejection[] = [];
  const warnings: string[] = [];
  return { rejected, warnings, reject: (r) => void rejected.push(r), warn: (m) => void warnings.push(m) };
}

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** A fresh temporary folder, removed after the test. */
export async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'lora-prep-test-'));
  dirs.push(d);
  return d;
}

/** Every file under a folder (relative path → base64 content; folders → 'dir'), to compare before and after. */
export async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const p = join(entry.parentPath, entry.name);
    out[p.slice(dir.length)] = entry.isFile() ? (await readFile(p)).toString('base64') : 'dir';
  }
  return out;
}

/**
 * A Hugging Face tokenizer folder for tests: the tiny ChatML fixture's tokenizer.json with a
 * tokenizer_config.json of `config` (bos `<s>`, eos `</s>` unless given) and any other `files`
 * (relative paths, folders made as needed).
 */
export async function tinyTokenizer(config: Record<string, unknown>, files: Record<string, string> = {}): Promise<string> {
  const dir = join(await tempDir(), 'tok');
  await mkdir(dir);
  await copyFile('fixtures/tokenizers/tiny-chatml/tokenizer.json', join(dir, 'tokenizer.json'));
  await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify({ bos_token: '<s>', eos_token: '</s>', ...config }));
  for (const [name, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
}

/** Whether python3 with jinja2 is here, for tests that compare renders with jinja2's (skipped without). */
export function hasJinja2(): boolean {
  try {
    execFileSync('python3', ['-c', 'import jinja2'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
