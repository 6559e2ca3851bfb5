import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const typedocBin = join(dirname(createRequire(import.meta.url).resolve('typedoc/package.json')), 'bin', 'typedoc');

// TypeDoc with the repository's typedoc.json, writing nothing, and only the `notDocumented`
// check turned into an error: every export of src/index.ts (functions, classes and their
// constructors, variables, interfaces, type aliases) needs a TSDoc comment. Types referenced but
// not exported (`notExported`) are reported by `npm run docs:api`, not failed here. About 7 s.
describe('API reference', () => {
  it('every export of src/index.ts has a TSDoc comment', async () => {
    const args = [
      typedocBin,
      '--emit', 'none',
      '--treatValidationWarningsAsErrors',
      '--validation.notDocumented', 'true',
      '--validation.notExported', 'false',
      '--validation.invalidLink', 'false',
    ];
    let output: string;
    try {
      const { stdout, stderr } = await run(process.execPath, args, { cwd: process.cwd(), timeout: 60_000 });
      output = stdout + stderr;
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string };
      output = `${err.stdout ?? ''}${err.stderr ?? ''}`;
    }
    // eslint-disable-next-line no-control-regex
    const lines = output.replace(/\x1b\[[0-9;]*m/g, '').split('\n');
    const undocumented = lines.filter((l) => l.includes('does not have any documentation'));
    expect(undocumented, 'exports without TSDoc (add a /** ... */ comment)').toEqual([]);
    expect(lines.filter((l) => l.startsWith('[error]')), 'typedoc errors').toEqual([]);
  }, 60_000);
});
