/** `{"messages":[...]}`: OpenAI, Together, Mistral, MLX-LM, TRL, Axolotl, Unsloth and torchtune chat. */
import type { RecordResult, RecordSource } from './index.js';
import { firstProblem, type Rule } from './_rules.js';

/** How a target treats per-message `weight`. */
export type WeightSupport = 'assistant' | 'any' | 'none';

/**
 * How a target takes tool calls: arguments as JSON text (OpenAI, Axolotl's recommendation), as
 * objects (the Hugging Face chat-template convention: TRL, Unsloth, MLX-LM), with Mistral's rules,
 * or not at all.
 */
export type ToolSupport = 'strings' | 'objects' | 'mistral' | 'none';

/** Settings of a messages writer. */
export interface MessagesOptions {
  /** Target name, for messages. */
  target: string;
  /** Where `weight` may appear: OpenAI and Mistral on assistant turns, Together on any; others not at all. */
  weights: WeightSupport;
  /** Conversation rules the trainer enforces. */
  rules?: readonly Rule[] | undefined;
  /** Tool calls, `tool` messages and `tools`. Default `'none'`. */
  tools?: ToolSupport | undefined;
}

/**
 * A `{"messages":[{role, content, name?, weight?}]}` builder for one target. A conversation that
 * breaks a rule of the target, or that marks a turn untrained (`weight: 0`) for a trainer that would
 * train on it anyway, is rejected as `unsupported_shape`. `weight: 1` is the default meaning and is
 * written only where the target reads weights.
 *
 * @example
 * messagesRecord({ target: 'openai', weights: 'assistant' })(example) // { ok: true, record: { messages: [...] } }
 */
export function messagesRecord(options: MessagesOptions): (example: RecordSource) => RecordResult {
  return (example) => {
    const problem = firstProblem(example.messages, options.rules ?? []);
    if (problem) return { ok: false, reason: 'unsupported_shape', message: `${options.target}: ${problem}` };
    const tools = options.tools ?? 'none';
    const usesTools = example.tools !== undefined || example.messages.some((m) => m.tool_calls || m.role === 'tool');
    if (usesTools && tools === 'none') {
      return { ok: false, reason: 'unsupported_shape', message: `${options.target} takes no tool calls, tool messages or tools` };
    }
    const ids = tools === 'mistral' ? mistralIds(example) : undefined;
    if (typeof ids === 'string') return { ok: false, reason: 'unsupported_shape', message: `mistral: ${ids}` };
    const messages: Array<Record<string, unknown>> = [];
    for (const m of example.messages) {
      const out: Record<string, unknown> = { role: m.role };
      // A turn that only calls tools carries no content where the trainer allows that (OpenAI,
      // Mistral: content XOR tool_calls); Arrow-based readers keep a string column ("").
      if (!(m.tool_calls && m.content === '' && (tools === 'strings' || tools === 'mistral'))) out.content = m.content;
      if (m.tool_calls) {
        if (tools === 'mistral' && m.content !== '') {
          return { ok: false, reason: 'unsupported_shape', message: 'mistral: an assistant turn has content and tool calls; Mistral takes one or the other' };
        }
        out.tool_calls = m.tool_calls.map((c) => ({
          id: ids?.get(c.id) ?? c.id,
          type: 'function',
          function: { name: c.function.name, arguments: tools === 'objects' ? (JSON.parse(c.function.arguments) as unknown) : c.function.arguments },
        }));
      }
      if (m.tool_call_id !== undefined) out.tool_call_id = ids?.get(m.tool_call_id) ?? m.tool_call_id;
      if (m.name !== undefined) out.name = m.name;
      if (m.weight !== undefined) {
        const supported = options.weights === 'any' || (options.weights === 'assistant' && m.role === 'assistant');
        if (supported) out.weight = m.weight;
        else if (m.weight === 0 && m.role === 'assistant') {
          return { ok: false, reason: 'unsupported_shape', message: `${options.target} has no per-message weight: it would train on the assistant turn marked weight 0` };
        }
      }
      messages.push(out);
    }
    const record: Record<string, unknown> = { messages };
    if (example.tools) {
      if (tools === 'mistral') {
        const bad = example.tools.findIndex((t) => !mistralTool(t));
        if (bad !== -1) return { ok: false, reason: 'unsupported_shape', message: `mistral: tools[${bad}] needs function.name, function.description and function.parameters (an object)` };
      }
      record.tools = example.tools;
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
