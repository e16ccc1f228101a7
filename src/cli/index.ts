#!/usr/bin/env node
/**
 * Entry point of the `lv-license` binary: wires the real process (stdout, stderr, signals) to main().
 */
import { main } from './main.js';

/** A secret from the terminal, without echo; or the first line of standard input when it is not a TTY. */
function readSecret(prompt: string): Promise<string> {
  const { stdin } = process;
  if (stdin.isTTY !== true) {
    return new Promise((resolve, reject) => {
      let text = '';
      stdin.setEncoding('utf8');
      stdin.on('data', (chunk: string) => {
        text += chunk;
      });
      stdin.once('end', () => resolve(text.split(/\r?\n/)[0] ?? ''));
      stdin.once('error', reject);
    });
  }
  return new Promise((resolve) => {
    process.stderr.write(prompt);
    let text = '';
    stdin.setRawMode(true);
    stdin.setEncoding('utf8');
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n' || char === '\u0004') {
          stdin.setRawMode(false);
          stdin.off('data', onData);
          stdin.pause();
          process.stderr.write('\n');
          resolve(text);
          return;
        }
        if (char === '\u0003') process.exit(130);
        if (char === '\u007f') text = text.slice(0, -1);
        else text += char;
      }
    };
    stdin.on('data', onData);
    stdin.resume();
  });
}

const controller = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    // The first asks the command to stop (a server drains); a second one means now.
    if (controller.signal.aborted) process.exit(1);
    controller.abort();
  });
}

// A reader that went away (`| head`, a log shipper restarting) loses the log lines, not the server.
process.stdout.on('error', () => {});
/** The most output held while stdout is not read; past it, lines are dropped and counted. */
const MAX_BUFFERED_OUTPUT = 16 * 1024 * 1024;
let droppedOutput = 0;
function writeOut(text: string): void {
  if (process.stdout.writableLength > MAX_BUFFERED_OUTPUT) {
    droppedOutput += 1;
    return;
  }
  if (droppedOutput > 0) {
    process.stdout.write(
      `lv-license: ${droppedOutput} line(s) of output dropped: standard output was not read\n`,
    );
    droppedOutput = 0;
  }
  process.stdout.write(text);
}

main(process.argv.slice(2), {
  stdout: writeOut,
  stderr: (text) => process.stderr.write(text),
  signal: controller.signal,
  onReload: (listener) => {
    process.on('SIGHUP', listener);
    return () => process.off('SIGHUP', listener);
  },
  readSecret,
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
