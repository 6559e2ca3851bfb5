/**
 * Every target and format: golden output (reviewed as JSONL diffs), the rules each trainer
 * enforces, file layout and glue, and the independent referee (shared/tools/conform.py) on the
 * output of all bundled fixtures.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
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
    expect(steps).toContain(`dataset_dir: ${outDir}`);
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
    expect(yaml).toContain(`  - path: ${join(outDir, 'train.jsonl')}\n    ds_type: json\n    type: chat_template`);
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
    const output = execFileSync('python3', [REFEREE, target, format, outDir], { encoding: 'utf8' });
    expect(output).toMatch(/conforms/);
  });
});
