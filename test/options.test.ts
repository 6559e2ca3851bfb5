import { describe, expect, it } from 'vitest';
import { concurrencyFor, defaultConcurrency } from '../src/_cpus.js';
import { resolveOptions } from '../src/options.js';
import { PII_TYPES } from '../src/index.js';
import { isLoraPrepError, type LoraPrepError } from '../src/errors.js';

function errorOf(fn: () => unknown): LoraPrepError {
  try {
    fn();
  } catch (e) {
    if (isLoraPrepError(e)) return e;
    throw e;
  }
  throw new Error('expected a LoraPrepError');
}

const base = { inputs: ['a.csv'], outDir: 'out' };

describe('resolveOptions', () => {
  it('fills every default', () => {
    const o = resolveOptions(base);
    expect(o.mapping).toBe('auto');
    expect(o.format).toBe('chat');
    expect(o.target).toBe('openai');
    expect(o.tokenizer).toBe('o200k_base');
    expect(o.overlong).toBe('drop');
    expect(o.dedup).toEqual({ exact: { key: 'conversation' }, near: { threshold: 0.8, action: 'remove', keep: 'first' } });
    expect(o.split).toEqual({ validation: 0.1, test: 0, seed: 42, strategy: 'random' });
    expect(o.encoding).toBe('utf-8');
    expect(o.overwrite).toBe(false);
    expect(o.maxTokens).toBeUndefined();
    expect(o.minTokens).toBeUndefined();
    expect(o.concurrency).toBe(defaultConcurrency());
  });

  it("defaults concurrency by the tokenizer's memory, and keeps the number given", () => {
    const hf = resolveOptions({ ...base, tokenizer: 'fixtures/tokenizers/tiny-chatml' });
    expect(hf.concurrency).toBe(concurrencyFor('fixtures/tokenizers/tiny-chatml'));
    expect(resolveOptions({ ...base, tokenizer: 'fixtures/tokenizers/tiny-chatml', concurrency: 5 }).concurrency).toBe(5);
    expect(resolveOptions({ ...base, tokenizer: 'gpt-4o', concurrency: 3 }).concurrency).toBe(3);
  });

  it.each([
    [false, { exact: false, near: false }],
    [{ exact: false }, { exact: false, near: { threshold: 0.8, action: 'remove', keep: 'first' } }],
    [{ near: false }, { exact: { key: 'conversation' }, near: false }],
    [{ exact: { key: 'prompt' }, near: { threshold: 0.9, action: 'group' } }, { exact: { key: 'prompt' }, near: { threshold: 0.9, action: 'group', keep: 'first' } }],
  ])('resolves dedup %j', (dedup, expected) => {
    expect(resolveOptions({ ...base, dedup }).dedup).toEqual(expected);
  });

  it('takes readonly lists: as const, the PII_TYPES constant, frozen objects', () => {
    // tsc checks this file: each of these was a type error.
    const inputs = ['a.csv', { path: 'b.jsonl', domain: 'legal' }] as const;
    const labels = ['negative', 'positive'] as const;
    const reasons = ['duplicate', 'pii'] as const;
    const opts = resolveOptions(Object.freeze({ inputs, outDir: 'o', mapping: { preset: 'classification', labels }, pii: { types: PII_TYPES }, failOn: { reasons } }));
    expect(opts.inputs).toEqual(['a.csv', { path: 'b.jsonl', domain: 'legal' }]);
    expect(opts.failOn).toEqual({ reasons: ['duplicate', 'pii'] });
    expect(opts.outDir).toBe('o');
    // A ~ further in a path is a name like any other.
    expect(resolveOptions({ ...base, outDir: 'runs/~v1' }).outDir).toBe('runs/~v1');
  });

  it('fills split defaults when split is given in part', () => {
    expect(resolveOptions({ ...base, split: { test: 0.2 } }).split).toEqual({ validation: 0.1, test: 0.2, seed: 42, strategy: 'random' });
  });

  it.each([
    ['an unknown option', { ...base, outdir: 'x' }, /unknown option "outdir" \(did you mean "outDir"\?\)/],
    ['a misspelt option', { ...base, maxToken: 500 }, /unknown option "maxToken" \(did you mean "maxTokens"\?\)/],
    ['an option far from any', { ...base, frobnicate: 1 }, /unknown option "frobnicate"$/m],
    ['an unknown nested option', { ...base, split: { valdation: 0.1 } }, /split: unknown option "valdation" \(did you mean "validation"\?\)/],
    ['a misspelt option of an input', { ...base, inputs: [{ path: 'a.csv', domian: 'legal' }] }, /inputs\.0: unknown option "domian" \(did you mean "domain"\?\)/],
    ['a misspelt option of a preset (of that preset, the same length first)', { ...base, mapping: { preset: 'classification', labelz: ['a'] } }, /mapping: unknown option "labelz" \(did you mean "labels"\?\)/],
    ['a misspelt dedup option', { ...base, dedup: { nera: true } }, /dedup: unknown option "nera" \(did you mean "near"\?\)/],
    ['an outDir with a ~ the shell did not expand', { ...base, outDir: '~/runs/v1' }, /outDir: starts with ~, which is not expanded here.*give the full path/],
    ['a fraction out of range', { ...base, split: { validation: 1.5 } }, /split\.validation: .*got 1\.5/],
    ['no inputs', { ...base, inputs: [] }, /inputs: give at least one input file/],
    ['a bad target', { ...base, target: 'vertex' }, /target: .*got "vertex"/],
    ['a bad mapping preset', { ...base, mapping: 'csv' }, /mapping: .*got "csv"/],
    ['a template without assistant', { ...base, mapping: { user: '{{q}}' } }, /mapping/],
    ['maxTokens not an integer', { ...base, maxTokens: 10.5 }, /maxTokens: .*got 10\.5/],
    ['a two-character delimiter', { ...base, delimiter: ';;' }, /delimiter: a delimiter is one character/],
    ['fractions leaving no train', { ...base, split: { validation: 0.5, test: 0.5 } }, /must leave room for train/],
    ['minTokens over maxTokens', { ...base, minTokens: 100, maxTokens: 50 }, /minTokens: must not exceed maxTokens/],
    ['a bad overlong', { ...base, overlong: 'cut' }, /overlong: .*got "cut"/],
    ['concurrency 0', { ...base, concurrency: 0 }, /concurrency: .*got 0/],
    ['a near threshold under 0.5', { ...base, dedup: { near: { threshold: 0.3 } } }, /dedup\.near\.threshold: .*got 0\.3/],
    ['an unknown exact key', { ...base, dedup: { exact: { key: 'answer' } } }, /dedup\.exact\.key/],
    ['instruction records for openai', { ...base, format: 'instruction' }, /target "openai" takes chat records/],
    ['outDir missing', { inputs: ['a.csv'] }, /outDir: .*got nothing/],
    ['maxLineBytes past 64 MiB (a row is counted whole in memory)', { ...base, maxLineBytes: 400_000_000 }, /maxLineBytes: at most 64 MiB \(67108864\).*got 400000000/],
  ])('rejects %s with OPTION_INVALID naming it', (_name, options, message) => {
    const e = errorOf(() => resolveOptions(options));
    expect(e.code).toBe('OPTION_INVALID');
    expect(e.message).toMatch(message);
  });

  it('names every bad option at once', () => {
    const e = errorOf(() => resolveOptions({ ...base, target: 'x', maxTokens: -1 }));
    expect(e.message).toMatch(/target/);
    expect(e.message).toMatch(/maxTokens/);
  });

  it('accepts instruction records for axolotl', () => {
    expect(resolveOptions({ ...base, target: 'axolotl', format: 'instruction' }).format).toBe('instruction');
  });
});

describe('resolveOptions lists checks across options beside the others', () => {
  it('names validation + test >= 1 and minTokens > maxTokens in the same error as a bad option', () => {
    let message = '';
    try {
      resolveOptions({ inputs: ['a.csv'], outDir: 'o', overlong: 'cut', split: { validation: 0.6, test: 0.5 }, minTokens: 50, maxTokens: 10 });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/overlong/);
    expect(message).toContain('split: validation + test must leave room for train, got 0.6 + 0.5');
    expect(message).toContain('minTokens: must not exceed maxTokens, got 50 > 10');
  });

  it('still names them alone when every other option is right', () => {
    expect(() => resolveOptions({ inputs: ['a.csv'], outDir: 'o', split: { validation: 0.6, test: 0.5 } })).toThrow(
      'Invalid options:\n  - split: validation + test must leave room for train, got 0.6 + 0.5',
    );
  });
});
