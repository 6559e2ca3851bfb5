import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pacer } from '../src/_pace.js';
import { nearSignature, nearText } from '../src/dedup/minhash.js';
import { NearIndex, type VerifyStats } from '../src/dedup/near.js';
import { LoraPrepError } from '../src/errors.js';
import { tempDir } from './helpers/index.js';

describe('pacer', () => {
  it('gives way only once the interval has passed, reporting the share done, and stops an aborted run', async () => {
    const controller = new AbortController();
    const shares: number[] = [];
    const pace = pacer(controller.signal, 'stopped here', (done) => shares.push(done), 20);
    expect(pace(0.1)).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 30));
    const wait = pace(0.5);
    expect(wait).toBeInstanceOf(Promise);
    await wait;
    expect(shares).toEqual([0.5]);
    // The pause just taken starts the interval again.
    expect(pace(0.6)).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 30));
    controller.abort(new Error('Ctrl-C'));
    const error = await pace(0.7)?.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LoraPrepError);
    expect(error).toMatchObject({ code: 'ABORTED', message: 'stopped here' });
  });

  it('lets a timer run while the run it paces has not finished (the event loop turns)', async () => {
    const pace = pacer(undefined, 'stopped', undefined, 0);
    let fired = false;
    setTimeout(() => void (fired = true), 0);
    const started = performance.now();
    while (!fired && performance.now() - started < 1_000) {
      const wait = pace(0);
      if (wait) await wait;
    }
    expect(fired).toBe(true);
  });
});

describe('NearIndex verification with a pace', () => {
  async function index(rows: number): Promise<NearIndex> {
    const dir = await tempDir();
    const near = new NearIndex(join(dir, 'spill'));
    for (let i = 0; i < rows; i++) {
      // Families of near-copies (each base text back with one word changed), and every third
      // row a half copy: a candidate whose sketch agrees too little for an exact check.
      const words = Array.from({ length: 30 }, (_, j) => (i % 3 === 2 && j >= 15 ? `r${i}w${j}` : `f${i % 50}w${j}`));
      const text = `${words.join(' ')} v${i}`;
      near.add(nearText([{ role: 'user', content: text }]), nearSignature([{ role: 'user', content: text }]));
    }
    return near;
  }

  it.each([
    ['band by band', { byBand: true }],
    ['row by row', { byBand: false }],
    ['not linked', {}],
  ] as const)('%s: the same pairs, the share done rising from 0 to at most 1', async (_name, how) => {
    const near = await index(3_000);
    const linked = 'byBand' in how ? { linked: true, ...how } : {};
    const unpaced = await near.verifiedPairs(0.8, undefined, linked);
    const shares: number[] = [];
    const paced = await near.verifiedPairs(0.8, undefined, { ...linked, pace: (done) => void shares.push(done) });
    near.close();
    expect(unpaced.length).toBeGreaterThan(0);
    expect(paced).toEqual(unpaced);
    expect(shares.length).toBeGreaterThan(2);
    for (let i = 1; i < shares.length; i++) expect(shares[i]).toBeGreaterThanOrEqual(shares[i - 1] as number);
    expect(shares[0]).toBeGreaterThanOrEqual(0);
    expect(shares.at(-1)).toBeLessThanOrEqual(1);
  });

  it('counts the candidates compared and the exact checks, in whichever pass gave the pairs', async () => {
    const near = await index(3_000);
    const runs: Array<[boolean, VerifyStats, number]> = [];
    for (const byBand of [true, false]) {
      const stats: VerifyStats = { candidates: 0, checks: 0, byBand: false };
      const pairs = await near.verifiedPairs(0.8, undefined, { linked: true, byBand, stats });
      runs.push([byBand, stats, pairs.length]);
    }
    near.close();
    for (const [byBand, stats, pairs] of runs) {
      expect(stats.byBand).toBe(byBand);
      // Every linking pair passed an exact check, and every check was a candidate first.
      expect(stats.checks).toBeGreaterThanOrEqual(pairs);
      expect(stats.candidates).toBeGreaterThan(stats.checks);
    }
  });

  it('stops at the first pause that fails, visiting no pair after it', async () => {
    const near = await index(3_000);
    let visited = 0;
    let paused = 0;
    const stop = new Error('stop');
    const outcome = near
      .visitVerifiedPairs(0.8, () => void visited++, undefined, {
        linked: true,
        byBand: false,
        pace: () => (++paused === 2 ? Promise.reject(stop) : undefined),
      })
      .catch((e: unknown) => e);
    expect(await outcome).toBe(stop);
    const atStop = visited;
    expect(paused).toBe(2);
    const all = await near.verifiedPairs(0.8, undefined, { linked: true, byBand: false });
    near.close();
    expect(atStop).toBeLessThan(all.length);
  });
});
