/** LoraPrepError across copies and builds of the package. */
import { describe, expect, it } from 'vitest';
import { isLoraPrepError, LoraPrepError } from '../src/index.js';

/** What another build (CommonJS beside ESM) or copy of the package makes: a class of its own, the same name and code. */
class OtherCopy extends Error {
  override readonly name = 'LoraPrepError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

describe('LoraPrepError', () => {
  it('is instanceof for its own errors and for those of another copy or build, not for other errors', () => {
    const own = new LoraPrepError('INPUT_NOT_FOUND', 'x');
    const other = new OtherCopy('INPUT_NOT_FOUND', 'y');
    expect(own instanceof LoraPrepError).toBe(true);
    expect(other instanceof LoraPrepError).toBe(true);
    expect(isLoraPrepError(other)).toBe(true);
    for (const value of [new Error('z'), Object.assign(new Error('n'), { name: 'LoraPrepError' }), { name: 'LoraPrepError', code: 'ABORTED' }, null, 'LoraPrepError']) {
      expect(value instanceof LoraPrepError).toBe(false);
      expect(isLoraPrepError(value)).toBe(false);
    }
    // Error and subclasses of it keep their own instanceof.
    expect(own instanceof Error).toBe(true);
    expect(other instanceof OtherCopy).toBe(true);
    expect(own instanceof OtherCopy).toBe(false);
  });
});
