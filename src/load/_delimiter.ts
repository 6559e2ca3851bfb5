/** Guessing a CSV file's delimiter from its first records, when the user gave none. */

/**
 * The delimiters tried, in the order that breaks ties (the comma first: it is what "CSV" means).
 *
 * @example
 * DELIMITER_CANDIDATES.includes(';') // true
 */
export const DELIMITER_CANDIDATES = [',', ';', '\t', '|'] as const;

/**
 * Records looked at: enough to see that a candidate is consistent, few enough that a long file
 * costs nothing extra.
 *
 * @example
 * sniffDelimiter(first32k, false); // looks at SNIFF_RECORDS records at most
 */
export const SNIFF_RECORDS = 20;

/**
 * Characters read before sniffing (about the first 20 records of a typical file); the loader
 * holds this prefix back from the parser until the delimiter is known.
 *
 * @example
 * if (prefixChars >= SNIFF_CHARS) reader.start(sniffDelimiter(prefix, false));
 */
export const SNIFF_CHARS = 32 * 1024;

/**
 * The delimiter of a CSV text, guessed from its start: for each candidate, count it outside quoted
 * fields on every record; the header must hold it, and the winner is the candidate whose count
 * on the other records most often equals the header's, then the one the header holds most, then
 * the earlier in {@link DELIMITER_CANDIDATES}. Returns `,` when the header holds none of them.
 *
 * @param text - the start of the file (a record cut off by the end of `text` is ignored unless
 * `complete`).
 * @param complete - true when `text` is the whole file.
 *
 * @example
 * sniffDelimiter('name;price\nfoo;1,5\n', true) // ';' (the comma is only in the data)
 */
export function sniffDelimiter(text: string, complete: boolean): string {
  const records = countPerRecord(text, complete);
  const header = records[0];
  if (header === undefined) return ',';
  let best: { delimiter: string; agree: number; inHeader: number } | undefined;
  DELIMITER_CANDIDATES.forEach((delimiter, c) => {
    const inHeader = header[c] as number;
    if (inHeader === 0) return;
    let agree = 0;
    for (let r = 1; r < records.length; r++) if (records[r]?.[c] === inHeader) agree++;
    if (best === undefined || agree > best.agree || (agree === best.agree && inHeader > best.inHeader)) {
      best = { delimiter, agree, inHeader };
    }
  });
  return best?.delimiter ?? ',';
}

// --- internal ---

/**
 * Per record, how often each candidate occurs outside quotes. Quote handling is the usual
 * sniffer's: every `"` toggles "inside quotes", so a doubled `""` toggles twice and changes nothing.
 */
function countPerRecord(text: string, complete: boolean): number[][] {
  const codes = DELIMITER_CANDIDATES.map((d) => d.charCodeAt(0));
  const records: number[][] = [];
  let counts = codes.map(() => 0);
  let hasContent = false;
  let inQuotes = false;
  for (let i = 0; i < text.length && records.length < SNIFF_RECORDS; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x22) {
      inQuotes = !inQuotes;
      hasContent = true;
    } else if (!inQuotes && (ch === 0x0a || ch === 0x0d)) {
      if (hasContent) records.push(counts);
      counts = codes.map(() => 0);
      hasContent = false;
    } else {
      if (!inQuotes) {
        const c = codes.indexOf(ch);
        if (c !== -1) counts[c] = (counts[c] as number) + 1;
      }
      if (ch !== 0x20) hasContent = true;
    }
  }
  if (complete && hasContent && records.length < SNIFF_RECORDS) records.push(counts);
  return records;
}
