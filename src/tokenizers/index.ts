/**
 * Tokenizers: exact token counts for the model being trained. OpenAI encodings come from
 * gpt-tokenizer (the same ids as tiktoken and js-tiktoken, several times faster here: see
 * docs/performance.md); js-tiktoken stays in the test suite as the oracle.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { LoraPrepError } from '../errors.js';
import type { Message } from '../types.js';
import { findTokenizerFiles, loadHuggingFaceTokenizer, TOKENIZER_PACKAGES } from './huggingface.js';
import type { Measure, Tokenizer } from './types.js';
import { fastCounter, rankCounter } from './_count.js';

export type { Measure, Tokenizer } from './types.js';

/** OpenAI encodings available by name. */
export type OpenAiEncoding = 'o200k_base' | 'cl100k_base';

/**
 * Loads a tokenizer: an OpenAI encoding (`o200k_base`, `cl100k_base`) or model name (`gpt-4o`,
 * `gpt-4.1-mini`, `gpt-3.5-turbo`, ...); a short name of an installed package that ships a real
 * model's tokenizer (`llama-3`, `qwen3`, ...); or a local folder with a Hugging Face
 * `tokenizer.json` and `tokenizer_config.json`. Never touches the network. A folder holding
 * `tokenizer.json` wins over a name spelled the same (`gpt-4-local`); a path to a file, or to
 * nothing, is refused saying so.
 *
 * @example
 * const tok = await loadTokenizer('gpt-4o-mini');
 * tok.countMessages([{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello' }]);
 */
export async function loadTokenizer(spec: string): Promise<Tokenizer> {
  const encoding = openAiEncodingFor(spec);
  if (encoding) return openAiTokenizer(encoding, await openAiEncoding(encoding));
  const files = findTokenizerFiles(spec);
  if (files) return loadHuggingFaceTokenizer(files);
  if (looksLikePath(spec)) {
    const home = spec.startsWith('~') ? ' (~ is not expanded here: write the path out)' : '';
    throw new LoraPrepError(
      'TOKENIZER_UNAVAILABLE',
      `tokenizer: no such folder ${spec}${isAbsolute(spec) ? '' : ` (relative to the working directory ${process.cwd()}: ${resolve(spec)})`}${home}. ` +
        'Pass a folder holding tokenizer.json and tokenizer_config.json.',
    );
  }
  throw new LoraPrepError(
    'TOKENIZER_UNAVAILABLE',
    `tokenizer: unknown tokenizer ${JSON.stringify(spec)}. Use an OpenAI encoding (o200k_base, cl100k_base), ` +
      `an OpenAI model name such as gpt-4o-mini, a short name (${Object.keys(TOKENIZER_PACKAGES).join(', ')}) ` +
      'of an installed tokenizer package, or a folder with tokenizer.json and tokenizer_config.json.',
  );
}

/**
 * The OpenAI encoding of a model or encoding name, or undefined when the name is not OpenAI's. A
 * path (with `/` or `\\`) is never a name, and a folder holding `tokenizer.json` wins over the name it
 * is spelled as (`gpt-4-local`, a model folder, is not `gpt-4`).
 *
 * @example
 * openAiEncodingFor('gpt-4o-mini') // 'o200k_base'
 */
export function openAiEncodingFor(spec: string): OpenAiEncoding | undefined {
  const s = spec.trim().toLowerCase();
  const encoding = s === 'o200k_base' || s === 'cl100k_base' ? s : OPENAI_O200K.test(s) ? 'o200k_base' : OPENAI_CL100K.test(s) ? 'cl100k_base' : undefined;
  if (encoding === undefined || /[\\/]/.test(s)) return undefined;
  return existsSync(join(spec, 'tokenizer.json')) ? undefined : encoding;
}

/**
 * What a run should say about its tokenizer, once: that a model without a chat template is counted
 * with ChatML, and the tokenizer's own warnings (a template construct rendered differently).
 *
 * @example
 * for (const w of tokenizerWarnings(await loadTokenizer('models/m'))) console.warn(w);
 */
export function tokenizerWarnings(tokenizer: Pick<Tokenizer, 'name' | 'chatTemplate' | 'warnings'>): string[] {
  const out: string[] = [];
  if (tokenizer.chatTemplate?.startsWith('ChatML fallback')) {
    out.push(`tokenizer ${tokenizer.name} ships no chat_template: counts use ChatML, as Axolotl's fallback does; check that your trainer renders the same`);
  }
  out.push(...(tokenizer.warnings ?? []));
  return out;
}

// --- internal ---

const OPENAI_O200K = /^(gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|chatgpt-4o|o[134](?:-|$))/;
const OPENAI_CL100K = /^(gpt-4|gpt-3\.5|text-embedding-3|text-embedding-ada-002)/;

/** Whether a spec is written as a path (a separator, a leading `.` or `~`, a file extension of the files involved). */
function looksLikePath(spec: string): boolean {
  return /[\\/]/.test(spec) || /^[.~]/.test(spec) || /\.(json|jinja)$/i.test(spec);
}

/**
 * gpt-tokenizer's encoding, built from the package's own `.tiktoken` rank file. Its encoding
 * modules hold the same ranks as a JavaScript array literal of 200k strings: compiling that costs
 * each thread about 15 MB of memory that stays with the process, where reading the rank file
 * does not. A test checks that the ranks read are the module's, entry for entry.
 */
export function openAiEncoding(encoding: OpenAiEncoding): Promise<GptTokenizerApi> {
  // Built once per thread, as an imported module would be.
  let api = encodings.get(encoding);
  if (!api) {
    api = buildOpenAiEncoding(encoding);
    encodings.set(encoding, api);
    api.catch(() => encodings.delete(encoding));
  }
  return api;
}

const encodings = new Map<OpenAiEncoding, Promise<GptTokenizerApi>>();

async function buildOpenAiEncoding(encoding: OpenAiEncoding): Promise<GptTokenizerApi> {
  let ranks: Array<string | number[]>;
  let GptEncoding: { getEncodingApi(name: string, ranks: () => Array<string | number[]>): GptTokenizerApi };
  try {
    const require = createRequire(import.meta.url);
    ({ GptEncoding } = (await import('gpt-tokenizer/GptEncoding')) as unknown as { GptEncoding: typeof GptEncoding });
    ranks = ranksFromTiktoken(readFileSync(require.resolve(`gpt-tokenizer/data/${encoding}.tiktoken`), 'latin1'));
  } catch {
    // Another gpt-tokenizer layout (the rank file or GptEncoding moved): its encoding module gives
    // the same counts, at the memory cost described above.
    return encoding === 'o200k_base' ? await import('gpt-tokenizer/encoding/o200k_base') : await import('gpt-tokenizer/encoding/cl100k_base');
  }
  const api = GptEncoding.getEncodingApi(encoding, () => ranks);
  ranksOf.set(api, ranks);
  return api;
}

/**
 * The ranks of a `.tiktoken` file (a base64 token and its rank per line) as gpt-tokenizer holds
 * them: the token's text where its bytes are valid UTF-8 and do not start with a byte-order mark
 * (its build decoded with BOM stripping and kept those as bytes), else the bytes. gpt-tokenizer's
 * merges look byte runs up through a decoder that strips a leading BOM, so text holding U+FEFF is
 * counted from these ranks instead ({@link rankCounter}; docs/tokens.md, "Known differences").
 */
export function ranksFromTiktoken(text: string): Array<string | number[]> {
  const ranks: Array<string | number[]> = [];
  let at = 0;
  while (at < text.length) {
    let end = text.indexOf('\n', at);
    if (end < 0) end = text.length;
    const space = text.indexOf(' ', at);
    if (space > at && space < end) {
      const bytes = Buffer.from(text.slice(at, space), 'base64');
      const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
      ranks[Number(text.slice(space + 1, end))] = isUtf8(bytes) && !bom ? bytes.toString('utf8') : [...bytes];
    }
    at = end + 1;
  }
  return ranks;
}

/**
 * Token ids back to text from the ranks, with no state between calls (gpt-tokenizer's `decode`
 * runs every call through one streaming TextDecoder, so bytes of a character cut at the end of one
 * call came out at the start of the next: a truncation then depended on the row before).
 */
function decoderOf(ranks: ReadonlyArray<string | number[]>): (ids: number[]) => string {
  return (ids) => {
    const parts: Buffer[] = [];
    for (const id of ids) {
      const token = ranks[id];
      if (token !== undefined) parts.push(typeof token === 'string' ? Buffer.from(token, 'utf8') : Buffer.from(token));
    }
    return Buffer.concat(parts).toString('utf8');
  };
}

/** The ranks an encoding was built from, for {@link decoderOf}. */
const ranksOf = new WeakMap<GptTokenizerApi, ReadonlyArray<string | number[]>>();

/** The installed gpt-tokenizer's version, for the manifest (its package.json is not exported). */
const GPT_TOKENIZER_VERSION = ((): string => {
  try {
    const main = createRequire(import.meta.url).resolve('gpt-tokenizer');
    return (JSON.parse(readFileSync(join(dirname(main), '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
})();

interface GptTokenizerApi {
  encode(text: string, options?: { disallowedSpecial?: Set<string> }): number[];
  decode(ids: number[]): string;
  countTokens(text: string, options?: { disallowedSpecial?: Set<string> }): number;
  clearMergeCache(): void;
}

// gpt-tokenizer's default LRU merge cache slows down over a long stream (9.6 → 2.8 MB/s over
// 200k rows); clearing it every 10k calls holds about 10.5 MB/s (PERF-NOTES, row c).
const CLEAR_CACHE_EVERY = 10_000;

// Special-token text in user data is data, not a control token: count it as plain text, as
// tiktoken's encode_ordinary does, instead of throwing.
const PLAIN = { disallowedSpecial: new Set<string>() };

// Messages per chat whose contents are remembered for the next chat (the first few: a system
// prompt comes first).
const REMEMBERED_MESSAGES = 4;

// OpenAI's published chat counting: 3 tokens per message, 1 per name, 3 priming the reply.
const TOKENS_PER_MESSAGE = 3;
const TOKENS_PER_NAME = 1;
const REPLY_PRIMING = 3;

function openAiTokenizer(name: OpenAiEncoding, api: GptTokenizerApi): Tokenizer {
  let calls = 0;
  const ranks = ranksOf.get(api);
  const decode = ranks ? decoderOf(ranks) : (ids: number[]) => api.decode(ids);
  // Counting over gpt-tokenizer's tables directly (1.2–1.6× its countTokens here, the same
  // counts), unless this gpt-tokenizer does not hold them as expected.
  const libraryCount = (text: string): number => {
    if (++calls % CLEAR_CACHE_EVERY === 0) api.clearMergeCache();
    return text === '' ? 0 : api.countTokens(text, PLAIN);
  };
  const fast = fastCounter(api, libraryCount) ?? libraryCount;
  // Text holding U+FEFF is counted from the ranks, as tiktoken counts it (gpt-tokenizer's merges
  // miss the tokens that start with it). Only such text pays for the check: a one-byte string
  // cannot hold U+FEFF, and V8 answers for it at once.
  const splitRegex = (api as { bytePairEncodingCoreProcessor?: { tokenSplitRegex?: unknown } }).bytePairEncodingCoreProcessor?.tokenSplitRegex;
  let exact: ((text: string) => number) | undefined;
  const count = (text: string): number => {
    if (text.indexOf('\uFEFF') < 0 || !ranks || !(splitRegex instanceof RegExp)) return fast(text);
    exact ??= rankCounter(ranks, splitRegex);
    return exact(text);
  };
  // Roles are a handful of short strings: count each once.
  const roleTokens = new Map<string, number>();
  const countRole = (role: string): number => {
    let n = roleTokens.get(role);
    if (n === undefined) roleTokens.set(role, (n = api.countTokens(role, PLAIN)));
    return n;
  };

  // The contents of the chat measured last and their counts, by place: rows often share a system
  // prompt (the `systemPrompt` option gives every row the same one), counted once that way.
  const lastContent: string[] = [];
  const lastCount: number[] = [];
  const countContent = (content: string, i: number): number => {
    if (lastContent[i] === content) return lastCount[i] as number;
    const n = count(content);
    if (i < REMEMBERED_MESSAGES) {
      lastContent[i] = content;
      lastCount[i] = n;
    }
    return n;
  };

  return {
    name,
    source: `gpt-tokenizer@${GPT_TOKENIZER_VERSION}`,
    count,
    encode: (text) => api.encode(text, PLAIN),
    decode,
    countMessages: (messages, tools) => measureChat(messages, tools).total,
    measure: measureChat,
    // No BOS; the end of a text is one special token (<|endoftext|>).
    measureText(prompt, completion, apart) {
      const head = count(prompt);
      return { total: (apart ? head + count(completion) : count(prompt + completion)) + 1, prompt: head };
    },
  };

  function measureChat(messages: readonly Message[], tools?: readonly unknown[]): Measure {
    // OpenAI publishes no formula for tools and tool calls: their JSON text is counted, an
    // estimate that errs on the high side (docs/tokens.md).
    const toolTokens = tools && tools.length > 0 ? count(JSON.stringify(tools)) : 0;
    let total = REPLY_PRIMING + toolTokens;
    let prompt = REPLY_PRIMING + toolTokens;
    const last = messages.length - 1;
    for (const [i, m] of messages.entries()) {
      const head = TOKENS_PER_MESSAGE + countRole(m.role) + (m.name === undefined ? 0 : TOKENS_PER_NAME + count(m.name));
      let content = countContent(m.content, i);
      for (const c of m.tool_calls ?? []) content += TOKENS_PER_MESSAGE + count(c.function.name) + count(c.function.arguments);
      if (m.tool_call_id !== undefined) content += count(m.tool_call_id);
      total += head + content;
      // The final answer's content is the trainable part; everything else is prompt.
      prompt += i === last && m.role === 'assistant' ? head : head + content;
    }
    return { total, prompt };
  }
}
