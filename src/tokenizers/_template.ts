/**
 * Chat templates of Hugging Face tokenizers: finding them in a model folder (a `tokenizer_config.json`
 * field, `chat_template.jinja`, `chat_template.json`, named templates) and rendering them with
 * @huggingface/jinja the way transformers renders them with Python's jinja2, where the two differ
 * in ways lora-prep can mend or must report:
 *
 * - `{% break %}` / `{% continue %}`: the library drops the text the loop pass wrote before the
 *   control (it throws out of the pass and the pass's text with it); jinja2 keeps it. The parsed
 *   template is rewritten so that no control is thrown (see {@link rewriteLoopControls}).
 * - `.strip(chars)`, `.lstrip(chars)`, `.rstrip(chars)`: the library ignores the characters and
 *   strips whitespace, and its whitespace (JavaScript's `trim`) is not Python's; so does `| trim`.
 *   Such calls are pointed at lora-prep's own, which strips as Python does (see {@link rewriteStrips}).
 * - A template's own refusal (`raise_exception(...)`) is a row problem; a feature the library lacks
 *   (`"%s" % x`, `|format`, `.count()`) is a job problem, told apart here (see {@link compileTemplate}).
 * - Features rendered differently without an error are named in warnings.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Environment, Template } from '@huggingface/jinja';
import { LoraPrepError } from '../errors.js';
import type { Message } from '../types.js';

/** A chat template's text and where it came from (for the manifest and messages). */
export interface TemplateSource {
  text: string;
  origin: string;
}

/** The templates a model folder gives: the default one, and the one transformers picks for rows with tools. */
export interface ChatTemplates {
  default: TemplateSource;
  /** `tool_use`, which transformers' `get_chat_template` picks when `tools` is given. */
  toolUse?: TemplateSource | undefined;
  /** Whether `default` is the ChatML fallback (the model ships no template). */
  fallback: boolean;
}

/** What {@link readChatTemplates} reads besides the config. */
export interface TemplateFiles {
  /** What the user named, for messages. */
  spec: string;
  /** `chat_template.jinja` or `chat_template.json` beside tokenizer.json, when there is one. */
  chatTemplateFile?: string | undefined;
  /** `additional_chat_templates/tool_use.jinja`, when there is one. */
  toolTemplateFile?: string | undefined;
}

/** ChatML, the fallback Axolotl applies (`tokenizer_default_fallback_chatml`) for a model without a template. */
export const CHATML =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

/** The origin given for the ChatML fallback (`prepare` warns on this prefix). */
export const CHATML_ORIGIN = 'ChatML fallback (the model ships no chat_template)';

/**
 * The chat templates of a model folder, in transformers' order: `tokenizer_config.json`'s
 * `chat_template` (a string, or a list of `{name, template}`), then a `chat_template.json`
 * (processors' legacy file), then `chat_template.jinja` as the default template, and
 * `additional_chat_templates/tool_use.jinja` as the `tool_use` one. A template file that cannot be
 * read or parsed as JSON is a job problem that names the file.
 *
 * @example
 * readChatTemplates({ spec: 'models/m', chatTemplateFile: 'models/m/chat_template.jinja' }, config)
 */
export function readChatTemplates(files: TemplateFiles, config: Record<string, unknown>): ChatTemplates {
  const named = new Map<string, TemplateSource>();
  addTemplates(named, config.chat_template, 'tokenizer_config.json', files.spec);
  const file = files.chatTemplateFile;
  if (file?.endsWith('.json')) {
    const parsed = readTemplateJson(file, files.spec);
    addTemplates(named, parsed.chat_template, file, files.spec);
  } else if (file) {
    named.set('default', { text: readTemplateFile(file, files.spec), origin: file });
  }
  if (files.toolTemplateFile) named.set('tool_use', { text: readTemplateFile(files.toolTemplateFile, files.spec), origin: files.toolTemplateFile });
  // transformers raises for rows without tools when several templates have no `default`; lora-prep
  // counts with the first, as it always did, and says which in the origin.
  const first = named.values().next().value as TemplateSource | undefined;
  const base = named.get('default') ?? first;
  if (!base) return { default: { text: CHATML, origin: CHATML_ORIGIN }, fallback: true };
  const toolUse = named.get('tool_use');
  return { default: base, toolUse: toolUse === base ? undefined : toolUse, fallback: false };
}

/**
 * Where the templates came from, in one line for the manifest: `tokenizer_config.json`,
 * `tokenizer_config.json (default); for rows with tools: tokenizer_config.json (tool_use)`, a file path, or
 * the ChatML fallback.
 *
 * @example
 * templatesOrigin(readChatTemplates(files, config)) // 'tokenizer_config.json (default); for rows with tools: tokenizer_config.json (tool_use)'
 */
export function templatesOrigin(t: ChatTemplates): string {
  return t.toolUse ? `${t.default.origin}; for rows with tools: ${t.toolUse.origin}` : t.default.origin;
}

/** A chat template refused a conversation (a row problem, not a job problem). */
export class TemplateError extends Error {
  override readonly name = 'TemplateError';
  /** True when the template refused on purpose (`raise_exception`), false when rendering failed otherwise. */
  readonly refused: boolean;

  constructor(message: string, options: { refused?: boolean } = {}) {
    super(message);
    this.refused = options.refused ?? true;
  }
}

/** A chat template parsed, rewritten where the renderer differs from jinja2, ready to render. */
export interface CompiledTemplate {
  /**
   * Renders the variables (an object made for this render: one is added to it); a refusal or
   * row-level failure throws {@link TemplateError}, a renderer limitation `LoraPrepError`.
   */
  render(variables: Record<string, unknown>): string;
  /** Things about this template that may make counts differ from the trainer's (said once per run). */
  warnings: string[];
}

/**
 * Parses a chat template and prepares it for rendering as transformers renders it (see the file's
 * comment). A template that does not parse is a job problem.
 *
 * @example
 * const t = compileTemplate({ text: '{% for m in messages %}{{ m.content }}{% endfor %}', origin: 'x' }, 'models/m');
 * t.render({ messages: [{ role: 'user', content: 'Hi' }] }) // 'Hi'
 */
export function compileTemplate(source: TemplateSource, spec: string): CompiledTemplate {
  let template: Template;
  try {
    template = new Template(source.text);
  } catch (e) {
    throw new LoraPrepError('TOKENIZER_UNAVAILABLE', `tokenizer: the chat template of ${spec} (${source.origin}) does not parse: ${(e as Error).message}`, { cause: e });
  }
  const program = template.parsed as unknown as Node;
  const warnings: string[] = [];
  const raiseRenamed = renameRaise(program);
  const controls = rewriteLoopControls(program);
  if (controls.leftover) {
    warnings.push(
      `the chat template of ${spec} (${source.origin}) uses {% break %} or {% continue %} directly inside a {% set %}, {% filter %} or {% call %} block, in a macro outside its own loops, or outside any loop: ` +
        "lora-prep's renderer (@huggingface/jinja) drops the text that loop pass wrote before it, so rows that reach it may count fewer tokens than the trainer renders",
    );
  }
  const stripsRewritten = rewriteStrips(program);
  let unsupportedCalls: string[] | undefined;
  return {
    warnings,
    render(variables) {
      try {
        // The caller's object, made for this render: one more variable is cheaper than a copy.
        if (raiseRenamed) variables[RAISE] = raise;
        if (stripsRewritten) variables[STRIP] = pythonStrip;
        return template.render(variables);
      } catch (e) {
        if (e instanceof TemplateRefusal) throw new TemplateError(e.message, { refused: true });
        unsupportedCalls ??= unsupportedCallNames(program);
        const feature = unsupportedFeature(e as Error, unsupportedCalls);
        if (feature === undefined) throw new TemplateError((e as Error).message, { refused: false });
        throw new LoraPrepError(
          'TOKENIZER_UNAVAILABLE',
          `tokenizer ${spec}: the chat template (${source.origin}) uses ${feature}, which lora-prep's template renderer (@huggingface/jinja) does not support ` +
            `(${(e as Error).message}), so rows cannot be counted as the trainer renders them; the rows are not at fault. ` +
            'Use a copy of the model folder whose template avoids it (in chat_template.jinja or tokenizer_config.json), or another tokenizer.',
          { cause: e },
        );
      }
    },
  };
}

/**
 * Renders the smallest conversation every row contains (a user turn and its answer, and the prompt
 * before it), so that a template the renderer cannot render fails when the tokenizer loads rather
 * than at the first row. Refusals and other row-level failures are left to the rows.
 *
 * @example
 * probeTemplate(compiled, { bos_token: '<s>', eos_token: '</s>' })
 */
export function probeTemplate(template: CompiledTemplate, variables: Record<string, unknown>): void {
  const user = { role: 'user', content: 'What is a bond?' };
  const assistant = { role: 'assistant', content: 'A loan to the issuer.' };
  for (const [messages, addGenerationPrompt] of [[[user, assistant], false], [[user], true]] as const) {
    try {
      template.render({ ...variables, messages, add_generation_prompt: addGenerationPrompt });
    } catch (e) {
      if (!(e instanceof TemplateError)) throw e;
    }
  }
}

/**
 * A warning where the template renders a prompt that the whole example does not begin with, or
 * undefined. Trainers mask the prompt as it renders alone: the history before the final answer with
 * the generation prompt (MLX-LM's `mask_prompt` offset, TRL's prompt part), which must then begin
 * the full render. Mistral's templates put the system prompt only into a user turn that ends the
 * conversation (`loop.last`): rendered for training, an example ends with its answer and has no
 * system prompt at all, while the prompt alone has it and is longer than the whole example.
 * Checked on a system prompt, a question and its answer when the tokenizer loads; a template that
 * fails on them (one that refuses a system turn) is left to the rows.
 *
 * @example
 * promptPrefixWarning((messages, gen) => template.render({ messages, add_generation_prompt: gen }), 'models/m (tokenizer_config.json)')
 */
export function promptPrefixWarning(render: (messages: Message[], addGenerationPrompt: boolean) => string, what: string): string | undefined {
  const system: Message = { role: 'system', content: 'Answer in one sentence.' };
  const user: Message = { role: 'user', content: 'What is a bond?' };
  const assistant: Message = { role: 'assistant', content: 'A loan to the issuer.' };
  let full: string;
  let prompt: string;
  try {
    full = render([system, user, assistant], false);
    prompt = render([system, user], true);
  } catch {
    return undefined;
  }
  if (full.startsWith(prompt)) return undefined;
  if (prompt.includes(system.content) && !full.includes(system.content)) {
    return (
      `the chat template of ${what} renders the system prompt only before a user turn that ends the conversation, not in training examples ` +
      '(they end with the answer): the trainer never sees the system prompt, and the prompt rendered alone for masking (the history with the generation prompt) ' +
      'is longer than the whole example, so prompt and trainable token counts are off (MLX-LM\'s --mask-prompt masks the whole example). ' +
      'Put the system text into the first user turn, or use a copy of the model folder whose template renders the system prompt in every conversation'
    );
  }
  let at = 0;
  while (at < prompt.length && prompt.charCodeAt(at) === full.charCodeAt(at)) at++;
  const from = (text: string): string => JSON.stringify(text.slice(at, at + 30));
  return (
    `the chat template of ${what} renders the prompt alone (the history with the generation prompt, what trainers mask) as text the whole example does not begin with ` +
    `(after ${at} characters the prompt goes on with ${from(prompt)}, the example with ${from(full)}): prompt and trainable token counts are off, ` +
    'and trainers that mask the prompt by its length (MLX-LM\'s --mask-prompt) mask part of the answer or train part of the prompt. Check the template\'s generation prompt against the answers it renders'
  );
}

// --- internal ---

/** A node of the parsed template, as the interpreter reads it: `type` and its fields. */
interface Node {
  type: string;
  [field: string]: unknown;
}

/** The name `raise_exception(...)` calls are given, so that lora-prep's own function answers them. */
const RAISE = '__lora_prep_raise_exception';

/** What lora-prep's `raise_exception` throws: the template refused the conversation. */
class TemplateRefusal extends Error {}

const raise = (message: unknown): never => {
  throw new TemplateRefusal(String(message));
};

/**
 * Points every `raise_exception(...)` call at {@link RAISE}: the library's own `raise_exception`
 * throws a plain Error, like every failure of its own, so a refusal could not be told from a
 * feature it lacks. Not done where the template defines a `raise_exception` of its own.
 */
function renameRaise(program: Node): boolean {
  const found: Node[] = [];
  for (const node of walk(program)) {
    if ((node.type === 'Macro' && (node.name as Node | undefined)?.value === 'raise_exception') || (node.type === 'Set' && (node.assignee as Node | undefined)?.value === 'raise_exception')) return false;
    if (node.type === 'CallExpression' && (node.callee as Node).type === 'Identifier' && (node.callee as Node).value === 'raise_exception') found.push(node);
  }
  for (const call of found) call.callee = clone(call.callee as Node, { value: RAISE });
  return found.length > 0;
}

/** The name the strips of a template are pointed at, so that lora-prep's own function answers them. */
const STRIP = '__lora_prep_strip';

/** The string methods that strip, as Python names them. */
const STRIP_METHODS = new Set(['strip', 'lstrip', 'rstrip']);

/**
 * Points every `.strip(...)`, `.lstrip(...)`, `.rstrip(...)` call, `| trim` filter and
 * `{% filter trim %}` block at {@link STRIP} (`x.lstrip('\n')` becomes `STRIP('lstrip', x, '\n')`,
 * a block is rendered into a variable first). The library ignores the characters to strip and
 * strips JavaScript's whitespace (U+FEFF, not U+001C-U+001F or U+0085); transformers' jinja2 calls
 * Python's `str.strip`. Qwen 3's template strips a reasoning's newlines only
 * (`.rstrip('\n')`): stripping all whitespace, the library dropped the reasoning's trailing
 * spaces and counted less than the trainer sees. Returns whether the template has any.
 */
function rewriteStrips(program: Node): boolean {
  const make = stripNodes();
  const replaced = new Map<Node, Node>();
  const replace = (node: Node): Node => {
    let out = replaced.get(node);
    if (out === undefined) {
      out = node;
      // Memoised before the arguments are rewritten; a node is never its own argument.
      replaced.set(node, out);
      const call = stripCall(node);
      if (call) {
        const args = call.args.map(replace);
        out = call.block ? make.block(call.block, args) : make.call(call.kind, args);
        replaced.set(node, out);
      }
    }
    return out;
  };
  let rewritten = false;
  // The tree is a graph (the loop-control rewrite shares nodes): every parent's fields are mapped.
  for (const node of [...walk(program)]) {
    for (const [key, value] of Object.entries(node)) {
      if (Array.isArray(value)) {
        for (const [i, item] of value.entries()) if (isNode(item)) value[i] = replace(item);
      } else if (value instanceof Map) {
        const entries = [...(value as Map<unknown, unknown>)].map(([k, v]) => [isNode(k) ? replace(k) : k, isNode(v) ? replace(v) : v] as const);
        value.clear();
        for (const [k, v] of entries) value.set(k, v);
      } else if (isNode(value)) {
        node[key] = replace(value);
      }
    }
  }
  for (const [node, out] of replaced) if (node !== out) rewritten = true;
  return rewritten;
}

/**
 * What a strip of the template strips: the kind (`strip`, `lstrip`, `rstrip`, `trim`), the value
 * and the arguments given, and for a `{% filter trim %}` block, its body.
 */
function stripCall(node: Node): { kind: string; args: Node[]; block?: Node[] } | undefined {
  if (node.type === 'CallExpression') {
    const callee = node.callee as Node;
    const property = callee.property as Node | undefined;
    if (callee.type === 'MemberExpression' && !callee.computed && property?.type === 'Identifier' && STRIP_METHODS.has(String(property.value))) {
      return { kind: String(property.value), args: [callee.object as Node, ...(node.args as Node[])] };
    }
    return undefined;
  }
  if (node.type !== 'FilterExpression' && node.type !== 'FilterStatement') return undefined;
  const filter = node.filter as Node;
  const callee = filter.type === 'CallExpression' ? (filter.callee as Node) : filter;
  if (callee.type !== 'Identifier' || callee.value !== 'trim') return undefined;
  const args = filter.type === 'CallExpression' ? (filter.args as Node[]) : [];
  return node.type === 'FilterExpression' ? { kind: 'trim', args: [node.operand as Node, ...args] } : { kind: 'trim', args, block: node.body as Node[] };
}

function isNode(x: unknown): x is Node {
  return x !== null && typeof x === 'object' && typeof (x as Node).type === 'string';
}

/**
 * The nodes a strip is rewritten into, made from ones the library parsed (so that they have its
 * shapes): `STRIP('kind', ...args)`, and for a filter block
 * `{% if true %}{% set block %}...{% endset %}{{ STRIP('trim', block, ...args) }}{% endif %}`.
 */
function stripNodes(): { call(kind: string, args: Node[]): Node; block(body: Node[], args: Node[]): Node } {
  const BLOCK = '__lora_prep_filtered';
  const parsed = new Template(`{% if true %}{% set ${BLOCK} %}{% endset %}{{ ${STRIP}('trim', ${BLOCK}) }}{% endif %}`).parsed;
  const [ifTrue] = parsed.body as unknown as Node[];
  const [set, call] = (ifTrue?.body ?? []) as Node[];
  const [kind, block] = (call?.args ?? []) as Node[];
  if (ifTrue?.type !== 'If' || set?.type !== 'Set' || call?.type !== 'CallExpression' || kind?.type !== 'StringLiteral' || block?.type !== 'Identifier') {
    throw new Error('@huggingface/jinja parsed the strip call unexpectedly');
  }
  const makeCall = (name: string, args: Node[]): Node => clone(call, { args: [clone(kind, { value: name }), ...args] });
  return {
    call: makeCall,
    block: (body, args) => clone(ifTrue, { body: [clone(set, { body }), makeCall('trim', [block, ...args])], alternate: [] }),
  };
}

/**
 * Python's `str.strip`, `lstrip`, `rstrip` and jinja2's `trim` filter, as the rewritten template
 * calls them (values as the library passes them to a function: strings as they are, keyword
 * arguments as a Map of its values). Each character of `chars` is stripped; none, or `None`, is
 * whitespace as Python's `str.isspace` defines it. What Python refuses, this throws for (the row
 * is reported as the template failing on it, as transformers would fail).
 */
function pythonStrip(kind: string, value: unknown, ...args: unknown[]): string {
  let chars: unknown;
  if (kind === 'trim') {
    // jinja2's do_trim(value, chars=None): soft_str(value).strip(chars).
    const keywords = args.at(-1) instanceof Map ? (args.pop() as Map<string, { value?: unknown }>) : undefined;
    chars = args.length > 0 ? args[0] : keywords?.get('chars')?.value;
    if (args.length > 1 || (keywords && [...keywords.keys()].some((k) => k !== 'chars' || args.length > 0))) throw new Error('trim() takes at most one argument, chars');
    value = trimmedText(value);
  } else {
    if (typeof value !== 'string') throw new Error(`${pythonType(value)} has no method .${kind}()`);
    if (args.some((a) => a instanceof Map)) throw new Error(`str.${kind}() takes no keyword arguments`);
    if (args.length > 1) throw new Error(`str.${kind}() takes at most 1 argument (${args.length} given)`);
    chars = args[0];
  }
  if (chars !== undefined && chars !== null && typeof chars !== 'string') throw new Error(`${kind} arg must be None or str, not ${pythonType(chars)}`);
  // Python's string is a sequence of code points: a character outside the BMP is one, in `chars` too.
  const strips = chars === undefined || chars === null ? isPythonSpace : codePointSet(chars);
  const text = value as string;
  let start = 0;
  let end = text.length;
  if (kind !== 'rstrip') {
    while (start < end) {
      const c = text.codePointAt(start) as number;
      if (!strips(c)) break;
      start += c > 0xffff ? 2 : 1;
    }
  }
  if (kind !== 'lstrip') {
    while (end > start) {
      const low = text.charCodeAt(end - 1);
      const pair = low >= 0xdc00 && low <= 0xdfff && end - 2 >= start && (text.charCodeAt(end - 2) & 0xfc00) === 0xd800;
      const c = pair ? (text.codePointAt(end - 2) as number) : low;
      if (!strips(c)) break;
      end -= pair ? 2 : 1;
    }
  }
  return text.slice(start, end);
}

/** The text jinja2's `trim` strips: Python's `str()` of the value, for the values it is the same here. */
function trimmedText(value: unknown): string {
  if (typeof value === 'string') return value;
  // jinja2's Undefined is '' as text; None and the booleans as Python writes them.
  if (value === undefined) return '';
  if (value === null) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  // A number's text depends on whether it was an int or a float, which the call does not show.
  throw new Error(`lora-prep's renderer cannot apply the filter "trim" to ${pythonType(value)}`);
}

function pythonType(value: unknown): string {
  if (typeof value === 'number') return 'a number';
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Map) return 'a mapping';
  if (value === undefined) return 'an undefined value';
  if (value === null) return 'None';
  return `a ${typeof value}`;
}

function codePointSet(chars: string): (c: number) => boolean {
  if (chars.length === 1) {
    const only = chars.charCodeAt(0);
    return (c) => c === only;
  }
  const set = new Set<number>();
  for (const ch of chars) set.add(ch.codePointAt(0) as number);
  return (c) => set.has(c);
}

/** Python's whitespace (`str.isspace`, what `str.strip()` strips): JavaScript's less U+FEFF, with U+001C-U+001F and U+0085. */
function isPythonSpace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f);
  if (c < 0x85) return false;
  return c === 0x85 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000;
}

/** The lists of statements a statement holds (`if` branches, loop bodies, macro and block bodies). */
const BLOCKS = ['body', 'alternate', 'defaultBlock'] as const;

/**
 * Rewrites `{% break %}` and `{% continue %}` out of every loop body where they sit in the body
 * itself or in its `{% if %}` branches. The library throws out of the loop pass at a control and
 * drops the text the pass wrote before it (its `evaluateBlock` collects a pass's text in a local
 * that the throw leaves behind); jinja2 keeps it. Rewritten, no control is thrown:
 *
 * - `continue`: what follows it in the body runs only on the paths that do not reach it (the rest
 *   of the body after an `{% if %}` that holds a control is moved into both branches; the nodes are
 *   shared, not copied).
 * - `break`: the same, and it sets a flag in a `namespace` made just before the loop; the whole
 *   body is guarded by `{% if not flag %}`, so the passes after it write nothing.
 * - the loop's `else`, which jinja2 runs when no pass reached the end of the body (none, or each
 *   ended at a control), moves after the loop, guarded by a flag each pass that ends sets.
 *
 * Returns whether any control is left where this cannot reach it (directly in a `{% set %}`,
 * `{% filter %}` or `{% call %}` block, in a macro outside its own loops, or outside any loop).
 */
function rewriteLoopControls(program: Node): { leftover: boolean } {
  let flags = 0;
  const rewriteList = (list: Node[]): Node[] => {
    const out: Node[] = [];
    for (const statement of list) {
      for (const key of BLOCKS) {
        const block = statement[key];
        if (Array.isArray(block)) statement[key] = rewriteList(block as Node[]);
      }
      if (statement.type === 'For' && hasControl(statement.body as Node[], CONTROLS)) {
        const body = statement.body as Node[];
        const otherwise = (statement.defaultBlock as Node[] | undefined) ?? [];
        const breaks = hasControl(body, BREAK);
        if (!breaks && otherwise.length === 0) {
          statement.body = withoutControls(body, [], undefined);
        } else {
          const flag = flagNodes(`__lora_prep_loop_${flags++}`);
          // jinja2 runs a loop's `else` when no pass reached the end of the body.
          const rewritten = withoutControls(body, otherwise.length > 0 ? [flag.setCompleted] : [], flag.setDone);
          statement.body = breaks ? [clone(flag.ifNotDone, { body: rewritten, alternate: [] })] : rewritten;
          statement.defaultBlock = [];
          out.push(flag.init, statement);
          if (otherwise.length > 0) out.push(clone(flag.ifNotCompleted, { body: otherwise, alternate: [] }));
          continue;
        }
      }
      out.push(statement);
    }
    return out;
  };
  program.body = rewriteList(program.body as Node[]);
  for (const node of walk(program)) if (CONTROLS.has(node.type)) return { leftover: true };
  return { leftover: false };
}

const CONTROLS = new Set(['Break', 'Continue']);
const BREAK = new Set(['Break']);

/** Whether a control of `kinds` sits in `list` or in its `{% if %}` branches (not in nested loops). */
function hasControl(list: Node[], kinds: ReadonlySet<string>): boolean {
  return list.some((s) => kinds.has(s.type) || (s.type === 'If' && (hasControl(s.body as Node[], kinds) || hasControl(s.alternate as Node[], kinds))));
}

/**
 * `list` followed by `next`, with its controls taken out: a `continue` ends the path (and what
 * follows it is not run), a `break` sets the loop's flag and ends the path.
 */
function withoutControls(list: Node[], next: Node[], setFlag: Node | undefined): Node[] {
  for (let i = 0; i < list.length; i++) {
    const s = list[i] as Node;
    if (s.type === 'Continue') return list.slice(0, i);
    if (s.type === 'Break') return [...list.slice(0, i), setFlag as Node];
    if (s.type === 'If' && hasControl([s], CONTROLS)) {
      const rest = withoutControls(list.slice(i + 1), next, setFlag);
      const branches = { body: withoutControls(s.body as Node[], rest, setFlag), alternate: withoutControls(s.alternate as Node[], rest, setFlag) };
      return [...list.slice(0, i), clone(s, branches)];
    }
  }
  return next.length === 0 ? list : [...list, ...next];
}

/**
 * The nodes of a loop's flags, parsed by the library itself so that they have its shapes: the
 * namespace made before the loop, the guard around the body (`not done`), the assignment a
 * `break` becomes, the one at the end of a pass that reaches it, and the guard of the loop's
 * `else` (`not completed`).
 */
function flagNodes(name: string): { init: Node; ifNotDone: Node; setDone: Node; setCompleted: Node; ifNotCompleted: Node } {
  const parsed = new Template(
    `{% set ${name} = namespace(done=false, completed=false) %}{% if not ${name}.done %}{% endif %}{% set ${name}.done = true %}` +
      `{% set ${name}.completed = true %}{% if not ${name}.completed %}{% endif %}`,
  ).parsed;
  const [init, ifNotDone, setDone, setCompleted, ifNotCompleted] = parsed.body as unknown as Node[];
  if (init?.type !== 'Set' || ifNotDone?.type !== 'If' || setDone?.type !== 'Set' || setCompleted?.type !== 'Set' || ifNotCompleted?.type !== 'If') {
    throw new Error('@huggingface/jinja parsed the loop flags unexpectedly');
  }
  return { init, ifNotDone, setDone, setCompleted, ifNotCompleted };
}

/** A copy of a node (its class kept) with some fields replaced. */
function clone(node: Node, fields: Record<string, unknown>): Node {
  return Object.assign(Object.create(Object.getPrototypeOf(node) as object) as Node, node, fields);
}

/**
 * Every node under `root`, itself included (fields that are nodes or lists of nodes), each once:
 * the loop-control rewrite shares the rest of a loop body between the branches of an `if`, so the
 * tree is a graph, walked path by path it would take time exponential in the number of controls.
 */
function* walk(root: Node): Generator<Node> {
  const stack: unknown[] = [root];
  const seen = new WeakSet<object>();
  while (stack.length > 0) {
    const x = stack.pop();
    if (x === null || typeof x !== 'object' || seen.has(x)) continue;
    seen.add(x);
    if (Array.isArray(x)) {
      for (const item of x) stack.push(item);
    } else if (x instanceof Map) {
      // A dict literal's entries (`{'a': x.strip()}`).
      for (const [key, value] of x) stack.push(key, value);
    } else if (x !== null && typeof x === 'object' && typeof (x as Node).type === 'string') {
      yield x as Node;
      for (const value of Object.values(x)) if (value !== null && typeof value === 'object') stack.push(value);
    }
  }
}

/** The method and function calls of a template: `.name(...)` (member) or `name(...)` (identifier). */
function* calls(program: Node): Generator<{ kind: 'method' | 'function'; name: string; args: number }> {
  for (const node of walk(program)) {
    if (node.type !== 'CallExpression') continue;
    const callee = node.callee as Node;
    const args = (node.args as unknown[]).length;
    if (callee.type === 'Identifier') yield { kind: 'function', name: String(callee.value), args };
    else if (callee.type === 'MemberExpression' && !callee.computed && (callee.property as Node).type === 'Identifier') {
      yield { kind: 'method', name: String((callee.property as Node).value), args };
    }
  }
}

/** Names a template may call as functions without defining them: the library's globals, lora-prep's own, and the caller of a call block. */
const GLOBAL_FUNCTIONS = new Set(['range', 'namespace', 'strftime_now', 'raise_exception', RAISE, STRIP, 'caller']);

/** jinja2's global functions (the library has `range` and `namespace` of them). */
const JINJA2_GLOBALS = new Set(['dict', 'lipsum', 'cycler', 'joiner']);

/**
 * The calls of a template that can only fail with this library: methods no value of the library
 * has (`.count()`, `.find()`, `.format()`; the library's own are read from its values, so a
 * release that adds one is followed), and functions neither the template nor the library defines
 * (`dict()`, `cycler()`, or the template's own mistake).
 */
function unsupportedCallNames(program: Node): string[] {
  const methods = libraryMethods();
  const defined = new Set(GLOBAL_FUNCTIONS);
  const name = (n: Node | undefined): void => {
    if (n?.type === 'Identifier') defined.add(String(n.value));
    else if (n?.type === 'KeywordArgumentExpression') name(n.key as Node);
    else if (n?.type === 'TupleLiteral') for (const item of n.value as Node[]) name(item);
  };
  // Names the template binds (macros and their parameters, variables, loop variables) may hold a callable.
  for (const node of walk(program)) {
    if (node.type === 'Macro') [node.name as Node, ...(node.args as Node[])].forEach(name);
    if (node.type === 'Set') name(node.assignee as Node);
    if (node.type === 'For') name(node.loopvar as Node);
  }
  const names = new Set<string>();
  for (const c of calls(program)) {
    if (c.kind === 'method' && !methods.has(c.name)) names.add(`the method .${c.name}()`);
    if (c.kind === 'function' && !defined.has(c.name)) names.add(JINJA2_GLOBALS.has(c.name) ? `jinja2's function ${c.name}()` : `the function ${c.name}() (defined nowhere: transformers fails on it too)`);
  }
  return [...names];
}

/** The methods the library's strings, lists and mappings have. */
function libraryMethods(): Set<string> {
  const env = new Environment();
  const methods = new Set<string>();
  for (const [i, value] of (['', [], {}] as unknown[]).entries()) {
    const builtins = (env.set(`v${i}`, value) as unknown as { builtins?: Map<string, { type?: string }> }).builtins;
    for (const [name, v] of builtins ?? []) if (v.type === 'FunctionValue') methods.add(name);
  }
  return methods;
}

const VALUE_NAMES: Record<string, string> = { String: 'a string', Array: 'a list', Object: 'a mapping', Numeric: 'a number', Boolean: 'a boolean' };

/**
 * The feature the library lacks that a render error shows, named for the user, or undefined where
 * the error may be the row's (a field the row lacks, a list where text was expected, as jinja2
 * would fail too).
 */
function unsupportedFeature(e: Error, unsupportedCalls: readonly string[]): string | undefined {
  const message = e.message ?? '';
  let m = /^Unknown (\w+?)Value filter: (\w+)/.exec(message);
  if (m) return `the filter "${m[2]}" on ${VALUE_NAMES[m[1] as string] ?? 'a value'}`;
  if (/^Unknown filter: /.test(message)) return 'a filter written as the renderer does not read it';
  m = /^Unknown test: (\w+)/.exec(message);
  if (m) return `the test "is ${m[1]}"`;
  if (/^Unknown operator "%" between StringValue/.test(message)) return 'Python\'s "%" string formatting ("%s" % value)';
  if (/^Expected iterable or object type in for loop: got StringValue/.test(message)) return 'a for loop over the characters of a string';
  // jinja2 loops zero times over an undefined value (a field the message lacks); the library throws.
  if (/^Expected iterable or object type in for loop: got UndefinedValue/.test(message)) return 'a for loop over an undefined value (jinja2 loops zero times)';
  if (/^Cannot call something that is not a function/.test(message) && unsupportedCalls.length > 0) return unsupportedCalls.join(', ');
  return undefined;
}

function readTemplateFile(path: string, spec: string): string {
  if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) {
    throw new LoraPrepError(
      'TOKENIZER_UNAVAILABLE',
      `tokenizer ${spec}: ${path} is a folder, not a file: a chat template there must be a file of Jinja text. Remove or rename the folder ` +
        `(the template in ${basename(path) === 'tool_use.jinja' ? 'tokenizer_config.json or chat_template.jinja' : 'tokenizer_config.json'} is used then), or put the template file there.`,
    );
  }
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new LoraPrepError('TOKENIZER_UNAVAILABLE', `tokenizer ${spec}: cannot read the chat template ${path}: ${(e as Error).message}. Check its permissions, or remove it.`, { cause: e });
  }
}

function readTemplateJson(path: string, spec: string): { chat_template?: unknown } {
  const text = readTemplateFile(path, spec);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new LoraPrepError(
      'TOKENIZER_UNAVAILABLE',
      `tokenizer ${spec}: ${path} is not valid JSON (${(e as Error).message}): fix it (it holds {"chat_template": "..."}), or remove it to use the template in tokenizer_config.json.`,
      { cause: e },
    );
  }
  return parsed !== null && typeof parsed === 'object' ? (parsed as { chat_template?: unknown }) : {};
}

/** Adds the templates of a `chat_template` field: a string (the default) or a list of `{name, template}`. */
function addTemplates(named: Map<string, TemplateSource>, value: unknown, origin: string, spec: string): void {
  if (typeof value === 'string') {
    named.set('default', { text: value, origin });
    return;
  }
  if (!Array.isArray(value)) return;
  for (const entry of value) {
    const { name, template } = (entry ?? {}) as { name?: unknown; template?: unknown };
    if (typeof name !== 'string' || typeof template !== 'string') {
      throw new LoraPrepError(
        'TOKENIZER_UNAVAILABLE',
        `tokenizer ${spec}: the chat_template list in ${origin} has an entry that is not {"name": "...", "template": "..."}: got ${JSON.stringify(entry)?.slice(0, 80)}. Fix or remove that entry.`,
      );
    }
    named.set(name, { text: template, origin: `${origin} (${name})` });
  }
}

/**
 * `additional_chat_templates/tool_use.jinja` in a model folder, where transformers keeps named
 * templates other than the default one.
 *
 * @example
 * toolTemplateFile('models/m') // 'models/m/additional_chat_templates/tool_use.jinja' or undefined
 */
export function toolTemplateFile(dir: string): string | undefined {
  const path = join(dir, 'additional_chat_templates', 'tool_use.jinja');
  return existsSync(path) ? path : undefined;
}
