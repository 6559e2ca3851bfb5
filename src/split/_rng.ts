/** Seeded randomness for splits (never Math.random): the same seed gives the same split everywhere. */
import { createHash } from 'node:crypto';

/**
 * A seeded PRNG (sfc32 seeded through splitmix32) returning floats in [0, 1).
 *
 * @example
 * const rand = seededRandom(42); rand(); // same sequence for seed 42 on every machine
 */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  const splitmix = () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  return () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t / 4294967296;
  };
}

/**
 * A uniform float in [0, 1) from a seed and a key: the same pair always gives the same number.
 *
 * @example
 * seededUnit(42, 'case-17') // stable across runs and machines
 */
export function seededUnit(seed: number, key: string): number {
  const digest = createHash('sha1').update(`${seed}\u0000${key}`).digest();
  return digest.readUInt32BE(0) / 4294967296;
}
