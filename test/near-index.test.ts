import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nearSignature, nearText } from '../src/dedup/minhash.js';
import { NearIndex, UnionFind } from '../src/dedup/near.js';
import { tempDir } from './helpers/index.js';

describe('NearIndex', () => {
  it('reads back every text exactly, across several spill batches (> 1 MiB)', async () => {
    const index = new NearIndex(join(await tempDir(), 'spill.txt'));
    const texts: string[] = [];
    for (let i = 0; i < 6000; i++) {
      const t = `row ${i} — ${'clause liability équité 合同 '.repeat(1 + (i % 37))}\n`;
      texts.push(t);
      index.add(t, nearSignature([{ role: 'user', content: t }]));
    }
    expect(texts.reduce((n, t) => n + Buffer.byteLength(t), 0)).toBeGreaterThan(3 * 1024 * 1024);
    for (let row = 0; row < texts.length; row++) expect(index.text(row)).toBe(texts[row]);
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
    const pairs = index.verifiedPairs(0.8);
    expect(last).toBeGreaterThan(8192);
    expect(pairs.map((p) => [p.a, p.b])).toContainEqual([0, last]);
    // The distinct rows are not paired with each other.
    expect(pairs.filter((p) => !(p.a === 0 && p.b === last))).toEqual([]);
    index.close();
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
