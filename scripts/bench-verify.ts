/**
 * `npx tsx scripts/bench-verify.ts --file corpus.jsonl --rows N [--threshold 0.8]`
 *
 * Near-duplicate verification alone, as prepareDataset's plan stage runs it, over the first N
 * rows of a bench corpus (`question` / `answer` rows, as `npm run bench` writes them): exact
 * copies dropped by their conversation key, each remaining row's comparison text and MinHash
 * signature added to a NearIndex, then linked verification. Prints one JSON line: rows kept,
 * seconds to build the index and to verify, candidate pairs whose sketches were compared and
 * exact checks (each per row too), verified linking pairs, clusters, the largest cluster, peak RSS.
 * Run it at growing N to see how verification grows with the rows (docs/performance.md).
 */
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { conversationKey, hash64 } from '../src/dedup/index.js';
import { DEFAULT_MINHASH, nearText, textSignature } from '../src/dedup/minhash.js';
import { nearClusters, NearIndex, type VerifyStats } from '../src/dedup/near.js';
import type { Message } from '../src/types.js';

const { values } = parseArgs({ options: { file: { type: 'string' }, rows: { type: 'string' }, threshold: { type: 'string' } } });
if (!values.file || !values.rows) {
  console.error('usage: npx tsx scripts/bench-verify.ts --file corpus.jsonl --rows N [--threshold 0.8]');
  process.exit(2);
}
const limit = Number(values.rows);
const threshold = Number(values.threshold ?? 0.8);
const dir = mkdtempSync(join(tmpdir(), 'lora-prep-verify-'));
try {
  const index = new NearIndex(join(dir, 'near.spill'));
  const seen = new Set<string>();
  const signature = new Uint32Array(DEFAULT_MINHASH.permutations);
  let read = 0;
  const started = performance.now();
  const lines = createInterface({ input: createReadStream(values.file), crlfDelay: Infinity });
  for await (const line of lines) {
    if (read >= limit) break;
    read++;
    const row = JSON.parse(line) as { question: string; answer: string };
    const messages: Message[] = [
      { role: 'user', content: row.question },
      { role: 'assistant', content: row.answer },
    ];
    const key = hash64(conversationKey(messages));
    if (seen.has(key)) continue;
    seen.add(key);
    const text = nearText(messages);
    index.add(text, textSignature(text, DEFAULT_MINHASH, signature));
  }
  lines.close();
  const built = performance.now();
  const stats: VerifyStats = { candidates: 0, checks: 0, byBand: false };
  const pairs = await index.verifiedPairs(threshold, undefined, { linked: true, stats });
  const verified = performance.now();
  const clusters = nearClusters(pairs, index.size);
  const kept = index.size;
  index.close();
  console.log(
    JSON.stringify({
      rows: read,
      kept,
      buildSeconds: Number(((built - started) / 1000).toFixed(1)),
      verifySeconds: Number(((verified - built) / 1000).toFixed(2)),
      candidates: stats.candidates,
      candidatesPerRow: Number((stats.candidates / kept).toFixed(1)),
      checks: stats.checks,
      checksPerRow: Number((stats.checks / kept).toFixed(2)),
      nsPerCandidate: Math.round(((verified - built) * 1e6) / Math.max(1, stats.candidates)),
      byBand: stats.byBand,
      pairs: pairs.length,
      clusters: clusters.length,
      largestCluster: clusters.reduce((most, c) => Math.max(most, c.length), 0),
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
