/**
 * Compact per-row state of every kept example, for the decisions that need the whole input
 * (near-duplicate clusters, grouped and stratified splits, the leakage gate): about 40 bytes a row
 * in typed arrays, never the texts (those are in the spill files).
 */
import { GrowableUint32 } from './_growable.js';
import type { SourceLocation } from './types.js';

/** Gives each distinct string a small integer id, in order of first appearance. */
export class Interner {
  readonly names: string[] = [];
  readonly #ids = new Map<string, number>();

  id(name: string): number {
    let id = this.#ids.get(name);
    if (id === undefined) {
      id = this.names.length;
      this.#ids.set(name, id);
      this.names.push(name);
    }
    return id;
  }
}

/** What is remembered of one kept example. */
export interface KeptRow {
  tokens: number;
  prompt: number;
  file: number;
  line: number;
  /** 64-bit content hash (the conversation key), high and low halves. */
  hashHi: number;
  hashLo: number;
  domain: string;
  /** Stratum label, when stratifying. */
  stratum: string;
  /** Group label, or undefined when the row has no group value. */
  group: string | undefined;
  /** Hashes of the row's shorter versions (`ExampleKeys.prefixes`), if any. */
  prefixes?: readonly number[] | undefined;
}

/** The kept rows, in spill order. */
export class KeptRows {
  readonly tokens = new GrowableUint32();
  readonly prompt = new GrowableUint32();
  readonly file = new GrowableUint32();
  readonly line = new GrowableUint32();
  readonly hashHi = new GrowableUint32();
  readonly hashLo = new GrowableUint32();
  readonly domain = new GrowableUint32();
  readonly stratum = new GrowableUint32();
  /** Group id + 1; 0 = no group. */
  readonly group = new GrowableUint32();
  /** Row, hash high, hash low of each shorter version of a kept row (12 bytes each; none for single exchanges). */
  readonly prefixes = new GrowableUint32();
  readonly domains = new Interner();
  readonly strata = new Interner();
  readonly groups = new Interner();
  readonly #files: string[];

  constructor(files: string[]) {
    this.#files = files;
  }

  get length(): number {
    return this.tokens.length;
  }

  push(r: KeptRow): number {
    this.tokens.push(r.tokens);
    this.prompt.push(r.prompt);
    this.file.push(r.file);
    this.line.push(r.line);
    this.hashHi.push(r.hashHi);
    this.hashLo.push(r.hashLo);
    this.domain.push(this.domains.id(r.domain));
    this.stratum.push(this.strata.id(r.stratum));
    this.group.push(r.group === undefined ? 0 : this.groups.id(r.group) + 1);
    const row = this.tokens.length - 1;
    const p = r.prefixes;
    if (p) {
      for (let i = 0; i + 1 < p.length; i += 2) {
        this.prefixes.push(row);
        this.prefixes.push(p[i] as number);
        this.prefixes.push(p[i + 1] as number);
      }
    }
    return row;
  }

  /** The source location of a kept row. */
  source(row: number): SourceLocation {
    return { file: this.#files[this.file.view()[row] as number] as string, line: this.line.view()[row] as number };
  }

  /** The content hash of a row as one number-safe string key. */
  contentKey(row: number): string {
    return `${(this.hashHi.view()[row] as number).toString(16).padStart(8, '0')}${(this.hashLo.view()[row] as number).toString(16).padStart(8, '0')}`;
  }
}
