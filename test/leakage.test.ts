import { readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/run.js';
import { conversationKey } from '../src/dedup/index.js';
import { checkLeakage, FirstPairs, formatLeakage, MAX_LISTED_OVERLAPS, type Overlap } from '../src/leakage/index.js';
import type { Message } from '../src/types.js';
import { tempDir } from './helpers/index.js';
import { fakeIo } from './helpers/cli.js';

type Chat = { user: string; assistant: string; system?: string };

/** A chat in each shape lora-prep writes. */
const shapes = {
  messages: (c: Chat) => ({
    messages: [...(c.system ? [{ role: 'system', content: c.system }] : []), { role: 'user', content: c.user }, { role: 'assistant', content: c.assistant }],
  }),
  sharegpt: (c: Chat) => ({
    conversations: [...(c.system ? [{ from: 'system', value: c.system }] : []), { from: 'human', value: c.user }, { from: 'gpt', value: c.assistant }],
  }),
  alpaca: (c: Chat) => ({ instruction: c.user, input: '', output: c.assistant, ...(c.system ? { system: c.system } : {}) }),
  promptCompletion: (c: Chat) => ({ prompt: c.user, completion: c.assistant, ...(c.system ? { system: c.system } : {}) }),
  // TRL's conversational prompt-completion: both are lists of messages.
  conversationalPromptCompletion: (c: Chat) => ({
    prompt: [...(c.system ? [{ role: 'system', content: c.system }] : []), { role: 'user', content: c.user }],
    completion: [{ role: 'assistant', content: c.assistant }],
  }),
};
type Shape = keyof typeof shapes;

/** Writes `lines` (chats, raw strings, or '' for a blank line) as a JSONL file and returns its path. */
async function jsonl(dir: string, name: string, lines: Array<Chat | string>, shape: Shape = 'messages'): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `${lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(shapes[shape](l)))).join('\n')}\n`);
  return path;
}


const pairs = (list: Overlap[]) => list.map((o) => [o.a.line, o.b.line]);

const X: Chat = { user: 'What is a bond coupon?', assistant: 'The periodic interest payment a bond makes to its holder.' };
const Y: Chat = { user: 'What does EBITDA leave out?', assistant: 'Interest, taxes, depreciation and amortisation.' };
const Z: Chat = { user: 'Is a lease a liability?', assistant: 'Under IFRS 16 most leases put a liability on the balance sheet.' };
const W: Chat = { user: 'What is working capital?', assistant: 'Current assets minus current liabilities.' };

// About forty words, so one changed word keeps the word-bigram Jaccard near 0.9.
const LONG_ANSWER =
  'A convertible bond pays a fixed coupon like an ordinary bond, but the holder may exchange it for a set number of ' +
  'shares of the issuer during a conversion window. Investors accept a lower coupon in return for that option, ' +
  'which gains value when the share price rises.';
const LONG: Chat = { user: 'How does a convertible bond work?', assistant: LONG_ANSWER };
const LONG_EDITED: Chat = { user: LONG.user, assistant: LONG_ANSWER.replace('lower coupon', 'smaller coupon') };

describe('checkLeakage: exact overlaps', () => {
  it('finds copies across files with their physical lines, and ignores copies inside one file', async () => {
    const dir = await tempDir();
    const a = await jsonl(dir, 'train.jsonl', [X, Y, '', X, W]); // X on lines 1 and 4, a blank line 3
    const b = await jsonl(dir, 'valid.jsonl', [Z, { ...Y, user: '  what does ebitda   LEAVE out? ' }, X, Z]);
    const report = await checkLeakage([a, b]);
    expect(report.files).toEqual([
      { file: a, rows: 4, unreadable: 0 },
      { file: b, rows: 4, unreadable: 0 },
    ]);
    // Y matches after case and whitespace folding; X pairs with both of its train rows; Z (twice in valid) is not leakage.
    expect(report.exact.map((o) => [o.a, o.b, o.similarity])).toEqual([
      [{ file: a, line: 1 }, { file: b, line: 3 }, 1],
      [{ file: a, line: 2 }, { file: b, line: 2 }, 1],
      [{ file: a, line: 4 }, { file: b, line: 3 }, 1],
    ]);
    expect(report.exactCount).toBe(3);
    expect(report.near).toEqual([]);
    expect(report.nearCount).toBe(0);
    expect(report.clean).toBe(false);
  });

  it("reads TRL's conversational prompt-completion, and finds its copy in a messages file", async () => {
    const dir = await tempDir();
    const a = await jsonl(dir, 'train.jsonl', [X, Y], 'conversationalPromptCompletion');
    const b = await jsonl(dir, 'valid.jsonl', [Z, Y]);
    const report = await checkLeakage([a, b]);
    expect(report.files.map((f) => f.unreadable)).toEqual([0, 0]);
    expect(report.exact.map((o) => [o.a.line, o.b.line])).toEqual([[2, 2]]);
  });

  it('reports nothing for files that share no conversation', async () => {
    const dir = await tempDir();
    const report = await checkLeakage([await jsonl(dir, 'a.jsonl', [X, X, Y]), await jsonl(dir, 'b.jsonl', [Z, W, W])]);
    expect(report).toMatchObject({ exact: [], near: [], exactCount: 0, nearCount: 0, clean: true, nearChecked: true, threshold: 0.8 });
  });

  it('compares every pair of three files, a always in the earlier file', async () => {
    const dir = await tempDir();
    const a = await jsonl(dir, 'a.jsonl', [X, Y]);
    const b = await jsonl(dir, 'b.jsonl', [Z, X]);
    const c = await jsonl(dir, 'c.jsonl', [X, Z, W]);
    const report = await checkLeakage([a, b, c]);
    expect(report.exact.map((o) => `${o.a.file}:${o.a.line}>${o.b.file}:${o.b.line}`)).toEqual([
      `${a}:1>${b}:2`,
      `${a}:1>${c}:1`,
      `${b}:1>${c}:2`,
      `${b}:2>${c}:1`,
    ]);
  });

  it.each([
    ['alpaca', 'messages'],
    ['sharegpt', 'alpaca'],
    ['promptCompletion', 'sharegpt'],
    ['messages', 'promptCompletion'],
  ] as Array<[Shape, Shape]>)('matches the same conversation written as %s and as %s', async (shapeA, shapeB) => {
    const dir = await tempDir();
    const chat = { ...X, system: 'You are a careful financial analyst.' };
    const a = await jsonl(dir, 'a.jsonl', [Y, chat], shapeA);
    const b = await jsonl(dir, 'b.jsonl', [chat, Z], shapeB);
    const report = await checkLeakage([a, b]);
    expect(pairs(report.exact)).toEqual([[2, 1]]);
    expect(report.files.map((f) => f.unreadable)).toEqual([0, 0]);
  });

  it('counts every pair but lists at most MAX_LISTED_OVERLAPS', async () => {
    const dir = await tempDir();
    const a = await jsonl(dir, 'a.jsonl', [X, X, Y]);
    const b = await jsonl(dir, 'b.jsonl', Array.from({ length: 600 }, () => X));
    const report = await checkLeakage([a, b], { near: false });
    expect(report.exactCount).toBe(1200);
    expect(report.exact).toHaveLength(MAX_LISTED_OVERLAPS);
    // Sorted by a, then b.
    expect(report.exact[0]).toMatchObject({ a: { line: 1 }, b: { line: 1 } });
    expect(report.exact.at(-1)).toMatchObject({ a: { line: 2 } });
  });
});

describe('FirstPairs', () => {
  it('keeps the first pairs by a, then b, of any number added in any order (property)', () => {
    const pair = fc.record({ a: fc.nat(50), b: fc.nat(50), similarity: fc.double({ min: 0.8, max: 1, noNaN: true }) });
    fc.assert(
      fc.property(fc.array(pair, { maxLength: 200 }), fc.integer({ min: 1, max: 30 }), (added, limit) => {
        const first = new FirstPairs(limit);
        for (const p of added) first.add(p);
        const expected = [...added].sort((x, y) => x.a - y.a || x.b - y.b).slice(0, limit);
        const got = first.sorted();
        expect(got.map((p) => [p.a, p.b])).toEqual(expected.map((p) => [p.a, p.b]));
        expect(got).toHaveLength(Math.min(limit, added.length));
      }),
    );
  });
});

describe('checkLeakage: exact overlaps against every pair (property)', () => {
  it('counts and lists exactly the pairs of copies in different files, whatever the files hold', async () => {
    const dir = await tempDir();
    const chats = [X, Y, Z, W, LONG];
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(fc.integer({ min: 0, max: chats.length - 1 }), { maxLength: 12 }), { minLength: 2, maxLength: 4 }), async (files) => {
        run++;
        const paths = await Promise.all(files.map((ids, f) => jsonl(dir, `r${run}-f${f}.jsonl`, ids.map((id) => chats[id] as Chat))));
        const report = await checkLeakage(paths, { near: false });
        // Every pair of rows with the same chat in two different files, a in the earlier file.
        const expected: Array<[string, number, string, number]> = [];
        for (let fa = 0; fa < files.length; fa++)
          for (let fb = fa + 1; fb < files.length; fb++)
            for (const [ia, ca] of (files[fa] as number[]).entries())
              for (const [ib, cb] of (files[fb] as number[]).entries()) if (ca === cb) expected.push([paths[fa] as string, ia + 1, paths[fb] as string, ib + 1]);
        expect(report.exactCount).toBe(expected.length);
        const order = (p: string) => paths.indexOf(p);
        const byOrder = (x: [string, number, string, number], y: [string, number, string, number]) => order(x[0]) - order(y[0]) || x[1] - y[1] || order(x[2]) - order(y[2]) || x[3] - y[3];
        expect(report.exact.map((o) => [o.a.file, o.a.line, o.b.file, o.b.line])).toEqual(expected.sort(byOrder));
      }),
      { numRuns: 60 },
    );
  });
});

describe('checkLeakage: near overlaps', () => {
  it('finds every near copy in a file with many near copies of its own, past the 16 comparisons a band key allows', async () => {
    const dir = await tempDir();
    // Forty edits of one answer in the second file: under each shared band key, a row's nearest
    // rows are its own file's, which are not leakage and must not hide the first file's row.
    const words = LONG_ANSWER.split(' ');
    const edits = Array.from({ length: 40 }, (_, i): Chat => ({ user: LONG.user, assistant: words.map((w, j) => (j === i % words.length ? `edited${i}` : w)).join(' ') }));
    const a = await jsonl(dir, 'a.jsonl', [X, LONG]);
    const b = await jsonl(dir, 'b.jsonl', [Y, ...edits]);
    const report = await checkLeakage([a, b]);
    expect(report.exactCount).toBe(0);
    expect(report.nearCount).toBe(40);
    expect(report.near.map((o) => [o.a.line, o.b.line])).toEqual(edits.map((_, i) => [2, i + 2]));
  });

  it('finds a copy with one word changed in a forty-word answer', async () => {
    const dir = await tempDir();
    const a = await jsonl(dir, 'a.jsonl', [X, LONG]);
    const b = await jsonl(dir, 'b.jsonl', [Y, Z, LONG_EDITED]);
    const report = await checkLeakage([a, b]);
    expect(report.exact).toEqual([]);
    expect(pairs(report.near)).toEqual([[2, 3]]);
    const similarity = report.near[0]?.similarity as number;
    expect(similarity).toBeGreaterThanOrEqual(0.8);
    expect(similarity).toBeLessThan(1);
    expect(report.nearCount).toBe(1);
    expect(report.clean).toBe(false);
    // A stricter threshold than the pair's similarity drops it.
    expect((await checkLeakage([a, b], { threshold: Math.min(1, similarity + 0.01) })).clean).toBe(true);
  });

  it('does not list an exact pair again as near, nor near pairs inside one file', async () => {
    const dir = await tempDir();
    const a = await jsonl(dir, 'a.jsonl', [LONG, LONG_EDITED]);
    const b = await jsonl(dir, 'b.jsonl', [LONG]);
    const report = await checkLeakage([a, b]);
    expect(pairs(report.exact)).toEqual([[1, 1]]);
    expect(pairs(report.near)).toEqual([[2, 1]]);
  });

  it('does not report rows that share only a boilerplate disclaimer', async () => {
    const disclaimer =
      'This answer is general information and not financial advice. Rules differ by country and change over time, so ' +
      'check the current standard and ask a qualified adviser before you act on it.';
    const dir = await tempDir();
    const a = await jsonl(dir, 'a.jsonl', [
      {
        user: 'Why do bond prices fall when rates rise?',
        assistant: `Existing bonds pay fixed coupons, so when new issues offer more, buyers only take the old ones at a discount that lifts their yield to the market level. Longer maturities feel it most. ${disclaimer}`,
      },
    ]);
    const b = await jsonl(dir, 'b.jsonl', [
      {
        user: 'How should a startup book deferred revenue?',
        assistant: `Cash received for services not yet delivered is a liability; it moves into revenue month by month as the subscription is served, which keeps reported growth honest for investors reading accounts. ${disclaimer}`,
      },
    ]);
    expect((await checkLeakage([a, b])).clean).toBe(true);
  });

  it('skips near overlaps with near: false', async () => {
    const dir = await tempDir();
    const a = await jsonl(dir, 'a.jsonl', [LONG]);
    const b = await jsonl(dir, 'b.jsonl', [LONG_EDITED]);
    const report = await checkLeakage([a, b], { near: false });
    expect(report).toMatchObject({ near: [], nearCount: 0, nearChecked: false, clean: true });
  });

  it('leaves no spill folder behind', async () => {
    const dir = await tempDir();
    const before = new Set((await readdir(tmpdir())).filter((n) => n.startsWith('lora-prep-leakage-')));
    await checkLeakage([await jsonl(dir, 'a.jsonl', [LONG]), await jsonl(dir, 'b.jsonl', [LONG_EDITED])]);
    await expect(checkLeakage([await jsonl(dir, 'c.jsonl', [X]), join(dir, 'missing.jsonl')])).rejects.toThrow();
    const after = (await readdir(tmpdir())).filter((n) => n.startsWith('lora-prep-leakage-') && !before.has(n));
    expect(after).toEqual([]);
  });
});

describe('checkLeakage: bad rows and bad jobs', () => {
  it('counts unreadable rows instead of throwing', async () => {
    const dir = await tempDir();
    const a = await jsonl(dir, 'a.jsonl', [
      X,
      '{"messages": [',
      '[1, 2]',
      '{"messages": [{"role": "user", "content": "only a question"}]}',
      '{"messages": [{"role": "user", "content": "   "}, {"role": "assistant", "content": "x"}]}',
      '{"instruction": "an alpaca row in a messages file", "output": "y"}',
      Y,
    ]);
    const b = await jsonl(dir, 'b.jsonl', ['not json at all', Y]);
    const report = await checkLeakage([a, b]);
    expect(report.files).toEqual([
      { file: a, rows: 7, unreadable: 5 },
      { file: b, rows: 2, unreadable: 1 },
    ]);
    expect(pairs(report.exact)).toEqual([[7, 2]]);
  });

  it('treats an empty file as zero rows', async () => {
    const dir = await tempDir();
    const empty = join(dir, 'empty.jsonl');
    await writeFile(empty, '');
    const report = await checkLeakage([empty, await jsonl(dir, 'b.jsonl', [X])]);
    expect(report.files[0]).toEqual({ file: empty, rows: 0, unreadable: 0 });
    expect(report.clean).toBe(true);
  });

  it.each([
    ['one file', ['a.jsonl'], {}],
    ['no files', [], {}],
    ['a threshold of 0', ['a.jsonl', 'b.jsonl'], { threshold: 0 }],
    ['a threshold over 1', ['a.jsonl', 'b.jsonl'], { threshold: 1.5 }],
    ['a NaN threshold', ['a.jsonl', 'b.jsonl'], { threshold: Number.NaN }],
    ['the same file twice', ['a.jsonl', './a.jsonl'], {}],
  ])('throws OPTION_INVALID for %s', async (_name, names, options) => {
    const dir = await tempDir();
    const files = await Promise.all(names.map((n) => jsonl(dir, n, [X])));
    await expect(checkLeakage(files, options)).rejects.toMatchObject({ name: 'LoraPrepError', code: 'OPTION_INVALID' });
  });

  it('throws INPUT_NOT_FOUND for a missing file, naming it', async () => {
    const dir = await tempDir();
    const missing = join(dir, 'nope.jsonl');
    await expect(checkLeakage([await jsonl(dir, 'a.jsonl', [X]), missing])).rejects.toMatchObject({
      code: 'INPUT_NOT_FOUND',
      message: expect.stringContaining(missing),
    });
  });

  it('throws MAPPING_INVALID for a file whose first record has no known shape', async () => {
    const dir = await tempDir();
    const odd = await jsonl(dir, 'odd.jsonl', ['{"foo": 1}']);
    await expect(checkLeakage([await jsonl(dir, 'a.jsonl', [X]), odd])).rejects.toMatchObject({ code: 'MAPPING_INVALID' });
  });

  it('throws ABORTED when the signal is aborted', async () => {
    const dir = await tempDir();
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    const files = [await jsonl(dir, 'a.jsonl', [X]), await jsonl(dir, 'b.jsonl', [X])];
    await expect(checkLeakage(files, { signal: controller.signal })).rejects.toMatchObject({ code: 'ABORTED' });
  });
});

describe('checkLeakage: property', () => {
  const word = fc.constantFrom('bond', 'Yield', 'lease', 'tax', 'equity', 'swap', 'hedge', 'loan', 'rate', 'cash', 'audit', 'fee');
  const text = fc.array(word, { minLength: 1, maxLength: 6 }).map((ws) => ws.join(' '));
  const chat = fc.record({ user: text, assistant: text });
  const key = (c: Chat): string => conversationKey([{ role: 'user', content: c.user.trim() }, { role: 'assistant', content: c.assistant.trim() }] as Message[]);

  it('finds exactly the planted exact overlaps', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(chat, { minLength: 2, maxLength: 12, selector: key }),
        fc.infiniteStream(fc.boolean()),
        fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 5 }),
        fc.constantFrom<Shape>('messages', 'alpaca', 'sharegpt', 'promptCompletion'),
        async (chats, sides, plants, shapeB) => {
          const inA: Chat[] = [];
          const inB: Chat[] = [];
          for (const c of chats) (sides.next().value ? inA : inB).push(c);
          if (inA.length === 0) inA.push(inB.pop() as Chat);
          // Plant copies of rows of A at chosen positions of B; remember where they land.
          const planted: Array<{ aLine: number; row: Chat }> = [];
          const b: Array<Chat | { aLine: number; row: Chat }> = [...inB];
          for (const [from, at] of plants) {
            const aIndex = from % inA.length;
            b.splice(at % (b.length + 1), 0, { aLine: aIndex + 1, row: inA[aIndex] as Chat });
          }
          const expected: number[][] = [];
          const bRows = b.map((entry, i) => {
            if ('row' in entry) {
              planted.push(entry);
              expected.push([entry.aLine, i + 1]);
              return entry.row;
            }
            return entry;
          });
          const dir = await tempDir();
          const fileA = await jsonl(dir, 'a.jsonl', inA);
          const fileB = await jsonl(dir, 'b.jsonl', bRows, shapeB);
          const report = await checkLeakage([fileA, fileB]);
          expected.sort((x, y) => (x[0] as number) - (y[0] as number) || (x[1] as number) - (y[1] as number));
          expect(pairs(report.exact)).toEqual(expected);
          expect(report.exactCount).toBe(planted.length);
          expect(report.files.map((f) => f.unreadable)).toEqual([0, 0]);
        },
      ),
      { numRuns: 20 },
    );
  });
});

describe('lora-prep leakage', () => {
  it('exits 0 and says so when the files are clean', async () => {
    const dir = await tempDir();
    const io = fakeIo();
    const code = await runCli(['leakage', await jsonl(dir, 'a.jsonl', [X]), await jsonl(dir, 'b.jsonl', [Y])], io);
    expect(code).toBe(0);
    expect(io.out).toMatch(/no overlaps between the files: 0 exact · 0 near \(Jaccard ≥ 0\.8\)/);
    expect(io.err).toBe('');
  });

  it('says a clean finding covers only the rows it could read', async () => {
    const dir = await tempDir();
    const io = fakeIo();
    const code = await runCli(['leakage', await jsonl(dir, 'a.jsonl', [X, 'not json']), await jsonl(dir, 'b.jsonl', [Y])], io);
    expect(code).toBe(0);
    expect(io.out).toMatch(/no overlaps among the 2 rows compared \(1 unreadable were not\): 0 exact/);
  });

  it('exits 1 and lists the overlaps', async () => {
    const dir = await tempDir();
    const a = await jsonl(dir, 'a.jsonl', [X, LONG]);
    const b = await jsonl(dir, 'b.jsonl', [Z, LONG_EDITED, Y, X]);
    const io = fakeIo();
    expect(await runCli(['leakage', a, b], io)).toBe(1);
    expect(io.out).toContain('overlaps: 1 exact · 1 near (Jaccard ≥ 0.8)');
    expect(io.out).toContain(`${a}:1 ↔ ${b}:4  exact`);
    expect(io.out).toMatch(new RegExp(`${a.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2 ↔ .*b\\.jsonl:2  near 0\\.\\d\\d\\n`));
  });

  it('--exact-only skips near overlaps', async () => {
    const dir = await tempDir();
    const io = fakeIo();
    const code = await runCli(['leakage', await jsonl(dir, 'a.jsonl', [LONG]), await jsonl(dir, 'b.jsonl', [LONG_EDITED]), '--exact-only'], io);
    expect(code).toBe(0);
    expect(io.out).toContain('near not checked');
  });

  it('--json prints the report object; --threshold reaches it', async () => {
    const dir = await tempDir();
    const io = fakeIo();
    const code = await runCli(['leakage', await jsonl(dir, 'a.jsonl', [X]), await jsonl(dir, 'b.jsonl', [X]), '--json', '--threshold', '0.9'], io);
    expect(code).toBe(1);
    const report = JSON.parse(io.out);
    expect(report).toMatchObject({ exactCount: 1, nearCount: 0, threshold: 0.9, clean: false });
    expect(report.exact[0]).toMatchObject({ a: { line: 1 }, b: { line: 1 }, similarity: 1 });
  });

  it('shows at most twenty overlaps and says how many more there are', async () => {
    const dir = await tempDir();
    const io = fakeIo();
    await runCli(['leakage', await jsonl(dir, 'a.jsonl', [X]), await jsonl(dir, 'b.jsonl', Array.from({ length: 25 }, () => X))], io);
    expect(io.out.match(/ ↔ /g)).toHaveLength(20);
    expect(io.out).toContain('… and 5 more');
  });

  it.each([
    ['one file', ['a.jsonl']],
    ['a threshold over 1', ['a.jsonl', 'b.jsonl', '--threshold', '1.2']],
    ['a threshold that is no number', ['a.jsonl', 'b.jsonl', '--threshold', 'high']],
    ['--threshold with --exact-only', ['a.jsonl', 'b.jsonl', '--threshold', '0.9', '--exact-only']],
    ['an unknown flag', ['a.jsonl', 'b.jsonl', '--fast']],
    ['a missing file', ['a.jsonl', 'missing.jsonl']],
    ['the same file twice', ['a.jsonl', 'a.jsonl']],
  ])('exits 2 for %s', async (_name, args) => {
    const dir = await tempDir();
    await jsonl(dir, 'a.jsonl', [X]);
    await jsonl(dir, 'b.jsonl', [Y]);
    const io = fakeIo();
    const argv = args.map((x) => (x.endsWith('.jsonl') ? join(dir, x) : x));
    expect(await runCli(['leakage', ...argv], io)).toBe(2);
    expect(io.out).toBe('');
    expect(io.err).toMatch(/^lora-prep( leakage)?: /);
  });
});

describe('rows that are the first turns of a row of another file', () => {
  it('are overlaps (a chat logged at each turn: the validation snapshot is trained on), in both directions', async () => {
    const dir = await tempDir();
    const turns = (c: number, n: number) =>
      Array.from({ length: n }, (_, t) => [
        { role: 'user', content: `Chat ${c}: question ${t} about invoice ${c * 10 + t}?` },
        { role: 'assistant', content: `Invoice ${c * 10 + t} is paid.` },
      ]).flat();
    const train = join(dir, 'train.jsonl');
    const valid = join(dir, 'valid.jsonl');
    await writeFile(train, [turns(1, 3), turns(2, 1), turns(3, 2)].map((messages) => JSON.stringify({ messages })).join('\n'));
    await writeFile(valid, [turns(1, 2), turns(2, 3), turns(4, 2)].map((messages) => JSON.stringify({ messages })).join('\n'));
    const report = await checkLeakage([train, valid], { near: false });
    expect(report.clean).toBe(false);
    expect(report.containedCount).toBe(2);
    expect(report.contained).toEqual([
      { a: { file: train, line: 2 }, b: { file: valid, line: 2 }, similarity: 1 },
      { a: { file: valid, line: 1 }, b: { file: train, line: 1 }, similarity: 1 },
    ]);
    expect(formatLeakage(report)).toMatch(/0 exact · near not checked · 2 first turns of another/);
    // Every copy of a shorter row counts (the first is listed).
    await writeFile(valid, [turns(1, 2), turns(1, 2), turns(4, 2)].map((messages) => JSON.stringify({ messages })).join('\n'));
    const twice = await checkLeakage([train, valid], { near: false });
    expect(twice.containedCount).toBe(2);
    expect(twice.contained).toEqual([{ a: { file: valid, line: 1 }, b: { file: train, line: 1 }, similarity: 1 }]);
  });

  it('are not listed again as near overlaps, where the first turns are most of the longer chat', async () => {
    const dir = await tempDir();
    const opening = [
      { role: 'user', content: 'Summarise the indemnity clause of the supply agreement signed with Northwind in March, including the cap on liability and the carve-outs for gross negligence.' },
      { role: 'assistant', content: 'The supplier indemnifies the buyer against third-party claims arising from defective goods, capped at twelve months of fees, with carve-outs for gross negligence, wilful misconduct and breach of confidentiality.' },
    ];
    // Asked again, the same answer: the longer chat's text and final answer are the opening's.
    const longer = [...opening, { role: 'user', content: 'Repeat that.' }, opening[1]];
    const train = join(dir, 'train.jsonl');
    const valid = join(dir, 'valid.jsonl');
    await writeFile(train, `${JSON.stringify({ messages: longer })}\n`);
    await writeFile(valid, `${JSON.stringify({ messages: opening })}\n`);
    const report = await checkLeakage([train, valid], { threshold: 0.5 });
    expect(report.contained).toEqual([{ a: { file: valid, line: 1 }, b: { file: train, line: 1 }, similarity: 1 }]);
    expect(report.near).toEqual([]);
    expect(report.nearCount).toBe(0);
    expect(formatLeakage(report)).toMatch(/0 exact · 0 near \(Jaccard ≥ 0\.5\) · 1 first turns of another/);
    // The same two chats with the opening reworded a little are near, and not first turns.
    await writeFile(valid, `${JSON.stringify({ messages: [{ ...opening[0], content: `${opening[0]?.content} Please.` }, opening[1]] })}\n`);
    const reworded = await checkLeakage([train, valid], { threshold: 0.5 });
    expect(reworded.containedCount).toBe(0);
    expect(reworded.nearCount).toBe(1);
  });
});

describe('formatLeakage', () => {
  it('names unreadable rows and warnings', () => {
    const text = formatLeakage({
      files: [
        { file: 'train.jsonl', rows: 10, unreadable: 2 },
        { file: 'v.jsonl', rows: 3, unreadable: 0 },
      ],
      exact: [],
      near: [{ a: { file: 'train.jsonl', line: 4 }, b: { file: 'v.jsonl', line: 1 }, similarity: 0.999 }],
      contained: [{ a: { file: 'v.jsonl', line: 2 }, b: { file: 'train.jsonl', line: 7 }, similarity: 1 }],
      exactCount: 0,
      nearCount: 1,
      containedCount: 1,
      threshold: 0.8,
      nearChecked: true,
      warnings: ['v.jsonl: 1 byte is not valid UTF-8'],
      clean: false,
    });
    expect(text).toBe(
      [
        'lora-prep leakage: 2 files, 13 rows (2 unreadable, not compared)',
        '  train.jsonl  10 rows · 2 unreadable',
        '  v.jsonl      3 rows',
        '  overlaps: 0 exact · 1 near (Jaccard ≥ 0.8) · 1 first turns of another',
        '  train.jsonl:4 ↔ v.jsonl:1  near 0.99',
        '  v.jsonl:2 ⊂ train.jsonl:7  first turns of',
        '  warning: v.jsonl: 1 byte is not valid UTF-8',
      ].join('\n'),
    );
  });
});
