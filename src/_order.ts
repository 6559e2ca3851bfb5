/**
 * Input order for things that happen out of order. While rows are away being counted (in worker
 * threads, batches deep), later rows are already being read, and some of those are rejected at
 * once (bad JSON, a missing field, a copy of a row already kept). `InputOrder` holds such early
 * items until every earlier row still in flight has settled, so `report/rejected.jsonl` lists
 * rows in input order whatever the number of threads. It holds at most the items read while rows
 * are in flight: the tokenizer queue's depth, never the input's size.
 */
export class InputOrder<T> {
  readonly #emit: (item: T) => void;
  /** Lines of the rows in flight, oldest first (from #head on). */
  #inFlight: number[] = [];
  #head = 0;
  /** Early items waiting for the rows in flight before them. */
  #held: Array<{ line: number; item: T }> = [];
  #heldHead = 0;

  constructor(emit: (item: T) => void) {
    this.#emit = emit;
  }

  /** Row `line` goes to be counted; it settles later, in the order sent. */
  sent(line: number): void {
    this.#inFlight.push(line);
  }

  /** An item about row `line`, read after every row sent so far: out now, or once they settle. */
  early(line: number, item: T): void {
    if (this.#head === this.#inFlight.length) this.#emit(item);
    else this.#held.push({ line, item });
  }

  /** The oldest row in flight, `line`, is settling: items about earlier rows go out first. */
  settling(line: number): void {
    this.#release(line);
  }

  /** An item about the row now settling: out at once. */
  late(item: T): void {
    this.#emit(item);
  }

  /** Row `line` has settled; held items before the next row in flight go out. */
  settled(line: number): void {
    while (this.#head < this.#inFlight.length && (this.#inFlight[this.#head] as number) <= line) this.#head++;
    if (this.#head === this.#inFlight.length) {
      this.#inFlight = [];
      this.#head = 0;
      this.#release(Infinity);
    } else {
      if (this.#head > 4096) {
        this.#inFlight = this.#inFlight.slice(this.#head);
        this.#head = 0;
      }
      this.#release(this.#inFlight[this.#head] as number);
    }
  }

  /** The end of a file: everything held goes out (nothing is ever left behind). */
  finish(): void {
    this.#inFlight = [];
    this.#head = 0;
    this.#release(Infinity);
  }

  /** Items held, for tests and memory checks. */
  get held(): number {
    return this.#held.length - this.#heldHead;
  }

  #release(before: number): void {
    while (this.#heldHead < this.#held.length) {
      const h = this.#held[this.#heldHead] as { line: number; item: T };
      if (h.line >= before) break;
      this.#heldHead++;
      this.#emit(h.item);
    }
    if (this.#heldHead === this.#held.length) {
      this.#held = [];
      this.#heldHead = 0;
    } else if (this.#heldHead > 4096) {
      this.#held = this.#held.slice(this.#heldHead);
      this.#heldHead = 0;
    }
  }
}
