import { existsSync } from 'node:fs';
import { symlink } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nearSignature, nearText, shingles } from '../src/dedup/minhash.js';
import { agreement, nearClusters, NearIndex, nearRemovals, PreviousUnderKey, type NearPair, ShingleCache, sketchWords, sortByKey, UnionFind } from '../src/dedup/near.js';
import { tempDir } from './helpers/index.js';

describe('NearIndex', () => {
  it.runIf(existsSync('/dev/full'))('reports a full disk as WRITE_FAILED naming the spill file, not a bare ENOSPC', async () => {
    const dir = await tempDir();
    // The text spill is /dev/full, where every write fails with ENOSPC.
    await symlink('/dev/full', join(dir, 'spill.txt'));
    const index = new NearIndex(join(dir, 'spill.txt'));
    const text = `row — ${'clause liability '.repeat(500)}`;
    let error: unknown;
    try {
      for (let i = 0; i < 1_000; i++) index.add(`${i} ${text}`, nearSignature([{ role: 'user', content: text }]));
    } catch (e) {
      error = e;
    } finally {
      index.close();
    }
    expect(error).toMatchObject({ code: 'WRITE_FAILED', message: expect.stringMatching(/^cannot write .*spill\.txt, where near-duplicate detection keeps its texts: ENOSPC.*Check free space/) });
  });

  it('reads back every text exactly, across several spill batches (> 1 MiB)', async () => {
    const index = new NearIndex(join(await tempDir(), 'spill.txt'));
    const texts: string[] = [];
    for (let i = 0; i < 6000; i++) {
      // Every 1000th text is longer than a third of the spill batch, so it is written on its own.
      const t = i % 1000 === 500 ? `long ${i} ${'équité 合同 '.repeat(40_000)}\n` : `row ${i} — ${'clause liability équité 合同 '.repeat(1 + (i % 37))}\n`;
      texts.push(t);
      index.add(t, nearSignature([{ role: 'user', content: t }]));
    }
    expect(texts.reduce((n, t) => n + Buffer.byteLength(t), 0)).toBeGreaterThan(3 * 1024 * 1024);
    for (let row = 0; row < texts.length; row++) expect(index.text(row)).toBe(texts[row]);
    index.close();
  });

  it('reads back every text in any order, and while rows are still being added (the read-ahead window)', async () => {
    const index = new NearIndex(join(await tempDir(), 'spill.txt'));
    const texts: string[] = [];
    for (let i = 0; i < 4000; i++) {
      // Some texts longer than the window reads ahead, some that straddle its end.
      const t = i % 500 === 7 ? `long ${i} ${'合同 clause '.repeat(30_000)}` : `row ${i} ${'équité bond '.repeat(1 + ((i * 7919) % 200))}`;
      texts.push(t);
      const row = index.add(t, nearSignature([{ role: 'user', content: t }]));
      // Read as rows arrive: the window filled now ends where the spill ends, and more is added after.
      if (i % 3 === 0) expect(index.text(row)).toBe(t);
      if (i % 11 === 0) expect(index.text(Math.floor(row / 2))).toBe(texts[Math.floor(row / 2)]);
    }
    const order = texts.map((_, i) => (i * 2654435761) % texts.length);
    for (const row of order) expect(index.text(row)).toBe(texts[row]);
    for (let row = 0; row < texts.length; row++) expect(index.text(row)).toBe(texts[row]);
    for (let row = texts.length - 1; row >= 0; row -= 3) expect(index.text(row)).toBe(texts[row]);
    index.close();
  });

  it('finds a planted near-copy after more than 1 MiB of other rows, its signature in another block', async () => {
    const index = new NearIndex(join(await tempDir(), 'spill.txt'));
    const words = (i: number) => Array.from({ length: 60 }, (_, j) => `w${(Math.imul(i * 60 + j, 0x9e3779b1) >>> 0) % 1000003}`).join(' ');
    const original = words(1);
    index.add(nearText([{ role: 'user', content: original }]), nearSignature([{ role: 'user', content: original }]));
    // Past 4096 rows, so the pair's signatures sit in different blocks of the signature table.
    for (let i = 2; i < 9000; i++) {
      const t = words(i);
      index.add(nearText([{ role: 'user', content: t }]), nearSignature([{ role: 'user', content: t }]));
    }
    const copy = original.replace(/^w\d+/, 'changed');
    const last = index.add(nearText([{ role: 'user', content: copy }]), nearSignature([{ role: 'user', content: copy }]));
    const pairs = await index.verifiedPairs(0.8);
    expect(last).toBeGreaterThan(8192);
    expect(pairs.map((p) => [p.a, p.b])).toContainEqual([0, last]);
    // The distinct rows are not paired with each other.
    expect(pairs.filter((p) => !(p.a === 0 && p.b === last))).toEqual([]);
    index.close();
  });
});

describe('NearIndex.verifiedPairs, linked', () => {
  it('gives the clusters of every verified pair from only the pairs that join them, k − 1 for k rows (property)', async () => {
    const dir = await tempDir();
    let run = 0;
    // Families of near-copies (a base text with a word or two changed) among distinct rows.
    const base = (f: number) => Array.from({ length: 40 }, (_, j) => `f${f}w${j}`).join(' ');
    const rowSpec = fc.record({ family: fc.integer({ min: 0, max: 5 }), edit: fc.integer({ min: 0, max: 39 }), alone: fc.boolean() });
    await fc.assert(
      fc.asyncProperty(fc.array(rowSpec, { minLength: 1, maxLength: 60 }), async (specs) => {
        const index = new NearIndex(join(dir, `spill-${run++}.txt`));
        for (const [i, { family, edit, alone }] of specs.entries()) {
          const text = alone ? `${base(100 + i)} unique ${i}` : base(family).replace(`w${edit} `, `edited${i} `);
          index.add(nearText([{ role: 'user', content: text }]), nearSignature([{ role: 'user', content: text }]));
        }
        const all = await index.verifiedPairs(0.8);
        // Band by band (what small inputs get) and row by row (past the budget of exact checks).
        const byBand = await index.verifiedPairs(0.8, undefined, { linked: true, byBand: true });
        const byRow = await index.verifiedPairs(0.8, undefined, { linked: true, byBand: false });
        index.close();
        const clusters = nearClusters(all, specs.length);
        for (const linked of [byBand, byRow]) {
          expect(nearClusters(linked, specs.length)).toEqual(clusters);
          expect(linked).toHaveLength(clusters.reduce((n, c) => n + c.length - 1, 0));
          // Each linking pair is a verified pair, with its similarity, in order.
          for (const p of linked) expect(all).toContainEqual(p);
          expect(linked).toEqual([...linked].sort((x, y) => x.a - y.a || x.b - y.b));
        }
      }),
      { numRuns: 40 },
    );
  });

  it('keeps thousands of templated near-copies to one pair a row, each with its exact similarity', async () => {
    const index = new NearIndex(join(await tempDir(), 'spill.txt'));
    // More rows than the shingle cache holds, so evicted sets lend their arrays to new ones.
    const n = 5000;
    for (let i = 0; i < n; i++) {
      const text = `Dear customer, regarding your account number ${100000 + i}, please review the attached statement and reply within fourteen days so that we can resolve the matter for you.`;
      index.add(nearText([{ role: 'user', content: text }]), nearSignature([{ role: 'user', content: text }]));
    }
    const linked = await index.verifiedPairs(0.8, undefined, { linked: true });
    const all = await index.verifiedPairs(0.8);
    for (const p of linked.filter((_, i) => i % 97 === 0)) expect(p.similarity).toBe(index.similarity(p.a, p.b));
    index.close();
    expect(nearClusters(linked, n)).toEqual([Array.from({ length: n }, (_, i) => i)]);
    expect(linked).toHaveLength(n - 1);
    // Every pair: each row with up to 16 earlier rows under each shared key.
    expect(all.length).toBeGreaterThan(10 * n);
  });
});

describe('NearIndex.verifiedPairs, linked, past the budget of exact checks', () => {
  it('goes row by row when rows near the threshold would be checked again in every band, with the same clusters', async () => {
    const index = new NearIndex(join(await tempDir(), 'spill.txt'));
    // Form letters whose fills differ enough that most pairs fall just under 0.8: band by band
    // they are checked in every band they share, far past two checks a row.
    const n = 1500;
    const fill = (i: number, k: number) => ['account', 'policy', 'invoice', 'order', 'claim', 'ticket', 'case'][(i * (k + 3)) % 7] as string;
    for (let i = 0; i < n; i++) {
      const text = `Dear customer, regarding your ${fill(i, 1)} number ${100000 + (i % 40)}, please review the attached ${fill(i, 2)} and the ${fill(i, 3)} summary, then reply within ${7 + (i % 5)} days so that we can resolve the ${fill(i, 4)} for you.`;
      index.add(nearText([{ role: 'user', content: text }]), nearSignature([{ role: 'user', content: text }]));
    }
    // keep() is asked once per candidate: counting its calls tells which way each run went.
    const run = async (byBand?: boolean): Promise<{ pairs: NearPair[]; calls: number }> => {
      let calls = 0;
      const counting = (): boolean => {
        calls++;
        return true;
      };
      const pairs = await index.verifiedPairs(0.8, counting, byBand === undefined ? { linked: true } : { linked: true, byBand });
      return { pairs, calls };
    };
    const auto = await run();
    const byBand = await run(true);
    const byRow = await run(false);
    const all = await index.verifiedPairs(0.8);
    index.close();
    // Auto started band by band, gave up part way, and went row by row from the start: the same
    // linking pairs as row by row (band by band links the same clusters through other pairs).
    expect(byBand.pairs).not.toEqual(byRow.pairs);
    expect(auto.pairs).toEqual(byRow.pairs);
    expect(auto.calls - byRow.calls).toBeGreaterThan(0);
    expect(auto.calls - byRow.calls).toBeLessThan(byBand.calls);
    const clusters = nearClusters(all, n);
    expect(clusters.length).toBeGreaterThan(1);
    for (const r of [auto, byBand, byRow]) expect(nearClusters(r.pairs, n)).toEqual(clusters);
  });
});

describe('ShingleCache', () => {
  it('gives each row its own set however small the budget, never evicting the pinned row the caller holds', () => {
    const texts = Array.from({ length: 50 }, (_, i) => `row ${i} ${'clause '.repeat(i)} liability ${i * 7} équité`);
    let reads = 0;
    const text = (row: number): string => {
      reads++;
      return texts[row] as string;
    };
    // A budget of one byte: every new set evicts all but the pinned one, and lends their arrays.
    const tiny = new ShingleCache(text, 2, texts.length, 1);
    const pinned = tiny.get(49, 49);
    const copy = [...pinned];
    for (let row = 0; row < 49; row++) expect([...tiny.get(row, 49)]).toEqual([...shingles(texts[row] as string, 2)]);
    expect([...pinned]).toEqual(copy);
    expect(tiny.get(49, 49)).toBe(pinned);
    // Within the budget a set is made once.
    reads = 0;
    const roomy = new ShingleCache(text, 2, texts.length);
    for (let k = 0; k < 3; k++) for (let row = 0; row < 50; row++) roomy.get(row, 0);
    expect(reads).toBe(50);
  });
});

describe('agreement', () => {
  it('is the number of equal bytes when that reaches `needed`, and under `needed` otherwise, four at a time or one, at any offset', () => {
    fc.assert(
      fc.property(
        // A small alphabet so that many bytes agree; offsets aligned or not; any number of permutations.
        fc.integer({ min: 1, max: 130 }).chain((permutations) =>
          fc.record({
            permutations: fc.constant(permutations),
            a: fc.uint8Array({ minLength: permutations + 8, maxLength: permutations + 8, max: 2 }),
            b: fc.uint8Array({ minLength: permutations + 8, maxLength: permutations + 8, max: 2 }),
            sa: fc.integer({ min: 0, max: 8 }),
            sb: fc.integer({ min: 0, max: 8 }),
            needed: fc.integer({ min: 0, max: permutations + 1 }),
          }),
        ),
        ({ permutations, a, b, sa, sb, needed }) => {
          let naive = 0;
          for (let p = 0; p < permutations; p++) if (a[sa + p] === b[sb + p]) naive++;
          const got = agreement(a, sketchWords(a), sa, b, sketchWords(b), sb, permutations, needed);
          if (naive >= needed) expect(got).toBe(naive);
          else expect(got).toBeLessThan(needed);
          // Without the word views the answer is the same.
          const bytewise = agreement(a, undefined, sa, b, undefined, sb, permutations, needed);
          if (naive >= needed) expect(bytewise).toBe(naive);
          else expect(bytewise).toBeLessThan(needed);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('sortByKey', () => {
  it('sorts rows by key, stably, like a comparison sort on (key, row)', () => {
    const key = fc.oneof(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 0xffffffff }), fc.constantFrom(0xff, 0xff00, 0xff0000, 0xff000000));
    fc.assert(
      fc.property(fc.array(key, { maxLength: 300 }), (input) => {
        const keys = Uint32Array.from(input);
        const rows = Uint32Array.from(input.keys());
        sortByKey(keys, rows, new Uint32Array(keys.length), new Uint32Array(keys.length));
        const expected = input.map((k, row) => [k, row]).sort((x, y) => (x[0] as number) - (y[0] as number) || (x[1] as number) - (y[1] as number));
        expect([...keys]).toEqual(expected.map((e) => e[0]));
        expect([...rows]).toEqual(expected.map((e) => e[1]));
      }),
    );
  });
});

describe('NearIndex buckets', () => {
  it('compares each row with the 16 rows before it under the same band key, no more, and skips pairs keep() refuses', async () => {
    const index = new NearIndex(join(await tempDir(), 'spill.txt'));
    const text = 'the lessee shall keep the premises in good repair and condition throughout the term';
    const other = 'interest accrues daily on the outstanding principal at the default rate from the due date';
    // 40 copies of one text with copies of another between them: each text is one bucket in every band.
    const ofText: number[] = [];
    for (let i = 0; i < 60; i++) {
      const t = i % 3 === 2 ? other : text;
      const row = index.add(nearText([{ role: 'user', content: t }]), nearSignature([{ role: 'user', content: t }]));
      if (t === text) ofText.push(row);
    }
    const refused = (a: number, b: number) => a === 0 && b === 1;
    const pairs = await index.verifiedPairs(0.8, (a, b) => !refused(a, b));
    const got = pairs.filter((p) => ofText.includes(p.a)).map((p) => [p.a, p.b]);
    const expected: number[][] = [];
    for (let j = 0; j < ofText.length; j++)
      for (let i = Math.max(0, j - 16); i < j; i++) if (!refused(ofText[i] as number, ofText[j] as number)) expected.push([ofText[i] as number, ofText[j] as number]);
    expected.sort((x, y) => (x[0] as number) - (y[0] as number) || (x[1] as number) - (y[1] as number));
    expect(expected.length).toBeGreaterThan(300);
    expect(got).toEqual(expected);
    expect(pairs.every((p) => p.similarity === 1)).toBe(true);
    index.close();
  });
});

describe('PreviousUnderKey', () => {
  it('gives each row the row before it with the same key in each band, or -1 (property)', () => {
    // Few distinct keys so that most rows have one before them; lengths across 32-row words.
    const band = fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 130, maxLength: 130 });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 130 }), fc.array(band, { minLength: 1, maxLength: 3 }), (n, bands) => {
        const before = new PreviousUnderKey(n, bands.length);
        for (const [b, all] of bands.entries()) {
          const keys = Uint32Array.from(all.slice(0, n));
          const rows = Uint32Array.from(keys.keys());
          sortByKey(keys, rows, new Uint32Array(n), new Uint32Array(n));
          before.setBand(b, keys, rows);
        }
        for (const [b, all] of bands.entries()) {
          for (let row = 0; row < n; row++) {
            const expected = all.slice(0, row).lastIndexOf(all[row] as number);
            expect(before.get(b, row)).toBe(expected);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('UnionFind', () => {
  it('joins transitively and keeps sizes', () => {
    const uf = new UnionFind(5);
    uf.union(0, 1);
    uf.union(3, 4);
    uf.union(1, 4);
    expect(uf.find(0)).toBe(uf.find(3));
    expect(uf.find(2)).not.toBe(uf.find(0));
    expect(uf.sizeOf(4)).toBe(4);
  });
});

describe('nearClusters and nearRemovals', () => {
  const pairs = [
    { a: 0, b: 2, similarity: 0.9 },
    { a: 2, b: 5, similarity: 0.85 },
    { a: 3, b: 4, similarity: 0.95 },
  ];

  it('joins pairs transitively into clusters, rows in input order', () => {
    expect(nearClusters(pairs, 6).map((c) => [...c].sort((x, y) => x - y))).toEqual([
      [0, 2, 5],
      [3, 4],
    ]);
  });

  it("keeps the first row of each cluster, or the largest with 'longest' (the earliest of equals)", () => {
    const clusters = nearClusters(pairs, 6);
    const first = nearRemovals(clusters, 6, 'first');
    expect([...first.keptFor]).toEqual([-1, -1, 0, -1, 3, 0]);
    expect([...first.clusterSize]).toEqual([
      [0, 3],
      [3, 2],
    ]);
    expect(first.removed).toBe(3);
    const longest = nearRemovals(clusters, 6, 'longest', [10, 0, 30, 7, 7, 30]);
    expect([...longest.keptFor]).toEqual([2, -1, -1, -1, 3, 2]);
    expect(longest.removed).toBe(3);
  });
});
