import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JsonlWriter, serializeRecord, SyncJsonlWriter } from '../src/write/jsonl.js';
import { routeLines } from '../src/write/route.js';
import { tempDir } from './helpers/index.js';

describe('serializeRecord', () => {
  it('escapes the characters some line splitters treat as newlines', () => {
    expect(serializeRecord({ t: 'a\u2028b\u2029c\u0085d' })).toBe('{"t":"a\\u2028b\\u2029c\\u0085d"}');
  });

  it('escapes lone surrogates', () => {
    expect(serializeRecord({ t: '\ud800' })).toBe('{"t":"\\ud800"}');
  });

  it('gives one line that parses back to the same value (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.string({ unit: 'binary' }), (value, text) => {
        const record = { value, text };
        const line = serializeRecord(record);
        expect(line).not.toMatch(/[\n\r\u2028\u2029\u0085]/);
        expect(JSON.parse(line)).toEqual(JSON.parse(JSON.stringify(record)));
      }),
    );
  });
});

describe('JsonlWriter', () => {
  it('says which watched keys it wrote, whichever way the lines came, and never a key inside a string', async () => {
    const dir = await tempDir();
    const w = new JsonlWriter(join(dir, 'x.jsonl'), { watch: ['system', 'tools', 'history'] });
    await w.writeLine(serializeRecord({ conversations: [{ from: 'human', value: 'say "system": hi' }], tools: '[{"system":1}]' }));
    await w.writeBytes(Buffer.from(`${serializeRecord({ conversations: [], system: 'S' })}\n`), 1);
    await w.writeLine(serializeRecord({ long: 'x'.repeat(300_000) }));
    expect((await w.close()).keys?.sort()).toEqual(['system', 'tools']);
    expect((await new JsonlWriter(join(dir, 'y.jsonl')).close()).keys).toBeUndefined();
  });

  it('writes LF lines, no BOM, one newline at the end, and hashes what it wrote', async () => {
    const dir = await tempDir();
    const w = new JsonlWriter(join(dir, 'x.jsonl'));
    await w.writeLine(serializeRecord({ a: 1 }));
    await w.writeLine(serializeRecord({ b: 'é' }));
    const info = await w.close();
    const bytes = await readFile(join(dir, 'x.jsonl'));
    expect(bytes.toString('utf8')).toBe('{"a":1}\n{"b":"é"}\n');
    expect(info).toEqual({ path: join(dir, 'x.jsonl'), lines: 2, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
  });

  it('writes exactly the lines and byte runs given, in order, across chunk and size boundaries (property)', async () => {
    const dir = await tempDir();
    let n = 0;
    // Lines from empty to past the point where the worst case (3 bytes a unit) exceeds a chunk.
    const text = fc.oneof(
      { weight: 8, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
      { weight: 2, arbitrary: fc.tuple(fc.constantFrom('a', 'é', '€', '😀', '\ud800'), fc.integer({ min: 1, max: 100_000 })).map(([c, k]) => c.repeat(k)) },
    );
    const op = fc.oneof({ weight: 5, arbitrary: text.map((line) => ({ line })) }, { weight: 1, arbitrary: fc.array(text, { maxLength: 3 }).map((lines) => ({ lines })) });
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 60 }), async (ops) => {
        const path = join(dir, `p${n++}.jsonl`);
        const w = new JsonlWriter(path, { hash: n % 2 === 0 });
        const expected: Buffer[] = [];
        let lines = 0;
        for (const o of ops) {
          if ('line' in o) {
            await w.writeLine(o.line);
            expected.push(Buffer.from(`${o.line}\n`, 'utf8'));
            lines++;
          } else {
            const bytes = Buffer.from(o.lines.map((l) => `${l}\n`).join(''), 'utf8');
            await w.writeBytes(bytes, o.lines.length);
            expected.push(bytes);
            lines += o.lines.length;
          }
        }
        const info = await w.close();
        const want = Buffer.concat(expected);
        const got = await readFile(path);
        expect(got.equals(want)).toBe(true);
        expect(info.lines).toBe(lines);
        expect(info.bytes).toBe(want.length);
        expect(info.sha256).toBe(n % 2 === 0 ? createHash('sha256').update(want).digest('hex') : '');
      }),
      { numRuns: 40 },
    );
  });

  it('refuses to overwrite an existing file', async () => {
    const dir = await tempDir();
    const first = new SyncJsonlWriter(join(dir, 'r.jsonl'));
    first.writeLine('{}');
    first.close();
    const w = new JsonlWriter(join(dir, 'r.jsonl'));
    await expect(w.writeLine('{}').then(() => w.close())).rejects.toMatchObject({ code: 'WRITE_FAILED' });
  });
});

describe('routeLines', () => {
  it('copies each line to the file its target names, byte for byte, long lines and skipped rows included', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.oneof(fc.string(), fc.constant('é€😀'.repeat(300_000))), fc.constantFrom(0, 1, 2, 255)), { maxLength: 30 }),
        async (rows) => {
          const dir = await tempDir();
          const spill = new JsonlWriter(join(dir, 'spill.jsonl'), { hash: false });
          for (const [text] of rows) await spill.writeLine(serializeRecord({ text }));
          await spill.close();
          const writers = [0, 1, 2].map((i) => new JsonlWriter(join(dir, `${i}.jsonl`)));
          const target = Uint8Array.from(rows.map(([, t]) => t));
          const picked = new Set(rows.length === 0 ? [] : [0, rows.length - 1]);
          const routed = await routeLines(join(dir, 'spill.jsonl'), target, writers, 255, { keep: picked });
          expect({ rows: routed.rows, written: routed.written }).toEqual({ rows: rows.length, written: rows.filter(([, t]) => t !== 255).length });
          for (const [i, w] of writers.entries()) {
            const info = await w.close();
            const want = rows.filter(([, t]) => t === i).map(([text]) => `${serializeRecord({ text })}\n`).join('');
            const got = await readFile(join(dir, `${i}.jsonl`), 'utf8');
            expect(got).toBe(want);
            expect(info.lines).toBe(rows.filter(([, t]) => t === i).length);
            expect(info.sha256).toBe(createHash('sha256').update(got).digest('hex'));
          }
          for (const r of picked) expect(routed.kept.get(r)).toBe(serializeRecord({ text: (rows[r] as [string, number])[0] }));
        },
      ),
      { numRuns: 15 },
    );
  });

  it('fill gives each line without the key the key with its value, and leaves lines with it as they are', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ instruction: fc.string(), system: fc.option(fc.string(), { nil: undefined }), target: fc.constantFrom(0, 1, 255) }), { maxLength: 20 }),
        async (rows) => {
          const dir = await tempDir();
          const spill = new JsonlWriter(join(dir, 'spill.jsonl'), { hash: false });
          // A value may hold the key's text ("system": in a string is written as \"system\":).
          for (const r of rows) await spill.writeLine(serializeRecord({ instruction: `"system": ${r.instruction}`, ...(r.system === undefined ? {} : { system: r.system }) }));
          await spill.close();
          const writers = [0, 1].map((i) => new JsonlWriter(join(dir, `${i}.jsonl`)));
          await routeLines(join(dir, 'spill.jsonl'), Uint8Array.from(rows.map((r) => r.target)), writers, 255, { fill: { key: 'system', value: '' } });
          for (const [i, w] of writers.entries()) {
            await w.close();
            const got = (await readFile(join(dir, `${i}.jsonl`), 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as unknown);
            expect(got).toEqual(rows.filter((r) => r.target === i).map((r) => ({ instruction: `"system": ${r.instruction}`, system: r.system ?? '' })));
          }
        },
      ),
      { numRuns: 30 },
    );
  });
});
