#!/usr/bin/env node
/** The `lora-prep` executable: wires process I/O and Ctrl-C (and SIGTERM, SIGHUP) to {@link runCli}. */
import { runCli } from './run.js';

const controller = new AbortController();
let interrupted = false;
// Ctrl-C, and what `timeout`, `docker stop`, CI cancellation and a closed terminal send: the first
// aborts cleanly (outDir is left as it was, the temporary files removed); a second leaves at once.
for (const [signal, code, why] of [
  ['SIGINT', 130, 'interrupted (Ctrl-C)'],
  ['SIGTERM', 143, 'terminated (SIGTERM)'],
  ['SIGHUP', 129, 'the terminal closed (SIGHUP)'],
] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(code);
    interrupted = true;
    controller.abort(new Error(why));
  });
}

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (s) => void process.stdout.write(s),
  stderr: (s) => void process.stderr.write(s),
  isTTY: process.stderr.isTTY === true,
  signal: controller.signal,
});
