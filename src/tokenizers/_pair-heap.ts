/**
 * A min-heap of byte-pair merge candidates, `(rank, position)`, the lower rank first and, of equal
 * ranks, the leftmost: the order in which BPE merges. Entries are never updated or removed; a
 * caller skips the stale ones it pops (their pair has changed since). Grows as needed.
 */
export class PairHeap {
  #rank = new Int32Array(64);
  #pos = new Int32Array(64);
  size = 0;
  /** The entry {@link pop} took off last. */
  topRank = 0;
  topPos = 0;

  clear(): void {
    this.size = 0;
  }

  push(rank: number, pos: number): void {
    if (this.size === this.#rank.length) {
      this.#rank = grown(this.#rank);
      this.#pos = grown(this.#pos);
    }
    const heapRank = this.#rank;
    const heapPos = this.#pos;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pr = heapRank[parent] as number;
      if (pr < rank || (pr === rank && (heapPos[parent] as number) < pos)) break;
      heapRank[i] = pr;
      heapPos[i] = heapPos[parent] as number;
      i = parent;
    }
    heapRank[i] = rank;
    heapPos[i] = pos;
  }

  /** Takes the smallest entry off the heap into {@link topRank} / {@link topPos}. */
  pop(): void {
    const heapRank = this.#rank;
    const heapPos = this.#pos;
    this.topRank = heapRank[0] as number;
    this.topPos = heapPos[0] as number;
    const size = --this.size;
    const rank = heapRank[size] as number;
    const pos = heapPos[size] as number;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= size) break;
      const right = child + 1;
      if (right < size) {
        const cr = heapRank[child] as number;
        const rr = heapRank[right] as number;
        if (rr < cr || (rr === cr && (heapPos[right] as number) < (heapPos[child] as number))) child = right;
      }
      const cr = heapRank[child] as number;
      if (rank < cr || (rank === cr && pos < (heapPos[child] as number))) break;
      heapRank[i] = cr;
      heapPos[i] = heapPos[child] as number;
      i = child;
    }
    heapRank[i] = rank;
    heapPos[i] = pos;
  }
}

function grown(a: Int32Array): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}
