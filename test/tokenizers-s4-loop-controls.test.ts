/**
 * `{% break %}` / `{% continue %}` in chat templates render as Python's jinja2 renders them (what
 * transformers' apply_chat_template runs): the text a loop pass wrote before the control is kept.
 * @huggingface/jinja 0.5.x drops it; lora-prep rewrites the parsed template (src/tokenizers/_template.ts).
 */
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Template } from '@huggingface/jinja';
import { compileTemplate } from '../src/tokenizers/_template.js';
import { loadTokenizer } from '../src/tokenizers/index.js';
import { hasJinja2, tempDir, tinyTokenizer } from './helpers/index.js';

// Worker threads from 4 MiB of input (the line's own setting), so that the tests that run
// prepareDataset with workers keep their inputs small.
process.env.LORA_PREP_WORKERS_FROM_BYTES = String(4 * 1024 * 1024);

const messages = [
  { role: 'system', content: 'be brief' },
  { role: 'user', content: 'what is a bond' },
  { role: 'assistant', content: 'it is a loan' },
  { role: 'user', content: 'and equity' },
  { role: 'assistant', content: 'a share' },
];

// Rendered by Python's jinja2 3.1.6 as transformers sets it up (ImmutableSandboxedEnvironment,
// trim_blocks, lstrip_blocks, the loopcontrols extension) over `messages` above.
const CASES: Array<[string, string, string]> = [
  ["continue-after-text", "{% for m in messages %}{{ m.role }} {{ m.content }} {% if m.role == 'system' %}{% continue %}{% endif %}[{{ loop.index }}]{% endfor %}", "system be brief user what is a bond [2]assistant it is a loan [3]user and equity [4]assistant a share [5]"],
  ["break-after-text", "{% for m in messages %}{{ m.content }}|{% if loop.index >= 2 %}{% break %}{% endif %}+{% endfor %}END", "be brief|+what is a bond|END"],
  ["continue-first", "{% for m in messages %}{% if m.role == 'system' %}{% continue %}{% endif %}{{ m.content }}\n{% endfor %}", "what is a bond\nit is a loan\nand equity\na share\n"],
  ["nested", "{% for m in messages %}<{% for w in m.content.split(' ') %}{% if w == 'is' %}{% continue %}{% endif %}{{ w }}{% if loop.index > 3 %}{% break %}{% endif %},{% endfor %}>{% if m.role == 'user' %}U{% continue %}{% endif %}A{% endfor %}", "<be,brief,>A<what,a,bond>U<it,a,loan>A<and,equity,>U<a,share,>A"],
  ["elif-chain", "{% for m in messages %}{% if m.role == 'system' %}S{% continue %}{% elif m.role == 'user' %}U:{{ m.content }}{% else %}A{% break %}{% endif %};{% endfor %}!", "SU:what is a bond;A!"],
  ["else-after-continue", "{% for m in messages %}{% continue %}{% else %}EMPTY{% endfor %}X{% for m in [] %}{% continue %}{% else %}EMPTY{% endfor %}", "EMPTYXEMPTY"],
  ["break-first-pass", "{% for m in messages %}{{ m.role }}{% break %}{% else %}EMPTY{% endfor %}", "systemEMPTY"],
  ["macro-loop", "{% macro f(xs) %}{% for x in xs %}{{ x }}{% if x == 2 %}{% break %}{% endif %}{% endfor %}{% endmacro %}{{ f([1, 2, 3]) }}|{{ f([2, 3]) }}|{{ f([3, 4]) }}", "12|2|34"],
  ["filtered-loop", "{% for m in messages if m.role != 'system' %}{{ loop.index }}{{ m.role }}{% if loop.index == 3 %}{% break %}{% endif %} {% endfor %}", "1user 2assistant 3user"],
  ["dead-after-break", "{% for m in messages %}{% if loop.index == 2 %}X{% break %}Y{% endif %}{{ loop.index }}{% endfor %}", "1X"],
  ["outer-loop-fresh-flag", "{% for m in messages %}{% for w in m.content.split(' ') %}{{ w }}{% if loop.index == 2 %}{% break %}{% endif %} {% endfor %}|{% endfor %}", "be brief|what is|it is|and equity|a share|"],
  ["namespace-count", "{% set ns = namespace(n=0) %}{% for m in messages %}{% if m.role != 'user' %}{% continue %}{% endif %}{% set ns.n = ns.n + 1 %}{{ m.content }}{% endfor %} users={{ ns.n }}", "what is a bondand equity users=2"],
  ["whitespace", "{%- for m in messages %}\n    {%- if m.role == 'system' %}\n        {{- m.content }}\n        {%- continue %}\n    {%- endif %}\n    {{- '\\n' + m.role + ': ' + m.content }}\n{%- endfor %}", "be brief\nuser: what is a bond\nassistant: it is a loan\nuser: and equity\nassistant: a share"],
];

describe('loop controls render as jinja2 renders them', () => {
  it.each(CASES)('%s', (_name, text, expected) => {
    const template = compileTemplate({ text, origin: 'test' }, 'test');
    expect(template.render({ messages })).toBe(expected);
    expect(template.warnings).toEqual([]);
  });

  it('the library alone loses text in most of these cases (what the rewrite mends)', () => {
    const differing = CASES.filter(([, text, expected]) => {
      try {
        return new Template(text).render({ messages }) !== expected;
      } catch {
        return true;
      }
    });
    expect(differing.length).toBeGreaterThanOrEqual(10);
  });

  it('counts the system turn a template writes before `continue` (the audit case), through a tokenizer folder', async () => {
    const dir = await folder("{% for m in messages %}{{ m.role }} {{ m.content }} {% if m.role == 'system' %}{% continue %}{% endif %}{% endfor %}");
    const tok = await loadTokenizer(dir);
    const chat = [
      { role: 'system' as const, content: 'you are careful' },
      { role: 'user' as const, content: 'what is a bond ?' },
      { role: 'assistant' as const, content: 'it is a debt security.' },
    ];
    // jinja2: 'system you are careful user what is a bond ? assistant it is a debt security. '
    const rendered = 'system you are careful user what is a bond ? assistant it is a debt security. ';
    expect(tok.countMessages(chat)).toBe(tok.count(rendered));
    expect(tok.countMessages(chat)).toBeGreaterThan(tok.count('user what is a bond ? assistant it is a debt security. '));
    expect(tok.warnings ?? []).toEqual([]);
  });

  it('warns, once per template, where a control sits where the rewrite cannot reach it', () => {
    const template = compileTemplate({ text: '{% for m in messages %}{{ m.role }}{% set x %}{{ m.content }}{% continue %}{% endset %}{% endfor %}', origin: 'o.jinja' }, 'models/m');
    expect(template.warnings).toEqual([expect.stringMatching(/models\/m \(o\.jinja\) uses \{% break %\} or \{% continue %\} directly inside a \{% set %\}.*drops the text that loop pass wrote before it/)]);
  });

  it("puts the tokenizer's warnings among prepareDataset's, inline and with workers", async () => {
    const dir = await folder('{% for m in messages %}{{ m.role }}{% set x %}{{ m.content }}{% continue %}{% endset %}{{ m.content }}{% endfor %}');
    const { prepareDataset } = await import('../src/index.js');
    const rows = join(await tempDir(), 'rows.jsonl');
    // Over 4 MiB, so that workers count (they alone load the tokenizer then).
    const line = (i: number) => JSON.stringify({ question: `question ${i} about a bond`, answer: `it is a debt security ${'and more '.repeat(60)}` });
    await writeFile(rows, Array.from({ length: 9_000 }, (_, i) => line(i)).join('\n'));
    for (const concurrency of [1, 2]) {
      const result = await prepareDataset({ inputs: [rows], outDir: join(await tempDir(), `o${concurrency}`), tokenizer: dir, concurrency, dedup: false });
      expect(result.warnings, `concurrency ${concurrency}`).toContainEqual(expect.stringMatching(/uses \{% break %\} or \{% continue %\} directly inside a \{% set %\}/));
    }
  }, 60_000);

  it('compiles a loop with many controls under nested ifs (the rewritten body is a graph, walked once per node)', () => {
    // Walked path by path, 40 such controls would take 2^40 steps: the test would never end.
    const body = '{% if a %}{% if b %}{% continue %}{% endif %}{% endif %}x'.repeat(40);
    const template = compileTemplate({ text: `{% for m in messages %}${body}{% endfor %}`, origin: 'o.jinja' }, 'models/m');
    expect(template.render({ messages: [{}, {}], a: false })).toBe('x'.repeat(80));
    expect(template.render({ messages: [{}, {}], a: true, b: true })).toBe('');
  });

  const python = hasJinja2();
  it.skipIf(!python)('renders 300 generated templates with nested loops, branches and controls as jinja2 does (needs python3 with jinja2)', () => {
    const rng = mulberry32(20261129);
    const templates = Array.from({ length: 300 }, () => generateTemplate(rng));
    const expected = renderWithJinja2(templates);
    for (const [i, text] of templates.entries()) {
      const got = compileTemplate({ text, origin: 'generated' }, 'generated').render({});
      expect({ text, got }).toEqual({ text, got: expected[i] });
    }
  });
});

// --- helpers ---

function folder(chatTemplate: string): Promise<string> {
  return tinyTokenizer({ chat_template: chatTemplate });
}


function renderWithJinja2(templates: string[]): string[] {
  const script = [
    'import json, sys',
    'from jinja2.ext import loopcontrols',
    'from jinja2.sandbox import ImmutableSandboxedEnvironment',
    'env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])',
    'print(json.dumps([env.from_string(t).render() for t in json.load(sys.stdin)]))',
  ].join('\n');
  return JSON.parse(execFileSync('python3', ['-c', script], { input: JSON.stringify(templates), encoding: 'utf8' })) as string[];
}

/** A template of loops over small ranges whose bodies mix text, values, branches, nested loops and controls. */
function generateTemplate(rng: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)] as T;
  const statements = (depth: number, v: string, budget: number): string => {
    let out = '';
    const n = 1 + Math.floor(rng() * 4);
    for (let i = 0; i < n && budget > 0; i++, budget--) {
      const r = rng();
      if (r < 0.2) out += pick(['a', 'b ', '-', '|']);
      else if (r < 0.35) out += pick([`{{ ${v} }}`, '{{ loop.index }}', `{{ loop.length - ${v} }}`]);
      else if (r < 0.45) out += '{% continue %}';
      else if (r < 0.52) out += '{% break %}';
      else if (r < 0.8) {
        const cond = () => `${v} % ${2 + Math.floor(rng() * 3)} == ${Math.floor(rng() * 2)}`;
        out += `{% if ${cond()} %}${statements(depth, v, budget - 1)}`;
        if (rng() < 0.4) out += `{% elif ${cond()} %}${statements(depth, v, budget - 1)}`;
        if (rng() < 0.5) out += `{% else %}${statements(depth, v, budget - 1)}`;
        out += '{% endif %}';
      } else if (depth < 2) out += loop(depth + 1, budget - 1);
    }
    return out;
  };
  const loop = (depth: number, budget: number): string => {
    const v = `v${depth}`;
    const otherwise = rng() < 0.3 ? `{% else %}E${depth}` : '';
    return `{% for ${v} in range(${Math.floor(rng() * 5)}) %}${statements(depth, v, budget)}${otherwise}{% endfor %}.`;
  };
  return `${loop(0, 8)}${rng() < 0.5 ? loop(0, 6) : ''}`;
}

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
