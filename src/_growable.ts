/** Growable typed arrays: compact per-row state for the whole input (bytes per row, not objects). */

/** A growing array of unsigned 32-bit integers. */
export class GrowableUint32 {
  #data = new Uint32Array(1024);
  #length = 0;

  push(value: number): void {
    if (this.#length === this.#data.length) {
      const next = new Uint32Array(this.#data.length * 2);
      next.set(this.#data);
      this.#data = next;
    }
    this.#data[this.#length++] = value;
  }

  get length(): number {
    return this.#length;
  }

  /** The value at `i` (below `length`). */
  get(i: number): number {
    return this.#data[i] as number;
  }

  /** Sets the value at `i` (below `length`). */
  set(i: number, value: number): void {
    this.#data[i] = value;
  }

  /** A view of the values pushed so far. */
  view(): Uint32Array {
    return this.#data.subarray(0, this.#length);
  }
}

/** A growing array of bytes. */
export class GrowableUint8 {
  #data = new Uint8Array(1024);
  #length = 0;

  push(value: number): void {
    if (this.#length === this.#data.length) {
      const next = new Uint8Array(this.#data.length * 2);
      next.set(this.#data);
      this.#data = next;
    }
    this.#data[this.#length++] = value;
  }

  get length(): number {
    return this.#length;
  }

  view(): Uint8Array {
    return this.#data.subarray(0, this.#length);
  }
}
