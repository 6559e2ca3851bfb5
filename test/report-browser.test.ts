/**
 * report/report.html in a real browser: the OS Chromium driven by playwright-core (which downloads
 * no browser). Skips, with a message, where no Chromium is installed; LORA_PREP_CHROMIUM names
 * another binary.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareDataset, type PrepareOptions, type PrepareReport, type Rejection } from '../src/index.js';
import { HTML_REJECTED_SHOWN } from '../src/report/html.js';
import { tempDir } from './helpers/index.js';

const CHROMIUM = process.env['LORA_PREP_CHROMIUM'] ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(`test/report-browser.test.ts: skipped, no Chromium at ${CHROMIUM} (install the chromium package or set LORA_PREP_CHROMIUM to a Chromium binary)`);
}

const LAUNCH_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const options = (outDir: string): PrepareOptions => ({
  inputs: [
    { path: 'fixtures/finance/fiqa-qa.csv', domain: 'finance' },
    { path: 'fixtures/finance/advisor-chat.jsonl', domain: 'finance' },
    { path: 'fixtures/legal/contracts-qa.tsv', domain: 'legal' },
    { path: 'fixtures/legal/case-law-sharegpt.jsonl', domain: 'legal' },
    { path: 'fixtures/medical/clinical-qa.jsonl', domain: 'medical' },
    { path: 'fixtures/medical/patient-faq.json', domain: 'medical' },
  ],
  target: 'openai',
  tokenizer: 'o200k_base',
  maxTokens: 4096,
  split: { validation: 0.1, seed: 42 },
  dedup: { near: {} },
  concurrency: 1,
  outDir,
});

const n = (x: number) => x.toLocaleString('en-US');

describe.skipIf(!hasChromium)('report.html in headless Chromium', () => {
  let browser: Browser | undefined;

  beforeAll(async () => {
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS });
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('shows the run as report.json and rejected.jsonl tell it, offline and without errors', async () => {
    const outDir = join(await tempDir(), 'out');
    await prepareDataset(options(outDir));
    const report = JSON.parse(await readFile(join(outDir, 'report/report.json'), 'utf8')) as PrepareReport;
    const rejected = (await readFile(join(outDir, 'report/rejected.jsonl'), 'utf8'))
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Rejection);
    expect(rejected.length).toBe(report.counts.rejected);
    expect(rejected.length).toBeGreaterThan(0);
    expect(rejected.length).toBeLessThanOrEqual(HTML_REJECTED_SHOWN);

    const page = await (browser as Browser).newPage();
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('request', (r) => requests.push(r.url()));
    const url = pathToFileURL(join(outDir, 'report/report.html')).href;
    await page.goto(url, { waitUntil: 'load' });

    // The header: tool, target, tokenizer and every count of the run.
    await expect(page.getByTestId('tool-version').innerText()).resolves.toContain(`${report.tool.name} ${report.tool.version}`);
    await expect(page.getByTestId('target').innerText()).resolves.toBe(report.target);
    await expect(page.getByTestId('tokenizer').innerText()).resolves.toBe(report.tokenizer);
    for (const key of ['input', 'kept', 'train', 'validation', 'rejected'] as const) {
      const el = page.getByTestId(`count-${key}`);
      await expect(el.getAttribute('data-value')).resolves.toBe(String(report.counts[key]));
      await expect(el.innerText()).resolves.toContain(n(report.counts[key]));
    }

    // The row accounting: the flow chart and its table, reason by reason.
    for (const [reason, count] of Object.entries(report.counts.byReason)) {
      await expect(page.getByTestId('flow').getByTestId(`flow-reason-${reason}`).count()).resolves.toBe(1);
      await expect(page.getByTestId(`acct-reason-${reason}`).innerText()).resolves.toContain(n(count));
    }
    await expect(page.getByTestId('acct-kept').innerText()).resolves.toContain(n(report.counts.kept));
    await expect(page.getByTestId('inputs-table').locator('tbody tr').count()).resolves.toBe(report.inputs.length);

    // One histogram per split, one bar per bin, and the budget line inside the chart.
    const splits = Object.keys(report.tokens.bySplit);
    expect(splits.length).toBeGreaterThan(0);
    for (const split of splits) {
      const svg = page.getByTestId(`histogram-${split}`);
      const bins = report.tokens.bySplit[split]?.histogram ?? report.tokens.histogram;
      await expect(svg.getByTestId('hist-bar').count()).resolves.toBe(bins.length);
      const line = svg.getByTestId('budget-line');
      await expect(line.getAttribute('data-tokens')).resolves.toBe(String(report.tokens.maxTokens));
      const [box, lineBox] = [await svg.boundingBox(), await line.boundingBox()];
      expect(box && lineBox && lineBox.x >= box.x && lineBox.x <= box.x + box.width).toBe(true);
    }

    // The rejected rows: every one listed, and the reason filter shows one reason's rows.
    const rows = page.getByTestId('rejected-table').locator('tbody tr');
    await expect(rows.count()).resolves.toBe(rejected.length);
    await expect(page.getByTestId('rejected-caption').innerText()).resolves.toContain(`Showing ${n(rejected.length)} of ${n(report.counts.rejected)}`);
    const first = rejected[0] as Rejection;
    await expect(rows.first().innerText()).resolves.toContain(`${first.source.file}:${first.source.line}`);
    await page.getByTestId('reason-filter').selectOption(first.reason);
    await expect(page.locator('[data-testid="rejected-table"] tbody tr:not([hidden])').count()).resolves.toBe(rejected.filter((r) => r.reason === first.reason).length);

    await expect(page.getByTestId('example-longest').count()).resolves.toBeGreaterThan(0);
    await expect(page.getByTestId('example-shortest').count()).resolves.toBeGreaterThan(0);

    expect(problems).toEqual([]);
    expect(requests.filter((u) => u !== url && !u.startsWith('data:'))).toEqual([]);
    await page.close();

    // A rerun writes the same page, byte for byte.
    const again = join(await tempDir(), 'out');
    await prepareDataset(options(again));
    expect(await readFile(join(again, 'report/report.html'), 'utf8')).toBe(await readFile(join(outDir, 'report/report.html'), 'utf8'));
  }, 30_000);
});
