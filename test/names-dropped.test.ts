/**
 * A message's `name` that the written records leave out (Together's chat records, ShareGPT's and
 * Alpaca's) is not counted, though the model's chat template would print it.
 */
import { describe, expect, it } from 'vitest';
import { applyBudget } from '../src/check/budget.js';
import { namesDropped, recordBuilder, targets, type RecordFormat, type TargetName } from '../src/formats/index.js';
import { prepareDataset } from '../src/index.js';
import { loadTokenizer } from '../src/tokenizers/index.js';
import type { Message } from '../src/types.js';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from './helpers/index.js';
import { readJsonl } from './helpers/output.js';

const NAME = 'Dr_Alexandra_Montgomery_Whitfield';
const named: Message[] = [
  { role: 'user', content: 'Is the lease assignable?', name: NAME },
  { role: 'assistant', content: 'Only with the landlord’s consent.' },
];

/** A tokenizer folder whose chat template prints each message's name before its content. */
async function namePrintingTokenizer(): Promise<string> {
  const dir = await tempDir();
  const base = 'fixtures/tokenizers/tiny-chatml';
  const { readFile } = await import('node:fs/promises');
  await writeFile(join(dir, 'tokenizer.json'), await readFile(join(base, 'tokenizer.json')));
  const config = JSON.parse(await readFile(join(base, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  config.chat_template = "{% for m in messages %}<|im_start|>{{ m.role }}{% if m.name %} {{ m.name }}{% endif %}\n{{ m.content }}<|im_end|>\n{% endfor %}";
  await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify(config));
  return dir;
}

describe('names the records leave out', () => {
  it('are dropped exactly where the record builder writes no name', () => {
    const seen: string[] = [];
    for (const [target, t] of Object.entries(targets)) {
      for (const format of Object.keys(t.formats) as RecordFormat[]) {
        const r = recordBuilder(target as TargetName, format)({ messages: named });
        if (!r.ok) continue;
        expect(namesDropped(target as TargetName, format), `${target} ${format}`).toBe(!JSON.stringify(r.record).includes(NAME));
        if (namesDropped(target as TargetName, format)) seen.push(`${target} ${format}`);
      }
    }
    expect(seen).toEqual(expect.arrayContaining(['together chat', 'llama-factory chat', 'llama-factory instruction']));
    expect(namesDropped('openai', 'chat')).toBe(false);
  });

  it('are not counted where the budget says they are dropped, and are where it does not', async () => {
    const tok = await loadTokenizer(await namePrintingTokenizer());
    const unnamed = named.map(({ name: _n, ...m }) => m);
    const keep = applyBudget(tok, named, { overlong: 'keep' });
    const dropped = applyBudget(tok, named, { overlong: 'keep', namesDropped: true });
    const plain = applyBudget(tok, unnamed, { overlong: 'keep' });
    expect(keep.ok && dropped.ok && plain.ok).toBe(true);
    if (!keep.ok || !dropped.ok || !plain.ok) return;
    expect(dropped.tokens).toBe(plain.tokens);
    expect(keep.tokens).toBeGreaterThan(plain.tokens);
  });

  it('do not push a Together example over the budget, but an OpenAI one that keeps them', async () => {
    const dir = await tempDir();
    const tokenizer = await namePrintingTokenizer();
    const tok = await loadTokenizer(tokenizer);
    const plain = applyBudget(tok, named.map(({ name: _n, ...m }) => m), { overlong: 'keep' });
    if (!plain.ok) throw new Error('not counted');
    const input = join(dir, 'rows.jsonl');
    // The named row fits exactly without its name; a short row fits either way.
    await writeFile(input, `${JSON.stringify({ messages: named })}\n${JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Yes.' }] })}\n`);
    const base = { inputs: [input], tokenizer, maxTokens: plain.tokens, split: { validation: 0 }, dedup: false, concurrency: 1 } as const;
    const together = await prepareDataset({ ...base, outDir: join(dir, 'together'), target: 'together' });
    expect(together.counts.train).toBe(2);
    expect((await readJsonl(together.files.train))[0]).toEqual({ messages: [{ role: 'user', content: named[0]?.content }, { role: 'assistant', content: named[1]?.content }] });
    const openai = await prepareDataset({ ...base, outDir: join(dir, 'openai'), target: 'openai', failOn: { rejectedRatio: 1 } });
    expect(openai.counts.train).toBe(1);
    expect(openai.counts.rejected).toBe(1);
    expect(openai.counts.byReason).toEqual({ overlong: 1 });
  });
});
