#!/usr/bin/env node
/**
 * Entry point of the `lv-license` binary: wires the real process (stdout, stderr, signals) to main().
 */
import { main } from './main.js';

const controller = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    // The first asks the command to stop (a server drains); a second one means now.
    if (controller.signal.aborted) process.exit(1);
    controller.abort();
  });
}

main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  signal: controller.signal,
  onReload: (listener) => {
    process.on('SIGHUP', listener);
    return () => process.off('SIGHUP', listener);
  },
  env: process.env,
  isTTY: process.stdout.isTTY === true,
}).then(
  (status) => {
    process.exitCode = status;
    // Nothing else should keep the process alive once the command is done.
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.removeAllListeners(signal);
  },
  (err: unknown) => {
    process.stderr.write(
      `lv-license: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = 1;
  },
);
