/**
 * Token budgets: counts each example with the model's tokenizer and applies `maxTokens`,
 * `minTokens` and `overlong`. Pure over one example, so it runs the same inline or in a worker.
 */
import { LoraPrepError } from '../errors.js';
import { countedText, type CountAs } from '../formats/_counted-text.js';
import type { Measure, Tokenizer } from '../tokenizers/types.js';
import type { Message, ReasonCode } from '../types.js';

/** The budget settings. */
export interface Budget {
  /** Most tokens an example may have; unset, no limit. */
  maxTokens?: number | undefined;
  /** Fewest tokens an example may have (`too_short` below). */
  minTokens?: number | undefined;
  /** What happens over `maxTokens`: reject, truncate, or write anyway. */
  overlong: 'drop' | 'truncate' | 'keep';
  /**
   * The text the trainer builds where it is not the chat template's (an instruction record for
   * Axolotl, Unsloth, TRL or Together): examples are counted as that text ({@link countedText}).
   */
  countAs?: CountAs | undefined;
  /**
   * Tool-call arguments are counted as the JSON text the written file holds, as the trainer hands
   * them to the chat template (TRL), not as objects (Axolotl and MLX-LM pass objects).
   */
  argumentsAsText?: boolean | undefined;
  /** Messages' `name`s are left out of the written records (Together, ShareGPT, Alpaca), so they are not counted. */
  namesDropped?: boolean | undefined;
}

/** How an example was shortened to fit. */
export interface Truncation {
  /** Tokens before truncation. */
  tokensBefore: number;
  /** Earlier exchanges (a user turn and its answers) dropped, oldest first. */
  droppedTurns: number;
  /** Whether the last answer itself was cut on a token boundary. */
  cutAnswer: boolean;
}

/** The outcome for one example. */
export type Measured =
  | { ok: true; tokens: number; prompt: number; messages?: Message[] | undefined; truncated?: Truncation | undefined; overBudget?: boolean | undefined }
  | { ok: false; reason: ReasonCode; message: string; tokens?: number | undefined };

/**
 * Counts one example and applies the budget. `truncate` drops the oldest exchanges first (the
 * system message and the last exchange stay), then cuts the last answer on a token boundary. An
 * example whose prompt alone fills the budget is `prompt_overflow`: right-truncation would leave
 * nothing to train on. A row the template refuses or the tokenizer fails on is a `template_error` /
 * `tokenizer_error` result; a job problem found at this row (a chat template feature the renderer
 * lacks) throws `LoraPrepError`.
 *
 * @example
 * applyBudget(tok, messages, { maxTokens: 2048, overlong: 'truncate' })
 */
export function applyBudget(tokenizer: Tokenizer, messages: Message[], budget: Budget, tools?: readonly unknown[], alpacaInput?: string): Measured {
  try {
    return measureWithin(tokenizer, messages, budget, tools, alpacaInput);
  } catch (e) {
    // A job problem found at a row (a chat template feature the renderer lacks) ends the run: no
    // row could be counted as the trainer renders it.
    if (e instanceof LoraPrepError) throw e;
    // One example the tokenizer or template cannot handle must not end a long run.
    const err = e as Error;
    if (err.name === 'TemplateError') {
      // A template's own refusal (`raise_exception`), or a failure on this row's data.
      const what = (err as { refused?: boolean }).refused === false ? 'failed on this conversation' : 'refused this conversation';
      return { ok: false, reason: 'template_error', message: `the chat template ${what}: ${err.message}` };
    }
    // V8 reports a regular expression that runs out of backtracking room as a stack overflow:
    // a pre-tokenizer's split does on a run of millions of letters (no space, digit or mark).
    const hint = err instanceof RangeError && /call stack/i.test(err.message) ? ` ${STACK_HINT}` : '';
    return { ok: false, reason: 'tokenizer_error', message: `the tokenizer (${tokenizer.name}) failed on this example: ${err.message}${hint}` };
  }
}

const STACK_HINT =
  '(with a Hugging Face tokenizer this is usually a run of millions of characters with no space, digit or punctuation, longer than JavaScript regular expressions can split: break or shorten that text, or leave the row out)';

// --- internal ---

/** Measures a conversation as the trainer will tokenize it. */
type Measurer = (messages: Message[]) => Measure;

function measurer(tokenizer: Tokenizer, budget: Budget, tools: readonly unknown[] | undefined, alpacaInput: string | undefined): Measurer {
  const { countAs } = budget;
  const options = budget.argumentsAsText ? { argumentsAsText: true } : undefined;
  const asText = tokenizer.measureText?.bind(tokenizer);
  if (countAs === undefined || asText === undefined) {
    if (budget.namesDropped) return (messages) => tokenizer.measure(withoutNames(messages), tools, options);
    return (messages) => tokenizer.measure(messages, tools, options);
  }
  return (messages) => {
    const text = countedText(countAs, messages, alpacaInput);
    // A conversation the record cannot hold is rejected when written; counted as a chat meanwhile.
    return text ? asText(text.prompt, text.completion, text.apart) : tokenizer.measure(budget.namesDropped ? withoutNames(messages) : messages, tools, options);
  };
}

/** `messages` without their `name`s (the same array where none has one). */
function withoutNames(messages: Message[]): Message[] {
  if (!messages.some((m) => m.name !== undefined)) return messages;
  return messages.map(({ name: _name, ...m }) => m);
}

function measureWithin(tokenizer: Tokenizer, messages: Message[], budget: Budget, tools: readonly unknown[] | undefined, alpacaInput: string | undefined): Measured {
  const measure = measurer(tokenizer, budget, tools, alpacaInput);
  const m = measure(messages);
  const { maxTokens, minTokens } = budget;
  if (minTokens !== undefined && m.total < minTokens) {
    return { ok: false, reason: 'too_short', message: `${m.total} tokens (${tokenizer.name}) is under minTokens ${minTokens}`, tokens: m.total };
  }
  // `messages` is returned only when truncation changed them (workers send results back by copy).
  if (maxTokens === undefined || m.total <= maxTokens) return { ok: true, tokens: m.total, prompt: m.prompt };
  if (budget.overlong !== 'truncate') {
    if (m.prompt >= maxTokens) return promptOverflow(tokenizer, m.prompt, maxTokens, m.total);
    if (budget.overlong === 'keep') return { ok: true, tokens: m.total, prompt: m.prompt, overBudget: true };
    return { ok: false, reason: 'overlong', message: `${m.total} tokens (${tokenizer.name}) is over maxTokens ${maxTokens}`, tokens: m.total };
  }
  const cut = truncate(tokenizer, measure, messages, maxTokens, m.total);
  // What is written is what minTokens judges: a cut that leaves too little is too short.
  if (cut.ok && minTokens !== undefined && cut.tokens < minTokens) {
    return { ok: false, reason: 'too_short', message: `${cut.tokens} tokens (${tokenizer.name}) once truncated to maxTokens ${maxTokens} is under minTokens ${minTokens}`, tokens: cut.tokens };
  }
  return cut;
}

function promptOverflow(tokenizer: Tokenizer, prompt: number, maxTokens: number, total: number): Measured {
  return {
    ok: false,
    reason: 'prompt_overflow',
    message: `the prompt alone is ${prompt} tokens (${tokenizer.name}), at or over maxTokens ${maxTokens}: right-truncation would leave no answer to train on`,
    tokens: total,
  };
}

// Cutting the answer converges in one or two steps; the cap only guards odd tokenizers.
const MAX_CUT_STEPS = 8;

function truncate(tokenizer: Tokenizer, measure: Measurer, original: Message[], maxTokens: number, tokensBefore: number): Measured {
  // 1. Drop the fewest oldest exchanges that bring it within maxTokens (at most all but the last):
  // a binary search on how many, as fewer exchanges count fewer tokens (dropping them one at a time
  // measured the chat once an exchange, time quadratic in its length).
  const { head, cuts } = exchangeCuts(original);
  const without = (k: number): Message[] => (k === 0 ? original : [...original.slice(0, head), ...original.slice(cuts[k - 1])]);
  const measured = new Map<number, Measure>();
  const measureWithout = (k: number) => {
    let r = measured.get(k);
    if (!r) measured.set(k, (r = measure(without(k))));
    return r;
  };
  let droppedTurns = 0;
  if (measureWithout(0).total > maxTokens) {
    droppedTurns = cuts.length;
    if (measureWithout(cuts.length).total <= maxTokens) {
      let lo = 1;
      while (lo < droppedTurns) {
        const mid = (lo + droppedTurns) >>> 1;
        if (measureWithout(mid).total <= maxTokens) droppedTurns = mid;
        else lo = mid + 1;
      }
    }
  }
  const messages = without(droppedTurns);
  const m = measureWithout(droppedTurns);
  if (m.total <= maxTokens) {
    return { ok: true, tokens: m.total, prompt: m.prompt, messages, truncated: { tokensBefore, droppedTurns, cutAnswer: false } };
  }
  if (m.prompt >= maxTokens) return promptOverflow(tokenizer, m.prompt, maxTokens, tokensBefore);
  // 2. Cut the last answer on a token boundary.
  const last = messages.length - 1;
  const answer = messages[last] as Message;
  const ids = tokenizer.encode(answer.content);
  // Byte-level BPE decodes back to the original text, so cuts fall on token boundaries; a
  // tokenizer that normalises (lower-cases, NFKC) does not, and the cut is found on the text itself.
  const lossless = tokenizer.decode(ids) === answer.content;
  let keep = ids.length - (m.total - maxTokens);
  for (let step = 0; step < MAX_CUT_STEPS && keep > 0; step++) {
    const prefix = lossless ? commonPrefix(answer.content, tokenizer.decode(ids.slice(0, keep))) : prefixWithin(tokenizer, answer.content, keep);
    // Never inside a character as read: an emoji's joiner, a letter's accent, a flag's second half.
    const content = answer.content.slice(0, graphemeCut(answer.content, prefix.length)).trimEnd();
    if (content === '') break;
    const candidate = [...messages.slice(0, last), { ...answer, content }];
    const c = measure(candidate);
    if (c.total <= maxTokens) {
      return { ok: true, tokens: c.total, prompt: c.prompt, messages: candidate, truncated: { tokensBefore, droppedTurns, cutAnswer: true } };
    }
    keep -= Math.max(1, c.total - maxTokens);
  }
  // No prefix of the answer fits beside the prompt (its first token alone is too many).
  return {
    ok: false,
    reason: 'prompt_overflow',
    message: `the prompt is ${m.prompt} tokens (${tokenizer.name}) and no start of the answer fits within maxTokens ${maxTokens} beside it: truncation would leave no answer to train on`,
    tokens: tokensBefore,
  };
}

/**
 * The longest prefix of `text` of at most `tokens` tokens, ending at a word boundary where the
 * prefix has one (binary search on the text: for tokenizers whose decode does not give the text back).
 */
function prefixWithin(tokenizer: Tokenizer, text: string, tokens: number): string {
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (tokenizer.count(text.slice(0, mid)) <= tokens) lo = mid;
    else hi = mid - 1;
  }
  const code = text.charCodeAt(lo - 1);
  if (lo > 0 && code >= 0xd800 && code <= 0xdbff) lo--;
  const prefix = text.slice(0, lo);
  if (lo === text.length) return prefix;
  const space = prefix.search(/\s\S*$/);
  return space > 0 ? prefix.slice(0, space) : prefix;
}

const GRAPHEMES = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** Code units around a cut looked at for the last grapheme boundary (a family emoji is 11). */
const GRAPHEME_WINDOW = 64;

/**
 * The last boundary between user-perceived characters at or before `at` in `text` (Unicode's
 * extended grapheme clusters): a cut there leaves no dangling zero-width joiner, combining mark or
 * half of a regional-indicator flag.
 */
function graphemeCut(text: string, at: number): number {
  if (at <= 0 || at >= text.length) return at;
  let from = Math.max(0, at - GRAPHEME_WINDOW);
  // The window starts on a character of its own: not inside a surrogate pair, nor inside a run of
  // regional indicators, whose pairs (flags) are counted from the run's start.
  if (from > 0 && (text.charCodeAt(from) & 0xfc00) === 0xdc00) from--;
  while (from >= 2 && isRegionalIndicator(text.codePointAt(from - 2))) from -= 2;
  let cut = from;
  for (const { index } of GRAPHEMES.segment(text.slice(from, Math.min(text.length, at + GRAPHEME_WINDOW)))) {
    if (from + index > at) break;
    cut = from + index;
  }
  return cut;
}

function isRegionalIndicator(code: number | undefined): boolean {
  return code !== undefined && code >= 0x1f1e6 && code <= 0x1f1ff;
}

/** The longest common prefix of two strings, never ending inside a surrogate pair. */
function commonPrefix(a: string, b: string): string {
  let i = 0;
  const n = Math.min(a.length, b.length);
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  const last = a.charCodeAt(i - 1);
  if (i > 0 && last >= 0xd800 && last <= 0xdbff) i--;
  return a.slice(0, i);
}

/**
 * Where the exchanges that may be dropped end: the conversation without its `k` oldest exchanges is
 * `messages[0, head)` (the system messages before the first turn) followed by `messages[cuts[k-1], …)`.
 * An exchange runs from a turn to the next user message; the last exchange is never dropped.
 */
function exchangeCuts(messages: Message[]): { head: number; cuts: number[] } {
  const head = messages.findIndex((m) => m.role !== 'system');
  const lastUser = messages.findLastIndex((m) => m.role === 'user');
  const cuts: number[] = [];
  if (head === -1 || lastUser <= head) return { head: Math.max(head, 0), cuts };
  for (let start = head; ; ) {
    let end = start + 1;
    while (end < messages.length && messages[end]?.role !== 'user') end++;
    if (end > lastUser) break;
    cuts.push(end);
    start = end;
  }
  return { head, cuts };
}
