/** The decoding set-up every loader shares: limits, the encoding guard, and the text stream. */
import type { StageContext } from '../types.js';
import { EncodingGuard } from './_common.js';
import { resolveLimits, type ResolvedLimits } from './limits.js';
import { readText } from './text.js';
import type { LoadOptions, LoadSource } from './types.js';

/**
 * Resolves a loader's limits and opens its source as decoded text, with invalid bytes escaped for
 * the guard to reject (or replaced, with `onInvalidEncoding: 'replace'`).
 */
export function openDecoded(
  source: LoadSource,
  options: LoadOptions,
  ctx: StageContext,
  file: string,
): { limits: ResolvedLimits; guard: EncodingGuard; text: AsyncIterable<string> } {
  const limits = resolveLimits(options, file);
  const guard = new EncodingGuard(file, ctx, limits.onInvalidEncoding);
  const text = readText(source, {
    ...options,
    signal: ctx.signal,
    warn: ctx.warn,
    invalidBytes: guard.rejects ? 'escape' : 'replace',
    onDecoding: ({ bomBytes, encoding }) => {
      guard.bomBytes = bomBytes;
      guard.encoding = encoding;
    },
    onTrailingByte: (byte) => {
      guard.trailingByte = byte;
    },
    onEscape: () => guard.arm(),
  });
  return { limits, guard, text };
}
