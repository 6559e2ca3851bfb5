/**
 * validateFile / fixFile / `lora-prep validate`: one failing fixture per rule (fixtures/invalid/),
 * clean files for every target and format, agreement with the independent referee
 * (shared/tools/conform.py) where python3 and the referee are there, --fix, a property over random
 * valid OpenAI files, and the CLI exit codes.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/run.js';
import { prepareDataset } from '../src/index.js';
import {
  defaultFixedPath,
  fixFile,
  guessTarget,
  validateFile,
  VALIDATION_RULES,
  VALIDATION_TARGETS,
  type ValidationFormat,
  type ValidationOptions,
  type ValidationTarget,
} from '../src/validate/index.js';
import expected from '../fixtures/expected.json' with { type: 'json' };
import { tempDir } from './helpers/index.js';
import { fakeIo } from './helpers/cli.js';

const INVALID = 'fixtures/invalid';
const REFEREE = resolve('..', 'shared', 'tools', 'conform.py');
const hasPython = spawnSync('python3', ['--version']).status === 0;
const refereeAvailable = existsSync(REFEREE) && hasPython;
if (!refereeAvailable) console.warn(`validate.test.ts: referee comparisons skipped, ${existsSync(REFEREE) ? 'python3 is not installed' : `no referee at ${REFEREE}`}`);

/** `<target>-<rule>.jsonl`: the target validated against (`auto` guesses) and the one rule expected. */
function parseFixtureName(file: string): { target: ValidationTarget | 'auto'; rule: string } {
  const m = /^(.+?)-([A-Z]\.\d+-.+)\.jsonl$/.exec(file);
  if (!m) throw new Error(`fixture ${file} is not named <target>-<rule>.jsonl`);
  return { target: m[1] as ValidationTarget | 'auto', rule: m[2] as string };
}

/** Each fixture, the line its one problem is on (0: the file as a whole), and options beyond its target. */
const FIXTURES: Array<[string, number, Partial<ValidationOptions>?]> = [
  ['openai-A.1-bom.jsonl', 1],
  ['openai-A.1-utf8.jsonl', 4],
  ['trl-A.2-crlf.jsonl', 1],
  ['axolotl-A.2-cr.jsonl', 2],
  ['together-A.2-blank.jsonl', 2],
  ['mistral-A.2-final-newline.jsonl', 2],
  ['trl-A.2-empty-file.jsonl', 0],
  ['llama-factory-A.3-json.jsonl', 2],
  ['axolotl-A.3-not-object.jsonl', 3],
  ['unsloth-A.4-unescaped-separator.jsonl', 2],
  ['trl-A.4-lone-surrogate.jsonl', 1],
  ['mlx-lm-A.5-key-set.jsonl', 3],
  ['auto-A.5-unrecognised-shape.jsonl', 1],
  ['trl-A.6-type-change.jsonl', 2],
  ['llama-factory-A.7-empty-content.jsonl', 2],
  ['openai-B.1-keys.jsonl', 5],
  ['openai-B.2-messages.jsonl', 3],
  ['openai-B.2-role.jsonl', 6],
  ['openai-B.3-message-keys.jsonl', 4],
  ['openai-B.4-content.jsonl', 7],
  ['openai-B.5-no-assistant.jsonl', 2],
  ['openai-B.5-last-assistant.jsonl', 8],
  ['openai-B.6-weight.jsonl', 3],
  ['openai-B.6-nothing-trained.jsonl', 9],
  ['openai-B.7-tool-call.jsonl', 2],
  ['openai-B.7-tool-call-id.jsonl', 4],
  ['openai-B.8-tools.jsonl', 10],
  ['openai-B.9-min-lines.jsonl', 0],
  ['together-C.2-keys.jsonl', 2],
  ['together-C.2-mixed-format.jsonl', 3],
  ['together-C.3-messages.jsonl', 2],
  ['together-C.3-role.jsonl', 2],
  ['together-C.3-message-keys.jsonl', 3],
  ['together-C.3-content.jsonl', 1],
  ['together-C.3-alternation.jsonl', 2],
  ['together-C.3-no-assistant.jsonl', 3],
  ['together-C.3-weight.jsonl', 1],
  ['together-C.4-types.jsonl', 2],
  ['together-C.5-system-first.jsonl', 2],
  ['together-C.5-first-user.jsonl', 1],
  ['together-C.5-last-assistant.jsonl', 3],
  ['mistral-D.1-keys.jsonl', 2],
  ['mistral-D.2-messages.jsonl', 1],
  ['mistral-D.2-role.jsonl', 2],
  ['mistral-D.2-message-keys.jsonl', 2],
  ['mistral-D.2-content.jsonl', 1],
  ['mistral-D.3-system.jsonl', 1],
  ['mistral-D.3-last-assistant.jsonl', 2],
  ['mistral-D.4-content-xor-tool-calls.jsonl', 1],
  ['mistral-D.5-weight.jsonl', 2],
  ['mistral-D.6-role-order.jsonl', 2],
  ['mistral-D.6-tool-count.jsonl', 1],
  ['mistral-D.7-tool-call.jsonl', 2],
  ['mistral-D.7-tool-call-id.jsonl', 1],
  ['mistral-D.7-function-name.jsonl', 1],
  ['mistral-D.7-arguments.jsonl', 2],
  ['mistral-D.7-tools.jsonl', 1],
  ['mlx-lm-E.2-min-lines.jsonl', 0],
  ['mlx-lm-E.3-keys.jsonl', 2],
  ['mlx-lm-E.3-types.jsonl', 4],
  ['mlx-lm-E.3-tools.jsonl', 2],
  ['trl-F.1-keys.jsonl', 2],
  ['trl-F.1-types.jsonl', 3],
  ['trl-F.1-tools.jsonl', 1],
  ['trl-F.2-prompt-key.jsonl', 2],
  ['unsloth-F.3-sharegpt-role.jsonl', 1],
  ['trl-F.4-prompt-ends-assistant.jsonl', 2],
  ['trl-F.4-completion-role.jsonl', 1],
  ['llama-factory-G.1-keys.jsonl', 2],
  ['llama-factory-G.1-conversations.jsonl', 1],
  ['llama-factory-G.1-types.jsonl', 2],
  ['llama-factory-G.1-system-both.jsonl', 1],
  ['llama-factory-G.2-message-keys.jsonl', 2],
  ['llama-factory-G.2-value.jsonl', 3],
  ['llama-factory-G.3-role.jsonl', 1],
  ['llama-factory-G.4-system-first.jsonl', 2],
  ['llama-factory-G.4-alternation.jsonl', 1],
  ['llama-factory-G.4-even-count.jsonl', 3],
  ['axolotl-H.1-keys.jsonl', 2],
  ['llama-factory-H.1-missing-input.jsonl', 2],
  ['torchtune-H.1-types.jsonl', 3],
  ['unsloth-H.2-output.jsonl', 2],
  ['torchtune-T.1-system-first.jsonl', 2],
  ['torchtune-T.2-consecutive-user.jsonl', 1],
  ['torchtune-T.3-assistant-order.jsonl', 2],
  ['torchtune-T.4-tool-role.jsonl', 2],
  ['torchtune-T.5-tool-calls.jsonl', 1],
  ['trl-I.1-overlong.jsonl', 2, { maxTokens: 60 }],
  ['trl-I.1-prompt-overflow.jsonl', 2, { maxTokens: 60 }],
];

/** Rules with no fixture file, and where they are tested instead. */
const TESTED_INLINE: Record<string, string> = {
  'C.1-extension': 'test "C.1: Together wants a .jsonl name"',
  'C.1-file-size': 'not tested: needs a file over 50.1 GB',
  'B.11-file-size': 'not tested: needs a file over 512 MB',
};

describe('one failing fixture per rule', () => {
  it.each(FIXTURES)('%s: exactly that rule, at line %i', async (file, line, extra) => {
    const { target, rule } = parseFixtureName(file);
    const report = await validateFile(join(INVALID, file), { target, ...extra });
    expect(report.problems.map((p) => ({ line: p.line, rule: p.rule }))).toEqual([{ line, rule }]);
    expect(report.problemCount).toBe(1);
    expect(report.ok).toBe(false);
    expect(report.problems[0]?.message).not.toBe('');
  });

  it('covers every rule of the catalogue, and every fixture file is in the table', () => {
    const files = readdirSync(INVALID).filter((f) => f.endsWith('.jsonl')).sort();
    expect(FIXTURES.map(([f]) => f).sort()).toEqual(files);
    const covered = new Set([...files.map((f) => parseFixtureName(f).rule), ...Object.keys(TESTED_INLINE)]);
    expect(Object.keys(VALIDATION_RULES).filter((r) => !covered.has(r))).toEqual([]);
    for (const f of files) expect(Object.keys(VALIDATION_RULES)).toContain(parseFixtureName(f).rule);
  });
});

// --- clean files, written by hand for each target and format ---

const QA: Array<[string, string]> = [
  ['What is an index fund?', 'A fund that holds the securities of a market index to match its return at low cost.'],
  ['What does APR mean on a loan?', 'The annual percentage rate: the yearly cost of borrowing, including interest and most fees.'],
  ['Is a verbal agreement a binding contract?', 'Often yes, if there is an offer, acceptance and consideration; land sales must be in writing.'],
  ['What is a limitation period?', 'The time limit for starting a claim; once it expires the claim can be struck out.'],
  ['What is a normal resting heart rate for adults?', 'Usually between 60 and 100 beats per minute.'],
  ['Should ibuprofen be taken with food?', 'Yes, food or milk reduces stomach upset; ask a pharmacist if you have ulcers.'],
  ['What is a bond coupon?', 'The fixed interest a bond pays each year, as a percentage of its face value.'],
  ['Qu’est-ce qu’une procuration ?', 'Un document qui permet à une personne de confiance d’agir en votre nom. 📄'],
  ['What does HbA1c measure?', 'Average blood sugar over roughly the past two to three months.'],
  ['What is dollar-cost averaging?', 'Investing a fixed amount at regular intervals, whatever the price.'],
  ['What is a deductible?', 'The amount you pay towards a claim before the insurer pays the rest.'],
  ['What is a tort?', 'A civil wrong, such as negligence, that gives the injured person a claim for damages.'],
  ['What is an ETF?', 'An exchange-traded fund: a fund whose shares trade on a stock exchange like a single stock.'],
  ['What is probate?', 'The court process that confirms a will and authorises the executor to deal with the estate.'],
];
const SYSTEM = 'You are a careful assistant for finance, legal and medical questions.\u2028Give general information, not advice.';
const FOLLOW_UP: [string, string] = ['And how is it taxed?', 'That depends on where you live; ask a tax adviser about your case.'];

/** JSONL as trainers need it: compact, U+2028/U+2029/U+0085 escaped, one `\n` after each line. */
function jsonl(records: unknown[]): string {
  return records.map((r) => `${JSON.stringify(r).replace(/[\u2028\u2029\u0085]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`)}\n`).join('');
}

/** `count` clean records of a target and format, starting at QA row `from`. */
function cleanRecords(target: ValidationTarget, format: ValidationFormat, count = 10, from = 0): unknown[] {
  const out: unknown[] = [];
  for (let k = 0; k < count; k++) {
    const i = from + k;
    const [q, a] = QA[i % QA.length] as [string, string];
    const withSystem = i % 3 === 0;
    const multiTurn = i % 4 === 1;
    if (format === 'instruction') {
      if (target === 'together' || target === 'mlx-lm' || target === 'trl') out.push({ prompt: q, completion: a });
      else {
        const r: Record<string, unknown> = { instruction: q, input: i % 2 ? 'Answer in two sentences.' : '', output: a };
        if (withSystem) r.system = 'You are a careful assistant.';
        if (target === 'llama-factory' && multiTurn) r.history = [[FOLLOW_UP[0], FOLLOW_UP[1]]];
        out.push(r);
      }
    } else if (target === 'llama-factory') {
      const turns = [{ from: 'human', value: q }, { from: 'gpt', value: a }];
      if (multiTurn) turns.push({ from: 'human', value: FOLLOW_UP[0] }, { from: 'gpt', value: FOLLOW_UP[1] });
      if (i % 3 === 0) out.push({ conversations: [{ from: 'system', value: SYSTEM }, ...turns] });
      else if (i % 3 === 1) out.push({ conversations: turns, system: SYSTEM });
      else out.push({ conversations: turns });
    } else {
      const messages: Record<string, unknown>[] = [];
      if (withSystem) messages.push({ role: 'system', content: SYSTEM });
      messages.push({ role: 'user', content: q });
      if (multiTurn) {
        messages.push({ role: 'assistant', content: a, weight: 0 }, { role: 'user', content: FOLLOW_UP[0] }, { role: 'assistant', content: FOLLOW_UP[1], weight: 1 });
      } else messages.push({ role: 'assistant', content: a });
      out.push({ messages });
    }
  }
  return out;
}

const COMBINATIONS = Object.entries(VALIDATION_TARGETS).flatMap(([t, formats]) => formats.map((f) => [t as ValidationTarget, f] as [ValidationTarget, ValidationFormat]));

/** Runs the referee on `train` (and on `valid` where the target needs it) written as a folder the referee reads. */
async function referee(target: ValidationTarget, format: ValidationFormat, trainBytes: Buffer | string): Promise<{ status: number; output: string }> {
  const dir = join(await tempDir(), `${target}-${format}`);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'train.jsonl'), trainBytes);
  if (target === 'mlx-lm') await writeFile(join(dir, 'valid.jsonl'), jsonl(cleanRecords(target, format, 4, 10)));
  if (target === 'llama-factory') {
    const entry =
      format === 'chat'
        ? { file_name: 'train.jsonl', formatting: 'sharegpt', columns: { messages: 'conversations', system: 'system' } }
        : { file_name: 'train.jsonl', columns: { prompt: 'instruction', query: 'input', response: 'output', system: 'system', history: 'history' } };
    await writeFile(join(dir, 'dataset_info.json'), JSON.stringify({ train: entry }));
  }
  const r = spawnSync('python3', [REFEREE, target, format, dir], { encoding: 'utf8' });
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

describe('clean files pass', () => {
  it.each(COMBINATIONS)('%s %s', async (target, format) => {
    const file = join(await tempDir(), 'train.jsonl');
    await writeFile(file, jsonl(cleanRecords(target, format)));
    const report = await validateFile(file, { target, format });
    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({ ok: true, target, format, guessed: false, lines: 10, records: 10, problemCount: 0 });
    // The format is read from line 1 when not given.
    expect((await validateFile(file, { target })).format).toBe(format);
  });

  it('with tool calls where the target allows them (OpenAI, Mistral, TRL with object arguments)', async () => {
    const dir = await tempDir();
    const call = (id: string, args: unknown) => ({ id, type: 'function', function: { name: 'get_rate', arguments: args } });
    const tools = [{ type: 'function', function: { name: 'get_rate', description: 'Current central-bank rate', parameters: { type: 'object', properties: { currency: { type: 'string' } } } } }];
    const conversation = (id: string, args: unknown, content: string | null) => ({
      messages: [
        { role: 'user', content: 'What is the ECB deposit rate today?' },
        { role: 'assistant', ...(content === null ? {} : { content }), tool_calls: [call(id, args)] },
        { role: 'tool', content: '{"rate":4.5}', tool_call_id: id },
        { role: 'assistant', content: 'The ECB deposit facility rate is 4.5%.' },
      ],
      tools,
    });
    const cases: Array<[ValidationTarget, unknown[]]> = [
      ['openai', [...cleanRecords('openai', 'chat', 9), conversation('call_abc123', '{"currency":"EUR"}', null)]],
      ['mistral', [conversation('a1B2c3D4e', '{"currency":"EUR"}', null), conversation('Z9y8X7w6v', '{}', null)]],
      ['trl', [conversation('call_1', { currency: 'EUR' }, ''), conversation('call_2', { currency: 'USD' }, '')]],
    ];
    for (const [target, records] of cases) {
      const file = join(dir, `${target}.jsonl`);
      await writeFile(file, jsonl(records));
      expect((await validateFile(file, { target })).problems, target).toEqual([]);
    }
  });

  describe.skipIf(!refereeAvailable)('and the referee agrees', () => {
    it.each(COMBINATIONS)('%s %s', async (target, format) => {
      const { status, output } = await referee(target, format, jsonl(cleanRecords(target, format)));
      expect(output).toMatch(/conforms/);
      expect(status).toBe(0);
    });
  });
});

describe('what prepareDataset writes passes validateFile', () => {
  const inputs = [
    ...Object.entries(expected).map(([path, spec]) => ('encoding' in spec ? { path, encoding: spec.encoding as 'windows-1252' } : path)),
    'fixtures/targets/conversations.jsonl',
  ];
  it.each(COMBINATIONS)('%s %s', async (target, format) => {
    const outDir = join(await tempDir(), 'out');
    const result = await prepareDataset({ inputs, outDir, target, format, split: { validation: 0.2, test: 0 } });
    for (const file of [result.files.train, result.files.validation]) {
      if (file === undefined) continue;
      const report = await validateFile(file, { target, format });
      expect(report.problems, file).toEqual([]);
      expect(report.records).toBeGreaterThan(0);
    }
  });
});

describe('what prepareDataset writes from tool conversations passes validateFile', () => {
  // Rows from the audit of what prepare wrote: argument types that change between rows, argument
  // text that is no object or has more digits than a double, a tool without parameters, more tool
  // answers than calls, tool calls without tools, parameter schemas whose types differ, a name
  // and a weight on a user turn.
  const call = (id: string, args: string, name = 'get_rate') => ({ id, type: 'function', function: { name, arguments: args } });
  const tool = (name: string, parameters?: unknown) => ({ type: 'function', function: { name, description: `The ${name} tool.`, ...(parameters === undefined ? {} : { parameters }) } });
  const withCall = (q: string, args: string | string[], tools?: unknown[], answers = 1) => {
    const list = Array.isArray(args) ? args : [args];
    const calls = list.map((a, i) => call(`call${q.length}x${i}`, a));
    return {
      messages: [
        { role: 'user', content: q },
        { role: 'assistant', content: null, tool_calls: calls },
        ...calls.flatMap((c) => Array.from({ length: answers }, (_, k) => ({ role: 'tool', tool_call_id: c.id, content: `result ${k} for ${q}` }))),
        { role: 'assistant', content: `The answer to ${q}` },
      ],
      ...(tools ? { tools } : {}),
    };
  };
  const rate = (p: unknown) => tool('get_rate', { type: 'object', properties: { c: p } });
  const rows = [
    ...QA.map(([q, a], i) => ({ messages: [{ role: 'user', content: q, ...(i === 0 ? { name: 'bob' } : {}), ...(i === 1 ? { weight: 0 } : {}) }, { role: 'assistant', content: a }] })),
    withCall('Rate for EUR?', '{"c":"EUR"}'),
    withCall('Rate for code 978?', '{"c":978}'),
    withCall('Rate for EUR with tools?', '{"c":"EUR"}', [rate({ type: 'string', enum: ['EUR', 'USD'], default: 'EUR' })]),
    withCall('Rate for 978 with tools?', '{"c":978}', [rate({ type: 'integer', enum: [978, 840], default: 978 })]),
    withCall('Array arguments?', '[1,2]'),
    withCall('String arguments?', '"s"'),
    withCall('Null arguments?', 'null'),
    withCall('Number arguments?', '7'),
    withCall('Big number?', '{"big":12345678901234567890}', [tool('get_rate', { type: 'object', properties: {} })]),
    withCall('Two answers to one call?', '{"c":"JPY"}', [rate({ type: 'string' })], 2),
    withCall('What time is it?', '{}', [tool('now')]),
    withCall('Two calls at once?', ['{"c":"EUR"}', '{"c":840}'], [rate({ type: 'string' })]),
  ];
  const COMBOS_WITH_TOOLS = COMBINATIONS.filter(([, f]) => f === 'chat');

  it.each(COMBOS_WITH_TOOLS)('%s %s', async (target, format) => {
    const dir = await tempDir();
    const input = join(dir, 'tools.jsonl');
    await writeFile(input, jsonl(rows));
    const result = await prepareDataset({ inputs: [input], outDir: join(dir, 'out'), target, format, dedup: false, split: { validation: target === 'mlx-lm' ? 0.3 : 0, seed: 1 } });
    const written: string[] = [];
    for (const file of [result.files.train, result.files.validation]) {
      if (file === undefined) continue;
      const report = await validateFile(file, { target, format });
      expect(report.problems, file).toEqual([]);
      written.push(await readFile(file, 'utf8'));
    }
    const text = written.join('');
    // Digits never change: the big integer is written as given, or its row is rejected.
    if (text.includes('1234567890123456')) expect(text).toContain('12345678901234567890');
    expect(result.counts.kept).toBeGreaterThanOrEqual(QA.length);
  });
});

describe.skipIf(!refereeAvailable)('the referee also rejects invalid fixtures', () => {
  it.each([
    'openai-A.1-bom.jsonl',
    'trl-A.2-crlf.jsonl',
    'together-A.2-blank.jsonl',
    'mistral-A.2-final-newline.jsonl',
    'unsloth-A.4-unescaped-separator.jsonl',
    'openai-B.6-weight.jsonl',
    'openai-B.9-min-lines.jsonl',
    'together-C.2-mixed-format.jsonl',
    'together-C.3-alternation.jsonl',
    'mistral-D.3-system.jsonl',
    'mlx-lm-E.2-min-lines.jsonl',
    'llama-factory-G.3-role.jsonl',
    'llama-factory-G.4-alternation.jsonl',
    'llama-factory-H.1-missing-input.jsonl',
    'unsloth-H.2-output.jsonl',
  ])('%s', async (file) => {
    const { target } = parseFixtureName(file);
    const report = await validateFile(join(INVALID, file), { target });
    expect(report.ok).toBe(false);
    const { status, output } = await referee(report.target as ValidationTarget, report.format as ValidationFormat, await readFile(join(INVALID, file)));
    expect(status, output).toBe(1);
  });
});

describe('file-level details', () => {
  async function check(content: string | Buffer, options: ValidationOptions = { target: 'axolotl' }, name = 'f.jsonl') {
    const file = join(await tempDir(), name);
    await writeFile(file, content);
    return validateFile(file, options);
  }
  const ok = jsonl(cleanRecords('axolotl', 'chat', 3));

  it('reports CRLF once, at the first such line, with the count', async () => {
    const r = await check(ok.replace(/\n/g, '\r\n'));
    expect(r.problems).toEqual([{ line: 1, rule: 'A.2-crlf', message: expect.stringMatching(/^3 lines end with \\r\\n/) }]);
  });

  it.each([
    ['two extra newlines at the end', `${ok}\n\n`, [{ line: 4, rule: 'A.2-final-newline' }]],
    ['no newline at the end', ok.slice(0, -1), [{ line: 3, rule: 'A.2-final-newline' }]],
    ['a whitespace line at the end', `${ok} \t\n`, [{ line: 4, rule: 'A.2-blank' }]],
    ['blank lines in the middle', ok.replace('\n', '\n\n  \n'), [{ line: 2, rule: 'A.2-blank' }, { line: 3, rule: 'A.2-blank' }]],
    ['a JSON array on one line', `[${ok.trim().split('\n').join(',')}]\n`, [{ line: 1, rule: 'A.3-not-object' }]],
    ['a pretty-printed object', '{\n  "messages": []\n}\n', [{ line: 1, rule: 'A.3-json' }, { line: 2, rule: 'A.3-json' }, { line: 3, rule: 'A.3-json' }]],
    ['only newlines', '\n\n', [{ line: 0, rule: 'A.2-empty-file' }]],
  ])('%s', async (_name, content, expected) => {
    const r = await check(content);
    expect(r.problems.map(({ line, rule }) => ({ line, rule }))).toEqual(expected);
  });

  it('MLX-LM chat lines may carry keys MLX does not read (an id); OpenAI lines may not', async () => {
    const lines = cleanRecords('mlx-lm', 'chat', 4).map((r, i) => ({ id: i, ...(r as object) }));
    expect((await check(jsonl(lines), { target: 'mlx-lm' })).problems).toEqual([]);
    expect((await check(jsonl(lines), { target: 'openai' })).problems.map((p) => p.rule)).toContain('B.1-keys');
  });

  it('C.1: Together wants a .jsonl name', async () => {
    const r = await check(jsonl(cleanRecords('together', 'chat', 2)), { target: 'together' }, 'train.json');
    expect(r.problems.map((p) => p.rule)).toEqual(['C.1-extension']);
  });

  it('keeps at most maxProblems problems but counts them all, by rule', async () => {
    const r = await check(`${ok}${'nonsense\n'.repeat(30)}`, { target: 'axolotl', maxProblems: 5 });
    expect(r.problems).toHaveLength(5);
    expect(r.problemCount).toBe(30);
    expect(r.problemsByRule).toEqual({ 'A.3-json': 30 });
  });

  it('counts tokens only when maxTokens is given', async () => {
    const file = join(INVALID, 'trl-I.1-overlong.jsonl');
    expect((await validateFile(file, { target: 'trl' })).ok).toBe(true);
    expect((await validateFile(file, { target: 'trl', maxTokens: 60 })).problems.map((p) => p.rule)).toEqual(['I.1-overlong']);
  });

  it("B.9: OpenAI's 10 examples are asked of the training file only, not of a validation or test file", async () => {
    const three = jsonl(cleanRecords('openai', 'chat', 3));
    for (const name of ['validation.jsonl', 'valid.jsonl', 'test.jsonl', 'finance-eval.jsonl', 'val_2024.jsonl', 'dev.jsonl']) {
      const r = await check(three, { target: 'openai' }, name);
      expect(r.problems, name).toEqual([]);
      expect(r.warnings.join(), name).not.toMatch(/recommends/);
    }
    for (const name of ['train.jsonl', 'data.jsonl', 'contest.jsonl', 'latest.jsonl']) {
      expect((await check(three, { target: 'openai' }, name)).problems.map((p) => p.rule), name).toEqual(['B.9-min-lines']);
    }
  });

  it('A.6: inner types of arguments and parameter schemas matter only to Arrow readers; Axolotl may take parameters as JSON text', async () => {
    const rate = (c: unknown, args: unknown) => ({
      messages: [
        { role: 'user', content: 'Rate?' },
        { role: 'assistant', content: '', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_rate', arguments: args } }] },
        { role: 'tool', content: '4%', tool_call_id: 'call_1' },
        { role: 'assistant', content: 'It is 4%.' },
      ],
      tools: [{ type: 'function', function: { name: 'get_rate', description: 'A rate.', parameters: { type: 'object', properties: { c: c } } } }],
    });
    const text = jsonl([rate({ type: 'string', enum: ['EUR'] }, { c: 'EUR' }), rate({ type: 'integer', enum: [978] }, { c: 978 })]);
    expect((await check(text, { target: 'mlx-lm', batchSize: 1 })).problems).toEqual([]);
    const trl = await check(text, { target: 'trl' });
    expect(trl.problems.map((p) => p.rule)).toEqual(['A.6-type-change']);
    expect(trl.problems[0]?.message).toMatch(/arguments\.c is a number here but a string on line 1/);
    // The argument object itself may not change type, whoever reads it.
    expect((await check(jsonl([rate({ type: 'string' }, { c: 'EUR' }), rate({ type: 'string' }, '{"c":"EUR"}')]), { target: 'mlx-lm', batchSize: 1 })).problems.map((p) => p.rule)).toEqual(['A.6-type-change']);
    const axolotl = (parameters: unknown) => ({ ...rate(null, '{}'), tools: [{ type: 'function', function: { name: 'get_rate', parameters } }] });
    expect((await check(jsonl([axolotl('{"type":"object","properties":{}}')]), { target: 'axolotl' })).problems).toEqual([]);
    expect((await check(jsonl([axolotl('[1]')]), { target: 'axolotl' })).problems.map((p) => p.message)).toEqual(['tools[0].function.parameters is a string that does not hold a JSON object']);
    expect((await check(jsonl([axolotl('{}')]), { target: 'openai', format: 'chat' }, 'validation.jsonl')).problems.map((p) => p.rule)).toEqual(['B.8-tools']);
  });

  it('warns, without failing, under 50 OpenAI examples and on a short Mistral file', async () => {
    expect((await check(jsonl(cleanRecords('openai', 'chat', 12)), { target: 'openai' })).warnings.join()).toMatch(/recommends at least 50/);
    const m = await check(jsonl(cleanRecords('mistral', 'chat', 3)), { target: 'mistral' });
    expect(m.ok).toBe(true);
    expect(m.warnings.join()).toMatch(/mistral-finetune/);
  });

  it('honours batchSize for MLX-LM', async () => {
    const content = jsonl(cleanRecords('mlx-lm', 'chat', 6));
    expect((await check(content, { target: 'mlx-lm' })).ok).toBe(true);
    expect((await check(content, { target: 'mlx-lm', batchSize: 8 })).problems.map((p) => p.rule)).toEqual(['E.2-min-lines']);
  });

  it('streams a large file', async () => {
    const r = await check(jsonl(cleanRecords('trl', 'chat', 20_000)), { target: 'trl' });
    expect(r).toMatchObject({ ok: true, records: 20_000 });
  });

  it('throws INPUT_NOT_FOUND for a missing file and OPTION_INVALID for bad options, never for content', async () => {
    await expect(validateFile('fixtures/invalid/none.jsonl', { target: 'openai' })).rejects.toMatchObject({ code: 'INPUT_NOT_FOUND' });
    await expect(validateFile('fixtures/invalid', { target: 'openai' })).rejects.toMatchObject({ code: 'INPUT_NOT_FOUND', message: expect.stringContaining('is not a file') });
    await expect(validateFile(join(INVALID, 'openai-A.1-bom.jsonl'), { target: 'openai', format: 'instruction' })).rejects.toMatchObject({ code: 'OPTION_INVALID', message: expect.stringMatching(/openai reads chat only/) });
    await expect(validateFile(join(INVALID, 'openai-A.1-bom.jsonl'), { target: 'nope' as 'openai', maxTokens: -1 })).rejects.toMatchObject({ code: 'OPTION_INVALID', message: expect.stringMatching(/target:[\s\S]*maxTokens/) });
    const binary = await check(Buffer.from([0x00, 0xff, 0xfe, 0x0a, 0x7b, 0x0a, 0x0a]));
    expect(binary.ok).toBe(false);
  });
});

describe("target: 'auto'", () => {
  it.each([
    [{ conversations: [] }, 'llama-factory', 'chat'],
    [{ instruction: 'q', input: '', output: 'a' }, 'axolotl', 'instruction'],
    [{ instruction: 'q', input: '', output: 'a', history: [] }, 'llama-factory', 'instruction'],
    [{ prompt: 'q', completion: 'a' }, 'trl', 'instruction'],
    [{ messages: [{ role: 'user', content: 'q' }] }, 'openai', 'chat'],
    [{ messages: [], chat_template_kwargs: {} }, 'trl', 'chat'],
    [{ messages: [{ role: 'user', content: 'q', weight: 1 }] }, 'together', 'chat'],
    [{ messages: [{ role: 'ipython', content: 'q' }] }, 'torchtune', 'chat'],
    [{ messages: [{ role: 'assistant', tool_calls: [{ id: 'a1B2c3D4e' }] }] }, 'mistral', 'chat'],
    [{ messages: [], tools: '[{"type":"function","function":{"name":"now","parameters":{}}}]' }, 'trl', 'chat'],
    [{ messages: [], tools: [{ type: 'function', function: { name: 'now', parameters: '{"type":"object"}' } }] }, 'axolotl', 'chat'],
  ])('%j → %s %s', (record, target, format) => {
    expect(guessTarget(record)).toMatchObject({ target, format });
  });

  it.each(['trl', 'unsloth', 'axolotl'] as const)("passes prepare's own %s output with tools on line 1", async (target) => {
    const dir = await tempDir();
    const outDir = join(dir, 'o');
    // The tool conversation of the fixture first, so that line 1 shows how this target writes tools.
    const rows = (await readFile('fixtures/targets/conversations.jsonl', 'utf8')).trim().split('\n');
    const input = join(dir, 'in.jsonl');
    await writeFile(input, `${[...rows.filter((r) => r.includes('"tools"')), ...rows.filter((r) => !r.includes('"tools"'))].join('\n')}\n`);
    await prepareDataset({ inputs: [input], outDir, target, split: { validation: 0 }, dedup: false });
    const r = await validateFile(join(outDir, 'train.jsonl'), { target: 'auto' });
    expect(r.problems).toEqual([]);
  });

  it('reports the guess', async () => {
    const file = join(await tempDir(), 'train.jsonl');
    await writeFile(file, jsonl(cleanRecords('llama-factory', 'chat')));
    const r = await validateFile(file, { target: 'auto' });
    expect(r).toMatchObject({ ok: true, target: 'llama-factory', format: 'chat', guessed: true });
    expect(r.warnings[0]).toMatch(/guessed target llama-factory \(chat\) from line 1/);
  });
});

describe('fixFile (--fix)', () => {
  it('repairs BOM, CRLF, a blank line, a float weight, ShareGPT roles, a raw U+2028 and extra final newlines, leaving the input untouched', async () => {
    const dir = await tempDir();
    const input = join(dir, 'train.jsonl');
    const lines = jsonl(cleanRecords('openai', 'chat', 10)).trimEnd().split('\n');
    lines[2] = '{"messages":[{"role":"user","content":"What is a bond coupon?"},{"role":"assistant","content":"The fixed interest a bond pays.","weight":1.0}]}';
    lines[4] = '{"messages":[{"role":"human","content":"Caf\u00e9 lease:\u2028can it be assigned?"},{"role":"gpt","content":"Only with the landlord\'s consent."}]}';
    const original = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${lines.slice(0, 6).join('\r\n')}\r\n\r\n${lines.slice(6).join('\r\n')}\r\n\r\n\r\n`)]);
    await writeFile(input, original);
    const before = await validateFile(input, { target: 'openai' });
    expect(new Set(before.problems.map((p) => p.rule))).toEqual(new Set(['A.1-bom', 'A.2-crlf', 'A.2-blank', 'B.6-weight', 'B.2-role', 'A.4-unescaped-separator', 'A.2-final-newline']));

    const result = await fixFile(input, undefined, { target: 'openai' });
    expect(result.outPath).toBe(join(dir, 'train.fixed.jsonl'));
    expect(result.changes).toEqual([
      { rule: 'A.1-bom', count: 1 },
      { rule: 'A.2-crlf', count: 13 },
      { rule: 'B.6-weight', count: 1 },
      { rule: 'B.2-role', count: 2 },
      { rule: 'A.4-unescaped-separator', count: 1 },
      { rule: 'A.2-blank', count: 1 },
      { rule: 'A.2-final-newline', count: 1 },
    ]);
    expect(await readFile(input)).toEqual(original);
    const after = await validateFile(result.outPath, { target: 'openai' });
    expect(after.problems).toEqual([]);
    const text = await readFile(result.outPath, 'utf8');
    expect(text.split('\n')).toHaveLength(11);
    expect(text).toContain('"weight":1}');
    expect(JSON.parse(text.split('\n')[4] as string).messages[0].content).toBe('Caf\u00e9 lease:\u2028can it be assigned?');
  });

  it('splits records joined by classic Mac OS line endings (CR alone) into lines, changing nothing else', async () => {
    const dir = await tempDir();
    const input = join(dir, 'mac.jsonl');
    const lines = jsonl(cleanRecords('openai', 'chat', 12)).trimEnd().split('\n');
    await writeFile(input, `${lines.join('\r')}\r`);
    const result = await fixFile(input, undefined, { target: 'openai' });
    expect(result.changes).toEqual([{ rule: 'A.2-cr', count: 11 }]);
    expect(await readFile(result.outPath, 'utf8')).toBe(`${lines.join('\n')}\n`);
    expect((await validateFile(result.outPath, { target: 'openai' })).problems).toEqual([]);
  });

  it('adds a missing alpaca input and renames ShareGPT roles, changing nothing else', async () => {
    const dir = await tempDir();
    const alpacaIn = join(dir, 'alpaca.jsonl');
    await writeFile(alpacaIn, '\ufeff{"instruction":"Convert 1.50 EUR","output":"About 1.62 USD","system":"Be exact."}\r\n{"instruction":"q","input":"","output":"a"}\r\n');
    const a = await fixFile(alpacaIn, join(dir, 'alpaca-out.jsonl'), { target: 'llama-factory' });
    expect(a.changes).toEqual([{ rule: 'A.1-bom', count: 1 }, { rule: 'A.2-crlf', count: 2 }, { rule: 'H.1-missing-input', count: 1 }]);
    expect(await readFile(a.outPath, 'utf8')).toBe('{"instruction":"Convert 1.50 EUR","input":"","output":"About 1.62 USD","system":"Be exact."}\n{"instruction":"q","input":"","output":"a"}\n');
    expect((await validateFile(a.outPath, { target: 'llama-factory' })).ok).toBe(true);

    const shareIn = join(dir, 'share.jsonl');
    // The number literals 1.50 and 12345678901234567890 must survive the rewrite of the record as written.
    await writeFile(shareIn, '{"conversations":[{"from":"user","value":"Hi"},{"from":"assistant","value":"Hello"}],"tools":"[]"}\n{"conversations" : [ {"from":"human","value":"x"}, {"from":"gpt","value":"y"} ]}\n');
    const s = await fixFile(shareIn, undefined, { target: 'auto' });
    expect(s.changes).toEqual([{ rule: 'G.3-role', count: 2 }]);
    const fixed = await readFile(s.outPath, 'utf8');
    expect(fixed).toBe('{"conversations":[{"from":"human","value":"Hi"},{"from":"gpt","value":"Hello"}],"tools":"[]"}\n{"conversations" : [ {"from":"human","value":"x"}, {"from":"gpt","value":"y"} ]}\n');

    const numbersIn = join(dir, 'numbers.jsonl');
    await writeFile(numbersIn, '{"messages":[{"role":"human","content":"Rate?"},{"role":"gpt","content":"4.50%","weight":1.0}],"tools":[{"type":"function","function":{"name":"f","parameters":{"maximum":1.50,"default":12345678901234567890,"scale":1.0}}}]}\n');
    const n = await fixFile(numbersIn, undefined, { target: 'openai' });
    const line = await readFile(n.outPath, 'utf8');
    expect(line).toContain('"maximum":1.50,"default":12345678901234567890,"scale":1.0');
    expect(line).toContain('"role":"user"');
    expect(line).toContain('"weight":1}');
  });

  it('never overwrites: refuses an existing outPath and the input itself', async () => {
    const dir = await tempDir();
    const input = join(dir, 'data');
    await copyFile(join(INVALID, 'openai-A.1-bom.jsonl'), input);
    expect(defaultFixedPath(input)).toBe(`${input}.fixed.jsonl`);
    await expect(fixFile(input, input, { target: 'openai' })).rejects.toMatchObject({ code: 'OUTPUT_NOT_EMPTY' });
    const out = join(dir, 'taken.jsonl');
    await writeFile(out, 'keep me\n');
    await expect(fixFile(input, out, { target: 'openai' })).rejects.toMatchObject({ code: 'OUTPUT_NOT_EMPTY' });
    expect(await readFile(out, 'utf8')).toBe('keep me\n');
    expect(readdirSync(dir).sort()).toEqual(['data', 'taken.jsonl']);
    await expect(fixFile(join(dir, 'none.jsonl'), undefined, { target: 'openai' })).rejects.toMatchObject({ code: 'INPUT_NOT_FOUND' });
  });
});

// --- property: random valid OpenAI files ---

/** A small seeded PRNG, so one fast-check integer drives whitespace and key order. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** JSON with random whitespace between tokens and shuffled keys; strings escape U+2028/U+2029/U+0085. */
function scrambled(value: unknown, rnd: () => number): string {
  const ws = (): string => [' ', '', '\t', '  ', ''][Math.floor(rnd() * 5)] as string;
  const str = (s: string) => JSON.stringify(s).replace(/[\u2028\u2029\u0085]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
  const go = (v: unknown): string => {
    if (Array.isArray(v)) return `[${ws()}${v.map((x) => `${go(x)}${ws()}`).join(`,${ws()}`)}]`;
    if (typeof v === 'object' && v !== null) {
      const entries = Object.entries(v);
      for (let i = entries.length - 1; i > 0; i--) {
        const j = Math.floor(rnd() * (i + 1));
        [entries[i], entries[j]] = [entries[j] as [string, unknown], entries[i] as [string, unknown]];
      }
      return `{${ws()}${entries.map(([k, x]) => `${str(k)}${ws()}:${ws()}${go(x)}${ws()}`).join(`,${ws()}`)}}`;
    }
    return typeof v === 'string' ? str(v) : JSON.stringify(v);
  };
  return `${ws()}${go(value)}${ws()}`;
}

const text = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).filter((s) => !/^[\s\x85\x1c-\x1f]*$/.test(s));
const openAiRecord = fc
  .record({
    system: fc.option(text, { nil: undefined }),
    name: fc.option(fc.stringMatching(/^[a-z_]{1,10}$/), { nil: undefined }),
    turns: fc.array(fc.record({ user: text, assistant: text, weight: fc.option(fc.constantFrom(0, 1), { nil: undefined }) }), { minLength: 1, maxLength: 3 }),
  })
  .map(({ system, name, turns }) => {
    const messages: Record<string, unknown>[] = [];
    if (system !== undefined) messages.push({ role: 'system', content: system });
    turns.forEach((t, i) => {
      messages.push(name === undefined ? { role: 'user', content: t.user } : { role: 'user', content: t.user, name });
      // The last turn is always trained, so no record trains nothing (B.6).
      const weight = i === turns.length - 1 ? (t.weight === 0 ? 1 : t.weight) : t.weight;
      messages.push(weight === undefined ? { role: 'assistant', content: t.assistant } : { role: 'assistant', content: t.assistant, weight });
    });
    return { messages };
  });

describe('property: random valid OpenAI files', () => {
  const files = fc.record({ records: fc.array(openAiRecord, { minLength: 10, maxLength: 14 }), seed: fc.integer(), blankAt: fc.nat(), blank: fc.constantFrom('', ' ', '\t ') });

  it('pass whatever the whitespace and key order; one inserted blank line is exactly one A.2 problem at that line', async () => {
    const dir = await tempDir();
    let run = 0;
    await fc.assert(
      fc.asyncProperty(files, async ({ records, seed, blankAt, blank }) => {
        const rnd = prng(seed);
        const lines = records.map((r) => scrambled(r, rnd));
        const file = join(dir, `p${run++}.jsonl`);
        await writeFile(file, `${lines.join('\n')}\n`);
        const clean = await validateFile(file, { target: 'openai' });
        expect(clean.problems).toEqual([]);
        const at = blankAt % (lines.length + 1);
        lines.splice(at, 0, blank);
        await writeFile(file, `${lines.join('\n')}\n`);
        const broken = await validateFile(file, { target: 'openai' });
        expect(broken.problems.map((p) => p.line)).toEqual([at + 1]);
        expect(broken.problems[0]?.rule).toMatch(/^A\.2-/);
      }),
      { numRuns: 100 },
    );
  });
});

// --- CLI ---


describe('lora-prep validate', () => {
  it('exits 0 on a clean file, with a summary', async () => {
    const file = join(await tempDir(), 'train.jsonl');
    await writeFile(file, jsonl(cleanRecords('mistral', 'chat', 12)));
    const io = fakeIo();
    expect(await runCli(['validate', file, '--target', 'mistral'], io)).toBe(0);
    expect(io.out).toMatch(/mistral chat, 12 records: no problems/);
  });

  it('exits 1 and prints file:line  rule  message', async () => {
    const io = fakeIo();
    const file = join(INVALID, 'together-C.3-alternation.jsonl');
    expect(await runCli(['validate', file, '--target', 'together'], io)).toBe(1);
    expect(io.out).toContain(`${file}:2  C.3-alternation  messages 0 and 1 are both user`);
    expect(io.out).toMatch(/1 problem \(C\.3-alternation 1\)/);
  });

  it('prints the first 50 problems, then a count', async () => {
    const file = join(await tempDir(), 'bad.jsonl');
    await writeFile(file, 'x\n'.repeat(60));
    const io = fakeIo();
    expect(await runCli(['validate', file, '--target', 'trl'], io)).toBe(1);
    expect(io.out.match(/ A\.3-json /g)).toHaveLength(50);
    expect(io.out).toMatch(/… and 10 more/);
  });

  it('--json prints the report; auto guesses and says so', async () => {
    const io = fakeIo();
    expect(await runCli(['validate', join(INVALID, 'llama-factory-G.4-even-count.jsonl'), '--json'], io)).toBe(1);
    const report = JSON.parse(io.out);
    expect(report).toMatchObject({ target: 'llama-factory', format: 'chat', guessed: true, problemCount: 1, problems: [{ line: 3, rule: 'G.4-even-count' }] });
  });

  it('--max-tokens counts tokens', async () => {
    const io = fakeIo();
    expect(await runCli(['validate', join(INVALID, 'trl-I.1-overlong.jsonl'), '--target', 'trl', '--max-tokens', '60'], io)).toBe(1);
    expect(io.out).toMatch(/:2 {2}I\.1-overlong/);
  });

  it('--fix writes the copy, lists the changes and exits by the copy', async () => {
    const dir = await tempDir();
    const input = join(dir, 'train.jsonl');
    await writeFile(input, `\ufeff${jsonl(cleanRecords('axolotl', 'instruction', 4)).replace(/,"input":""/g, '').replace(/\n/g, '\r\n')}\n`);
    const io = fakeIo();
    expect(await runCli(['validate', input, '--target', 'axolotl', '--fix', '--out', join(dir, 'fixed.jsonl')], io)).toBe(0);
    expect(io.out).toMatch(/wrote .*fixed\.jsonl, fixing:\n {2}A\.1-bom {2}1\n {2}A\.2-crlf {2}4\n {2}H\.1-missing-input {2}2\n {2}A\.2-final-newline {2}1/);
    expect(io.out).toMatch(/axolotl instruction, 4 records: no problems/);
    // A second --fix to the same --out is refused (exit 2), and the input was never touched.
    const again = fakeIo();
    expect(await runCli(['validate', input, '--target', 'axolotl', '--fix', '--out', join(dir, 'fixed.jsonl')], again)).toBe(2);
    expect(again.err).toMatch(/OUTPUT_NOT_EMPTY/);
    expect((await readFile(input, 'utf8')).startsWith('\ufeff')).toBe(true);
  });

  it('--fix --json prints the fix and the report of the copy', async () => {
    const dir = await tempDir();
    const input = join(dir, 'in.jsonl');
    await copyFile(join(INVALID, 'openai-B.1-keys.jsonl'), input);
    const io = fakeIo();
    expect(await runCli(['validate', input, '--fix', '--json', '--target', 'openai'], io)).toBe(1);
    const { fix, report } = JSON.parse(io.out);
    // Nothing mechanical to fix: no copy (one beside a dataset would be read as data), the input is the report's.
    expect(fix).toEqual({ changes: [], outPath: input, written: false });
    expect(existsSync(join(dir, 'in.fixed.jsonl'))).toBe(false);
    expect(report.problems).toMatchObject([{ line: 5, rule: 'B.1-keys' }]);
    expect(report.file).toBe(input);
    const text = fakeIo();
    expect(await runCli(['validate', input, '--fix', '--target', 'openai'], text)).toBe(1);
    expect(text.out).toMatch(/^nothing mechanical to fix: no copy written\n/);
    expect(existsSync(join(dir, 'in.fixed.jsonl'))).toBe(false);
    // A path asked for gets its copy all the same (a script may go on to read it).
    const named = fakeIo();
    expect(await runCli(['validate', input, '--fix', '--out', join(dir, 'clean.jsonl'), '--target', 'openai'], named)).toBe(1);
    expect(named.out).toMatch(/^wrote .*clean\.jsonl: nothing mechanical to fix\n/);
    expect(await readFile(join(dir, 'clean.jsonl'), 'utf8')).toBe(await readFile(input, 'utf8'));
  });

  it.each([
    ['an unknown target', ['validate', 'x.jsonl', '--target', 'gpt'], /--target must be auto or one of/],
    ['an unknown format', ['validate', 'x.jsonl', '--format', 'qa'], /--format must be chat, instruction or text/],
    ['a format the target lacks', ['validate', join(INVALID, 'openai-A.1-bom.jsonl'), '--target', 'openai', '--format', 'instruction'], /OPTION_INVALID/],
    ['a missing file', ['validate', 'fixtures/none.jsonl', '--target', 'openai'], /INPUT_NOT_FOUND/],
    ['a folder', ['validate', 'fixtures', '--target', 'openai'], /INPUT_NOT_FOUND: fixtures is not a file/],
    ['no file', ['validate', '--target', 'openai'], /exactly one file/],
    ['--out without --fix', ['validate', 'x.jsonl', '--out', 'y.jsonl'], /--out goes with --fix/],
    ['a bad --max-tokens', ['validate', join(INVALID, 'openai-A.1-bom.jsonl'), '--max-tokens', '1.5'], /maxTokens: expected a positive integer/],
    ['an unknown flag', ['validate', 'x.jsonl', '--strict'], /strict/],
  ])('exits 2 on %s', async (_name, argv, message) => {
    const io = fakeIo();
    expect(await runCli(argv, io)).toBe(2);
    expect(io.err).toMatch(message);
  });

  it('checks {"text"} records with --format text for a trainer that reads them, and refuses it for one that does not', async () => {
    const file = join(await tempDir(), 'texts.jsonl');
    await writeFile(file, Array.from({ length: 12 }, (_, i) => JSON.stringify({ text: `Note ${i}: a ledger balances debits and credits.` })).join('\n') + '\n');
    const ok = fakeIo();
    expect(await runCli(['validate', file, '--target', 'mlx-lm', '--format', 'text', '--quiet'], ok)).toBe(0);
    const refused = fakeIo();
    expect(await runCli(['validate', file, '--target', 'openai', '--format', 'text', '--quiet'], refused)).toBe(2);
    expect(refused.err).toMatch(/OPTION_INVALID/);
  });
});
