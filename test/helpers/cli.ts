import type { CliIo } from '../../src/cli/run.js';

/** A CliIo that collects stdout and stderr; `settings` adds isTTY, signal or progressEveryMs. */
export function fakeIo(settings: Omit<CliIo, 'stdout' | 'stderr'> = {}): CliIo & { out: string; err: string } {
  const io = {
    ...settings,
    out: '',
    err: '',
    stdout: (s: string) => void (io.out += s),
    stderr: (s: string) => void (io.err += s),
  };
  return io;
}
