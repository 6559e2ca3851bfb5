import { execFile } from 'node:child_process';
import { truncateSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countTokens, type CountedExample, type RecordLine } from '../src/check/index.js';
import { applyBudget } from '../src/check/budget.js';
import { DEFAULT_MINHASH, nearSignature, nearText } from '../src/dedup/minhash.js';
import { exampleKeys, FirstRows, hash64Parts } from '../src/dedup/index.js';
import { prepareDataset } from '../src/index.js';
import { recordBuilder, targets, type RecordFormat, type TargetName } from '../src/formats/index.js';
import { serializeRecord } from '../src/write/jsonl.js';
import { loadTokenizer } from '../src/tokenizers/index.js';
import { TokenizerPool, workerLimits } from '../src/tokenizers/pool.js';
import type { Tokenizer } from '../src/tokenizers/types.js';
import type { Example } from '../src/types.js';
import { collect, fromArray, recordingContext, tempDir } from './helpers/index.js';

// Worker threads from 4 MiB of input (the line's own setting), so that the tests that run
// prepareDataset with workers keep their inputs small.
process.env.LORA_PREP_WORKERS_FROM_BYTES = String(4 * 1024 * 1024);

const words = ['bond', 'yield', 'equity', 'tort', 'clause', 'dosage', 'µg', '€', 'é', 'patient', 'liability'];
function example(i: number): Example {
  const n = 5 + ((i * 37) % 200);
  const answer = Array.from({ length: n }, (_, j) => words[(i + j * 7) % words.length]).join(' ');
  return {
    id: String(i),
    messages: [
      { role: 'user', content: `Question ${i}?` },
      { role: 'assistant', content: answer },
    ],
    meta: { source: { file: 'gen', line: i + 1 } },
  };
}

describe('TokenizerPool', () => {
  let pool: TokenizerPool;
  let tok: Tokenizer;
  beforeAll(async () => {
    pool = await TokenizerPool.start('o200k_base', 2);
    tok = await loadTokenizer('o200k_base');
  });
  afterAll(async () => {
    await pool.close();
  });

  it('stops once: a second close waits for the same stop, and a batch after it is refused', async () => {
    const own = await TokenizerPool.start('o200k_base', 1);
    const first = own.close();
    expect(own.close()).toBe(first);
    await first;
    await expect(own.run([{ messages: [{ role: 'user', content: 'hi' }] }], { budget: { overlong: 'keep' } })).rejects.toThrow(/after close/);
  });

  it('gives the same results as counting inline, in input order, with rejections in order too', async () => {
    const input = Array.from({ length: 1500 }, (_, i) => example(i));
    const budget = { maxTokens: 150, overlong: 'drop' as const };
    const inlineCtx = recordingContext();
    const inline = await collect(countTokens(fromArray(input.map((e) => structuredClone(e))), { tokenizer: tok, budget }, inlineCtx));
    const pooledCtx = recordingContext();
    const pooled = await collect(countTokens(fromArray(input.map((e) => structuredClone(e))), { tokenizer: tok, budget, pool }, pooledCtx));
    const summary = (c: CountedExample) => [c.example.id, c.tokens, c.prompt];
    expect(pooled.map(summary)).toEqual(inline.map(summary));
    expect(pooledCtx.rejected).toEqual(inlineCtx.rejected);
    expect(inlineCtx.rejected.length).toBeGreaterThan(0);
    expect(inline.length).toBeGreaterThan(0);
  });

  it('knows which workers have a batch in hand, from their own counts, before their replies are read', async () => {
    expect(pool.working).toBe(0);
    const budget = { overlong: 'keep' as const };
    // Large batches of words never seen before (200,000 a batch, so no cache of the tokenizer's
    // helps): both are still being tokenized when `working` is read, even if this thread is
    // descheduled for a while between sending and reading. Repeated words counted from a warm
    // cache in about a millisecond, and under a loaded machine the first batch was sometimes done.
    const big = (k: number) =>
      Array.from({ length: 200 }, (_, i) => ({
        messages: [
          { role: 'user' as const, content: `question ${k} ${i}` },
          { role: 'assistant' as const, content: Array.from({ length: 1000 }, (_, j) => `w${k}x${i}q${j}z${(i * 7919 + j * 104729) % 1000003}`).join(' ') },
        ],
      }));
    // Both made before either is sent, so that nothing slow runs between the two.
    const [batch1, batch2] = [big(1), big(2)];
    const first = pool.run(batch1, { budget });
    expect(pool.working).toBe(1);
    // The second batch goes to the other worker, the one with nothing in hand.
    const second = pool.run(batch2, { budget });
    expect(pool.working).toBe(2);
    // A worker counts its batch as finished before it replies: once both replies are in, none counts.
    await Promise.all([first, second]);
    expect(pool.working).toBe(0);
  });

  it('returns the same MinHash signatures as inline (packed one table a batch in the worker)', async () => {
    const input = Array.from({ length: 300 }, (_, i) => example(i));
    const budget = { maxTokens: 150, overlong: 'drop' as const };
    const near = DEFAULT_MINHASH;
    const inline = await collect(countTokens(fromArray(input.map((e) => structuredClone(e))), { tokenizer: tok, budget, near }, recordingContext()));
    const pooled = await collect(countTokens(fromArray(input.map((e) => structuredClone(e))), { tokenizer: tok, budget, pool, near }, recordingContext()));
    expect(pooled.length).toBe(inline.length);
    expect(pooled.length).toBeLessThan(input.length);
    for (const [i, c] of pooled.entries()) {
      expect(c.signature?.length).toBe(near.permutations);
      expect([...(c.signature as Uint32Array)]).toEqual([...(inline[i]?.signature as Uint32Array)]);
      expect([...(c.signature as Uint32Array)]).toEqual([...nearSignature(c.example.messages)]);
    }
  });

  it('runs the same budget code as inline (truncation included)', async () => {
    const items = Array.from({ length: 20 }, (_, i) => example(i).messages);
    const budget = { maxTokens: 60, overlong: 'truncate' as const };
    expect(await pool.run(items.map((messages) => ({ messages })), { budget })).toEqual(items.map((m) => applyBudget(tok, m, budget)));
  });

  it('builds each record line exactly as inline and as serializeRecord writes it, in the workers or on the main thread, for every target and format', async () => {
    // Non-ASCII, a U+2028 that must be escaped, truncated answers, multi-turn chats that the
    // instruction formats refuse, and conversations that break a target's rules.
    const input: Example[] = Array.from({ length: 120 }, (_, i) => {
      const e = example(i);
      const messages = [...e.messages];
      if (i % 3 === 0) messages.unshift({ role: 'system', content: 'Réponds en\u2028français.' });
      if (i % 4 === 0) messages.push({ role: 'user', content: `Et ensuite ${i} ?` }, { role: 'assistant', content: 'Voir ci-dessus.' });
      if (i % 11 === 0) messages.push({ role: 'user', content: 'A trailing user turn.' });
      return { ...e, messages };
    });
    const budget = { maxTokens: 120, overlong: 'truncate' as const };
    let refused = 0;
    for (const [name, t] of Object.entries(targets)) {
      for (const format of Object.keys(t.formats) as RecordFormat[]) {
        const record = { target: name as TargetName, format };
        const inline = await collect(countTokens(fromArray(input.map((e) => structuredClone(e))), { tokenizer: tok, budget, record }, recordingContext()));
        const build = recordBuilder(record.target, format);
        for (const balance of ['workers', 'main', 'auto'] as const) {
          const pooled = await collect(countTokens(fromArray(input.map((e) => structuredClone(e))), { tokenizer: tok, budget, pool, record, balance }, recordingContext()));
          expect(pooled.length, `${name} ${format}`).toBe(inline.length);
          for (const [i, c] of pooled.entries()) {
            const want = build(c.example);
            const expected = want.ok ? { ok: true, line: `${serializeRecord(want.record)}\n` } : { ok: false, reason: want.reason, message: want.message };
            const text = (r: RecordLine | undefined) => (r?.ok ? { ok: true, line: r.line ? Buffer.from(r.line).toString('utf8') : `${r.text}\n` } : r);
            expect(text(c.record), `${name} ${format} ${balance} #${c.example.id}`).toEqual(expected);
            expect(text(inline[i]?.record)).toEqual(expected);
            if (!want.ok) refused++;
          }
        }
      }
    }
    expect(refused).toBeGreaterThan(0);
  });

  it('computes the dedup keys as inline, in the workers or on the main thread, and does not tokenize a copy of a row already kept', async () => {
    const input = Array.from({ length: 400 }, (_, i) => example(i % 250));
    // Rows 0-99 are "kept" before counting starts; rows 250-399 copy rows 0-149.
    const run = async (withPool: boolean, key: 'conversation' | 'prompt', balance?: 'workers' | 'main' | 'auto') => {
      const seen = new FirstRows({ shared: withPool });
      for (let r = 0; r < 100; r++) {
        const k = exampleKeys((input[r] as Example).messages, key);
        seen.firstOf(k.keyHi, k.keyLo, r);
      }
      const opts = { tokenizer: tok, budget: { maxTokens: 150, overlong: 'truncate' as const }, near: DEFAULT_MINHASH, keys: { key, seen } };
      return collect(countTokens(fromArray(input.map((e) => structuredClone(e))), withPool ? { ...opts, pool, balance } : opts, recordingContext()));
    };
    for (const [key, balance] of [['conversation', 'workers'], ['prompt', 'workers'], ['conversation', 'main'], ['prompt', 'main'], ['conversation', 'auto']] as const) {
      const inline = await run(false, key);
      const pooled = await run(true, key, balance);
      expect(pooled.map((c) => [c.example.id, c.tokens, c.duplicateOf, c.keys, c.nearText])).toEqual(inline.map((c) => [c.example.id, c.tokens, c.duplicateOf, c.keys, c.nearText]));
      for (const [i, c] of pooled.entries()) {
        const copied = i < 100 || i >= 250 && i < 350;
        expect(c.duplicateOf, `row ${i}`).toBe(copied ? i % 250 : undefined);
        if (copied) expect(c.tokens).toBe(0);
        else {
          // Keys and near text are those of the messages as written (truncated or not).
          expect(c.keys).toEqual(exampleKeys(c.example.messages, key));
          expect(c.nearText).toBe(nearText(c.example.messages));
          expect([...(c.signature as Uint32Array)]).toEqual([...nearSignature(c.example.messages)]);
        }
      }
      expect(pooled.some((c) => c.truncated)).toBe(true);
    }
  });

  it('takes a dedup key function on the main thread, whatever the balance asked for', async () => {
    // The key is the question's number modulo 50: rows 50-999 copy an earlier row by that key
    // (the first 256 rows are all in flight before any is kept).
    const key = (e: Example) => String(Number(/\d+/.exec(e.messages[0]?.content ?? '')?.[0]) % 50);
    const input = Array.from({ length: 1000 }, (_, i) => example(i));
    const seen = new FirstRows({ shared: true });
    const out: CountedExample[] = [];
    for await (const c of countTokens(fromArray(input), { tokenizer: tok, budget: { overlong: 'keep' as const }, pool, keys: { key, seen }, balance: 'workers' }, recordingContext())) {
      // As a caller does: a row that is not a copy is kept.
      if (c.duplicateOf === undefined) seen.firstOf(c.keys?.keyHi as number, c.keys?.keyLo as number, Number(c.example.id));
      out.push(c);
    }
    for (const c of out) {
      const [keyHi, keyLo] = hash64Parts(key(c.example));
      if (c.duplicateOf === undefined) expect(c.keys).toMatchObject({ keyHi, keyLo });
      else expect(key(input[c.duplicateOf] as Example)).toBe(key(c.example));
    }
    // Rows read while their first copy was still being counted are not caught early; the rest are.
    expect(out.filter((c) => c.duplicateOf !== undefined).length).toBeGreaterThan(0);
  });

  it('starts its workers again without a heap cap when one runs out of heap loading a Hugging Face tokenizer', async () => {
    // 2 MB of old generation cannot load anything: the first workers fail, the pool starts uncapped ones.
    const hf = await TokenizerPool.start('fixtures/tokenizers/tiny-chatml', 2, { oldGenerationMb: 2 });
    try {
      const chat = [{ role: 'user' as const, content: 'hello world' }, { role: 'assistant' as const, content: 'a bond.' }];
      const results = await hf.run([{ messages: chat }, { messages: chat }], { budget: { overlong: 'keep' } });
      expect(results.map((r) => r.ok && [r.tokens, r.prompt])).toEqual([[12, 8], [12, 8]]);
      // The workers say what the main thread needs of the tokenizer: its control tokens too.
      expect(hf.tokenizer.specialTokens).toEqual(['[UNK]', '<|im_start|>', '<|im_end|>', '<s>', '</s>']);
    } finally {
      await hf.close();
    }
  });

  it('sizes the workers\' old generation by the tokenizer file and by the longest row they may be sent', async () => {
    const MiB = 1024 * 1024;
    const old = (spec: string, rowBytes = 16 * MiB) => workerLimits(spec, rowBytes).resourceLimits.maxOldGenerationSizeMb;
    // OpenAI encodings: 128 MB, more for rows past the default 16 MiB lines.
    expect(old('o200k_base')).toBe(128);
    expect(old('o200k_base', 64 * MiB)).toBe(512);
    // A small tokenizer.json: the 192 MB floor, or 12 MB a MiB of the longest row.
    expect(old('fixtures/tokenizers/tiny-chatml')).toBe(192);
    expect(old('fixtures/tokenizers/tiny-chatml', 64 * MiB)).toBe(768);
    // A 40 MiB tokenizer.json: 64 + 8 MB a MiB of it.
    const dir = await tempDir();
    await writeFile(join(dir, 'tokenizer.json'), '');
    truncateSync(join(dir, 'tokenizer.json'), 40 * MiB);
    expect(old(dir)).toBe(64 + 8 * 40);
    // No such tokenizer: no cap (the worker says what is wrong).
    expect(old('no/such/folder')).toBeUndefined();
  });

  it('prints no warning of its own while a worker collects what loading left behind', async () => {
    // A process of its own, as a user's: a worker thread's warnings go to its stderr.
    const dir = await tempDir();
    const script = join(dir, 'pool.mts');
    const pool = JSON.stringify(join(process.cwd(), 'src/tokenizers/pool.ts'));
    await writeFile(
      script,
      `import { TokenizerPool } from ${pool};\n` +
        `const p = await TokenizerPool.start('fixtures/tokenizers/tiny-chatml', 1);\n` +
        `const r = await p.run([{ messages: [{ role: 'user', content: 'hello world' }, { role: 'assistant', content: 'a bond.' }] }], { budget: { overlong: 'keep' } });\n` +
        `await p.close();\nconsole.log(JSON.stringify(r));\n`,
    );
    const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
      execFile(process.execPath, [join(process.cwd(), 'node_modules/tsx/dist/cli.mjs'), script], { cwd: process.cwd(), timeout: 60_000 }, (error, out, err) =>
        error ? reject(new Error(`${error.message}\n${err}`)) : resolve({ stdout: out, stderr: err }),
      );
    });
    expect(JSON.parse(stdout)).toEqual([{ ok: true, tokens: 12, prompt: 8 }]);
    expect(stderr).not.toMatch(/Warning/);
  });

  it('reports a tokenizer that cannot load as TOKENIZER_UNAVAILABLE', async () => {
    await expect(TokenizerPool.start('qwen3', 1)).rejects.toMatchObject({ code: 'TOKENIZER_UNAVAILABLE' });
  });
});

describe('prepareDataset with worker threads', () => {
  it('writes byte-identical files with 1 (inline) and 2 tokenizer threads on an input large enough for workers', async () => {
    const dir = await tempDir();
    const file = join(dir, 'big.jsonl');
    const lines: string[] = [];
    let bytes = 0;
    let copies = 0;
    for (let i = 0; bytes < 4.5 * 1024 * 1024; i++) {
      const e = example(i);
      const line = JSON.stringify({ question: e.messages[0]?.content, answer: `${e.messages[1]?.content} ${i}` });
      lines.push(line);
      bytes += line.length + 1;
      // Copies at every distance: the row just before (still in flight to a worker when the copy
      // is read) and rows long kept (caught before counting).
      if (i % 97 === 0 && i > 0) {
        lines.push(lines[lines.length - 1 - (i % 5 === 0 ? 1 : Math.min(lines.length - 1, i))] as string);
        copies++;
      }
    }
    await writeFile(file, `${lines.join('\n')}\n`);
    const base = { inputs: [file], maxTokens: 160, overlong: 'truncate' as const, overwrite: true };
    const one = await prepareDataset({ ...base, outDir: join(dir, 'one'), concurrency: 1 });
    const two = await prepareDataset({ ...base, outDir: join(dir, 'two'), concurrency: 2 });
    expect(two.counts).toEqual(one.counts);
    expect(one.counts.byReason.duplicate).toBe(copies);
    // Rejections are listed in input order although copies of kept rows are caught before counting.
    const rejectedLines = (await readFile(join(dir, 'two', 'report/rejected.jsonl'), 'utf8')).trim().split('\n').map((l) => (JSON.parse(l) as { source: { line: number } }).source.line);
    expect(rejectedLines).toEqual([...rejectedLines].sort((a, b) => a - b));
    expect(two.truncated).toBe(one.truncated);
    expect(one.truncated).toBeGreaterThan(0);
    for (const f of ['train.jsonl', 'validation.jsonl', 'report/rejected.jsonl', 'report/report.json']) {
      expect((await readFile(join(dir, 'two', f))).equals(await readFile(join(dir, 'one', f))), f).toBe(true);
    }
  }, 120_000);

  it.each(['drop', 'truncate'] as const)(
    'overlong %s: a copy whose own count is over the budget is a duplicate of its first, with 1 or 2 threads alike',
    async (overlong) => {
      // Each row followed at once by its copy in capitals: the same dedup key (keys are lower-cased),
      // about twice the tokens, over maxTokens. With workers the copy is counted while its first is
      // still in flight; it must still be a duplicate, neither rejected as overlong nor kept truncated.
      const dir = await tempDir();
      const file = join(dir, 'cased.jsonl');
      const words = ['ledger', 'accrual', 'deferred', 'revenue', 'covenant', 'indemnity', 'statute', 'tort', 'liability', 'escrow', 'amortization', 'depreciation'];
      const lines: string[] = [];
      let bytes = 0;
      let pairs = 0;
      for (let i = 0; bytes < 4.5 * 1024 * 1024; i++) {
        const answer = `${Array.from({ length: 40 }, (_, j) => words[(i * 7 + j * 3 + (i >> 4)) % words.length]).join(' ')} entry ${i}.`;
        const row = { question: `What does entry ${i} of the ledger record?`, answer };
        const copy = { question: row.question.toUpperCase(), answer: answer.toUpperCase() };
        for (const r of [row, copy]) {
          const line = JSON.stringify(r);
          lines.push(line);
          bytes += line.length + 1;
        }
        pairs++;
      }
      await writeFile(file, `${lines.join('\n')}\n`);
      const base = { inputs: [file], maxTokens: 90, overlong, dedup: { near: false } };
      const one = await prepareDataset({ ...base, outDir: join(dir, 'one'), concurrency: 1 });
      const two = await prepareDataset({ ...base, outDir: join(dir, 'two'), concurrency: 2 });
      expect(one.counts.byReason).toEqual({ duplicate: pairs });
      expect(two.counts).toEqual(one.counts);
      for (const f of ['train.jsonl', 'validation.jsonl', 'report/rejected.jsonl', 'report/report.json']) {
        expect((await readFile(join(dir, 'two', f))).equals(await readFile(join(dir, 'one', f))), f).toBe(true);
      }
    },
    120_000,
  );
});
