import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InputOrder } from '../src/_order.js';

/**
 * A pipeline run simulated: rows are read in order; each is rejected while reading, or sent to be
 * counted. Sent rows settle in the order sent, up to `depth` rows behind the reading; a settling
 * row is rejected or kept. Whatever the interleaving, rejections must come out in input order,
 * every one exactly once, and only those read after the oldest row still in flight are held.
 */
describe('InputOrder', () => {
  it('emits rejections in input order, each once, with any interleaving of reading and settling', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ early: fc.boolean(), lateReject: fc.boolean(), settleNow: fc.nat({ max: 3 }) }), { maxLength: 300 }),
        fc.integer({ min: 1, max: 40 }),
        (rows, depth) => {
          const out: number[] = [];
          const order = new InputOrder<number>((line) => out.push(line));
          const inFlight: Array<{ line: number; lateReject: boolean }> = [];
          const rejected: number[] = [];
          const earlyLines: number[] = [];
          // Exactly the early rejections after the oldest row in flight are held, none other.
          const checkHeld = () => {
            const oldest = inFlight[0]?.line;
            expect(order.held).toBe(oldest === undefined ? 0 : earlyLines.filter((l) => l > oldest).length);
          };
          const settleOne = () => {
            const r = inFlight.shift();
            if (!r) return;
            order.settling(r.line);
            if (r.lateReject) {
              rejected.push(r.line);
              order.late(r.line);
            }
            order.settled(r.line);
          };
          for (const [i, row] of rows.entries()) {
            const line = i + 2;
            if (row.early) {
              rejected.push(line);
              earlyLines.push(line);
              order.early(line, line);
            } else {
              order.sent(line);
              inFlight.push({ line, lateReject: row.lateReject });
            }
            checkHeld();
            for (let k = 0; k < row.settleNow; k++) settleOne();
            while (inFlight.length > depth) settleOne();
            checkHeld();
          }
          while (inFlight.length > 0) settleOne();
          order.finish();
          expect(out).toEqual([...rejected].sort((a, b) => a - b));
          expect(order.held).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('holds nothing when no row is in flight, and lets an early rejection out once the rows before it settle', () => {
    const out: number[] = [];
    const order = new InputOrder<number>((line) => out.push(line));
    order.early(2, 2);
    expect(out).toEqual([2]);
    order.sent(3);
    order.sent(4);
    order.early(5, 5);
    expect(out).toEqual([2]);
    expect(order.held).toBe(1);
    order.settling(3);
    order.settled(3);
    expect(out).toEqual([2]);
    order.settling(4);
    order.late(4);
    order.settled(4);
    expect(out).toEqual([2, 4, 5]);
    expect(order.held).toBe(0);
  });
});
