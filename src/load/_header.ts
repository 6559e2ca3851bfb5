/** Turning a CSV header row into usable, unique column names. */

/**
 * What {@link normalizeHeader} made of a header row.
 *
 * @example
 * const { names, renamed }: NormalizedHeader = normalizeHeader(['a', 'a']); // ['a', 'a_2'], one rename
 */
export interface NormalizedHeader {
  names: string[];
  /** One entry per renamed duplicate, for the warning: `column 3 "a" → "a_2"`. */
  renamed: string[];
}

/**
 * Column names from a header row: each trimmed (which also drops a stray byte-order mark, as
 * `trim` removes U+FEFF); an empty one becomes `column_N` (N 1-based); a repeated one becomes
 * `name_2`, `name_3`, … skipping any suffix another column already uses.
 *
 * @example
 * normalizeHeader(['id', ' text ', '', 'text']).names // ['id', 'text', 'column_3', 'text_2']
 */
export function normalizeHeader(fields: readonly string[]): NormalizedHeader {
  const wanted = fields.map((field, i) => {
    const name = field.trim();
    return name === '' ? `column_${i + 1}` : name;
  });
  // Every name as written is reserved first, so a generated `a_2` never takes a later column's own `a_2`.
  const taken = new Set(wanted);
  const seen = new Set<string>();
  const renamed: string[] = [];
  const names = wanted.map((name, i) => {
    if (!seen.has(name)) {
      seen.add(name);
      return name;
    }
    let k = 2;
    while (taken.has(`${name}_${k}`)) k++;
    const unique = `${name}_${k}`;
    taken.add(unique);
    seen.add(unique);
    renamed.push(`column ${i + 1} ${JSON.stringify(name)} → ${JSON.stringify(unique)}`);
    return unique;
  });
  return { names, renamed };
}
