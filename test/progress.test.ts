import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PROGRESS_EVERY_ROWS, ProgressTicker } from '../src/_progress.js';
import fc from 'fast-check';
import { formatDuration, progressLine, runCli } from '../src/cli/run.js';
import { checkLeakage, fileStats, validateFile, type ProgressEvent } from '../src/index.js';
import { fakeIo } from './helpers/cli.js';

/** Enough rows for two `read` events. */
const ROWS = 2 * PROGRESS_EVERY_ROWS + 500;
const LEFT = 12_000;

let dir: string;
let whole: string;
let left: string;
let right: string;

function lines(from: number, to: number): string {
  let text = '';
  for (let i = from; i < to; i++) {
    text += `${JSON.stringify({ messages: [{ role: 'user', content: `What is item ${i} of the ledger?` }, { role: 'assistant', content: `Item ${i} is entry number ${i * 7}.` }] })}\n`;
  }
  return text;
}

// One folder for the whole file (the helpers' tempDir() is emptied after each test).
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lora-prep-progress-'));
  whole = join(dir, 'whole.jsonl');
  left = join(dir, 'left.jsonl');
  right = join(dir, 'right.jsonl');
  await writeFile(whole, lines(0, ROWS));
  await writeFile(left, lines(0, LEFT));
  await writeFile(right, lines(LEFT, ROWS));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});


/** `read` events with strictly increasing rows, then one `done` with the totals. */
function expectEvents(events: ProgressEvent[], rows: number, kept: number): void {
  const reads = events.filter((e) => e.stage === 'read');
  expect(reads.length).toBeGreaterThanOrEqual(2);
  for (let i = 1; i < reads.length; i++) expect((reads[i] as ProgressEvent).rows).toBeGreaterThan((reads[i - 1] as ProgressEvent).rows);
  for (const e of reads) {
    expect(e.kept).toBeLessThanOrEqual(e.rows);
    expect(e.file).toEqual(expect.any(String));
  }
  expect(events.at(-1)).toMatchObject({ stage: 'done', rows, kept });
  expect(events.filter((e) => e.stage === 'done')).toHaveLength(1);
  expect((events.at(-1) as ProgressEvent).elapsedMs).toBeGreaterThanOrEqual(0);
}

describe('onProgress of the file commands', () => {
  it('validateFile reports records read and records without problems', async () => {
    const events: ProgressEvent[] = [];
    const report = await validateFile(whole, { target: 'openai', onProgress: (e) => void events.push(e) });
    expect(report.ok).toBe(true);
    expectEvents(events, ROWS, ROWS);
    expect(events[0]).toMatchObject({ stage: 'read', rows: PROGRESS_EVERY_ROWS, file: whole });
  });

  it('validateFile counts records with problems as read, not as kept', async () => {
    const file = join(dir, 'some-bad.jsonl');
    await writeFile(file, `${lines(0, PROGRESS_EVERY_ROWS)}{not json\n${lines(PROGRESS_EVERY_ROWS, ROWS)}`);
    const events: ProgressEvent[] = [];
    await validateFile(file, { target: 'openai', onProgress: (e) => void events.push(e) });
    expectEvents(events, ROWS + 1, ROWS);
  });

  it('fileStats reports rows read and examples counted', async () => {
    const events: ProgressEvent[] = [];
    const stats = await fileStats(whole, { onProgress: (e) => void events.push(e) });
    expect(stats.examples).toBe(ROWS);
    expectEvents(events, ROWS, ROWS);
  });

  it('checkLeakage reports rows over every file, with the file being read', async () => {
    const events: ProgressEvent[] = [];
    const report = await checkLeakage([left, right], { near: false, onProgress: (e) => void events.push(e) });
    expect(report.clean).toBe(true);
    expectEvents(events, ROWS, ROWS);
    const reads = events.filter((e) => e.stage === 'read');
    expect(reads[0]).toMatchObject({ rows: PROGRESS_EVERY_ROWS, file: left });
    expect(reads.at(-1)).toMatchObject({ rows: 2 * PROGRESS_EVERY_ROWS, file: right });
  });

  it('emits nothing without a callback and a single done event for a small file', async () => {
    const small = join(dir, 'small.jsonl');
    await writeFile(small, lines(0, 12));
    const events: ProgressEvent[] = [];
    await validateFile(small, { target: 'openai', onProgress: (e) => void events.push(e) });
    expect(events).toEqual([expect.objectContaining({ stage: 'done', rows: 12, kept: 12 })]);
  });
});

describe('CLI progress of validate, stats and leakage', () => {
  const commands: Array<[string, () => string[], RegExp]> = [
    ['validate', () => ['validate', whole, '--target', 'openai'], /without problems/],
    ['stats', () => ['stats', whole], /counted/],
    ['leakage', () => ['leakage', left, right, '--exact-only'], /compared/],
  ];

  it.each(commands)('%s redraws one line on a terminal, and clears it before the result', async (_name, argv, label) => {
    const io = fakeIo({ isTTY: true, progressEveryMs: 0 });
    expect(await runCli(argv(), io)).toBe(0);
    const draws = io.err.split('\r\x1b[K').filter(Boolean);
    expect(draws.length).toBeGreaterThanOrEqual(3);
    expect(io.err).not.toContain('\n');
    expect(io.err.endsWith('\r\x1b[K')).toBe(true);
    expect(draws[0]).toMatch(/^lora-prep: (?:\[[█░]{20}\] )?\d+% · read · 10,000 rows · 10,000 /);
    expect(draws[0]).toMatch(label);
    expect(draws.at(-1)).toMatch(/^lora-prep: \[█{20}\] 100% · done · 20,500 rows · 20,500 .* rows\/s/);
  }, 60_000);

  it.each(commands)('%s writes plain lines when stderr is not a terminal', async (_name, argv, label) => {
    const io = fakeIo({ isTTY: false, progressEveryMs: 0 });
    expect(await runCli(argv(), io)).toBe(0);
    const printed = io.err.trimEnd().split('\n');
    expect(printed).toEqual([expect.stringMatching(/^lora-prep: (?:\[[█░]{20}\] )?\d+% · read · 10,000 rows · 10,000 /), expect.stringMatching(/^lora-prep: (?:\[[█░]{20}\] )?\d+% · read · 20,000 rows · 20,000 /)]);
    expect(printed[0]).toMatch(label);
    expect(io.err).not.toContain('\r');
  }, 60_000);

  it.each(commands)('%s prints no progress with --quiet', async (_name, argv) => {
    const io = fakeIo({ isTTY: true, progressEveryMs: 0 });
    expect(await runCli([...argv(), '--quiet'], io)).toBe(0);
    expect(io.err).toBe('');
  }, 60_000);
});

describe('progress fractions of the file commands', () => {
  it.each([
    ['validate', (on: (e: ProgressEvent) => void) => validateFile(whole, { target: 'openai', onProgress: on })],
    ['stats', (on: (e: ProgressEvent) => void) => fileStats(whole, { onProgress: on })],
    ['leakage', (on: (e: ProgressEvent) => void) => checkLeakage([left, right], { onProgress: on })],
  ] as const)('%s: bytes rise to the size of the input, which every event names', async (_name, run) => {
    const { stat } = await import('node:fs/promises');
    const events: ProgressEvent[] = [];
    await run((e) => events.push(e));
    const total = _name === 'leakage' ? (await stat(left)).size + (await stat(right)).size : (await stat(whole)).size;
    for (const e of events) expect(e.totalBytes).toBe(total);
    const bytes = events.map((e) => e.bytes as number);
    for (let i = 1; i < bytes.length; i++) expect(bytes[i]).toBeGreaterThanOrEqual(bytes[i - 1] as number);
    expect(bytes.at(-1)).toBe(total);
    expect(bytes[0]).toBeLessThan(total);
  });
});

describe('prepare progress bar', () => {
  it('events carry the bytes read, rising to the input size, and a terminal shows a bar with the percentage', async () => {
    const { stat } = await import('node:fs/promises');
    const { prepareDataset } = await import('../src/index.js');
    const events: ProgressEvent[] = [];
    await prepareDataset({ inputs: [whole], outDir: join(dir, 'p1'), concurrency: 1, dedup: { near: false }, onProgress: (e) => events.push(e) });
    const size = (await stat(whole)).size;
    // Stages in order: read, then plan once every row is read, then write, then done.
    const stages = events.map((e) => e.stage).filter((s, i, all) => s !== all[i - 1]);
    expect(stages).toEqual(['read', 'plan', 'write', 'done']);
    const reads = events.filter((e) => e.stage === 'read');
    expect(reads.length).toBeGreaterThanOrEqual(2);
    for (const e of events) expect(e.totalBytes).toBe(size);
    for (let i = 1; i < reads.length; i++) expect((reads[i] as ProgressEvent).bytes).toBeGreaterThan((reads[i - 1] as ProgressEvent).bytes as number);
    expect(events.at(-1)?.bytes).toBe(size);

    const io = fakeIo({ isTTY: true, progressEveryMs: 0 });
    expect(await runCli(['prepare', whole, '--out', join(dir, 'p2'), '--dedup', 'exact', '--concurrency', '1'], io)).toBe(0);
    const draws = io.err.split('\r\x1b[K').filter(Boolean);
    expect(draws.some((d) => /^lora-prep: \[█*░+\] \d+% · read · [\d,]+ rows/.test(d))).toBe(true);
    expect(draws.some((d) => /^lora-prep: \[█{20}\] 100% · done · 20,500 rows/.test(d))).toBe(true);
  });
});

describe('the progress line', () => {
  const read = (elapsedMs: number, bytes: number): ProgressEvent => ({ stage: 'read', rows: 10_000, kept: 9_990, elapsedMs, bytes, totalBytes: 100, file: 'data.jsonl' });

  it('estimates the time left to read from the rate so far', () => {
    expect(progressLine(read(5_000, 25), false)).toBe('lora-prep: 25% · read · 10,000 rows · 9,990 kept · 2,000 rows/s · 15s left to read · data.jsonl');
    // 10% in 40 s: 360 s more.
    expect(progressLine(read(40_000, 10), true)).toBe('lora-prep: [██░░░░░░░░░░░░░░░░░░] 10% · read · 10,000 rows · 9,990 kept · 250 rows/s · 6m 00s left to read · data.jsonl');
  });

  it('gives no estimate in the first seconds, before 1% is read, or without the input size', () => {
    expect(progressLine(read(1_500, 50), false)).not.toContain('left');
    expect(progressLine(read(30_000, 0.5), false)).not.toContain('left');
    const { bytes: _b, totalBytes: _t, ...unsized } = read(30_000, 50);
    expect(progressLine(unsized, false)).toBe('lora-prep: read · 10,000 rows · 9,990 kept · 333 rows/s · data.jsonl');
  });

  it('shows the time since the start once reading is over', () => {
    const line = progressLine({ stage: 'write', rows: 20_500, kept: 20_000, elapsedMs: 95_000, bytes: 100, totalBytes: 100 }, true);
    expect(line).toBe('lora-prep: [████████████████████] 100% · write · 20,500 rows · 20,000 kept · 216 rows/s · 1m 35s elapsed');
  });

  it('shows the share of the near-duplicate search done in the plan stage, and the read share without it', () => {
    const plan = { stage: 'plan', rows: 20_500, kept: 20_000, elapsedMs: 95_000, bytes: 100, totalBytes: 100 } as const;
    expect(progressLine({ ...plan, fraction: 0.35 }, true)).toBe('lora-prep: [███████░░░░░░░░░░░░░] 35% · plan: near-duplicates · 20,500 rows · 20,000 kept · 216 rows/s · 1m 35s elapsed');
    expect(progressLine(plan, false)).toBe('lora-prep: 100% · plan · 20,500 rows · 20,000 kept · 216 rows/s · 1m 35s elapsed');
  });

  it('formats durations in seconds, minutes and seconds, or hours and minutes', () => {
    expect([0, 59_400, 59_600, 65_000, 3_599_000, 3_600_000, 5_400_000].map(formatDuration)).toEqual(['0s', '59s', '1m 00s', '1m 05s', '59m 59s', '1h 00m', '1h 30m']);
    // Read back, a duration is the one given to within the unit it is shown in.
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200 * 3600 * 1000 }), (ms) => {
        const text = formatDuration(ms);
        const m = /^(?:(\d+)h (\d{2})m|(?:(\d+)m )?(\d+)s)$/.exec(text);
        expect(m).not.toBeNull();
        const [, h, hm, mm, s] = m as RegExpExecArray;
        const seconds = h !== undefined ? Number(h) * 3600 + Number(hm) * 60 : Number(mm ?? 0) * 60 + Number(s);
        expect(Math.abs(seconds - ms / 1000)).toBeLessThanOrEqual(h !== undefined ? 30.5 : 0.5);
        if (h === undefined && mm !== undefined) expect(Number(s)).toBeLessThan(60);
        if (h !== undefined) expect(Number(hm)).toBeLessThan(60);
      }),
    );
  });
});

describe('ProgressTicker between row counts', () => {
  it('emits a read event after a second even when fewer than 10,000 rows came (rows of megabytes), and not for no new row', () => {
    vi.useFakeTimers();
    try {
      const events: ProgressEvent[] = [];
      const ticker = new ProgressTicker((e) => void events.push(e), 1000);
      ticker.tick(1, 1);
      ticker.tick(2, 2);
      expect(events).toHaveLength(0);
      vi.advanceTimersByTime(1_001);
      ticker.tick(3, 3);
      expect(events.map((e) => [e.stage, e.rows])).toEqual([['read', 3]]);
      vi.advanceTimersByTime(5_000);
      ticker.tick(3, 3); // the same row again: nothing new to say
      ticker.tick(4, 4);
      expect(events.map((e) => e.rows)).toEqual([3, 4]);
      ticker.tick(10_004, 9_000); // 10,000 rows on, however soon
      expect(events.map((e) => e.rows)).toEqual([3, 4, 10_004]);
    } finally {
      vi.useRealTimers();
    }
  });
});
