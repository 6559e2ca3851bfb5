/**
 * A small JSON reader that keeps what `JSON.parse` loses: number literals as written (`1.0` stays
 * `1.0`, not `1`; a 20-digit id keeps its digits) and keys in order, duplicates included. Used
 * where the literal matters: telling a float weight from an integer one, and rewriting a record
 * for `--fix` without changing any value the fix does not target. Input is JSON that `JSON.parse`
 * already accepted.
 */

/** A JSON value with its number literals as written. */
export type JsonNode =
  | { kind: 'object'; entries: [string, JsonNode][] }
  | { kind: 'array'; items: JsonNode[] }
  | { kind: 'string'; value: string }
  | { kind: 'number'; raw: string }
  | { kind: 'literal'; raw: 'true' | 'false' | 'null' };

/**
 * Parses one JSON text into a {@link JsonNode}.
 *
 * @example
 * parseJsonNode('{"weight":1.0}') // { kind: 'object', entries: [['weight', { kind: 'number', raw: '1.0' }]] }
 */
export function parseJsonNode(text: string): JsonNode {
  let i = 0;
  const ws = (): void => {
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
      else return;
    }
  };
  const fail = (): never => {
    throw new SyntaxError(`unexpected ${JSON.stringify(text[i] ?? 'end')} at ${i}`);
  };
  const string = (): string => {
    const start = i;
    i++; // opening quote
    for (;;) {
      const c = text.charCodeAt(i);
      if (Number.isNaN(c)) fail();
      if (c === 0x5c) i += 2;
      else if (c === 0x22) break;
      else i++;
    }
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  const value = (): JsonNode => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const entries: [string, JsonNode][] = [];
      ws();
      if (text[i] === '}') {
        i++;
        return { kind: 'object', entries };
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        const key = string();
        ws();
        if (text[i] !== ':') fail();
        i++;
        entries.push([key, value()]);
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') {
          i++;
          return { kind: 'object', entries };
        } else fail();
      }
    }
    if (c === '[') {
      i++;
      const items: JsonNode[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return { kind: 'array', items };
      }
      for (;;) {
        items.push(value());
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') {
          i++;
          return { kind: 'array', items };
        } else fail();
      }
    }
    if (c === '"') return { kind: 'string', value: string() };
    for (const raw of ['true', 'false', 'null'] as const) {
      if (text.startsWith(raw, i)) {
        i += raw.length;
        return { kind: 'literal', raw };
      }
    }
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (!m) return fail();
    i += m[0].length;
    return { kind: 'number', raw: m[0] };
  };
  const result = value();
  ws();
  if (i !== text.length) fail();
  return result;
}

/**
 * Compact JSON of a node, number literals as they were, with U+2028, U+2029 and U+0085 escaped
 * (FORMATS.md A.4).
 *
 * @example
 * stringifyJsonNode(parseJsonNode('{ "a" : 1.50 }')) // '{"a":1.50}'
 */
export function stringifyJsonNode(node: JsonNode): string {
  switch (node.kind) {
    case 'object':
      return `{${node.entries.map(([k, v]) => `${jsonString(k)}:${stringifyJsonNode(v)}`).join(',')}}`;
    case 'array':
      return `[${node.items.map(stringifyJsonNode).join(',')}]`;
    case 'string':
      return jsonString(node.value);
    case 'number':
    case 'literal':
      return node.raw;
  }
}

/** `JSON.stringify` of a string with the line-separator characters escaped. */
export function jsonString(s: string): string {
  return escapeSeparators(JSON.stringify(s));
}

/**
 * Escapes raw U+2028, U+2029 and U+0085. In valid JSON these can only stand inside strings (they are
 * not JSON whitespace), so the escape never changes a value.
 */
export function escapeSeparators(json: string): string {
  return json.replace(/[\u2028\u2029\u0085]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The entry of `key` in an object node (the last one, as JSON.parse and Python keep). */
export function entryOf(node: JsonNode, key: string): JsonNode | undefined {
  if (node.kind !== 'object') return undefined;
  for (let j = node.entries.length - 1; j >= 0; j--) {
    const e = node.entries[j] as [string, JsonNode];
    if (e[0] === key) return e[1];
  }
  return undefined;
}

/** True for a number literal with a fraction or exponent part (`1.0`, `1e0`), which Python reads as a float. */
export function isFloatLiteral(raw: string): boolean {
  return /[.eE]/.test(raw);
}

/**
 * Deepest nesting of arrays and objects a record may have (the record itself is level 1).
 * Python's `json.loads`, which every trainer reads lines with, recurses once per level and raises
 * `RecursionError: maximum recursion depth exceeded` past its limit. Measured with
 * `json.loads("[" * d + "]" * d)` at the top of a program: Python 3.8–3.11 read at most d = 995
 * (the default recursion limit of 1,000, less the frames already on the stack), 3.12 reads 1,497,
 * 3.13 9,998. Inside a trainer the call stack is already tens of frames deep, which lowers the
 * 3.8–3.11 figure by as many, so the limit keeps a margin of about 100 frames below 995.
 */
export const MAX_JSON_DEPTH = 900;

/**
 * How deeply arrays and objects nest in a parsed JSON value: 0 for a scalar, 1 for `{}` or
 * `[1]`, 2 for `{"a":[1]}`. Iterative, so any depth `JSON.parse` accepts is measured.
 *
 * @example
 * nestingDepth(JSON.parse('{"a":[[1]]}')) // 3
 */
export function nestingDepth(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  let deepest = 0;
  const stack: Array<[object, number]> = [[value, 1]];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [v, depth] = top;
    if (depth > deepest) deepest = depth;
    const items = Array.isArray(v) ? v : Object.values(v);
    for (const item of items) if (typeof item === 'object' && item !== null) stack.push([item as object, depth + 1]);
  }
  return deepest;
}
