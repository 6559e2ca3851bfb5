/**
 * Every target and format: golden output (reviewed as JSONL diffs), the rules each trainer
 * enforces, file layout and glue, and the independent referee (shared/tools/conform.py) on the
 * output of all bundled fixtures.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { prepareDataset, targets, trainerGlue, type PrepareOptions, type RecordFormat, type TargetName } from '../src/index.js';
import expected from '../fixtures/expected.json' with { type: 'json' };
import { tempDir } from './helpers/index.js';

const COMBOS = Object.entries(targets).flatMap(([name, t]) => Object.keys(t.formats).map((format) => [name as TargetName, format as RecordFormat] as const));

describe.each(COMBOS)('%s %s', (target, format) => {
  it('matches the golden output, with every rejection named', async () => {
    const outDir = join(await tempDir(), 'o');
    const result = await prepareDataset({
      // mlx-lm always reads a validation file with at least 4 examples: give it the rows twice.
      inputs: target === 'mlx-lm' ? ['fixtures/targets/conversations.jsonl', 'fixtures/targets/conversations.jsonl'] : ['fixtures/targets/conversations.jsonl'],
      outDir,
      target,
      format,
      split: { validation: target === 'mlx-lm' ? 0.4 : 0 },
      dedup: false,
    }).catch((e: Error) => e);
    if (result instanceof Error) {
      await expect(`${(result as { code?: string }).code}: ${result.message}\n`).toMatchFileSnapshot(`__golden__/${target}-${format}.error.txt`);
      return;
    }
    const files = (await readdir(outDir)).filter((f) => f.endsWith('.jsonl')).sort();
    let text = '';
    for (const f of files) text += `== ${f}\n${await readFile(join(outDir, f), 'utf8')}`;
    const rejected = (await readFile(result.files.rejected, 'utf8'))
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const r = JSON.parse(l) as { source: { line: number }; reason: string; message: string };
        return `line ${r.source.line}: ${r.reason}: ${r.message}`;
      });
    text += `== rejected\n${rejected.join('\n')}\n`;
    await expect(text).toMatchFileSnapshot(`__golden__/${target}-${format}.txt`);
  });
});

/** YAML read as the trainers read it: YAML 1.1 (PyYAML, OmegaConf), where `yes` or `2024` is no string. */
const parseYaml = (text: string): unknown => parse(text, { version: '1.1' });

/** The first YAML block of a next-steps text, parsed (torchtune's `${batch_size}` read as a number). */
function yamlOf(md: string): Record<string, unknown> {
  return parseYaml((/```yaml\n([\s\S]*?)```/.exec(md)?.[1] as string).replace(/\$\{batch_size\}/g, '1')) as Record<string, unknown>;
}

describe('file layout and glue', () => {
  const all: PrepareOptions['inputs'] = Object.entries(expected).map(([path, spec]) => ('encoding' in spec ? { path, encoding: spec.encoding as 'windows-1252' } : path));

  it('mlx-lm writes train.jsonl and valid.jsonl, each with at least 4 examples, and the command line', async () => {
    const outDir = join(await tempDir(), 'mlx');
    const result = await prepareDataset({ inputs: all, outDir, target: 'mlx-lm', split: { validation: 0.1, test: 0.05 } });
    expect((await readdir(outDir)).sort()).toEqual(['report', 'test.jsonl', 'train.jsonl', 'valid.jsonl']);
    expect(result.files.validation).toBe(join(outDir, 'valid.jsonl'));
    expect(result.counts.test).toBeGreaterThanOrEqual(4);
    expect(result.nextSteps).toContain(`mlx_lm.lora --model MODEL --train --data ${outDir} --batch-size 4`);
  });

  it('mlx-lm trains answers only in both formats (--mask-prompt), and warns where chats answer before their last message', async () => {
    const dir = await tempDir();
    const chat = join(dir, 'chat.jsonl');
    const turn = (i: number, more: boolean) => [
      { role: 'user', content: `Question ${i} about invoice ${i}?` },
      ...(more ? [{ role: 'assistant', content: `First answer ${i}.` }, { role: 'user', content: `And then ${i}?` }] : []),
      { role: 'assistant', content: `Answer ${i}.` },
    ];
    await writeFile(chat, Array.from({ length: 24 }, (_, i) => JSON.stringify({ messages: turn(i, i % 3 === 0) })).join('\n'));
    const result = await prepareDataset({ inputs: [chat], outDir: join(dir, 'c'), target: 'mlx-lm', split: { validation: 0.25 } });
    expect(result.nextSteps).toMatch(/mlx_lm\.lora .* --mask-prompt\n/);
    expect(result.warnings).toContain("8 examples answer before their last message (8 assistant turns): mlx-lm with --mask-prompt (next steps) trains only each chat's last message, so those turns are not trained; without it, it trains on every token, prompts too");
    const single = join(dir, 'single.jsonl');
    await writeFile(single, Array.from({ length: 24 }, (_, i) => JSON.stringify({ prompt: `Question ${i}?`, completion: `Answer ${i}.` })).join('\n'));
    const completions = await prepareDataset({ inputs: [single], outDir: join(dir, 'p'), target: 'mlx-lm', format: 'instruction', split: { validation: 0.25 } });
    expect(completions.nextSteps).toMatch(/mlx_lm\.lora .* --mask-prompt\n/);
    expect(completions.warnings.some((w) => w.includes('answer before their last message'))).toBe(false);
  });

  it('mlx-lm refuses, before writing, a split under its batch size', async () => {
    const outDir = join(await tempDir(), 'mlx');
    await expect(prepareDataset({ inputs: ['fixtures/medical/patient-faq.json'], outDir, target: 'mlx-lm', split: { validation: 0.1 } })).rejects.toMatchObject({
      code: 'SPLIT_TOO_SMALL',
      message: expect.stringMatching(/at least 4 examples in valid\.jsonl.*this run has 1/),
    });
    expect(existsSync(outDir)).toBe(false);
  });

  it('mlx-lm refuses a run without validation, and prompt/completion refuses a system prompt', async () => {
    await expect(prepareDataset({ inputs: all, outDir: 'x', target: 'mlx-lm', split: { validation: 0 } })).rejects.toMatchObject({ code: 'OPTION_INVALID' });
    await expect(prepareDataset({ inputs: all, outDir: 'x', target: 'trl', format: 'instruction', systemPrompt: 'Be brief.' })).rejects.toMatchObject({
      code: 'OPTION_INVALID',
      message: expect.stringMatching(/no system field/),
    });
  });

  it.each(['chat', 'instruction'] as const)('llama-factory %s: dataset_info.json names each file with the columns it holds', async (format) => {
    const outDir = join(await tempDir(), 'lf-data');
    await prepareDataset({ inputs: all, outDir, target: 'llama-factory', format, split: { validation: 0.1 } });
    expect((await readdir(outDir)).sort()).toEqual(['dataset_info.json', 'report', 'train.jsonl', 'validation.jsonl']);
    const info = JSON.parse(await readFile(join(outDir, 'dataset_info.json'), 'utf8'));
    expect(Object.keys(info)).toEqual(['lf_data_train', 'lf_data_validation']);
    expect(info.lf_data_train.file_name).toBe('train.jsonl');
    expect(info.lf_data_validation.file_name).toBe('validation.jsonl');
    // A column named but absent from the file is a KeyError in LLaMA-Factory's converter: each
    // entry names the optional columns its own file holds, and only those.
    if (format === 'chat') expect(info.lf_data_train).toEqual({ file_name: 'train.jsonl', formatting: 'sharegpt', columns: { messages: 'conversations', system: 'system' } });
    else expect(info.lf_data_train.columns).toMatchObject({ prompt: 'instruction', query: 'input', response: 'output' });
    for (const [entry, file] of [[info.lf_data_train, 'train.jsonl'], [info.lf_data_validation, 'validation.jsonl']] as const) {
      const rows = (await readFile(join(outDir, file), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      const held = new Set(rows.flatMap((r) => Object.keys(r)));
      const named = Object.entries(entry.columns as Record<string, string>).filter(([k]) => k === 'system' || k === 'tools' || k === 'history').map(([, v]) => v);
      expect(named.sort(), file).toEqual([...held].filter((k) => k === 'system' || k === 'tools' || k === 'history').sort());
    }
    const steps = await readFile(join(outDir, 'report', 'next-steps.md'), 'utf8');
    expect(steps).toContain(`dataset_dir: ${JSON.stringify(outDir)}`);
    expect(steps).toContain('dataset: lf_data_train');
  });

  it('trainerGlue gives a pipeline of stage functions the glue prepareDataset writes', async () => {
    const outDir = join(await tempDir(), 'lf-data');
    const result = await prepareDataset({ inputs: all, outDir, target: 'llama-factory', maxTokens: 2048, split: { validation: 0.1 } });
    const glue = trainerGlue({
      target: 'llama-factory',
      format: 'chat',
      outDir,
      files: { train: 'train.jsonl', validation: 'validation.jsonl' },
      sequenceLength: 2048,
      tokenizer: 'o200k_base',
      columns: { train: ['system'], validation: [] },
    });
    expect(glue.files.map((f) => f.path)).toEqual(['dataset_info.json']);
    expect(glue.files[0]?.content).toBe(await readFile(join(outDir, 'dataset_info.json'), 'utf8'));
    expect(glue.nextSteps).toBe(result.nextSteps);
  });

  it('axolotl writes a datasets block next to the data', async () => {
    const outDir = join(await tempDir(), 'ax');
    await prepareDataset({ inputs: all, outDir, target: 'axolotl', maxTokens: 2048 });
    const yaml = await readFile(join(outDir, 'axolotl.yaml'), 'utf8');
    expect(yaml).toContain(`  - path: ${JSON.stringify(join(outDir, 'train.jsonl'))}\n    ds_type: json\n    type: chat_template`);
    expect(yaml).toContain('test_datasets:');
    expect(yaml).toContain('sequence_len: 2048');
  });

  it.each(Object.keys(targets))('%s: next steps name the files written', async (target) => {
    const outDir = join(await tempDir(), 't');
    const result = await prepareDataset({ inputs: all, outDir, target: target as TargetName, split: { validation: 0.1 } });
    // LLaMA-Factory is pointed at its dataset_info.json, which names the files; the others name them.
    expect(result.nextSteps).toContain(target === 'llama-factory' ? 'dataset_info.json' : 'train.jsonl');
    expect(await readFile(result.files.nextSteps, 'utf8')).toBe(result.nextSteps);
    // Every trainer that can evaluate is told where the validation file is.
    if (target !== 'llama-factory') expect(result.nextSteps).toContain(target === 'mlx-lm' ? outDir : (result.files.validation as string));
  });

  describe('glue on an output folder whose path YAML or a shell would misread (#, spaces, ": ", a quote)', () => {
    const yamlBlocks = (md: string) => [...md.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => parseYaml((m[1] as string).replace(/\$\{batch_size\}/g, '1')) as Record<string, unknown>);
    const shellWords = (line: string) => {
      // A POSIX shell's words for the quoting glue writes: plain words and single-quoted ones.
      const words: string[] = [];
      for (const m of line.matchAll(/(?:'((?:[^']|'\\'')*)'|(\S+))/g)) words.push(m[1] !== undefined ? m[1].replace(/'\\''/g, "'") : (m[2] as string));
      return words;
    };

    it.each(['axolotl', 'llama-factory', 'torchtune', 'mistral', 'mlx-lm', 'openai', 'together', 'unsloth'] as const)('%s: every path reads back as written', async (target) => {
      const outDir = join(await tempDir(), "run #1: it's done");
      const format = target === 'openai' || target === 'together' || target === 'mistral' || target === 'mlx-lm' ? 'chat' : 'instruction';
      const result = await prepareDataset({ inputs: all, outDir, target, format, split: { validation: 0.1 } });
      const train = join(outDir, 'train.jsonl');
      const steps = result.nextSteps;
      if (target === 'axolotl') {
        const config = parseYaml(await readFile(join(outDir, 'axolotl.yaml'), 'utf8')) as { datasets: Array<{ path: string }> };
        expect(config.datasets[0]?.path).toBe(train);
      }
      if (target === 'llama-factory') expect(yamlBlocks(steps)[0]?.dataset_dir).toBe(outDir);
      if (target === 'torchtune') expect((yamlBlocks(steps)[0]?.dataset as { data_files: string }).data_files).toBe(train);
      if (target === 'mistral') expect((yamlBlocks(steps)[0]?.data as { instruct_data: string }).instruct_data).toBe(resolve(train));
      if (target === 'mlx-lm') expect(shellWords(steps.split('\n').find((l) => l.startsWith('mlx_lm.lora')) as string)).toContain(outDir);
      if (target === 'openai') expect(shellWords(steps.split('\n').find((l) => l.startsWith('curl') && l.includes('file=')) as string)).toContain(`file=@${train}`);
      if (target === 'together') expect(shellWords(steps.split('\n').find((l) => l.startsWith('together files upload')) as string)).toEqual(['together', 'files', 'upload', train]);
      if (target === 'unsloth') expect(steps).toContain(`"train": ${JSON.stringify(train)}`);
    });
  });

  it.each(['20240101', 'yes', 'null', '007', '.5', '-'])('a folder named %s stays a string in the YAML (1.1, as trainers read it)', (outDir) => {
    for (const target of ['llama-factory', 'axolotl', 'torchtune'] as const) {
      const glue = trainerGlue({ target, format: 'chat', outDir, files: { train: 'train.jsonl', validation: 'validation.jsonl' }, sequenceLength: 512, tokenizer: 'o200k_base' });
      const text = target === 'axolotl' ? (glue.files[0]?.content as string) : (/```yaml\n([\s\S]*?)```/.exec(glue.nextSteps)?.[1] as string).replace(/\$\{batch_size\}/g, '1');
      const parsed = parseYaml(text) as Record<string, unknown>;
      if (target === 'llama-factory') expect(parsed.dataset_dir).toBe(outDir);
      if (target === 'axolotl') expect((parsed.datasets as Array<{ path: unknown }>)[0]?.path).toBe(join(outDir, 'train.jsonl'));
      if (target === 'torchtune') expect((parsed.dataset as { data_files: unknown }).data_files).toBe(join(outDir, 'train.jsonl'));
    }
  });

  it("openai: curl's -F gets a path holding , or ; in double quotes (it splits the file part there)", () => {
    const glue = trainerGlue({ target: 'openai', format: 'chat', outDir: 'runs/a,b;c "d"', files: { train: 'train.jsonl' }, sequenceLength: 512, tokenizer: 'o200k_base' });
    const line = glue.nextSteps.split('\n').find((l) => l.includes('file=')) as string;
    expect(line).toContain(`-F 'file=@"runs/a,b;c \\"d\\"/train.jsonl"'`);
  });

  it.skipIf(spawnSync('python3', ['--version']).status !== 0)('unsloth instruction: the Python snippet parses, and maps alpaca rows (with a system prompt) to text', async () => {
    const outDir = join(await tempDir(), 'u');
    const result = await prepareDataset({ inputs: ['fixtures/finance/alpaca-tax.json'], outDir, target: 'unsloth', format: 'instruction', systemPrompt: 'finance', split: { validation: 0.2 } });
    const python = /```python\n([\s\S]*?)```/.exec(result.nextSteps)?.[1] as string;
    expect(python).toContain('ds = {split: d.map(to_text, remove_columns=d.column_names) for split, d in ds.items()}');
    const check = spawnSync('python3', ['-c', 'import ast, sys; ast.parse(sys.stdin.read())'], { input: python, encoding: 'utf8' });
    expect(check.status, check.stderr).toBe(0);
    // Run to_text itself on a written row (the lines between def and the map), where python3 is here.
    const toText = python.slice(python.indexOf('PROMPT = '), python.indexOf('ds = {split'));
    const row = (await readFile(join(outDir, 'train.jsonl'), 'utf8')).split('\n')[0] as string;
    const run = spawnSync('python3', ['-c', `import json, sys\nclass T: eos_token = "</s>"\ntokenizer = T()\n${toText}\nprint(json.dumps(to_text(json.loads(sys.stdin.read()))))`], { input: row, encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const text = (JSON.parse(run.stdout) as { text: string }).text;
    const r = JSON.parse(row) as { instruction: string; output: string; system: string };
    expect(text.startsWith(`${r.system}\n\nBelow is an instruction`)).toBe(true);
    expect(text).toContain(`### Instruction:\n${r.instruction}\n\n### Input:\n`);
    expect(text.endsWith(`### Response:\n${r.output}</s>`)).toBe(true);
  });

  it('axolotl instruction reads the system prompt (alpaca_w_system) where a file has one; torchtune warns it has no place for it and trains on answers only', async () => {
    const input = join(await tempDir(), 'a.jsonl');
    await writeFile(input, Array.from({ length: 20 }, (_, i) => JSON.stringify({ instruction: `Define term ${i}.`, input: '', output: `Term ${i} means ${i}.` })).join('\n'));
    const withSystem = join(await tempDir(), 'ax');
    await prepareDataset({ inputs: [input], outDir: withSystem, target: 'axolotl', format: 'instruction', systemPrompt: 'finance', split: { validation: 0.2 } });
    const config = parseYaml(await readFile(join(withSystem, 'axolotl.yaml'), 'utf8')) as { datasets: Array<{ type: string }>; test_datasets: Array<{ type: string }> };
    expect(config.datasets[0]?.type).toBe('alpaca_w_system.load_instruct');
    expect(config.test_datasets[0]?.type).toBe('alpaca_w_system.load_instruct');
    const plain = join(await tempDir(), 'ax2');
    await prepareDataset({ inputs: [input], outDir: plain, target: 'axolotl', format: 'instruction', split: { validation: 0.2 } });
    expect((parseYaml(await readFile(join(plain, 'axolotl.yaml'), 'utf8')) as { datasets: Array<{ type: string }> }).datasets[0]?.type).toBe('alpaca');
    const tt = await prepareDataset({ inputs: [input], outDir: join(await tempDir(), 'tt'), target: 'torchtune', format: 'instruction', systemPrompt: 'finance' });
    expect(tt.warnings.some((w) => w.includes("torchtune's alpaca_dataset does not read"))).toBe(true);
    expect((yamlOf(tt.nextSteps).dataset as Record<string, unknown>).train_on_input).toBe(false);
    const ttPlain = await prepareDataset({ inputs: [input], outDir: join(await tempDir(), 'tt2'), target: 'torchtune', format: 'instruction' });
    expect(ttPlain.warnings.some((w) => w.includes("torchtune's alpaca_dataset does not read"))).toBe(false);
  });

  it('axolotl instruction: where some examples have a system prompt, every line of every split has one ("" where none), so both files are read by one type', async () => {
    const input = join(await tempDir(), 'a.jsonl');
    // One row of twenty has a system prompt: whichever split it lands in, the other has none.
    const rows = Array.from({ length: 20 }, (_, i) => ({ instruction: `Explain concept ${i} of tax ${i * 7}.`, input: '', output: `Answer ${i}: alpha${i} beta${i}.`, ...(i === 0 ? { system: 'You are a tax assistant.' } : {}) }));
    await writeFile(input, rows.map((r) => JSON.stringify(r)).join('\n'));
    for (const seed of [1, 2, 3]) {
      const outDir = join(await tempDir(), `ax${seed}`);
      await prepareDataset({ inputs: [input], outDir, target: 'axolotl', format: 'instruction', split: { validation: 0.2, seed } });
      const config = parse(await readFile(join(outDir, 'axolotl.yaml'), 'utf8')) as { datasets: Array<{ type: string }>; test_datasets: Array<{ type: string }> };
      expect([config.datasets[0]?.type, config.test_datasets[0]?.type]).toEqual(['alpaca_w_system.load_instruct', 'alpaca_w_system.load_instruct']);
      const written = [];
      for (const f of ['train.jsonl', 'validation.jsonl']) {
        for (const line of (await readFile(join(outDir, f), 'utf8')).trim().split('\n')) written.push(JSON.parse(line) as { instruction: string; system: string });
      }
      expect(written).toHaveLength(20);
      for (const w of written) expect(w.system).toBe(w.instruction.startsWith('Explain concept 0 ') ? 'You are a tax assistant.' : '');
    }
  });

  it.skipIf(spawnSync('python3', ['--version']).status !== 0)('unsloth chat: the snippet renders each chat to text (Unsloth reads no messages), without the nulls load_dataset adds, tools and arguments as objects', async () => {
    const outDir = join(await tempDir(), 'uc');
    const result = await prepareDataset({ inputs: ['fixtures/targets/conversations.jsonl'], outDir, target: 'unsloth', dedup: false, split: { validation: 0 } });
    const python = /```python\n([\s\S]*?)```/.exec(result.nextSteps)?.[1] as string;
    expect(python).toContain('ds = {split: d.map(to_text, remove_columns=d.column_names) for split, d in ds.items()}');
    expect(python).toContain('train_on_responses_only');
    expect(spawnSync('python3', ['-c', 'import ast, sys; ast.parse(sys.stdin.read())'], { input: python, encoding: 'utf8' }).status).toBe(0);
    const toText = python.slice(python.indexOf('import json'), python.indexOf('ds = {split'));
    // As load_dataset reads it: every message holds every key any message has, None where it had none.
    const line = (await readFile(join(outDir, 'train.jsonl'), 'utf8')).split('\n').find((l) => l.includes('tool_calls')) as string;
    const program = [
      'import json, sys',
      'class T:',
      '    def apply_chat_template(self, messages, tools=None, tokenize=True):',
      '        assert tokenize is False',
      '        return json.dumps({"messages": messages, "tools": tools})',
      'tokenizer = T()',
      toText,
      'row = json.loads(sys.stdin.read())',
      'keys = {k for m in row["messages"] for k in m}',
      'row["messages"] = [{k: m.get(k) for k in keys} for m in row["messages"]]',
      'print(to_text(row)["text"])',
    ].join('\n');
    const run = spawnSync('python3', ['-c', program], { input: line, encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    type Call = { function: { arguments: unknown } };
    const rendered = JSON.parse(run.stdout) as { messages: Array<Record<string, unknown> & { tool_calls?: Call[] }>; tools: unknown };
    const row = JSON.parse(line) as { messages: Array<Record<string, unknown> & { tool_calls?: Call[] }>; tools: string };
    expect(rendered.tools).toEqual(JSON.parse(row.tools));
    expect(rendered.messages.map((m) => Object.keys(m).sort())).toEqual(row.messages.map((m) => Object.keys(m).sort()));
    const calls = rendered.messages.flatMap((m) => m.tool_calls ?? []);
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.map((c) => c.function.arguments)).toEqual(row.messages.flatMap((m) => m.tool_calls ?? []).map((c) => JSON.parse(c.function.arguments as string)));
  });

  it('trl chat: the snippet says TRL trains prompts too, and how to train the answers only', async () => {
    const glue = trainerGlue({ target: 'trl', format: 'chat', outDir: 'o', files: { train: 'train.jsonl' }, sequenceLength: 512, tokenizer: 'o200k_base' });
    expect(glue.nextSteps).toContain('assistant_only_loss=True');
    expect(glue.nextSteps.indexOf('assistant_only_loss')).toBeLessThan(glue.nextSteps.indexOf('trainer.train()'));
    const completion = trainerGlue({ target: 'trl', format: 'instruction', outDir: 'o', files: { train: 'train.jsonl' }, sequenceLength: 512, tokenizer: 'o200k_base' });
    expect(completion.nextSteps).not.toContain('assistant_only_loss');
  });

  it('overwrite removes glue an earlier run wrote for another target', async () => {
    const outDir = join(await tempDir(), 'o');
    await prepareDataset({ inputs: all, outDir, target: 'llama-factory' });
    await prepareDataset({ inputs: all, outDir, target: 'openai', overwrite: true });
    expect((await readdir(outDir)).sort()).toEqual(['report', 'train.jsonl', 'validation.jsonl']);
  });
});

const REFEREE = resolve('..', 'shared', 'tools', 'conform.py');
const refereeAvailable = existsSync(REFEREE) && spawnSync('python3', ['--version']).status === 0;
if (!refereeAvailable) console.warn(`targets.test.ts: conform.py checks skipped (${existsSync(REFEREE) ? 'no python3' : `no referee at ${REFEREE}`})`);

describe.skipIf(!refereeAvailable)('conform.py accepts every target and format on all fixtures', () => {
  const inputs = Object.entries(expected).map(([path, spec]) => ('encoding' in spec ? { path, encoding: spec.encoding as 'windows-1252' } : path));
  it.each(COMBOS)('%s %s', async (target, format) => {
    const outDir = join(await tempDir(), `${target}-${format}`);
    // The referee checks text-only chats: it wants content on every message, while an assistant turn
    // that only calls tools may leave it out (FORMATS.md B.4), so the tool rows are not given to it.
    await prepareDataset({ inputs: [...inputs, 'fixtures/targets/no-tools.jsonl'], outDir, target, format, split: { validation: 0.1, test: 0.05 } });
    const run = spawnSync('python3', [REFEREE, target, format, outDir], { encoding: 'utf8' });
    if (run.status === 0) {
      expect(run.stdout).toMatch(/conforms/);
      return;
    }
    // One class of the referee's objections is its own error: it takes Together's weights for
    // assistant turns only, where FORMATS.md section 2 allows them on any message (and Together
    // trains every unweighted turn of a row with a weight, so the writer marks prompt turns 0).
    const problems = run.stdout.split('\n').filter((l) => /^\S+\.jsonl:\d+ /.test(l));
    expect(problems.length, run.stdout).toBeGreaterThan(0);
    for (const problem of problems) {
      const m = /^(\S+\.jsonl):(\d+) message (\d+): weight must be integer 0\/1 on assistant$/.exec(problem);
      expect(m && target === 'together', problem).toBeTruthy();
      const line = (await readFile(join(outDir, m?.[1] as string), 'utf8')).split('\n')[Number(m?.[2]) - 1] as string;
      const message = (JSON.parse(line) as { messages: Array<{ role: string; weight?: unknown }> }).messages[Number(m?.[3])];
      expect(message?.role).not.toBe('assistant');
      expect([0, 1]).toContain(message?.weight);
    }
  });
});
