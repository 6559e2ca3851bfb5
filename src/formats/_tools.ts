/**
 * Tool definitions and tool-call arguments as each trainer reads them: a missing `parameters`
 * filled in, `parameters` or the whole list written as JSON text where an Arrow reader needs one
 * type per column, and arguments kept digit for digit (never parsed and re-serialised lossily).
 */
import { parseJsonNode, type JsonNode } from '../validate/_json-ast.js';

/** What a tool with no `parameters` gets: an object schema with no properties (FORMATS.md B.8, D.7). */
export const NO_PARAMETERS = { type: 'object', properties: {} } as const;

/**
 * The tool definitions of an example, checked against OpenAI's shape (FORMATS.md B.8: `{type:
 * "function", function: {name, description?, parameters: object}}`), with `parameters` filled in
 * where it is missing or null. A flat `{name, description?, parameters?}` definition, as
 * LLaMA-Factory's own data writes them, is wrapped into that shape. Tools that need nothing are
 * returned as they are (the same objects), so their bytes do not change. A string is the problem,
 * naming the tool.
 *
 * @example
 * toolDefinitions([{ type: 'function', function: { name: 'now' } }]) // [{ type: 'function', function: { name: 'now', parameters: { type: 'object', properties: {} } } }]
 * toolDefinitions([{ name: 'now', parameters: {} }]) // [{ type: 'function', function: { name: 'now', parameters: {} } }]
 */
export function toolDefinitions(tools: readonly unknown[]): unknown[] | string {
  const out: unknown[] = [];
  for (const [j, given] of tools.entries()) {
    const t = isFlatTool(given) ? { type: 'function', function: given } : given;
    if (!isObject(t) || t.type !== 'function' || !isObject(t.function) || typeof t.function.name !== 'string') {
      return `tools[${j}] is not a function definition {"type":"function","function":{"name",...}}`;
    }
    const fn = t.function;
    if ('description' in fn && fn.description !== undefined && typeof fn.description !== 'string') return `tools[${j}].function.description must be text`;
    const p = fn.parameters;
    if (p === undefined || p === null) out.push({ ...t, function: withParameters(fn) });
    else if (!isObject(p)) return `tools[${j}].function.parameters must be a JSON Schema object, got ${Array.isArray(p) ? 'an array' : typeof p}`;
    else out.push(t);
  }
  return out;
}

/**
 * LLaMA-Factory's tool formatter reads `tool["parameters"]["properties"]`, from the function of a
 * `{type: "function", function}` tool or from a flat `{name, parameters}` one: each gets
 * `parameters` (and `properties`) where it has none. Anything else is left to the trainer.
 *
 * @example
 * llamaFactoryTools([{ name: 'now' }]) // [{ name: 'now', parameters: { type: 'object', properties: {} } }]
 */
export function llamaFactoryTools(tools: readonly unknown[]): unknown[] {
  return tools.map((t) => {
    if (!isObject(t)) return t;
    const wrapped = t.type === 'function' && isObject(t.function);
    const fn = wrapped ? (t.function as Record<string, unknown>) : t;
    const p = fn.parameters;
    let filled: Record<string, unknown>;
    if (p === undefined || p === null) filled = withParameters(fn);
    else if (isObject(p) && !('properties' in p)) filled = { ...fn, parameters: { ...p, properties: {} } };
    else return t;
    return wrapped ? { ...t, function: filled } : filled;
  });
}

/** Axolotl `json.loads` a string `parameters`: written so, every row's column has one type. */
export function parametersAsText(tools: readonly unknown[]): unknown[] {
  return tools.map((t) => {
    const fn = (t as { function: Record<string, unknown> }).function;
    return { ...(t as object), function: { ...fn, parameters: JSON.stringify(fn.parameters) } };
  });
}

/**
 * Compact JSON text of `json` (text that `JSON.parse` accepts) with every number literal as
 * written: `12345678901234567890` keeps its digits, `1.0` stays a float. Strings are written as
 * `JSON.stringify` writes them, so text without such literals comes out as `JSON.stringify(JSON.parse(json))`.
 *
 * @example
 * compactJson('{ "big": 12345678901234567890 }') // '{"big":12345678901234567890}'
 * compactJson('[[[[…100,000 levels') // undefined
 */
export function compactJson(json: string): string | undefined {
  try {
    return jsonNodeText(parseJsonNode(json));
  } catch {
    return undefined; // nested too deep to walk (valid JSON: normalising parsed it)
  }
}

/**
 * `arguments` as an object for a target that writes objects (MLX-LM), or the problem: arguments
 * that are not a JSON object, or that hold a number the object would not keep exactly (an integer
 * beyond 2^53 loses digits; `1.0` would become `1`).
 *
 * @example
 * argumentsObject('{"c":"EUR"}') // { c: 'EUR' }
 * argumentsObject('[1,2]') // 'is [1,2], not a JSON object'
 */
export function argumentsObject(json: string): Record<string, unknown> | string {
  let node: JsonNode;
  let lossy: string | undefined;
  try {
    node = parseJsonNode(json);
    lossy = lossyNumber(node);
  } catch {
    return 'nest too deep to write as an object';
  }
  if (node.kind !== 'object') return `is ${excerpt(json)}, not a JSON object`;
  if (lossy !== undefined) return `holds the number ${lossy}, which an object written by JSON cannot keep exactly`;
  return JSON.parse(json) as Record<string, unknown>;
}

// --- internal ---

/** A flat tool definition (LLaMA-Factory's): a `name`, no `type` or `function`. */
function isFlatTool(t: unknown): t is Record<string, unknown> {
  return isObject(t) && typeof t.name === 'string' && !('type' in t) && !('function' in t);
}

/** A function definition given the parameters of one that takes none. */
function withParameters(fn: Record<string, unknown>): Record<string, unknown> {
  return { ...fn, parameters: NO_PARAMETERS };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Compact JSON text of a parsed node (see {@link compactJson}); the ShareGPT reader writes tool
 * arguments through it, so a row the llama-factory writer wrote reads back to the same text.
 * Not part of the public API.
 *
 * @example
 * jsonNodeText(parseJsonNode('{ "a": 1.0 }')) // '{"a":1.0}'
 */
export function jsonNodeText(node: JsonNode): string {
  switch (node.kind) {
    case 'object':
      // JSON.parse keeps the last of duplicate keys: so does this, in the place of the first.
      return `{${[...new Map(node.entries).entries()].map(([k, v]) => `${JSON.stringify(k)}:${jsonNodeText(v)}`).join(',')}}`;
    case 'array':
      return `[${node.items.map(jsonNodeText).join(',')}]`;
    case 'string':
      return JSON.stringify(node.value);
    case 'number':
    case 'literal':
      return node.raw;
  }
}

/** The first number literal that `JSON.parse` and `JSON.stringify` would not give back as written, in value and kind. */
function lossyNumber(node: JsonNode): string | undefined {
  switch (node.kind) {
    case 'object':
      for (const [, v] of node.entries) {
        const l = lossyNumber(v);
        if (l !== undefined) return l;
      }
      return undefined;
    case 'array':
      for (const v of node.items) {
        const l = lossyNumber(v);
        if (l !== undefined) return l;
      }
      return undefined;
    case 'number': {
      const n = Number(node.raw);
      if (!Number.isFinite(n)) return node.raw;
      // An integer literal: Python keeps every digit, a double only 53 bits of them.
      if (!/[.eE]/.test(node.raw)) return BigInt(node.raw) === BigInt(n) ? undefined : node.raw;
      // A float literal with an integral value would be written as an integer (1.0 → 1).
      return Number.isInteger(n) ? node.raw : undefined;
    }
    default:
      return undefined;
  }
}

function excerpt(json: string): string {
  const t = json.trim();
  return t.length > 40 ? `${t.slice(0, 40)}…` : t;
}
