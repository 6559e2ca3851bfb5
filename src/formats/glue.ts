/**
 * Trainer glue: what lets the user point the trainer at `outDir` without editing. Files the trainer
 * reads go at the top of `outDir` (LLaMA-Factory's `dataset_info.json`, an Axolotl `axolotl.yaml`
 * datasets block); the commands and snippets for every trainer go in `report/next-steps.md`,
 * which the CLI prints.
 */
import { basename, join, resolve } from 'node:path';
import type { RecordFormat, TargetName } from './index.js';

/** The facts glue is written from. */
export interface GlueInput {
  /** The trainer the files are for. */
  target: TargetName;
  /** The record format written. */
  format: RecordFormat;
  /** The folder the files are in (the glue names them under it). */
  outDir: string;
  /** Relative file names written, by split. */
  files: { train: string; validation?: string | undefined; test?: string | undefined };
  /** A sequence length that fits every example (`maxTokens`, else the longest example). */
  sequenceLength: number;
  /** The tokenizer the examples were counted with, named in the next steps. */
  tokenizer: string;
  /**
   * The optional columns (`system`, `tools`, `history`) each file holds on at least one row: LLaMA-Factory
   * reads every column its `dataset_info.json` entry names, and fails with `KeyError` on one the
   * file lacks, so each entry names only these. Unset for a file: every optional column is named.
   */
  columns?: { train?: readonly string[] | undefined; validation?: readonly string[] | undefined; test?: readonly string[] | undefined } | undefined;
}

/**
 * The top-level columns a target's records hold on some rows only, on which its glue depends per
 * file (LLaMA-Factory: `system` and `tools` in ShareGPT, `system` and `history` in alpaca; alpaca's
 * `system` for Axolotl and torchtune); empty for targets whose glue depends on none.
 *
 * @example
 * optionalColumns('llama-factory', 'chat') // ['system', 'tools']
 */
export function optionalColumns(target: TargetName, format: RecordFormat): string[] {
  if (target === 'llama-factory') return format === 'chat' ? ['system', 'tools'] : ['system', 'history'];
  // Axolotl reads an alpaca row's system prompt only with another strategy; torchtune never.
  if ((target === 'axolotl' || target === 'torchtune') && format === 'instruction') return ['system'];
  return [];
}

/**
 * A top-level key every line of every split must carry once some example has it, with the value
 * for lines without it; undefined for targets that need none. Axolotl's alpaca types differ by whether a
 * file has a `system` column (`alpaca_w_system.load_instruct` fails on a file without one, plain
 * `alpaca` reads none and writes its own preamble): with `"system": ""` on the rows that have no
 * system prompt, training and evaluation files are read by one type, and those rows still get no
 * preamble (alpaca_w_system writes none for an empty system prompt, as for a missing one).
 *
 * @example
 * filledColumn('axolotl', 'instruction') // { key: 'system', value: '' }
 */
export function filledColumn(target: TargetName, format: RecordFormat): { key: string; value: string } | undefined {
  return target === 'axolotl' && format === 'instruction' ? { key: 'system', value: '' } : undefined;
}

/** Glue files for the top of `outDir`, and the next-steps text. */
export interface Glue {
  /** Files for the trainer to read, each a path relative to `outDir` and its content. */
  files: Array<{ path: string; content: string }>;
  /** Markdown: what starts training on the folder (lora-prep writes it to report/next-steps.md). */
  nextSteps: string;
  /** Anything the user must settle before training. */
  warnings: string[];
}

/**
 * The glue of a target.
 *
 * @example
 * trainerGlue({ target: 'llama-factory', format: 'chat', outDir: 'out/x', files: { train: 'train.jsonl' }, sequenceLength: 2048, tokenizer: 'llama-3' })
 */
export function trainerGlue(g: GlueInput): Glue {
  const path = (file: string) => join(g.outDir, file);
  const train = path(g.files.train);
  const validation = g.files.validation ? path(g.files.validation) : undefined;
  const test = g.files.test ? path(g.files.test) : undefined;
  const files: Glue['files'] = [];
  const warnings: string[] = [];
  const steps: string[] = [`# Next steps: train with ${g.target}`, '', `Paths are relative to the folder lora-prep ran in (${process.cwd()}).`, ''];
  const name = datasetName(g.outDir);
  switch (g.target) {
    case 'openai': {
      steps.push(
        '1. Upload the files (purpose `fine-tune`):',
        '',
        '```sh',
        `curl https://api.openai.com/v1/files -H "Authorization: Bearer $OPENAI_API_KEY" -F purpose=fine-tune -F ${curlFile('file', train)}`,
        ...(validation ? [`curl https://api.openai.com/v1/files -H "Authorization: Bearer $OPENAI_API_KEY" -F purpose=fine-tune -F ${curlFile('file', validation)}`] : []),
        '```',
        '',
        '2. Start the job with the file ids it returned:',
        '',
        '```sh',
        `curl https://api.openai.com/v1/fine_tuning/jobs -H "Authorization: Bearer $OPENAI_API_KEY" -H "Content-Type: application/json" \\`,
        `  -d '{"model": "gpt-4o-mini-2024-07-18", "training_file": "file-TRAIN"${validation ? ', "validation_file": "file-VALIDATION"' : ''}}'`,
        '```',
      );
      break;
    }
    case 'together': {
      steps.push(
        '```sh',
        `together files check ${shellWord(train)}`,
        `together files upload ${shellWord(train)}`,
        ...(validation ? [`together files upload ${shellWord(validation)}`] : []),
        `together fine-tuning create --training-file file-TRAIN${validation ? ' --validation-file file-VALIDATION --n-evals 5' : ''} --model MODEL --lora`,
        '```',
      );
      break;
    }
    case 'mistral': {
      const abs = resolve(train);
      if (/[,:]/.test(resolve(g.outDir))) {
        warnings.push(`mistral-finetune splits data paths on "," and ":": move ${resolve(g.outDir)} to a path without them`);
      }
      steps.push(
        'In your mistral-finetune YAML:',
        '',
        '```yaml',
        'data:',
        `  instruct_data: ${JSON.stringify(abs)}`,
        ...(validation ? [`  eval_instruct_data: ${JSON.stringify(resolve(validation))}`] : []),
        `seq_len: ${g.sequenceLength}`,
        '```',
        '',
        'Then check it: `python -m utils.validate_data --train_yaml your.yaml`.',
      );
      break;
    }
    case 'mlx-lm': {
      steps.push(
        '```sh',
        `mlx_lm.lora --model MODEL --train --data ${shellWord(g.outDir)} --batch-size 4 --max-seq-length ${g.sequenceLength} --mask-prompt`,
        ...(test ? [`mlx_lm.lora --model MODEL --adapter-path adapters --data ${shellWord(g.outDir)} --test`] : []),
        '```',
        '',
        'MLX-LM reads `train.jsonl`, `valid.jsonl` and `test.jsonl` from the folder; each holds at least 4 examples (its default batch size).',
        `\`--mask-prompt\` trains on the answers only: ${g.format === 'chat' ? "each chat's last message, so assistant turns before it (earlier answers, tool calls) are not trained" : 'the completion, not the prompt'}; without it MLX-LM trains on every token, prompts too.`,
      );
      break;
    }
    case 'trl':
    case 'unsloth': {
      const files = [`"train": ${JSON.stringify(train)}`, ...(validation ? [`"validation": ${JSON.stringify(validation)}`] : [])].join(', ');
      steps.push(
        '```python',
        'from datasets import load_dataset',
        'from trl import SFTConfig, SFTTrainer',
        '',
        `ds = load_dataset("json", data_files={${files}})`,
        // TRL reads no alpaca rows (KeyError: 'text'): they become text as Unsloth's notebooks write
        // it; nor does Unsloth's own dataset step read `messages` (it asks for a formatting_func).
        ...(g.target === 'unsloth' ? (g.format === 'instruction' ? ALPACA_TO_TEXT : CHAT_TO_TEXT) : []),
        'trainer = SFTTrainer(',
        '    model=MODEL,',
        '    train_dataset=ds["train"],',
        ...(validation ? ['    eval_dataset=ds["validation"],'] : []),
        `    args=SFTConfig(max_length=${g.sequenceLength}),`,
        ')',
        ...(g.format === 'chat' ? ANSWERS_ONLY[g.target === 'unsloth' ? 'unsloth' : 'trl'] : []),
        'trainer.train()',
        '```',
      );
      break;
    }
    case 'axolotl': {
      // `alpaca` reads no system prompt; `alpaca_w_system.load_instruct` reads one (the same
      // prompt for rows without), but fails on a file whose rows have no `system` at all.
      const type = (present: readonly string[] | undefined) =>
        g.format === 'chat' ? 'chat_template' : (present ?? ['system']).includes('system') ? 'alpaca_w_system.load_instruct' : 'alpaca';
      const yaml = [
        '# Written by lora-prep: paste into your Axolotl config (paths relative to where lora-prep ran).',
        'datasets:',
        `  - path: ${yamlText(train)}`,
        '    ds_type: json',
        `    type: ${type(g.columns?.train)}`,
        ...(g.format === 'chat' ? ['    field_messages: messages'] : []),
        ...(validation
          ? [
              'test_datasets:',
              `  - path: ${yamlText(validation)}`,
              '    ds_type: json',
              '    split: train',
              `    type: ${type(g.columns?.validation)}`,
              ...(g.format === 'chat' ? ['    field_messages: messages'] : []),
              'val_set_size: 0',
            ]
          : []),
        `sequence_len: ${g.sequenceLength}`,
        '',
      ].join('\n');
      files.push({ path: 'axolotl.yaml', content: yaml });
      steps.push(`\`${path('axolotl.yaml')}\` holds the datasets block:`, '', '```yaml', yaml.trimEnd(), '```');
      break;
    }
    case 'llama-factory': {
      // Only the optional columns the file holds: LLaMA-Factory's converter reads
      // example[column] for every column named, a KeyError where the file has none.
      const optional = optionalColumns(g.target, g.format);
      const entry = (file: string, present: readonly string[] | undefined) => {
        const has = (c: string) => (present ?? optional).includes(c);
        const columns: Record<string, string> =
          g.format === 'chat' ? { messages: 'conversations' } : { prompt: 'instruction', query: 'input', response: 'output' };
        for (const c of optional) if (has(c)) columns[c] = c;
        return g.format === 'chat' ? { file_name: file, formatting: 'sharegpt', columns } : { file_name: file, columns };
      };
      const info: Record<string, unknown> = { [`${name}_train`]: entry(g.files.train, g.columns?.train) };
      if (g.files.validation) info[`${name}_validation`] = entry(g.files.validation, g.columns?.validation);
      if (g.files.test) info[`${name}_test`] = entry(g.files.test, g.columns?.test);
      files.push({ path: 'dataset_info.json', content: `${JSON.stringify(info, null, 2)}\n` });
      steps.push(
        `\`${path('dataset_info.json')}\` names the files. In your LLaMA-Factory training YAML:`,
        '',
        '```yaml',
        `dataset_dir: ${yamlText(g.outDir)}`,
        `dataset: ${name}_train`,
        ...(validation ? [`eval_dataset: ${name}_validation`] : []),
        `cutoff_len: ${g.sequenceLength}`,
        '```',
      );
      break;
    }
    case 'torchtune': {
      // alpaca_dataset trains on the prompt unless told not to (train_on_input defaults to True);
      // chat_dataset on the answers (train_on_assistant): both train on the answers here.
      const dataset = (file: string) =>
        g.format === 'chat'
          ? ['  _component_: torchtune.datasets.chat_dataset', '  source: json', `  data_files: ${yamlText(file)}`, '  conversation_column: messages', '  conversation_style: openai', '  split: train']
          : ['  _component_: torchtune.datasets.alpaca_dataset', '  source: json', `  data_files: ${yamlText(file)}`, '  train_on_input: False', '  split: train'];
      if (g.format === 'instruction' && [g.columns?.train, g.columns?.validation, g.columns?.test].some((c) => c?.includes('system'))) {
        warnings.push("some examples have a system prompt (alpaca's system field), which torchtune's alpaca_dataset does not read: they train without it; prepare with format chat to keep it");
      }
      // Recipes with validation read a second dataset block and run it every N steps.
      const val = validation ? ['run_val_every_n_steps: 100', 'dataset_val:', ...dataset(validation), 'batch_size_val: ${batch_size}'] : [];
      steps.push('In your torchtune config:', '', '```yaml', 'dataset:', ...dataset(train), ...val, `tokenizer:\n  max_seq_len: ${g.sequenceLength}`, '```');
      break;
    }
  }
  return { files, nextSteps: `${steps.join('\n')}\n`, warnings };
}

// --- internal ---

/** Maps every split through `to_text` alone (their optional columns may differ). */
const MAP_EACH_SPLIT = 'ds = {split: d.map(to_text, remove_columns=d.column_names) for split, d in ds.items()}';

/**
 * Alpaca rows to TRL's `text` rows, with the Alpaca prompt of Unsloth's notebooks and a row's
 * system prompt first; each split mapped alone (their optional columns may differ).
 */
const ALPACA_TO_TEXT = [
  "# Alpaca rows become text (TRL reads no instruction/input/output), with the Alpaca prompt of Unsloth's",
  '# notebooks and a row\'s system prompt first; tokenizer is the one FastLanguageModel.from_pretrained returned.',
  'PROMPT = "Below is an instruction that describes a task, paired with an input that provides further context. Write a response that appropriately completes the request.\\n\\n### Instruction:\\n{}\\n\\n### Input:\\n{}\\n\\n### Response:\\n{}"',
  'def to_text(row):',
  '    text = PROMPT.format(row["instruction"], row["input"], row["output"]) + tokenizer.eos_token',
  '    return {"text": f\'{row["system"]}\\n\\n{text}\' if row.get("system") else text}',
  MAP_EACH_SPLIT,
];

/**
 * Chats to text for Unsloth, whose dataset step reads a `text` column and not `messages`: each chat
 * rendered with the model's template, after taking out the nulls `load_dataset` gives a message for
 * every key another message has (a template reads `tool_calls: None` as calls), and with the
 * tools and each call's arguments as objects again (written as JSON text for Arrow).
 */
const CHAT_TO_TEXT = [
  "# Unsloth's SFTTrainer reads a text column, not messages: each chat is rendered with the model's chat",
  '# template first; tokenizer is the one FastLanguageModel.from_pretrained returned.',
  'import json',
  'def plain(value):  # load_dataset gives each message the keys of every other, as None',
  '    if isinstance(value, dict): return {k: plain(v) for k, v in value.items() if v is not None}',
  '    return [plain(v) for v in value] if isinstance(value, list) else value',
  'def to_text(row):',
  '    messages = plain(row["messages"])',
  '    for m in messages:',
  '        for call in m.get("tool_calls", []):',
  '            call["function"]["arguments"] = json.loads(call["function"]["arguments"])',
  '    tools = json.loads(row["tools"]) if row.get("tools") else None',
  '    return {"text": tokenizer.apply_chat_template(messages, tools=tools, tokenize=False)}',
  MAP_EACH_SPLIT,
];

/** What trains a chat's answers only, where the trainer's default trains every token of it. */
const ANSWERS_ONLY = {
  trl: [
    "# TRL trains on every token of a chat, prompts too. SFTConfig(assistant_only_loss=True) trains the answers only,",
    "# where the model's chat template marks them with {% generation %} (else TRL stops with a RuntimeError).",
  ],
  unsloth: [
    '# This trains on every token of a chat, prompts too. To train the answers only, wrap the trainer:',
    '# from unsloth.chat_templates import train_on_responses_only',
    '# trainer = train_on_responses_only(trainer, instruction_part=..., response_part=...)  # your template\'s turn markers',
  ],
};

/** A path as one shell word: as it is where it holds only safe characters, else single-quoted. */
function shellWord(text: string): string {
  return /^[\w./@%+=:,-]+$/.test(text) ? text : `'${text.replace(/'/g, "'\\''")}'`;
}

/**
 * A path as a YAML scalar, always double-quoted (JSON's escapes are YAML's): trainers read YAML 1.1
 * (PyYAML, OmegaConf), where a plain `2024`, `yes`, `null` or `.5` is no string.
 */
function yamlText(text: string): string {
  return JSON.stringify(text);
}

/**
 * curl's `-F name=@file` for a path: curl splits the file part at `,` and `;` (content types,
 * further files) unless it is double-quoted, with `\` before `"` and `\` inside.
 */
function curlFile(name: string, path: string): string {
  return shellWord(/[,;"\\]/.test(path) ? `${name}=@"${path.replace(/[\\"]/g, '\\$&')}"` : `${name}=@${path}`);
}

/** A LLaMA-Factory dataset name from the output folder's name. */
function datasetName(outDir: string): string {
  const n = basename(resolve(outDir)).toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '');
  return n === '' ? 'lora_prep' : n;
}
