/**
 * validate: a line nested deeper than Python's json.loads reads fails A.3-json with the reason.
 * Python 3.8–3.11 read at most 995 levels at the top of a program (recursion limit 1,000), fewer
 * inside a trainer; the validator allows 900 (MAX_JSON_DEPTH).
 */
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateFile } from '../src/validate/index.js';
import { MAX_JSON_DEPTH, nestingDepth } from '../src/validate/_json-ast.js';
import { tempDir } from './helpers/index.js';

const python = spawnSync('python3', ['-c', 'import sys; print(int(sys.version_info[:2] < (3, 12)))'], { encoding: 'utf8' });
/** Python 3.8–3.11: json.loads raises RecursionError near depth 1,000 (3.12 reads 1,497, 3.13 9,998). */
const oldPython = python.status === 0 && python.stdout.trim() === '1';

const SHALLOW = '{"messages":[{"role":"user","content":"Rate?"},{"role":"assistant","content":"4.5%."}]}';

/** An OpenAI chat whose tool parameter schema nests `total` levels in all (the record is level 1). */
function deepLine(total: number): string {
  const k = total - 5; // record, tools, tool, function, parameters
  return `{"messages":[{"role":"user","content":"Rate?"},{"role":"assistant","content":"4.5%."}],"tools":[{"type":"function","function":{"name":"f","description":"d","parameters":{"type":"object","default":${'['.repeat(k)}${']'.repeat(k)}}}}]}`;
}

async function check(lines: string[], target: 'openai' | 'mlx-lm' | 'auto' = 'openai') {
  const file = join(await tempDir(), 'valid.jsonl');
  await writeFile(file, `${lines.join('\n')}\n`);
  return validateFile(file, { target, batchSize: 1 });
}

function pythonReads(line: string): { ok: boolean; error: string } {
  const r = spawnSync('python3', ['-c', 'import json,sys; json.loads(sys.stdin.read())'], { input: line, encoding: 'utf8' });
  return { ok: r.status === 0, error: r.stderr };
}

describe('nesting depth', () => {
  it('measures arrays and objects, iteratively', () => {
    expect(nestingDepth(JSON.parse(deepLine(900)))).toBe(900);
    expect(nestingDepth(JSON.parse('{"a":[[1]]}'))).toBe(3);
    expect(nestingDepth(JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`))).toBe(100_000);
  });

  it.each([
    [MAX_JSON_DEPTH + 1, 'openai'],
    [1_000, 'openai'],
    [1_000, 'mlx-lm'],
    [200_000, 'openai'],
  ] as const)('a line %i levels deep fails A.3-json for %s, with the reason', async (depth, target) => {
    const r = await check([SHALLOW, deepLine(depth), SHALLOW], target);
    expect(r.problems).toEqual([
      {
        line: 2,
        rule: 'A.3-json',
        message: expect.stringMatching(new RegExp(`^the line nests arrays and objects ${depth.toLocaleString('en-US')} levels deep: Python's json\\.loads.*raises RecursionError.*within 900 levels`)),
      },
    ]);
  });

  it(`a line ${MAX_JSON_DEPTH} levels deep passes`, async () => {
    expect((await check([SHALLOW, deepLine(MAX_JSON_DEPTH)])).problems).toEqual([]);
  });

  it('a too-deep first line does not settle the format for auto', async () => {
    const r = await check([deepLine(1_000), '{"conversations":[{"from":"human","value":"q"},{"from":"gpt","value":"a"}]}'], 'auto');
    expect(r).toMatchObject({ target: 'llama-factory', format: 'chat' });
    expect(r.problems.map((p) => p.rule)).toEqual(['A.3-json']);
  });

  it.skipIf(!oldPython)('agrees with Python 3.8–3.11: json.loads reads 900 levels and raises RecursionError at 1,000', () => {
    expect(pythonReads(deepLine(MAX_JSON_DEPTH)).ok).toBe(true);
    const deep = pythonReads(deepLine(1_000));
    expect(deep.ok).toBe(false);
    expect(deep.error).toMatch(/RecursionError/);
  });
});

describe('prepare writes no line its own validate fails for depth', () => {
  it('keeps a row nested just under the loader limit, whose output passes validate, and rejects a deeper one', async () => {
    const { prepareDataset } = await import('../src/index.js');
    const { MAX_JSON_DEPTH: LOAD_LIMIT } = await import('../src/load/index.js');
    // A tool whose parameter schema nests: {"tools":[{"type","function":{"parameters":{...}}}]}.
    const row = (depth: number) => {
      let schema = '{}';
      for (let i = 0; i < depth - 5; i++) schema = `{"items":${schema}}`;
      return `{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}],"tools":[{"type":"function","function":{"name":"f","parameters":${schema}}}]}`;
    };
    const dir = await tempDir();
    const input = join(dir, 'deep.jsonl');
    await writeFile(input, `${row(LOAD_LIMIT)}\n${row(LOAD_LIMIT + 1)}\n`);
    const result = await prepareDataset({ inputs: [input], outDir: join(dir, 'o'), split: { validation: 0 } });
    expect(result.counts).toMatchObject({ input: 2, kept: 1, byReason: { invalid_record: 1 } });
    expect((await validateFile(result.files.train, { target: 'openai' })).problems.filter((p) => p.rule === 'A.3-json')).toEqual([]);
  });
});
