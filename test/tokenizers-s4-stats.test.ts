/**
 * `lora-prep stats --tokenizer DIR`: a row the chat template refuses is counted as refused (prepare
 * rejects it as template_error), not a crash; and the stats say what prepare says about a model
 * that ships no chat template.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/run.js';
import { fileStats, formatStats } from '../src/stats/index.js';
import { loadTokenizer } from '../src/tokenizers/index.js';
import { fakeIo } from './helpers/cli.js';
import { tempDir, tinyTokenizer } from './helpers/index.js';

const REFUSING = "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for m in messages %}{{ m['role'] + ' ' + m['content'] + ' ' }}{% endfor %}";

const rows = [
  { messages: [{ role: 'system', content: 'you are careful' }, { role: 'user', content: 'what is a bond ?' }, { role: 'assistant', content: 'a debt security.' }] },
  { messages: [{ role: 'user', content: 'what is a bond ?' }, { role: 'assistant', content: 'a debt security.' }] },
  { messages: [{ role: 'user', content: 'what is equity ?' }, { role: 'assistant', content: 'ownership.' }] },
];

async function setup(): Promise<{ dir: string; file: string }> {
  const root = await tempDir();
  const dir = await tinyTokenizer({ chat_template: REFUSING });
  const file = join(root, 'train.jsonl');
  await writeFile(file, `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
  return { dir, file };
}

describe('stats with a chat template that refuses rows', () => {
  it('counts the rows it renders and reports the refused ones by line, without throwing', async () => {
    const { dir, file } = await setup();
    const s = await fileStats(file, { tokenizer: dir });
    const tok = await loadTokenizer(dir);
    expect(s.examples).toBe(2);
    expect(s.unreadable).toBe(0);
    expect(s.refused).toBe(1);
    expect(s.refusedRows).toEqual([{ line: 1, reason: 'template_error', message: 'the chat template refused this conversation: System role not supported' }]);
    expect(s.tokens.total).toBe(tok.count('user what is a bond ? assistant a debt security. ') + tok.count('user what is equity ? assistant ownership. '));
    expect(formatStats(s)).toMatch(/2 examples, 1 refused by the chat template or tokenizer \(not counted\)[^\n]*\n[\s\S]*refused: line 1: template_error: the chat template refused this conversation: System role not supported/);
  });

  it('exits 0 from the CLI and prints the refusal instead of a stack trace', async () => {
    const { dir, file } = await setup();
    const io = fakeIo();
    expect(await runCli(['stats', file, '--tokenizer', dir, '--quiet'], io)).toBe(0);
    expect(io.out).toMatch(/refused: line 1: template_error/);
    expect(io.err).not.toMatch(/TemplateError|at /);
  });
});

describe('stats with a model that ships no chat template', () => {
  it('says that counts use ChatML, as prepare does', async () => {
    const { file } = await setup();
    const s = await fileStats(file, { tokenizer: 'fixtures/tokenizers/tiny-no-template' });
    expect(s.warnings).toEqual([
      "tokenizer fixtures/tokenizers/tiny-no-template ships no chat_template: counts use ChatML, as Axolotl's fallback does; check that your trainer renders the same",
    ]);
    expect(formatStats(s)).toMatch(/\n {2}warning: tokenizer fixtures\/tokenizers\/tiny-no-template ships no chat_template: counts use ChatML/);
    const io = fakeIo();
    expect(await runCli(['stats', file, '--tokenizer', 'fixtures/tokenizers/tiny-no-template', '--json'], io)).toBe(0);
    expect(JSON.parse(io.out)).toMatchObject({ warnings: [expect.stringMatching(/ships no chat_template/)], refused: 0 });
  });

  it('has no warnings for a model with a template', async () => {
    const { file } = await setup();
    expect((await fileStats(file, { tokenizer: 'fixtures/tokenizers/tiny-chatml' })).warnings).toEqual([]);
  });
});
