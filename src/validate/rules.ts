/**
 * The catalogue of validation rules: a stable id per rule, named after the item of FORMATS.md §12
 * it checks (`A.2-crlf` is checklist item A.2), the targets it applies to and what it checks.
 * Ids are part of the public contract: renaming one is a breaking change.
 */

/** What one rule checks, for `--help`-style listings and docs. */
export interface RuleInfo {
  /** Where it applies: `all`, or the targets (and formats) it is checked for. */
  targets: string;
  /** What it checks, in a few words. */
  checks: string;
}

const MESSAGES = 'openai, mlx-lm, trl, axolotl, unsloth, torchtune (chat)';
const ALPACA = 'axolotl, llama-factory, unsloth, torchtune (instruction)';

/**
 * Every rule the validator reports, by id. The letter is the section of FORMATS.md §12 (A every
 * file, B OpenAI chat, C Together, D Mistral, E MLX-LM, F TRL, G ShareGPT, H alpaca, I lengths);
 * `T.*` are torchtune's `validate_messages` rules (FORMATS.md §9).
 *
 * @example
 * VALIDATION_RULES['A.2-crlf'].checks // 'lines end with \n, not \r\n'
 */
export const VALIDATION_RULES = {
  // A: every file
  'A.1-bom': { targets: 'all', checks: 'the file does not start with a UTF-8 BOM (EF BB BF)' },
  'A.1-utf8': { targets: 'all', checks: 'each line is valid UTF-8' },
  'A.2-crlf': { targets: 'all', checks: 'lines end with \\n, not \\r\\n (reported once, at the first such line, with the count)' },
  'A.2-cr': { targets: 'all', checks: 'no raw \\r inside a line' },
  'A.2-blank': { targets: 'all', checks: 'no empty or whitespace-only line' },
  'A.2-final-newline': { targets: 'all', checks: 'the file ends with exactly one \\n (none missing, no extra empty lines at the end)' },
  'A.2-empty-file': { targets: 'all', checks: 'the file holds at least one record' },
  'A.3-json': {
    targets: 'all',
    checks:
      "each line, parsed alone, is valid JSON (not a pretty-printed object or a JSON array) that Python's json.loads can read: arrays and objects nested at most 900 levels deep (json.loads raises RecursionError past about 1,000)",
  },
  'A.3-not-object': { targets: 'all', checks: 'each line is a JSON object, not an array, string, number or null' },
  'A.4-unescaped-separator': { targets: 'all', checks: 'U+2028, U+2029 and U+0085 are written as \\uXXXX escapes, never raw' },
  'A.4-lone-surrogate': { targets: 'all', checks: 'no string or key holds a lone UTF-16 surrogate' },
  'A.5-key-set': { targets: 'all', checks: 'every line has the top-level keys of line 1 (keys optional for the target aside)' },
  'A.5-unrecognised-shape': { targets: 'auto', checks: 'the format can be told from the first record (messages, conversations, instruction/output, prompt/completion, text)' },
  'A.6-type-change': {
    targets: 'all',
    checks:
      'each key path (e.g. messages[].tool_calls[].function.arguments) keeps one JSON type on every line; inside argument objects and parameter schemas only for the Arrow-read targets (trl, unsloth, axolotl, llama-factory, torchtune), since openai, together, mistral and mlx-lm read each line on its own',
  },
  'A.7-empty-content': { targets: 'all', checks: 'message content, value, instruction, output, prompt, completion and text are not empty or whitespace-only' },

  // B: OpenAI chat, and the rules the other `messages` targets share
  'B.1-keys': {
    targets: MESSAGES,
    checks: 'top-level keys ⊆ {messages, tools, parallel_tool_calls} (TRL/Unsloth also chat_template_kwargs), messages present; for openai, a plain {text} record is reported here, as OpenAI reads chats only',
  },
  'B.2-messages': { targets: MESSAGES, checks: 'messages is a non-empty array of objects' },
  'B.2-role': { targets: MESSAGES, checks: 'role ∈ {system, user, assistant, tool}' },
  'B.3-message-keys': { targets: MESSAGES, checks: 'message keys allowed for the role (system/user: role, content, name; assistant: + tool_calls, weight, refusal; tool: role, content, tool_call_id)' },
  'B.4-content': { targets: MESSAGES, checks: 'content is a string (absent or null only on an assistant message with tool_calls)' },
  'B.5-no-assistant': { targets: MESSAGES, checks: 'at least one assistant message' },
  'B.5-last-assistant': { targets: MESSAGES, checks: 'the last message is assistant' },
  'B.6-weight': { targets: MESSAGES, checks: 'weight only on assistant messages, and the JSON integer 0 or 1 (not 1.0, not true)' },
  'B.6-nothing-trained': { targets: MESSAGES, checks: 'at least one assistant message has weight 1 or no weight' },
  'B.7-tool-call': { targets: MESSAGES, checks: 'tool calls are {id, type: "function", function: {name, arguments}}; arguments a JSON string that parses (OpenAI), or an object where the trainer allows it' },
  'B.7-tool-call-id': { targets: MESSAGES, checks: "a tool message's tool_call_id is the id of a call in an earlier assistant message" },
  'B.8-tools': { targets: MESSAGES, checks: 'tools is an array of {type: "function", function: {name, description?, parameters: object}} (Axolotl: parameters may be JSON text of an object)' },
  'B.9-min-lines': {
    targets: 'openai',
    checks: 'the training file has at least 10 examples (warning under 50); a file named as evaluation data (valid, validation, val, eval, test or dev as a word of its name) is not a training file',
  },
  'B.11-file-size': { targets: 'openai', checks: 'the file is at most 512 MB (Files API)' },

  // C: Together
  'C.1-extension': { targets: 'together', checks: 'the file name ends in .jsonl' },
  'C.1-file-size': { targets: 'together', checks: 'the file is at most 50.1 GB' },
  'C.2-keys': {
    targets: 'together',
    checks: 'each line has exactly the keys of its format ({messages}, {prompt, completion} or {text}): none missing ("Could not detect a format for the line"), none extra ("Found extra column")',
  },
  'C.2-mixed-format': { targets: 'together', checks: 'every line uses the same Together format' },
  'C.3-messages': { targets: 'together (chat)', checks: 'messages is a non-empty array of objects' },
  'C.3-role': { targets: 'together (chat)', checks: 'role ∈ {system, user, assistant} (no tool role)' },
  'C.3-message-keys': { targets: 'together (chat)', checks: 'message keys ⊆ {role, content, weight}, role and content present' },
  'C.3-content': { targets: 'together (chat)', checks: 'content is a string' },
  'C.3-alternation': { targets: 'together (chat)', checks: 'no two adjacent messages share a role' },
  'C.3-no-assistant': { targets: 'together (chat)', checks: 'at least one assistant message' },
  'C.3-weight': { targets: 'together (chat)', checks: 'weight is the JSON integer 0 or 1' },
  'C.4-types': { targets: 'together (instruction, text)', checks: 'prompt and completion are strings; text is a string' },
  'C.5-system-first': { targets: 'together (chat)', checks: '[defensive] only the first message may be system' },
  'C.5-first-user': { targets: 'together (chat)', checks: '[defensive] the first non-system message is user' },
  'C.5-last-assistant': { targets: 'together (chat)', checks: '[defensive] the last message is assistant' },

  // D: Mistral
  'D.1-keys': { targets: 'mistral', checks: 'top-level keys ⊆ {messages, tools}, messages present ({text} records are pre-training data, data.data, not instruct data)' },
  'D.2-messages': { targets: 'mistral', checks: 'messages is a non-empty array of objects' },
  'D.2-role': { targets: 'mistral', checks: 'role ∈ {system, user, assistant, tool}' },
  'D.2-message-keys': { targets: 'mistral', checks: 'message keys allowed for the role; content, never text' },
  'D.2-content': { targets: 'mistral', checks: 'system, user and tool content is a string' },
  'D.3-system': { targets: 'mistral', checks: 'at most one system message, only at index 0' },
  'D.3-last-assistant': { targets: 'mistral', checks: 'the last message is assistant' },
  'D.4-content-xor-tool-calls': { targets: 'mistral', checks: 'an assistant message has non-empty content XOR non-empty tool_calls' },
  'D.5-weight': { targets: 'mistral', checks: 'weight only on assistant messages, and the integer 0 or 1' },
  'D.6-role-order': { targets: 'mistral', checks: 'a tool message follows an assistant or tool message; after tool comes assistant or tool' },
  'D.6-tool-count': { targets: 'mistral', checks: 'no more tool messages after an assistant turn than it made calls' },
  'D.7-tool-call': { targets: 'mistral', checks: 'tool calls have id and function.{name, arguments}' },
  'D.7-tool-call-id': { targets: 'mistral', checks: 'tool-call ids and tool_call_id match ^[A-Za-z0-9]{9}$, and tool_call_id names an earlier call' },
  'D.7-function-name': { targets: 'mistral', checks: 'function names match ^[A-Za-z0-9_-]{1,64}$' },
  'D.7-arguments': { targets: 'mistral', checks: 'tool-call arguments is a string (of JSON)' },
  'D.7-tools': { targets: 'mistral', checks: 'each tool has function.name, function.description and function.parameters (an object)' },

  // E: MLX-LM
  'E.2-min-lines': { targets: 'mlx-lm', checks: 'the file has at least batchSize records (default 4)' },
  'E.3-keys': {
    targets: 'mlx-lm (instruction, text)',
    checks: 'completions: prompt and completion present, and no messages or text key beside them; text: text present, and no prompt or messages key beside it',
  },
  'E.3-types': { targets: 'mlx-lm (instruction, text)', checks: 'prompt and completion are strings; text is a string' },
  'E.3-tools': { targets: 'mlx-lm (chat)', checks: 'tools is an array, not a JSON string' },

  // F: TRL (Unsloth runs TRL)
  'F.1-keys': {
    targets: 'trl (instruction, text), unsloth, axolotl, torchtune (text)',
    checks: 'keys are {prompt, completion} (+ tools, chat_template_kwargs), or {text} for TRL and Unsloth; Axolotl (type: completion) and torchtune (text_completion_dataset) need text and ignore other keys',
  },
  'F.1-types': {
    targets: 'trl (instruction, text), unsloth, axolotl, torchtune (text)',
    checks: 'prompt and completion are both strings or both message lists; text is a string',
  },
  'F.1-tools': { targets: 'trl, unsloth', checks: 'tools is an array, or a JSON string that parses to one' },
  'F.2-prompt-key': { targets: 'trl, unsloth (chat)', checks: 'a messages file has no prompt key (TRL would take the prompt-completion path)' },
  'F.3-sharegpt-role': { targets: 'trl, unsloth (chat)', checks: 'role values are never the ShareGPT names human or gpt' },
  'F.4-prompt-ends-assistant': { targets: 'trl (instruction)', checks: 'a conversational prompt does not end with an assistant message' },
  'F.4-completion-role': { targets: 'trl (instruction)', checks: 'every message of a conversational completion is assistant' },

  // G: ShareGPT (LLaMA-Factory chat)
  'G.1-keys': {
    targets: 'llama-factory (chat)',
    checks: 'top-level keys ⊆ {conversations, system, tools}, conversations present ({text} needs a pre-training dataset_info.json entry, which lora-prep does not write)',
  },
  'G.1-conversations': { targets: 'llama-factory (chat)', checks: 'conversations is a non-empty array' },
  'G.1-types': { targets: 'llama-factory (chat)', checks: 'system is a string; tools is a JSON string' },
  'G.1-system-both': { targets: 'llama-factory (chat)', checks: '[defensive] a system column or a leading system message, not both' },
  'G.2-message-keys': { targets: 'llama-factory (chat)', checks: 'each turn is an object with exactly the keys {from, value}' },
  'G.2-value': { targets: 'llama-factory (chat)', checks: 'value is a string' },
  'G.3-role': { targets: 'llama-factory (chat)', checks: 'from ∈ {system, human, gpt} (+ function_call, observation with tools)' },
  'G.4-system-first': { targets: 'llama-factory (chat)', checks: 'a system turn only at index 0' },
  'G.4-alternation': { targets: 'llama-factory (chat)', checks: 'turns alternate human (or observation), gpt (or function_call), starting with human' },
  'G.4-even-count': { targets: 'llama-factory (chat)', checks: 'an even number (≥ 2) of non-system turns, so the last is gpt' },

  // H: alpaca
  'H.1-keys': { targets: ALPACA, checks: 'keys ⊆ {instruction, input, output, system, history}; instruction and output present' },
  'H.1-missing-input': { targets: ALPACA, checks: 'input is present ("" when unused)' },
  'H.1-types': { targets: ALPACA, checks: 'instruction, input and system are strings; history is an array of [string, string]' },
  'H.2-output': { targets: ALPACA, checks: 'output is a string, never an object or array' },

  // T: torchtune validate_messages (FORMATS.md §9)
  'T.1-system-first': { targets: 'torchtune (chat)', checks: 'a system message only at index 0' },
  'T.2-consecutive-user': { targets: 'torchtune (chat)', checks: 'no two consecutive user messages' },
  'T.3-assistant-order': { targets: 'torchtune (chat)', checks: 'an assistant message follows a user or tool message (not first, not after system or assistant)' },
  'T.4-tool-role': {
    targets: 'torchtune (chat)',
    checks: 'no tool or ipython message: torchtune wants one only after an assistant message flagged as a tool call (ipython=True), which its JSON loaders never set',
  },
  'T.5-tool-calls': { targets: 'torchtune (chat)', checks: 'no tool_calls (torchtune has no tool-call support; content is required)' },

  // I: lengths (only with maxTokens)
  'I.1-overlong': { targets: 'all (with maxTokens)', checks: 'the token estimate of the example is within maxTokens' },
  'I.1-prompt-overflow': { targets: 'all (with maxTokens)', checks: 'the prompt part alone is under maxTokens (else nothing is trained)' },
} as const satisfies Record<string, RuleInfo>;

/** A stable rule id, such as `A.2-crlf` or `D.7-tool-call-id`. */
export type RuleId = keyof typeof VALIDATION_RULES;
