/** Checks on written output files shared by the end-to-end tests. */
import { readFile } from 'node:fs/promises';
import { expect } from 'vitest';

/** Reads a JSONL file and asserts the file-level rules every trainer's reader needs. */
export async function readJsonl(path: string): Promise<Record<string, unknown>[]> {
  const bytes = await readFile(path);
  if (bytes.length === 0) return [];
  expect([...bytes.subarray(0, 3)]).not.toEqual([0xef, 0xbb, 0xbf]);
  const text = bytes.toString('utf8');
  expect(text.endsWith('\n')).toBe(true);
  expect(text.endsWith('\n\n')).toBe(false);
  expect(text).not.toContain('\r');
  return text
    .slice(0, -1)
    .split('\n')
    .map((line) => {
      expect(line.trim()).not.toBe('');
      const value = JSON.parse(line) as unknown;
      expect(value !== null && typeof value === 'object' && !Array.isArray(value)).toBe(true);
      return value as Record<string, unknown>;
    });
}
