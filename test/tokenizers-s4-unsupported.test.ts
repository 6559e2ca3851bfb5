/**
 * A chat template feature lora-prep's renderer (@huggingface/jinja) lacks is a job problem
 * (TOKENIZER_UNAVAILABLE naming the feature), found when the tokenizer loads where the smallest
 * conversation reaches it, else at the first row that does; a template's own refusal
 * (`raise_exception`) stays a row problem (`template_error`).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyBudget } from '../src/check/budget.js';
import { prepareDataset } from '../src/index.js';
import { compileTemplate } from '../src/tokenizers/_template.js';
import { loadTokenizer } from '../src/tokenizers/index.js';
import { TokenizerPool } from '../src/tokenizers/pool.js';
import type { Message } from '../src/types.js';
import { tempDir, tinyTokenizer } from './helpers/index.js';

function folder(chatTemplate: string): Promise<string> {
  return tinyTokenizer({ chat_template: chatTemplate });
}

const loop = (body: string) => `{% for m in messages %}${body}{% endfor %}`;
const chat: Message[] = [
  { role: 'user', content: 'what is a bond ?' },
  { role: 'assistant', content: 'a debt security.' },
];
const withSystem: Message[] = [{ role: 'system', content: 'you are careful' }, ...chat];

describe('features the renderer lacks fail the job when the tokenizer loads, naming the feature', () => {
  it.each([
    ['python % formatting', loop('{{ "%s: %s" % (m.role, m.content) }}'), /uses Python's "%" string formatting \("%s" % value\)/],
    ['the format filter', loop('{{ "%s -- %s"|format(m.role, m.content) }}'), /uses the filter "format" on a string/],
    ['the truncate filter', loop('{{ m.content|truncate(12) }}'), /uses the filter "truncate" on a string/],
    ['the e filter', loop('{{ m.content|e }}'), /uses the filter "e" on a string/],
    ['the escape filter', loop('{{ m.content|escape }}'), /uses the filter "escape" on a string/],
    ['str.count()', loop("{{ m.content.count('a') }}"), /uses the method \.count\(\)/],
    ['str.find()', loop("{{ m.content.find('a') }} {{ m.content.upper() }}"), /uses the method \.find\(\)/],
    ["jinja2's dict()", loop('{{ dict(a=1) }}{{ m.content }}'), /uses jinja2's function dict\(\)/],
    ['a function defined nowhere', `{{ my_helper() }}${loop('{{ m.content }}')}`, /uses the function my_helper\(\) \(defined nowhere: transformers fails on it too\)/],
    ['a loop over a string', loop('{% for c in m.content %}{{ c }}{% endfor %}'), /uses a for loop over the characters of a string/],
    ['a loop over an undefined field', loop('{% for c in m.tool_calls %}{{ c }}{% endfor %}{{ m.content }}'), /uses a for loop over an undefined value/],
  ])('%s', async (_name, template, feature) => {
    const dir = await folder(template);
    const error = await loadTokenizer(dir).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'TOKENIZER_UNAVAILABLE', message: expect.stringMatching(feature) });
    expect((error as Error).message).toMatch(new RegExp(`^tokenizer ${dir.replaceAll(/[.*+?^${}()|[\]\\]/g, '\\$&')}: the chat template \\(tokenizer_config\\.json\\) uses .*the rows are not at fault`));
  });
});

describe('a feature reached only by some rows', () => {
  const template = loop("{% if m.role == 'system' %}{{ m.content|truncate(5) }}{% else %}{{ m.content }}{% endif %} ");
  let pool: TokenizerPool | undefined;
  afterAll(async () => {
    await pool?.close();
  });

  it('loads, counts rows that do not reach it, and fails the job at the first row that does', async () => {
    const tok = await loadTokenizer(await folder(template));
    expect(applyBudget(tok, chat, { overlong: 'drop' })).toMatchObject({ ok: true, tokens: tok.count('what is a bond ? a debt security. ') });
    expect(() => applyBudget(tok, withSystem, { overlong: 'drop' })).toThrow(expect.objectContaining({ code: 'TOKENIZER_UNAVAILABLE', message: expect.stringMatching(/uses the filter "truncate" on a string/) }));
  });

  it('fails prepare with TOKENIZER_UNAVAILABLE instead of rejecting every such row as template_error', async () => {
    const root = await tempDir();
    const input = join(root, 'in.jsonl');
    await writeFile(input, `${JSON.stringify({ messages: chat })}\n${JSON.stringify({ messages: withSystem })}\n`);
    await expect(prepareDataset({ inputs: [input], outDir: join(root, 'out'), tokenizer: await folder(template), split: { validation: 0 } })).rejects.toMatchObject({
      code: 'TOKENIZER_UNAVAILABLE',
      message: expect.stringMatching(/truncate/),
    });
  });

  it('fails validate --max-tokens with TOKENIZER_UNAVAILABLE too, instead of a warning per line', async () => {
    const { validateFile } = await import('../src/validate/index.js');
    const file = join(await tempDir(), 'train.jsonl');
    await writeFile(file, `${JSON.stringify({ messages: chat })}\n${JSON.stringify({ messages: withSystem })}\n`);
    await expect(validateFile(file, { target: 'openai', maxTokens: 100, tokenizer: await folder(template) })).rejects.toMatchObject({
      code: 'TOKENIZER_UNAVAILABLE',
      message: expect.stringMatching(/truncate/),
    });
  });

  it('keeps the code when a worker thread finds it', async () => {
    pool = await TokenizerPool.start(await folder(template), 1);
    await expect(pool.run([{ messages: withSystem }], { budget: { overlong: 'drop' } })).rejects.toMatchObject({
      code: 'TOKENIZER_UNAVAILABLE',
      message: expect.stringMatching(/uses the filter "truncate" on a string/),
    });
  });
});

describe('row problems stay row problems', () => {
  it("a template's raise_exception is a refusal, and a failure on the data that jinja2 would fail on too a failure: both template_error", async () => {
    const refusing = await loadTokenizer(await folder(`{% if messages[0].role == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}${loop('{{ m.content }} ')}`));
    expect(applyBudget(refusing, withSystem, { overlong: 'drop' })).toEqual({ ok: false, reason: 'template_error', message: 'the chat template refused this conversation: System role not supported' });
    const tok = await loadTokenizer(await folder(loop("{{ m.content + (m.tool_call_id if m.role == 'system' else '') }} ")));
    expect(applyBudget(tok, chat, { overlong: 'drop' })).toMatchObject({ ok: true });
    expect(applyBudget(tok, withSystem, { overlong: 'drop' })).toEqual({
      ok: false,
      reason: 'template_error',
      message: 'the chat template failed on this conversation: Cannot perform operation + on undefined values',
    });
  });
});

describe('features the renderer rendered differently, without failing', () => {
  it('strip, lstrip and rstrip given characters strip those, as Python does, with no warning (test/tokenizers-fidelity.test.ts)', () => {
    const t = compileTemplate({ text: loop("{{ m.content.lstrip('wh') }}|{{ m.content.rstrip('.') }}|{{ m.content.strip() }}"), origin: 'tokenizer_config.json' }, 'models/m');
    expect(t.warnings).toEqual([]);
    expect(t.render({ messages: [{ role: 'user', content: 'what is it.. ' }] })).toBe('at is it.. |what is it.. |what is it..');
  });
});
