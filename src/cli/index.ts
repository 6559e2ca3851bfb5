#!/usr/bin/env node
/** The `lora-prep` executable: wires process I/O and Ctrl-C to {@link runCli}. */
import { runCli } from './run.js';

const controller = new AbortController();
let interrupted = false;
process.on('SIGINT', () => {
  // First Ctrl-C: abort cleanly (outDir is left as it was). Second: leave at once.
  if (interrupted) process.exit(130);
  interrupted = true;
  controller.abort(new Error('interrupted (Ctrl-C)'));
});

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (s) => void process.stdout.write(s),
  stderr: (s) => void process.stderr.write(s),
  isTTY: process.stderr.isTTY === true,
  signal: controller.signal,
});
