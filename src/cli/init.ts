/**
 * `lora-prep init`: writes a commented starter config (`lora-prep.config.ts` by default) that
 * `lora-prep prepare --config FILE` reads. The file's extension picks its flavour: TypeScript or
 * ESM (`.ts`, `.mts`, `.js`, `.mjs`), CommonJS (`.cjs`, `.cts`), or plain JSON (no comments).
 */
import { writeFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';

/** The name `init` writes when given none. */
export const DEFAULT_CONFIG_FILE = 'lora-prep.config.ts';

/**
 * Writes the starter config to `file`; refuses to replace an existing file unless `force`.
 *
 * @returns `'written'`, or `'exists'` when the file is there and `force` is off.
 * @throws for an extension it cannot write, or a file system error.
 *
 * @example
 * await writeStarterConfig('lora-prep.config.ts', false);
 */
export async function writeStarterConfig(file: string, force: boolean): Promise<'written' | 'exists'> {
  const text = starterConfig(file);
  try {
    // `wx` fails on an existing file, with no window between a check and the write.
    await writeFile(file, text, { encoding: 'utf8', flag: force ? 'w' : 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return 'exists';
    throw e;
  }
  return 'written';
}

/**
 * The starter config's text for a file name (its extension picks the module flavour).
 *
 * @example
 * starterConfig('lora-prep.config.ts').startsWith('//') // true
 */
export function starterConfig(file: string): string {
  const ext = extname(file).toLowerCase();
  if (ext === '.json') return `${JSON.stringify(STARTER_VALUES, null, 2)}\n`;
  const commonJs = ext === '.cjs' || ext === '.cts';
  if (!['.ts', '.mts', '.js', '.mjs', '.cjs', '.cts'].includes(ext)) {
    throw new Error(`init writes .ts, .mts, .js, .mjs, .cjs, .cts or .json, got ${JSON.stringify(basename(file))}`);
  }
  const head = `// ${basename(file)}: the options of \`lora-prep prepare --config ${basename(file)}\`.
// Every option is described in docs/options.md (and in your editor, through defineConfig).
// Flags on the command line override the values here: \`--out DIR\`, input files, \`--target\`, ...
// Relative paths (inputs, outDir, a prompt file, a ./tokenizer folder) are relative to this file's folder.
${commonJs ? "const { defineConfig } = require('lora-prep');" : "import { defineConfig } from 'lora-prep';"}

${commonJs ? 'module.exports =' : 'export default'} defineConfig({`;
  return `${head}\n${BODY}});\n`;
}

// --- internal ---

/** The starter options, for the JSON flavour (which cannot hold comments). */
const STARTER_VALUES = {
  inputs: [
    { path: 'data/finance.csv', domain: 'finance' },
    { path: 'data/cases.jsonl', domain: 'legal' },
  ],
  outDir: 'out/dataset-v1',
  mapping: 'auto',
  target: 'openai',
  tokenizer: 'o200k_base',
  maxTokens: 4096,
  overlong: 'drop',
  split: { validation: 0.1, test: 0, seed: 42, stratifyBy: 'domain' },
  dedup: { exact: true, near: { threshold: 0.8 } },
  pii: { action: 'report' },
  failOn: { rejectedRatio: 0.2, reasons: ['invalid_json'] },
};

const BODY = `  // Input files: CSV, TSV, JSONL or JSON (also gzipped: rows.jsonl.gz). A path, or an object with
  // settings for that file; \`domain\` is stamped on every example of the file (the split can be
  // stratified by it).
  inputs: [
    { path: 'data/finance.csv', domain: 'finance' },
    { path: 'data/cases.jsonl', domain: 'legal' },
  ],
  // Where the trainer's files go (train.jsonl, validation.jsonl, ...), with report/ beside them.
  outDir: 'out/dataset-v1',
  // overwrite: true, // replace the files of an earlier run in outDir
  // maxRows: 1000, // try the settings on the first rows of a large input first

  // How rows become chats. 'auto' recognises messages, ShareGPT, alpaca, prompt/completion and
  // question/answer records; or name a preset, or write templates over your columns:
  //   mapping: { system: 'You review {{kind}} contracts.', user: '{{question}}', assistant: '{{answer}}' },
  mapping: 'auto',
  // The system message of examples that have none: your text, or 'finance' | 'legal' | 'medical'.
  // systemPrompt: 'finance',

  // The trainer the files are for: openai | together | mistral | mlx-lm | trl | axolotl |
  // llama-factory | unsloth | torchtune. format: 'chat' (default) or 'instruction' records.
  target: 'openai',
  // format: 'chat',

  // The tokenizer that counts tokens: an OpenAI encoding or model name, a local Hugging Face
  // tokenizer folder ('./tokenizer'), or llama-3 | llama-3.1 | qwen3 | gemma3 | deepseek-v3.
  tokenizer: 'o200k_base',
  // The longest example, in tokens. Longer ones are rejected ('drop'), shortened ('truncate'), or kept.
  maxTokens: 4096,
  overlong: 'drop',

  split: {
    validation: 0.1,
    test: 0,
    seed: 42,
    // strategy: 'hash', // stable when rows are appended later ('random': exact sizes)
    // Keep the fractions within each value of a column (or the domain).
    stratifyBy: 'domain',
    // Examples that share a value (a case, a patient, a document) land in the same split.
    // groupBy: 'case_id',
  },

  // Exact duplicates, and near-duplicates at this Jaccard similarity, are rejected. false keeps all.
  dedup: { exact: true, near: { threshold: 0.8 } },

  // Personal data: 'report' counts it, 'redact' writes [EMAIL], [PHONE], ... placeholders,
  // 'drop' rejects the example.
  pii: { action: 'report' },

  // Fail the run (exit 1, after writing the files and the report) when the data got worse: more
  // than 20% of rows rejected (copies and near-copies count; real exports often hold 5-10%), or
  // any row that is not valid JSON. Tighten it once you know your data's figures.
  failOn: { rejectedRatio: 0.2, reasons: ['invalid_json'] },
`;
