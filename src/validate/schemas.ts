/**
 * Record checks, one per schema: a parsed line in, problems out through `ctx.add`. Each defect is
 * reported once, under the most specific rule; nothing here throws for bad content.
 */
import type { Message, Role } from '../types.js';
import type { RuleId } from './rules.js';
import type { Schema, ValidationTarget } from './targets.js';

/** What a record check needs besides the record. */
export interface RecordContext {
  add(rule: RuleId, message: string): void;
  /** Indices of messages whose `weight` is written as a float literal (`1.0`), which `JSON.parse` hides. */
  floatWeights: ReadonlySet<number>;
  target: ValidationTarget;
}

/** What the file-level checks need to know about one record's check. */
export interface RecordOutcome {
  /** A problem with the top-level key set was reported, so A.5 should not repeat it. */
  keysReported: boolean;
}

/**
 * Checks one record against a schema.
 *
 * @example
 * checkRecord('alpaca', { instruction: 'Hi', output: 'Hello' }, ctx) // ctx.add('H.1-missing-input', ...)
 */
export function checkRecord(schema: Schema, record: Record<string, unknown>, ctx: RecordContext): RecordOutcome {
  switch (schema) {
    case 'messages':
      return checkMessagesRecord(record, ctx);
    case 'together-chat':
      return checkTogetherChat(record, ctx);
    case 'together-instruction':
      return checkTogetherInstruction(record, ctx);
    case 'mistral':
      return checkMistral(record, ctx);
    case 'mlx-completions':
      return checkMlxCompletions(record, ctx);
    case 'trl-pc':
      return checkTrlPromptCompletion(record, ctx);
    case 'sharegpt':
      return checkShareGpt(record, ctx);
    case 'alpaca':
      return checkAlpaca(record, ctx);
    case 'together-text':
      return checkTogetherText(record, ctx);
    case 'mlx-text':
      return checkMlxText(record, ctx);
    case 'trl-text':
      return checkTrlText(record, ctx);
    case 'text':
      return checkText(record, ctx);
  }
}

/** Top-level keys a line may have or lack without breaking A.5 (same key set as line 1). */
export const OPTIONAL_KEYS: Record<Schema, ReadonlySet<string>> = {
  messages: new Set(['tools', 'parallel_tool_calls', 'chat_template_kwargs']),
  'together-chat': new Set(),
  'together-instruction': new Set(),
  mistral: new Set(['tools']),
  'mlx-completions': new Set(),
  'trl-pc': new Set(['tools', 'chat_template_kwargs']),
  sharegpt: new Set(['system', 'tools']),
  alpaca: new Set(['system', 'history']),
  'together-text': new Set(),
  'mlx-text': new Set(),
  'trl-text': new Set(),
  text: new Set(),
};

/**
 * Python's `str.strip()` whitespace (the referee and the trainers are Python): wider than JSON's
 * and not the same as JavaScript's `trim()` (which strips U+FEFF but not U+0085 or U+001C–U+001F).
 */
const PY_WHITESPACE = /^[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$/;

/** True when `s` is empty or only whitespace, as Python's `not s.strip()` sees it. */
export function isBlank(s: string): boolean {
  return PY_WHITESPACE.test(s);
}

/**
 * The example as chat messages, for token counting: roles mapped to the canonical four, tool calls
 * and tool definitions counted as their JSON text. Only called on records that passed their check.
 *
 * @example
 * toChatMessages('alpaca', { instruction: 'Q', input: '', output: 'A' }) // [user Q, assistant A]
 */
export function toChatMessages(schema: Schema, record: Record<string, unknown>): Message[] {
  const out: Message[] = [];
  const push = (role: Role, content: unknown): void => {
    out.push({ role, content: typeof content === 'string' ? content : content === undefined || content === null ? '' : JSON.stringify(content) });
  };
  if ('tools' in record && record.tools !== undefined && record.tools !== null) push('system', record.tools);
  switch (schema) {
    case 'messages':
    case 'together-chat':
    case 'mistral':
      for (const m of asArray(record.messages)) {
        if (!isObject(m)) continue;
        const role = CANONICAL_ROLE[String(m.role)] ?? 'user';
        const calls = m.tool_calls === undefined || m.tool_calls === null ? '' : JSON.stringify(m.tool_calls);
        const content = typeof m.content === 'string' ? m.content : '';
        const message: Message = { role, content: calls ? `${content}${calls}` : content };
        if (typeof m.name === 'string') message.name = m.name;
        out.push(message);
      }
      return out;
    case 'together-instruction':
    case 'mlx-completions':
    case 'trl-pc':
      if (Array.isArray(record.prompt) && Array.isArray(record.completion)) {
        for (const m of [...record.prompt, ...record.completion]) if (isObject(m)) push(CANONICAL_ROLE[String(m.role)] ?? 'user', m.content);
      } else {
        push('user', record.prompt);
        push('assistant', record.completion);
      }
      return out;
    case 'sharegpt':
      if (typeof record.system === 'string') push('system', record.system);
      for (const t of asArray(record.conversations)) if (isObject(t)) push(SHAREGPT_ROLE[String(t.from)] ?? 'user', t.value);
      return out;
    case 'alpaca': {
      if (typeof record.system === 'string' && record.system !== '') push('system', record.system);
      for (const pair of asArray(record.history)) {
        if (!Array.isArray(pair)) continue;
        push('user', pair[0]);
        push('assistant', pair[1]);
      }
      const input = typeof record.input === 'string' && record.input !== '' ? `\n${record.input}` : '';
      push('user', `${typeof record.instruction === 'string' ? record.instruction : ''}${input}`);
      push('assistant', record.output);
      return out;
    }
    case 'together-text':
    case 'mlx-text':
    case 'trl-text':
    case 'text':
      // The whole text is trained; the validator counts it as plain text, not as a chat.
      push('assistant', record.text);
      return out;
  }
}

// --- internal ---

const CANONICAL_ROLE: Record<string, Role> = { system: 'system', user: 'user', assistant: 'assistant', tool: 'tool', human: 'user', gpt: 'assistant' };
const SHAREGPT_ROLE: Record<string, Role> = { system: 'system', human: 'user', gpt: 'assistant', function_call: 'assistant', observation: 'tool' };

const CHAT_ROLES = new Set(['system', 'user', 'assistant', 'tool']);
const SHAREGPT_NAMES: Record<string, string> = { human: 'user', gpt: 'assistant' };

/** Message keys per role, OpenAI's fine-tuning schema (FORMATS.md B.3). */
const OPENAI_KEYS: Record<string, ReadonlySet<string>> = {
  system: new Set(['role', 'content', 'name']),
  user: new Set(['role', 'content', 'name']),
  assistant: new Set(['role', 'content', 'name', 'weight', 'tool_calls', 'refusal']),
  tool: new Set(['role', 'content', 'tool_call_id']),
};

const MISTRAL_ID = /^[A-Za-z0-9]{9}$/;
const MISTRAL_NAME = /^[A-Za-z0-9_-]{1,64}$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** What a value is, in words, for messages. */
function kind(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'number') return `the number ${String(v)}`;
  return `${typeof v} ${String(v)}`;
}

function list(keys: Iterable<string>): string {
  return [...keys].map((k) => JSON.stringify(k)).join(', ');
}

/** Missing required keys and keys outside `allowed`, in words, or undefined when the set is fine. */
function keyProblem(record: Record<string, unknown>, allowed: ReadonlySet<string>, required: readonly string[], ignore: ReadonlySet<string> = new Set()): string | undefined {
  const missing = required.filter((k) => !(k in record));
  const extra = Object.keys(record).filter((k) => !allowed.has(k) && !ignore.has(k));
  const parts: string[] = [];
  if (missing.length > 0) parts.push(`missing ${list(missing)}`);
  if (extra.length > 0) parts.push(`unexpected ${list(extra)}`);
  return parts.length === 0 ? undefined : parts.join('; ');
}

/** A weight problem in words, or undefined: the JSON integer 0 or 1 only. */
function weightProblem(w: unknown, i: number, ctx: RecordContext): string | undefined {
  if (typeof w === 'number' && (w === 0 || w === 1)) {
    return ctx.floatWeights.has(i) ? `message ${i}: weight is written as a float (${w}.0); write the integer ${w} (--fix does)` : undefined;
  }
  return `message ${i}: weight must be the integer 0 or 1, got ${kind(w)}`;
}

/**
 * The role-value problem of a message (`where` names it: `message 2`, `prompt[0]`), with the fix
 * hint for ShareGPT names.
 */
function roleText(role: unknown, where: string, allowed: ReadonlySet<string>): string {
  if (typeof role === 'string' && SHAREGPT_NAMES[role]) {
    return `${where}: role ${JSON.stringify(role)} is a ShareGPT name; write ${JSON.stringify(SHAREGPT_NAMES[role])} (--fix does)`;
  }
  if (role === undefined) return `${where} has no role`;
  return `${where}: role must be one of ${list(allowed)}, got ${typeof role === 'string' ? JSON.stringify(role) : kind(role)}`;
}

/**
 * Why a target does not read a `{text}` record, for the key problem of a record that holds
 * `text` but not `main`, the key its schema reads; '' for any other record.
 */
function textNotRead(record: Record<string, unknown>, main: string, ctx: RecordContext): string {
  if (!('text' in record) || main in record) return '';
  const why = TEXT_NOT_READ[ctx.target];
  if (why) return `: ${why}`;
  // A target that reads {text}, checked against another format (a format given by the caller).
  return `: ${ctx.target} reads {text} records as the text format; validate without a format (or with format: 'text') to check them as such`;
}

const TEXT_READERS = 'together, mlx-lm, trl, unsloth, axolotl (type: completion) and torchtune (text_completion_dataset)';

/** Why the targets that read no plain-text records refuse a `{text}` line, and what to do. */
const TEXT_NOT_READ: Partial<Record<ValidationTarget, string>> = {
  openai: `OpenAI fine-tuning reads chats only, not plain-text {text} records: write each example as {"messages": [...]}; for raw text (continued pre-training) use a trainer that reads it: ${TEXT_READERS}`,
  mistral:
    'mistral-finetune reads {text} records only as pre-training data (data.data in its YAML), not as instruct data (data.instruct_data), which this target checks: write {"messages": [...]}, or list the file under data.data',
  'llama-factory':
    'LLaMA-Factory reads {text} only for pre-training (stage: pt) through a dataset_info.json entry with "columns": {"prompt": "text"}, which lora-prep does not write; without one it looks for ShareGPT conversations or alpaca instruction/input/output',
};

/**
 * Checks a `tools` array in OpenAI's shape (B.8). Axolotl also takes `parameters` as JSON text of
 * an object (it `json.loads` them), which keeps the column one type for its Arrow reader.
 */
function checkOpenAiTools(tools: unknown, ctx: RecordContext, rule: RuleId): void {
  const parametersText = ctx.target === 'axolotl';
  if (!Array.isArray(tools)) {
    ctx.add(rule, `tools must be an array, got ${kind(tools)}`);
    return;
  }
  for (const [j, t] of tools.entries()) {
    if (!isObject(t) || t.type !== 'function' || !isObject(t.function) || typeof t.function.name !== 'string') {
      ctx.add(rule, `tools[${j}] must be {"type":"function","function":{"name",...}}`);
      continue;
    }
    const f = t.function;
    if ('description' in f && typeof f.description !== 'string') ctx.add(rule, `tools[${j}].function.description must be a string, got ${kind(f.description)}`);
    if (parametersText && typeof f.parameters === 'string') {
      const p = jsonObjectText(f.parameters);
      if (p) ctx.add(rule, `tools[${j}].function.parameters is a string that ${p}`);
    } else if (!isObject(f.parameters)) {
      ctx.add(rule, `tools[${j}].function.parameters must be an object${parametersText ? ' or JSON text of one' : ''} (use {"type":"object","properties":{}} when there are none), got ${kind(f.parameters)}`);
    }
  }
}

/** Parses a JSON string that should hold an object (parameters written as text); the problem or undefined. */
function jsonObjectText(s: string): string | undefined {
  try {
    return isObject(JSON.parse(s)) ? undefined : 'does not hold a JSON object';
  } catch {
    return 'is not valid JSON';
  }
}

/** Parses a JSON string that should hold an array (tools written as text); the problem or undefined. */
function jsonArrayText(s: string): string | undefined {
  try {
    return Array.isArray(JSON.parse(s)) ? undefined : 'does not hold a JSON array';
  } catch {
    return 'is not valid JSON';
  }
}

// --- B: messages (OpenAI and the readers that share its schema) ---

function checkMessagesRecord(record: Record<string, unknown>, ctx: RecordContext): RecordOutcome {
  const target = ctx.target;
  const trlLike = target === 'trl' || target === 'unsloth';
  const allowed = new Set(['messages', 'tools', 'parallel_tool_calls']);
  if (trlLike) allowed.add('chat_template_kwargs');
  let keysReported = false;
  if (trlLike && 'prompt' in record) {
    ctx.add('F.2-prompt-key', 'a messages file must not have a prompt key: TRL would take the prompt-completion path and ignore messages');
    keysReported = true;
  }
  // MLX-LM ignores keys it does not read (FORMATS.md §4; E.3 asks B.2-B.7 of chat lines, not B.1).
  const keys = keyProblem(record, target === 'mlx-lm' ? new Set(Object.keys(record)) : allowed, ['messages'], trlLike ? new Set(['prompt']) : undefined);
  if (keys) {
    ctx.add('B.1-keys', `top-level keys: ${keys} (allowed: ${list(allowed)})${textNotRead(record, 'messages', ctx)}`);
    keysReported = true;
  }
  if ('tools' in record) {
    const tools = record.tools;
    if (typeof tools === 'string' && target === 'mlx-lm') ctx.add('E.3-tools', 'tools must be an array, not a JSON string (MLX passes it to the chat template as is)');
    else if (typeof tools === 'string' && (trlLike || target === 'axolotl')) {
      const p = jsonArrayText(tools);
      if (p) ctx.add(trlLike ? 'F.1-tools' : 'B.8-tools', `tools is a string that ${p}`);
    } else checkOpenAiTools(tools, ctx, 'B.8-tools');
  }
  const messages = record.messages;
  if (!('messages' in record)) return { keysReported };
  if (!Array.isArray(messages) || messages.length === 0) {
    ctx.add('B.2-messages', `messages must be a non-empty array, got ${Array.isArray(messages) ? 'an empty array' : kind(messages)}`);
    return { keysReported };
  }
  const torchtune = target === 'torchtune';
  const callIds = new Set<string>();
  const roles: (string | undefined)[] = [];
  let assistants = 0;
  let untrained = 0;
  for (const [i, m] of messages.entries()) {
    if (!isObject(m)) {
      ctx.add('B.2-messages', `message ${i} must be an object, got ${kind(m)}`);
      roles.push(undefined);
      continue;
    }
    const role = m.role;
    if (typeof role !== 'string' || !CHAT_ROLES.has(role)) {
      const sharegpt = typeof role === 'string' && SHAREGPT_NAMES[role] !== undefined;
      if (torchtune && role === 'ipython') {
        ctx.add('T.4-tool-role', torchtuneToolText(i, role));
        roles.push(role);
        continue;
      }
      ctx.add(sharegpt && trlLike ? 'F.3-sharegpt-role' : 'B.2-role', roleText(role, `message ${i}`, CHAT_ROLES));
      roles.push(undefined);
      continue;
    }
    roles.push(role);
    if (torchtune && role === 'tool') {
      ctx.add('T.4-tool-role', torchtuneToolText(i, role));
      continue;
    }
    const allowedKeys = OPENAI_KEYS[role] as ReadonlySet<string>;
    // weight and tool_calls on the wrong role are reported by their own rules.
    const extra = Object.keys(m).filter((k) => !allowedKeys.has(k) && k !== 'weight' && !(torchtune && k === 'tool_calls'));
    if (extra.length > 0) ctx.add('B.3-message-keys', `message ${i} (${role}): keys ${list(extra)} are not allowed (allowed: ${list(allowedKeys)})`);
    const calls = m.tool_calls;
    const hasCalls = role === 'assistant' && Array.isArray(calls) && calls.length > 0;
    if (torchtune && calls !== undefined && calls !== null) {
      ctx.add('T.5-tool-calls', `message ${i} has tool_calls: torchtune has no tool-call support and drops them`);
    } else if (role === 'assistant' && calls !== undefined && calls !== null) {
      checkOpenAiToolCalls(calls, i, ctx, callIds);
    }
    const content = m.content;
    if (content === undefined || content === null) {
      if (!hasCalls && !(torchtune && calls !== undefined)) ctx.add('B.4-content', `message ${i} (${role}) has no content${content === null ? ' (null)' : ''}`);
    } else if (typeof content !== 'string') {
      ctx.add('B.4-content', `message ${i} (${role}): content must be a string, got ${kind(content)}`);
    } else if (!hasCalls && isBlank(content)) {
      ctx.add('A.7-empty-content', `message ${i} (${role}): content is empty or only whitespace`);
    }
    if ('weight' in m) {
      if (role !== 'assistant') ctx.add('B.6-weight', `message ${i}: weight is only allowed on assistant messages, not on ${role}`);
      else {
        const p = weightProblem(m.weight, i, ctx);
        if (p) ctx.add('B.6-weight', p);
      }
    }
    if (role === 'assistant') {
      assistants++;
      if (m.weight === 0) untrained++;
    }
    if (role === 'tool') {
      const id = m.tool_call_id;
      if (typeof id !== 'string') ctx.add('B.7-tool-call-id', `message ${i} (tool): tool_call_id must be a string, got ${kind(id)}`);
      else if (!callIds.has(id)) ctx.add('B.7-tool-call-id', `message ${i} (tool): tool_call_id ${JSON.stringify(id)} is not the id of a call in an earlier assistant message`);
    }
  }
  // With a message of unknown role the turn structure is unknown: its own problem says enough.
  if (roles.includes(undefined)) return { keysReported };
  if (assistants === 0) ctx.add('B.5-no-assistant', 'no assistant message: there is nothing to train on');
  else if (roles[roles.length - 1] !== 'assistant') {
    ctx.add(
      'B.5-last-assistant',
      `the last message is ${roles[roles.length - 1]}, not assistant: it trains nothing for most trainers, and MLX-LM's mask_prompt trains only the final message, so it would learn to write this ${roles[roles.length - 1]} turn; end the example with the assistant's answer`,
    );
  }
  if (assistants > 0 && untrained === assistants) ctx.add('B.6-nothing-trained', 'every assistant message has weight 0: the example trains nothing');
  if (torchtune) checkTorchtuneOrder(roles, ctx);
  return { keysReported };
}

/** OpenAI-shaped tool calls (B.7); `arguments` must be a JSON string for OpenAI, may be an object elsewhere. */
function checkOpenAiToolCalls(calls: unknown, i: number, ctx: RecordContext, ids: Set<string>): void {
  if (!Array.isArray(calls)) {
    ctx.add('B.7-tool-call', `message ${i}: tool_calls must be an array, got ${kind(calls)}`);
    return;
  }
  const stringOnly = ctx.target === 'openai';
  for (const [j, c] of calls.entries()) {
    const where = `message ${i} tool_calls[${j}]`;
    if (!isObject(c) || typeof c.id !== 'string' || c.type !== 'function' || !isObject(c.function) || typeof c.function.name !== 'string') {
      ctx.add('B.7-tool-call', `${where} must be {"id": string, "type": "function", "function": {"name": string, "arguments": string}}`);
      if (isObject(c) && typeof c.id === 'string') ids.add(c.id);
      continue;
    }
    ids.add(c.id);
    const args = c.function.arguments;
    if (typeof args === 'string') {
      try {
        JSON.parse(args);
      } catch {
        ctx.add('B.7-tool-call', `${where}: function.arguments is not valid JSON text`);
      }
    } else if (stringOnly || !isObject(args)) {
      ctx.add('B.7-tool-call', `${where}: function.arguments must be ${stringOnly ? 'a string of JSON' : 'a string of JSON or an object'}, got ${kind(args)}`);
    }
  }
}

/**
 * T.4: a tool or ipython message for torchtune. Its `validate_messages` wants the message before
 * to be a tool call (an assistant message with `ipython=True`), and its JSON loaders (OpenAI- and
 * ShareGPT-style `chat_dataset`) never set that flag, so no such message can pass.
 */
function torchtuneToolText(i: number, role: string): string {
  return `message ${i} is a${role === 'ipython' ? 'n' : ''} ${role} message: torchtune raises "Tool or ipython message at index ${i} must follow an ipython message", since only an assistant message flagged as a tool call (ipython=True) may precede it and chat_dataset never sets that flag from JSON; drop the tool turns (and tool_calls) for torchtune`;
}

/** torchtune's `validate_messages` order rules (FORMATS.md §9); tool messages are reported apart. */
function checkTorchtuneOrder(roles: readonly (string | undefined)[], ctx: RecordContext): void {
  let last: string | undefined;
  for (const [i, role] of roles.entries()) {
    if (role === undefined) continue;
    if (role === 'assistant' && last !== 'user' && last !== 'tool' && last !== 'ipython') {
      ctx.add('T.3-assistant-order', `message ${i} (assistant) ${last === undefined ? 'comes first' : `follows ${last}`}: torchtune wants it after a user or tool message`);
    }
    if (role === 'user' && last === 'user') ctx.add('T.2-consecutive-user', `messages ${i - 1} and ${i} are both user`);
    if (role === 'system' && i > 0) ctx.add('T.1-system-first', `message ${i} is system: torchtune allows a system message only first`);
    last = role;
  }
}

// --- C: Together ---

const TOGETHER_FORMATS: Record<string, string> = { messages: 'conversation', 'completion,prompt': 'instruction', text: 'general' };

/**
 * C.2: the line's key set is exactly `want` (sorted keys joined by `,`). Together names a missing
 * key "Could not detect a format for the line" and an extra one "Found extra column".
 */
function togetherKeyCheck(record: Record<string, unknown>, want: string, ctx: RecordContext): boolean {
  const set = Object.keys(record).sort().join(',');
  if (set === want) return false;
  const other = TOGETHER_FORMATS[set];
  if (other) {
    ctx.add('C.2-mixed-format', `this line is in Together's ${other} format ({${set}}), but the file is in its ${TOGETHER_FORMATS[want]} format ({${want}}); every line must use the same format`);
    return true;
  }
  const wanted = want.split(',');
  const missing = wanted.filter((k) => !(k in record));
  const extra = Object.keys(record).filter((k) => !wanted.includes(k));
  const parts: string[] = [];
  if (missing.length > 0) parts.push(`${list(missing)} ${missing.length === 1 ? 'is' : 'are'} missing (Together: "Could not detect a format for the line")`);
  if (extra.length > 0) parts.push(`${list(extra)} ${extra.length === 1 ? 'is an extra key' : 'are extra keys'} (Together: "Found extra column")`);
  const todo = [missing.length > 0 ? `add ${list(missing)}` : '', extra.length > 0 ? `remove ${list(extra)}` : ''].filter(Boolean).join(' and ');
  ctx.add('C.2-keys', `Together's ${TOGETHER_FORMATS[want]} format needs exactly {${want}} on every line: ${parts.join('; ')}; ${todo}`);
  return true;
}

function checkTogetherChat(record: Record<string, unknown>, ctx: RecordContext): RecordOutcome {
  const keysReported = togetherKeyCheck(record, 'messages', ctx);
  if (!('messages' in record)) return { keysReported };
  const messages = record.messages;
  if (!Array.isArray(messages) || messages.length === 0) {
    ctx.add('C.3-messages', `messages must be a non-empty array, got ${Array.isArray(messages) ? 'an empty array' : kind(messages)}`);
    return { keysReported };
  }
  const allowed = new Set(['system', 'user', 'assistant']);
  const roles: (string | undefined)[] = [];
  for (const [i, m] of messages.entries()) {
    if (!isObject(m)) {
      ctx.add('C.3-messages', `message ${i} must be an object, got ${kind(m)}`);
      roles.push(undefined);
      continue;
    }
    const extra = Object.keys(m).filter((k) => k !== 'role' && k !== 'content' && k !== 'weight');
    const missing = ['role', 'content'].filter((k) => !(k in m));
    if (extra.length > 0 || missing.length > 0) {
      ctx.add('C.3-message-keys', `message ${i}: ${[missing.length ? `missing ${list(missing)}` : '', extra.length ? `unexpected ${list(extra)}` : ''].filter(Boolean).join('; ')} (Together reads role, content, weight)`);
    }
    const role = m.role;
    if ('role' in m && (typeof role !== 'string' || !allowed.has(role))) {
      ctx.add('C.3-role', role === 'tool' ? `message ${i}: Together has no tool role (its roles are system, user, assistant); drop tool turns, or fold the tool result into a user message` : roleText(role, `message ${i}`, allowed));
      roles.push(undefined);
    } else roles.push(typeof role === 'string' ? role : undefined);
    if ('content' in m) {
      if (typeof m.content !== 'string') ctx.add('C.3-content', `message ${i}: content must be a string, got ${kind(m.content)}`);
      else if (isBlank(m.content)) ctx.add('A.7-empty-content', `message ${i}: content is empty or only whitespace`);
    }
    if ('weight' in m) {
      const p = weightProblem(m.weight, i, ctx);
      if (p) ctx.add('C.3-weight', p);
    }
  }
  for (let i = 1; i < roles.length; i++) {
    if (roles[i] !== undefined && roles[i] === roles[i - 1]) ctx.add('C.3-alternation', `messages ${i - 1} and ${i} are both ${roles[i]}: Together needs roles to alternate`);
  }
  if (roles.includes(undefined)) return { keysReported };
  if (!roles.includes('assistant')) {
    ctx.add('C.3-no-assistant', 'no assistant message: Together requires at least one (there would be nothing to train on)');
    return { keysReported };
  }
  for (const [i, r] of roles.entries()) if (r === 'system' && i > 0) ctx.add('C.5-system-first', `message ${i} is system: only the first message may be system`);
  const firstIndex = roles.findIndex((r) => r !== 'system');
  const first = roles[firstIndex];
  if (first !== undefined && first !== 'user') ctx.add('C.5-first-user', `the first turn after the system message is ${first} (message ${firstIndex}), not user`);
  const last = roles[roles.length - 1];
  if (last !== undefined && last !== 'assistant') ctx.add('C.5-last-assistant', `the last message is ${last}, not assistant`);
  return { keysReported };
}

function checkTogetherInstruction(record: Record<string, unknown>, ctx: RecordContext): RecordOutcome {
  const keysReported = togetherKeyCheck(record, 'completion,prompt', ctx);
  for (const k of ['prompt', 'completion'] as const) {
    if (!(k in record)) continue;
    const v = record[k];
    if (typeof v !== 'string') ctx.add('C.4-types', `${k} must be a string, got ${kind(v)}`);
    else if (isBlank(v)) ctx.add('A.7-empty-content', `${k} is empty or only whitespace`);
  }
  return { keysReported };
}

// --- D: Mistral ---

function checkMistral(record: Record<string, unknown>, ctx: RecordContext): RecordOutcome {
  let keysReported = false;
  const keys = keyProblem(record, new Set(['messages', 'tools']), ['messages']);
  if (keys) {
    ctx.add('D.1-keys', `top-level keys: ${keys} (mistral-finetune reads messages and tools)${textNotRead(record, 'messages', ctx)}`);
    keysReported = true;
  }
  if ('tools' in record) checkMistralTools(record.tools, ctx);
  if (!('messages' in record)) return { keysReported };
  const messages = record.messages;
  if (!Array.isArray(messages) || messages.length === 0) {
    ctx.add('D.2-messages', `messages must be a non-empty array, got ${Array.isArray(messages) ? 'an empty array' : kind(messages)}`);
    return { keysReported };
  }
  const roles: (string | undefined)[] = [];
  const ids = new Set<string>();
  let pendingCalls = 0; // calls of the latest assistant turn not yet answered by a tool message
  for (const [i, m] of messages.entries()) {
    const lastIndex = i === messages.length - 1;
    if (!isObject(m)) {
      ctx.add('D.2-messages', `message ${i} must be an object, got ${kind(m)}`);
      roles.push(undefined);
      continue;
    }
    const role = m.role;
    if (typeof role !== 'string' || !CHAT_ROLES.has(role)) {
      ctx.add('D.2-role', roleText(role, `message ${i}`, CHAT_ROLES));
      roles.push(undefined);
      continue;
    }
    const prev = roles[roles.length - 1];
    roles.push(role);
    const allowedKeys = OPENAI_KEYS[role] as ReadonlySet<string>;
    const extra = Object.keys(m).filter((k) => !allowedKeys.has(k) && k !== 'weight');
    if (extra.length > 0) {
      const hint = extra.includes('text') ? '; write content, never text' : '';
      ctx.add('D.2-message-keys', `message ${i} (${role}): keys ${list(extra)} are not allowed (allowed: ${list(allowedKeys)})${hint}`);
    }
    if ('weight' in m) {
      if (role !== 'assistant') ctx.add('D.5-weight', `message ${i}: weight is only allowed on assistant messages, not on ${role}`);
      else {
        const p = weightProblem(m.weight, i, ctx);
        if (p) ctx.add('D.5-weight', p);
      }
    }
    if (prev !== undefined) {
      if (role === 'tool' && prev !== 'assistant' && prev !== 'tool') ctx.add('D.6-role-order', `message ${i} (tool) follows ${prev}: a tool message follows an assistant or tool message`);
      if (prev === 'tool' && role !== 'assistant' && role !== 'tool') ctx.add('D.6-role-order', `message ${i} (${role}) follows a tool message: after tool comes assistant or tool`);
    } else if (role === 'tool' && i === 0) ctx.add('D.6-role-order', 'message 0 is a tool message: a tool message follows an assistant or tool message');
    if (role === 'assistant') {
      const content = m.content;
      const calls = m.tool_calls;
      const hasContent = typeof content === 'string' && !isBlank(content);
      const hasCalls = Array.isArray(calls) && calls.length > 0;
      if (content !== undefined && content !== null && typeof content !== 'string') {
        ctx.add('D.4-content-xor-tool-calls', `message ${i} (assistant): content must be a string, got ${kind(content)}`);
      } else if (hasContent === hasCalls) {
        ctx.add('D.4-content-xor-tool-calls', `message ${i} (assistant) has ${hasContent ? 'both content and tool_calls' : 'neither non-empty content nor tool_calls'}: Mistral wants exactly one`);
      }
      pendingCalls = 0;
      if (calls !== undefined && calls !== null) pendingCalls = checkMistralToolCalls(calls, i, lastIndex, ctx, ids);
    } else {
      const content = m.content;
      if (typeof content !== 'string') ctx.add('D.2-content', `message ${i} (${role}): content must be a string, got ${kind(content)}`);
      else if (isBlank(content)) ctx.add('A.7-empty-content', `message ${i} (${role}): content is empty or only whitespace`);
    }
    if (role === 'tool') {
      const id = m.tool_call_id;
      if (typeof id !== 'string') ctx.add('D.7-tool-call-id', `message ${i} (tool): tool_call_id must be a string, got ${kind(id)}`);
      else if (!MISTRAL_ID.test(id) && !(id === 'null' && lastIndex)) ctx.add('D.7-tool-call-id', `message ${i} (tool): tool_call_id ${JSON.stringify(id)} must be 9 letters or digits`);
      else if (!ids.has(id)) ctx.add('D.7-tool-call-id', `message ${i} (tool): tool_call_id ${JSON.stringify(id)} is not the id of a call in an earlier assistant message`);
      if (prev === 'assistant' || prev === 'tool') {
        if (pendingCalls === 0) ctx.add('D.6-tool-count', `message ${i} (tool): more tool responses than the assistant turn made calls`);
        else pendingCalls--;
      }
    }
  }
  const systems = roles.flatMap((r, i) => (r === 'system' ? [i] : []));
  for (const i of systems) if (i > 0) ctx.add('D.3-system', `message ${i} is system: Mistral allows one system message, only at index 0`);
  const last = roles[roles.length - 1];
  if (last !== undefined && last !== 'assistant') ctx.add('D.3-last-assistant', `the last message is ${last}: Mistral wants the last message to be assistant ("Expected last role Assistant for finetuning")`);
  return { keysReported };
}

/** Mistral tool calls (D.7); returns how many well-formed calls the turn made. */
function checkMistralToolCalls(calls: unknown, i: number, lastIndex: boolean, ctx: RecordContext, ids: Set<string>): number {
  if (!Array.isArray(calls)) {
    ctx.add('D.7-tool-call', `message ${i}: tool_calls must be an array, got ${kind(calls)}`);
    return 0;
  }
  let n = 0;
  for (const [j, c] of calls.entries()) {
    const where = `message ${i} tool_calls[${j}]`;
    if (!isObject(c) || !('id' in c) || !isObject(c.function) || !('name' in c.function) || !('arguments' in c.function)) {
      ctx.add('D.7-tool-call', `${where} needs id and function.{name, arguments}`);
      continue;
    }
    n++;
    const id = c.id;
    if (typeof id !== 'string' || (!MISTRAL_ID.test(id) && !(id === 'null' && lastIndex))) {
      ctx.add('D.7-tool-call-id', `${where}: id ${typeof id === 'string' ? JSON.stringify(id) : kind(id)} must be 9 letters or digits (^[A-Za-z0-9]{9}$)`);
    } else ids.add(id);
    const name = c.function.name;
    if (typeof name !== 'string' || !MISTRAL_NAME.test(name)) ctx.add('D.7-function-name', `${where}: function name ${typeof name === 'string' ? JSON.stringify(name) : kind(name)} must match ^[A-Za-z0-9_-]{1,64}$`);
    const args = c.function.arguments;
    if (typeof args !== 'string') ctx.add('D.7-arguments', `${where}: arguments must be a string (of JSON), got ${kind(args)}`);
    else {
      try {
        JSON.parse(args);
      } catch {
        ctx.add('D.7-arguments', `${where}: arguments is not valid JSON text`);
      }
    }
  }
  return n;
}

function checkMistralTools(tools: unknown, ctx: RecordContext): void {
  if (!Array.isArray(tools)) {
    ctx.add('D.7-tools', `tools must be an array, got ${kind(tools)}`);
    return;
  }
  for (const [j, t] of tools.entries()) {
    const f = isObject(t) ? t.function : undefined;
    if (!isObject(f) || typeof f.name !== 'string' || typeof f.description !== 'string' || !isObject(f.parameters)) {
      ctx.add('D.7-tools', `tools[${j}] needs function.name, function.description and function.parameters (an object; {} when there are none)`);
      continue;
    }
    if (!MISTRAL_NAME.test(f.name)) ctx.add('D.7-function-name', `tools[${j}]: function name ${JSON.stringify(f.name)} must match ^[A-Za-z0-9_-]{1,64}$`);
  }
}

// --- E: MLX-LM completions ---

function checkMlxCompletions(record: Record<string, unknown>, ctx: RecordContext): RecordOutcome {
  const missing = ['prompt', 'completion'].filter((k) => !(k in record));
  // MLX-LM tells the format from the first record's keys, prompt + completion first: other keys,
  // `text` too, are then ignored. Only `messages` beside them breaks the rule (FORMATS.md E.3).
  const clash = ['messages'].filter((k) => k in record);
  let keysReported = false;
  if (missing.length > 0 || clash.length > 0) {
    const parts = [missing.length ? `missing ${list(missing)}` : '', clash.length ? `${list(clash)} beside prompt/completion makes the format ambiguous` : ''];
    ctx.add('E.3-keys', `MLX completions records need prompt and completion: ${parts.filter(Boolean).join('; ')}${textNotRead(record, 'prompt', ctx)}`);
    keysReported = true;
  }
  for (const k of ['prompt', 'completion'] as const) {
    if (!(k in record)) continue;
    const v = record[k];
    if (typeof v !== 'string') ctx.add('E.3-types', `${k} must be a string, got ${kind(v)}`);
    else if (isBlank(v)) ctx.add('A.7-empty-content', `${k} is empty or only whitespace`);
  }
  return { keysReported };
}

// --- F: TRL prompt-completion ---

function checkTrlPromptCompletion(record: Record<string, unknown>, ctx: RecordContext): RecordOutcome {
  let keysReported = false;
  const keys = keyProblem(record, new Set(['prompt', 'completion', 'tools', 'chat_template_kwargs']), ['prompt', 'completion']);
  if (keys) {
    ctx.add('F.1-keys', `top-level keys: ${keys} (TRL prompt-completion reads prompt, completion, tools, chat_template_kwargs)${textNotRead(record, 'prompt', ctx)}`);
    keysReported = true;
  }
  if ('tools' in record) {
    const tools = record.tools;
    if (typeof tools === 'string') {
      const p = jsonArrayText(tools);
      if (p) ctx.add('F.1-tools', `tools is a string that ${p}`);
    } else if (!Array.isArray(tools)) ctx.add('F.1-tools', `tools must be an array or a JSON string, got ${kind(tools)}`);
  }
  if (!('prompt' in record) || !('completion' in record)) return { keysReported };
  const { prompt, completion } = record;
  if (typeof prompt === 'string' && typeof completion === 'string') {
    if (isBlank(prompt)) ctx.add('A.7-empty-content', 'prompt is empty or only whitespace');
    if (isBlank(completion)) ctx.add('A.7-empty-content', 'completion is empty or only whitespace');
    return { keysReported };
  }
  if (!Array.isArray(prompt) || !Array.isArray(completion) || prompt.length === 0 || completion.length === 0) {
    ctx.add('F.1-types', `prompt and completion must both be strings or both non-empty message lists, got ${kind(prompt)} and ${kind(completion)}`);
    return { keysReported };
  }
  const parts = [['prompt', prompt], ['completion', completion]] as const;
  let wellFormed = true;
  for (const [name, msgs] of parts) {
    for (const [i, m] of msgs.entries()) {
      if (!isObject(m) || typeof m.role !== 'string' || typeof m.content !== 'string') {
        ctx.add('F.1-types', `${name}[${i}] must be a {role, content} message with string values`);
        wellFormed = false;
        continue;
      }
      if (!CHAT_ROLES.has(m.role)) {
        ctx.add(SHAREGPT_NAMES[m.role] ? 'F.3-sharegpt-role' : 'F.1-types', roleText(m.role, `${name}[${i}]`, CHAT_ROLES));
        wellFormed = false;
      } else if (isBlank(m.content)) ctx.add('A.7-empty-content', `${name}[${i}]: content is empty or only whitespace`);
    }
  }
  if (!wellFormed) return { keysReported };
  const last = prompt[prompt.length - 1] as Record<string, unknown>;
  if (last.role === 'assistant') ctx.add('F.4-prompt-ends-assistant', 'the conversational prompt ends with an assistant message: the completion should hold it');
  for (const [i, m] of completion.entries()) {
    const role = (m as Record<string, unknown>).role;
    if (role !== 'assistant') ctx.add('F.4-completion-role', `completion[${i}] is ${String(role)}: every completion message must be assistant`);
  }
  return { keysReported };
}

// --- G: ShareGPT ---

function checkShareGpt(record: Record<string, unknown>, ctx: RecordContext): RecordOutcome {
  let keysReported = false;
  const keys = keyProblem(record, new Set(['conversations', 'system', 'tools']), ['conversations']);
  if (keys) {
    ctx.add('G.1-keys', `top-level keys: ${keys} (ShareGPT reads conversations, system, tools)${textNotRead(record, 'conversations', ctx)}`);
    keysReported = true;
  }
  if ('system' in record && typeof record.system !== 'string') ctx.add('G.1-types', `system must be a string, got ${kind(record.system)}`);
  const hasTools = 'tools' in record;
  if (hasTools && typeof record.tools !== 'string') ctx.add('G.1-types', `tools must be a JSON string describing the functions (LLaMA-Factory), got ${kind(record.tools)}`);
  if (!('conversations' in record)) return { keysReported };
  const turns = record.conversations;
  if (!Array.isArray(turns) || turns.length === 0) {
    ctx.add('G.1-conversations', `conversations must be a non-empty array, got ${Array.isArray(turns) ? 'an empty array' : kind(turns)}`);
    return { keysReported };
  }
  const allowed = new Set(['system', 'human', 'gpt']);
  if (hasTools) {
    allowed.add('function_call');
    allowed.add('observation');
  }
  const roles: (string | undefined)[] = [];
  for (const [i, t] of turns.entries()) {
    if (!isObject(t)) {
      ctx.add('G.2-message-keys', `turn ${i} must be an object with keys from and value, got ${kind(t)}`);
      roles.push(undefined);
      continue;
    }
    const keysOfTurn = Object.keys(t);
    if (keysOfTurn.length !== 2 || !('from' in t) || !('value' in t)) {
      ctx.add('G.2-message-keys', `turn ${i} has keys ${list(keysOfTurn)}: it must have exactly "from" and "value" (Unsloth asserts two keys)`);
    }
    const from = t.from;
    if (typeof from !== 'string' || !allowed.has(from)) {
      const fix: Record<string, string> = { user: 'human', assistant: 'gpt' };
      const hint = typeof from === 'string' && fix[from] ? `; write ${JSON.stringify(fix[from])} (--fix does)` : '';
      if ('from' in t) ctx.add('G.3-role', `turn ${i}: from must be one of ${list(allowed)}, got ${typeof from === 'string' ? JSON.stringify(from) : kind(from)}${hint}`);
      roles.push(undefined);
    } else roles.push(from);
    if ('value' in t) {
      if (typeof t.value !== 'string') ctx.add('G.2-value', `turn ${i}: value must be a string, got ${kind(t.value)}`);
      else if (isBlank(t.value)) ctx.add('A.7-empty-content', `turn ${i}: value is empty or only whitespace`);
    }
  }
  if ('system' in record && roles[0] === 'system') ctx.add('G.1-system-both', 'the record has both a system column and a leading system turn: keep one');
  for (const [i, r] of roles.entries()) if (r === 'system' && i > 0) ctx.add('G.4-system-first', `turn ${i} is system: a system turn is allowed only first`);
  if (roles.includes(undefined)) return { keysReported };
  const body = (roles[0] === 'system' ? roles.slice(1) : roles).filter((r) => r !== 'system') as string[];
  const offset = roles[0] === 'system' ? 1 : 0;
  for (const [j, r] of body.entries()) {
    const ok = j % 2 === 0 ? r === 'human' || r === 'observation' : r === 'gpt' || r === 'function_call';
    if (!ok) {
      ctx.add('G.4-alternation', `turn ${j + offset} is ${r}, expected ${j % 2 === 0 ? 'human' : 'gpt'}: turns must alternate human, gpt, human, gpt…`);
      return { keysReported };
    }
  }
  if (body.length < 2 || body.length % 2 === 1) {
    ctx.add('G.4-even-count', body.length < 2 ? 'no human/gpt exchange: at least one human turn and one gpt turn are needed' : `${body.length} non-system turns: the count must be even, ending with gpt (LLaMA-Factory skips the example)`);
  }
  return { keysReported };
}

// --- H: alpaca ---

function checkAlpaca(record: Record<string, unknown>, ctx: RecordContext): RecordOutcome {
  let keysReported = false;
  const keys = keyProblem(record, new Set(['instruction', 'input', 'output', 'system', 'history']), ['instruction', 'output']);
  if (keys) {
    ctx.add('H.1-keys', `alpaca keys: ${keys} (allowed: instruction, input, output, system, history)${textNotRead(record, 'instruction', ctx)}`);
    keysReported = true;
  }
  if (!('input' in record)) {
    ctx.add('H.1-missing-input', 'input is missing: write "input": "" (LLaMA-Factory raises KeyError: \'input\'; --fix adds it)');
    keysReported = true;
  }
  if ('instruction' in record) {
    const v = record.instruction;
    if (typeof v !== 'string') ctx.add('H.1-types', `instruction must be a string, got ${kind(v)}`);
    else if (isBlank(v)) ctx.add('A.7-empty-content', 'instruction is empty or only whitespace');
  }
  if ('input' in record && typeof record.input !== 'string') ctx.add('H.1-types', `input must be a string ("" when unused), got ${kind(record.input)}`);
  if ('output' in record) {
    const v = record.output;
    if (typeof v !== 'string') ctx.add('H.2-output', `output must be a string, got ${kind(v)}: serialise structured answers to text (LLaMA-Factory drops the row)`);
    else if (isBlank(v)) ctx.add('A.7-empty-content', 'output is empty or only whitespace');
  }
  if ('system' in record && typeof record.system !== 'string') ctx.add('H.1-types', `system must be a string, got ${kind(record.system)}`);
  if ('history' in record) {
    const h = record.history;
    const ok = Array.isArray(h) && h.every((p) => Array.isArray(p) && p.length === 2 && typeof p[0] === 'string' && typeof p[1] === 'string');
    if (!ok) ctx.add('H.1-types', 'history must be an array of [query, response] string pairs');
  }
  return { keysReported };
}

// --- text: plain-text records (language modelling, continued pre-training) ---

/** The `text` value: a string (`rule` otherwise), not blank (A.7). */
function checkTextValue(record: Record<string, unknown>, rule: RuleId, ctx: RecordContext): void {
  if (!('text' in record)) return;
  const v = record.text;
  if (typeof v !== 'string') ctx.add(rule, `text must be a string, got ${kind(v)}`);
  else if (isBlank(v)) ctx.add('A.7-empty-content', 'text is empty or only whitespace');
}

/** Together's general format: exactly `{text}` on every line (C.2), `text` a string (C.4). */
function checkTogetherText(record: Record<string, unknown>, ctx: RecordContext): RecordOutcome {
  const keysReported = togetherKeyCheck(record, 'text', ctx);
  checkTextValue(record, 'C.4-types', ctx);
  return { keysReported };
}

/**
 * MLX-LM's TextDataset (E.3): `text` on every line (MLX picks the format from line 1, then reads
 * `text` on each line), a string, and neither `prompt` nor `messages`, which make it another of
 * MLX's formats. Other keys are ignored, as MLX ignores them.
 */
function checkMlxText(record: Record<string, unknown>, ctx: RecordContext): RecordOutcome {
  const clash = ['prompt', 'messages'].filter((k) => k in record);
  let keysReported = false;
  if (!('text' in record) || clash.length > 0) {
    const parts = [
      'text' in record ? '' : 'missing "text" (MLX-LM took the text format from line 1 and reads "text" on every line)',
      clash.length > 0 ? `${list(clash)} beside text: MLX-LM reads prompt/completion and messages lines as its other formats; keep one format per file` : '',
    ];
    ctx.add('E.3-keys', `MLX-LM text records hold "text": ${parts.filter(Boolean).join('; ')}`);
    keysReported = true;
  }
  checkTextValue(record, 'E.3-types', ctx);
  return { keysReported };
}

/**
 * TRL language-modelling rows (F.1), and so Unsloth's: exactly `{text}`. A `prompt` column sends
 * TRL down the prompt-completion path and `messages` down the conversational one.
 */
function checkTrlText(record: Record<string, unknown>, ctx: RecordContext): RecordOutcome {
  let keysReported = false;
  const keys = keyProblem(record, new Set(['text']), ['text']);
  if (keys) {
    const hint =
      'prompt' in record
        ? ': with a prompt column TRL takes the prompt-completion path and ignores text'
        : 'messages' in record
          ? ': with messages TRL takes the conversational path and ignores text'
          : ' (TRL language-modelling rows are {"text": ...}; every line must have the same shape)';
    ctx.add('F.1-keys', `top-level keys: ${keys}${hint}`);
    keysReported = true;
  }
  checkTextValue(record, 'F.1-types', ctx);
  return { keysReported };
}

/**
 * Axolotl (`type: completion`) and torchtune (`text_completion_dataset`): `text` present and a
 * string; other keys are not read (A.5 still asks every line for line 1's keys).
 */
function checkText(record: Record<string, unknown>, ctx: RecordContext): RecordOutcome {
  if (!('text' in record)) {
    ctx.add('F.1-keys', `missing "text": ${ctx.target === 'axolotl' ? 'Axolotl\'s completion type' : "torchtune's text_completion_dataset"} reads the text of each line from it`);
    return { keysReported: true };
  }
  checkTextValue(record, 'F.1-types', ctx);
  return { keysReported: false };
}
