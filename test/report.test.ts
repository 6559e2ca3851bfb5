import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatSummary, HISTOGRAM_EDGES, tokenHistogram, tokenStats } from '../src/report/index.js';

describe('tokenStats', () => {
  it('computes nearest-rank percentiles', () => {
    const counts = Uint32Array.from({ length: 100 }, (_, i) => i + 1); // 1..100
    expect(tokenStats(counts)).toEqual({ total: 5050, min: 1, max: 100, mean: 50.5, p50: 50, p90: 90, p99: 99 });
  });
  it('is all zero for no examples', () => {
    expect(tokenStats(new Uint32Array())).toEqual({ total: 0, min: 0, max: 0, mean: 0, p50: 0, p90: 0, p99: 0 });
  });
  it('orders min <= p50 <= p90 <= p99 <= max (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(100_000), { minLength: 1 }), (xs) => {
        const s = tokenStats(Uint32Array.from(xs));
        expect(s.min).toBe(Math.min(...xs));
        expect(s.max).toBe(Math.max(...xs));
        expect(s.min <= s.p50 && s.p50 <= s.p90 && s.p90 <= s.p99 && s.p99 <= s.max).toBe(true);
      }),
    );
  });
});

describe('tokenHistogram', () => {
  it('puts every count in the bin whose range holds it (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(300_000)), (xs) => {
        const bins = tokenHistogram(Uint32Array.from(xs));
        expect(bins).toHaveLength(HISTOGRAM_EDGES.length);
        expect(bins.reduce((n, b) => n + b.count, 0)).toBe(xs.length);
        for (const b of bins) expect(b.count).toBe(xs.filter((x) => x >= b.from && (b.to === null || x < b.to)).length);
      }),
    );
  });
});

describe('formatSummary', () => {
  it('states the accounting, the reasons and the files', () => {
    const text = formatSummary({
      outDir: 'out/x',
      counts: { input: 12, kept: 9, train: 8, validation: 1, test: 0, rejected: 3, byReason: { duplicate: 2, invalid_json: 1 } },
      tokens: { total: 900, min: 50, max: 200, mean: 100, p50: 90, p90: 180, p99: 200 },
      tokenizer: 'o200k_base',
      files: { train: 'out/x/train.jsonl', rejected: 'out/x/report/rejected.jsonl', report: 'out/x/report/report.json' },
      warnings: ['a warning'],
    });
    expect(text).toContain('12 input rows → 9 kept, 3 rejected');
    expect(text).toContain('train 8 · validation 1');
    expect(text).toContain('duplicate 2 · invalid_json 1');
    expect(text).toContain('tokens (o200k_base)');
    expect(text).toContain('warning:  a warning');
    expect(text).toContain('out/x/report/rejected.jsonl');
  });
});
