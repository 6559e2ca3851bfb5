/**
 * fixFile (--fix): ShareGPT role names inside TRL's conversational prompt-completion lists are
 * renamed; a record nested deeper than Python reads is left as it was, listed with the reason,
 * and never counted as fixed. The copy then validates with no problem the fix claims to remove.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/run.js';
import { fixFile, validateFile } from '../src/validate/index.js';
import { fakeIo } from './helpers/cli.js';
import { tempDir } from './helpers/index.js';

async function input(lines: string[], name = 'valid.jsonl'): Promise<string> {
  const path = join(await tempDir(), name);
  await writeFile(path, `${lines.join('\n')}\n`);
  return path;
}

const HUMAN_GPT = '{"prompt":[{"role":"system","content":"Be exact."},{"role":"human","content":"Rate of 1.50?"}],"completion":[{"role":"gpt","content":"About 1.62"}]}';

describe('--fix on TRL conversational prompt-completion', () => {
  it('renames human/gpt to user/assistant in prompt and completion, changing nothing else, and the copy passes', async () => {
    const path = await input([HUMAN_GPT, '{"prompt":[{"role":"user","content":"q"}],"completion":[{"role":"assistant","content":"a"}]}']);
    expect((await validateFile(path, { target: 'trl' })).problems.map((p) => p.rule)).toEqual(['F.3-sharegpt-role', 'F.3-sharegpt-role']);
    const fix = await fixFile(path, undefined, { target: 'trl' });
    expect(fix.changes).toEqual([{ rule: 'F.3-sharegpt-role', count: 2 }]);
    expect(fix.left).toBeUndefined();
    expect(await readFile(fix.outPath, 'utf8')).toBe(
      '{"prompt":[{"role":"system","content":"Be exact."},{"role":"user","content":"Rate of 1.50?"}],"completion":[{"role":"assistant","content":"About 1.62"}]}\n' +
        '{"prompt":[{"role":"user","content":"q"}],"completion":[{"role":"assistant","content":"a"}]}\n',
    );
    expect((await validateFile(fix.outPath, { target: 'trl' })).problems).toEqual([]);
  });

  it('with target auto too', async () => {
    const path = await input([HUMAN_GPT, HUMAN_GPT.replace('1.50', '2.00')]);
    const fix = await fixFile(path, undefined, { target: 'auto' });
    expect(fix.changes).toEqual([{ rule: 'F.3-sharegpt-role', count: 4 }]);
    expect((await validateFile(fix.outPath, { target: 'auto' })).problems).toEqual([]);
  });
});

/** An OpenAI chat with ShareGPT role names whose tool parameter schema nests `total` levels in all. */
function deepHumanGpt(total: number): string {
  const k = total - 5;
  return `{"messages":[{"role":"human","content":"Rate?"},{"role":"gpt","content":"4.5%.","weight":1.0}],"tools":[{"type":"function","function":{"name":"f","description":"d","parameters":{"type":"object","default":${'['.repeat(k)}${']'.repeat(k)}}}}]}`;
}

describe('--fix on records nested deeper than Python reads', () => {
  it.each([1_000, 100_000])('depth %i: the record is copied as it was, listed in left with why, and not counted as fixed', async (depth) => {
    const shallow = '{"messages":[{"role":"human","content":"Hi"},{"role":"assistant","content":"Hello"}]}';
    const deep = deepHumanGpt(depth);
    const path = await input([shallow, `${deep}\r`]);
    const fix = await fixFile(path, undefined, { target: 'openai' });
    // The shallow record's role is fixed; the deep one's roles and weight are not, and are not counted.
    expect(fix.changes).toEqual([{ rule: 'B.2-role', count: 1 }, { rule: 'A.2-crlf', count: 1 }]);
    expect(fix.left).toEqual([{ line: 2, rule: 'A.3-json', reason: expect.stringMatching(new RegExp(`^nested ${depth.toLocaleString('en-US')} levels deep, past the 900 that Python's json\\.loads reads`)) }]);
    const out = (await readFile(fix.outPath, 'utf8')).split('\n');
    expect(out[1]).toBe(deep);
    const report = await validateFile(fix.outPath, { target: 'openai' });
    // The copy fails only where --fix said it would, and for the reason it gave: no "(--fix does)" left behind.
    expect(report.problems.map(({ line, rule }) => ({ line, rule }))).toEqual([{ line: 2, rule: 'A.3-json' }]);
    expect(report.problems[0]?.message).toMatch(/RecursionError/);
  });

  it('the CLI prints the fix and the report of the copy, which names the line and why', async () => {
    const path = await input([deepHumanGpt(2_000)]);
    const io = fakeIo();
    expect(await runCli(['validate', path, '--target', 'openai', '--fix', '--json', '--quiet'], io)).toBe(1);
    const { fix, report } = JSON.parse(io.out);
    expect(fix.changes).toEqual([]);
    expect(fix.left).toMatchObject([{ line: 1, rule: 'A.3-json' }]);
    expect(report.problems).toMatchObject([{ line: 1, rule: 'A.3-json' }]);
  });
});
