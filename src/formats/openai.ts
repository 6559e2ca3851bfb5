/** `{"messages":[...]}`: OpenAI, Together, Mistral, MLX-LM, TRL, Axolotl, Unsloth and torchtune chat. */
import type { RecordResult, RecordSource } from './index.js';
import { firstProblem, type Rule } from './_rules.js';
import { argumentsObject, parametersAsText, toolDefinitions } from './_tools.js';

/** How a target treats per-message `weight`. */
export type WeightSupport = 'assistant' | 'any' | 'none';

/**
 * How a target takes tool calls, `tool` messages and `tools`:
 * - `callOnlyContent`: an assistant turn that only calls tools has no `content` (`'omit'`: OpenAI,
 *   Mistral, whose schemas allow it) or `""` (`'empty'`: Arrow readers need one type per column);
 * - `arguments`: the JSON text of the input, as it is (`'text'`), or an object (`'object'`, the
 *   Hugging Face chat-template convention, for MLX-LM, which reads each line with `json.loads`);
 * - `tools`: an array as OpenAI writes it (`'array'`), an array whose `parameters` are JSON text
 *   (`'parameters-text'`: Axolotl `json.loads` them), or the whole list as JSON text (`'text'`:
 *   TRL `json.loads` it), so that no parameter schema gives an Arrow column two types;
 * - `mistral`: Mistral's ids, names, tool-definition and tool-message rules.
 */
export interface ToolSupport {
  callOnlyContent: 'omit' | 'empty';
  arguments: 'text' | 'object';
  tools: 'array' | 'parameters-text' | 'text';
  mistral?: boolean | undefined;
}

/** Settings of a messages writer. */
export interface MessagesOptions {
  /** Target name, for messages. */
  target: string;
  /** Where `weight` may appear: OpenAI and Mistral on assistant turns, Together on any; others not at all. */
  weights: WeightSupport;
  /** Conversation rules the trainer enforces. */
  rules?: readonly Rule[] | undefined;
  /** Tool calls, `tool` messages and `tools`; unset: the target takes none. */
  tools?: ToolSupport | undefined;
  /** Whether messages may carry `name` (OpenAI's participant name); false for Together, which has no such key. Default true. */
  names?: boolean | undefined;
  /**
   * Which assistant turns the trainer trains, run as its glue runs it: `'all'` (default), or
   * `'last'`, the last message only (MLX-LM with `--mask-prompt`): a `weight: 0` on an earlier turn
   * then says what the trainer does anyway, and is dropped, not a reason to reject the row.
   */
  trains?: 'all' | 'last' | undefined;
}

/**
 * A `{"messages":[{role, content, name?, weight?}]}` builder for one target. A conversation that
 * breaks a rule of the target, or that marks an assistant turn untrained (`weight: 0`) for a
 * trainer that would train on it anyway, is rejected as `unsupported_shape`. `weight: 1` is the
 * default meaning and is written only where the target reads weights; a weight on a turn the
 * trainer never trains (system, user, tool) is dropped where the target has no place for it.
 * `name` is dropped where the target has no such key (Together; tool messages everywhere).
 *
 * @example
 * messagesRecord({ target: 'openai', weights: 'assistant' })(example) // { ok: true, record: { messages: [...] } }
 */
export function messagesRecord(options: MessagesOptions): (example: RecordSource) => RecordResult {
  const reject = (message: string): RecordResult => ({ ok: false, reason: 'unsupported_shape', message: `${options.target}: ${message}` });
  return (example) => {
    const tools = options.tools;
    // Tool support first: a tool conversation breaks other rules only because it has tool turns.
    const usesTools = example.tools !== undefined || example.messages.some((m) => m.tool_calls || m.role === 'tool');
    if (usesTools && !tools) {
      return { ok: false, reason: 'unsupported_shape', message: `${options.target} takes no tool calls, tool messages or tools` };
    }
    const problem = firstProblem(example.messages, options.rules ?? []);
    if (problem) return reject(problem);
    // Where weights are written, an example whose every answer is marked weight 0 trains nothing
    // (on Together, unless a prompt turn is marked weight 1: it trains what is marked).
    const trained = (m: RecordSource['messages'][number]) => (m.role === 'assistant' ? m.weight !== 0 : options.weights === 'any' && m.weight === 1);
    if (options.weights !== 'none' && !example.messages.some(trained)) {
      return reject('every assistant message has weight 0: the example trains nothing');
    }
    // Together trains every message without a weight once any message of the row has one (its
    // train-on-inputs turns on): the prompt turns get weight 0 there, so only the answers train.
    const promptWeight = options.weights === 'any' && example.messages.some((m) => m.weight !== undefined) ? 0 : undefined;
    const mistral = tools?.mistral === true;
    if (mistral) {
      const order = mistralToolOrder(example);
      if (order) return reject(order);
    }
    const ids = mistral ? mistralIds(example) : undefined;
    if (typeof ids === 'string') return reject(ids);
    const messages: Array<Record<string, unknown>> = [];
    for (const [i, m] of example.messages.entries()) {
      const out: Record<string, unknown> = { role: m.role };
      if (!(m.tool_calls && m.content === '' && tools?.callOnlyContent === 'omit')) out.content = m.content;
      if (m.tool_calls) {
        if (mistral && m.content !== '') return reject('an assistant turn has content and tool calls; Mistral takes one or the other');
        const calls: Array<Record<string, unknown>> = [];
        for (const [j, c] of m.tool_calls.entries()) {
          let args: unknown = c.function.arguments;
          if (tools?.arguments === 'object') {
            const parsed = argumentsObject(c.function.arguments);
            if (typeof parsed === 'string') {
              return reject(`message ${i + 1} tool_calls[${j}]: arguments ${parsed}; ${options.target} writes arguments as objects (Hugging Face chat templates take a mapping)`);
            }
            args = parsed;
          }
          calls.push({ id: ids?.get(c.id) ?? c.id, type: 'function', function: { name: c.function.name, arguments: args } });
        }
        out.tool_calls = calls;
      }
      if (m.tool_call_id !== undefined) out.tool_call_id = ids?.get(m.tool_call_id) ?? m.tool_call_id;
      if (m.name !== undefined && options.names !== false && m.role !== 'tool') out.name = m.name;
      if (m.weight === undefined && promptWeight !== undefined && m.role !== 'assistant') out.weight = promptWeight;
      if (m.weight !== undefined) {
        const supported = options.weights === 'any' || (options.weights === 'assistant' && m.role === 'assistant');
        if (supported) out.weight = m.weight;
        else if (m.weight === 0 && m.role === 'assistant' && (options.trains !== 'last' || i === example.messages.length - 1)) {
          return { ok: false, reason: 'unsupported_shape', message: `${options.target} has no per-message weight: it would train on the assistant turn marked weight 0` };
        }
      }
      messages.push(out);
    }
    const record: Record<string, unknown> = { messages };
    if (example.tools) {
      const defs = toolDefinitions(example.tools);
      if (typeof defs === 'string') return { ok: false, reason: 'invalid_record', message: `${options.target}: ${defs}` };
      if (mistral) {
        const bad = defs.findIndex((t) => !mistralTool(t));
        if (bad !== -1) return reject(`tools[${bad}] needs function.name (1-64 letters, digits, _ or -) and function.description`);
      }
      record.tools = tools?.tools === 'text' ? JSON.stringify(defs) : tools?.tools === 'parameters-text' ? parametersAsText(defs) : defs;
    }
    return { ok: true, record };
  };
}

// --- internal ---

const MISTRAL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * Mistral needs tool-call ids of exactly 9 letters or digits: other ids are renamed, the same way
 * in the call and in the tool message that answers it (a mechanical change, never of meaning).
 */
function mistralIds(example: RecordSource): Map<string, string> | string {
  const ids = new Map<string, string>();
  for (const m of example.messages) {
    for (const c of m.tool_calls ?? []) {
      if (!MISTRAL_NAME.test(c.function.name)) return `function name ${JSON.stringify(c.function.name)} must be 1-64 letters, digits, _ or -`;
      if (/^[a-zA-Z0-9]{9}$/.test(c.id)) ids.set(c.id, c.id);
      else ids.set(c.id, nineChars(c.id, ids.size));
    }
  }
  return ids;
}

/**
 * Mistral's order of tool messages (mistral-common's validator, FORMATS.md D.6): a tool message
 * follows an assistant turn that made calls, or another tool message; after it comes assistant or
 * tool; and an assistant turn gets no more tool responses than it made calls.
 */
function mistralToolOrder(example: RecordSource): string | undefined {
  let pending = 0;
  let calls = 0;
  for (const [i, m] of example.messages.entries()) {
    const prev = example.messages[i - 1]?.role;
    if (m.role === 'tool') {
      if (prev !== 'assistant' && prev !== 'tool') return `message ${i + 1} is a tool message after ${prev ?? 'nothing'}: Mistral wants it right after the assistant turn whose call it answers`;
      if (pending === 0) {
        return `message ${i + 1} is tool response ${calls + 1} to an assistant turn that made ${calls} call${calls === 1 ? '' : 's'}: Mistral refuses more tool responses than tool calls`;
      }
      pending--;
    } else if (prev === 'tool' && m.role !== 'assistant') {
      return `message ${i + 1} is ${m.role} after a tool message: Mistral wants assistant (or another tool message) there`;
    }
    if (m.role === 'assistant') {
      calls = m.tool_calls?.length ?? 0;
      pending = calls;
    }
  }
  return undefined;
}

function nineChars(id: string, n: number): string {
  let h = 0x811c9dc5 ^ n;
  let out = '';
  for (let i = 0; i < 9; i++) {
    for (let j = 0; j < id.length; j++) h = Math.imul(h ^ id.charCodeAt(j), 0x01000193) >>> 0;
    h = Math.imul(h ^ (i + 1), 0x01000193) >>> 0;
    out += ALNUM[h % ALNUM.length];
  }
  return out;
}

function mistralTool(tool: unknown): boolean {
  const fn = (tool as { function?: { name?: unknown; description?: unknown; parameters?: unknown } } | null)?.function;
  return (
    !!fn &&
    typeof fn.name === 'string' &&
    MISTRAL_NAME.test(fn.name) &&
    typeof fn.description === 'string' &&
    fn.parameters !== null &&
    typeof fn.parameters === 'object' &&
    !Array.isArray(fn.parameters)
  );
}
