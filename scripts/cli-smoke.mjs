#!/usr/bin/env node
// Smoke test of the built `lv-license` binary as a real process: `serve` starts, greets a raw TCP
// client, stops cleanly on SIGTERM and on SIGINT with exit status 0; a usage error exits 2.
import { spawn, spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { resolve } from 'node:path';

const cli = resolve(import.meta.dirname, '..', 'dist', 'cli.js');
const failures = [];

function within(ms, what, promise) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

async function serveAndStop(signal) {
  const child = spawn(process.execPath, [cli, 'serve', '--port', '0', '--licenses', 'FULL=2'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (chunk) => {
    out += chunk;
  });
  const exited = new Promise((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  try {
    const address = await within(
      10_000,
      'serve start',
      new Promise((resolveAddress, reject) => {
        child.stdout.on('data', () => {
          const match = /listening on (127\.0\.0\.1:\d+)/.exec(out);
          if (match) resolveAddress(match[1]);
        });
        child.once('exit', (code) => reject(new Error(`serve exited early with ${code}: ${out}`)));
      }),
    );
    const [host, port] = address.split(':');
    const greeting = await within(
      5_000,
      'greeting',
      new Promise((resolveLine, reject) => {
        const socket = connect(Number(port), host);
        let line = '';
        socket.on('data', (chunk) => {
          line += chunk;
          if (line.includes('\n')) {
            socket.destroy();
            resolveLine(JSON.parse(line.slice(0, line.indexOf('\n'))));
          }
        });
        socket.on('error', reject);
      }),
    );
    if (greeting.protocol !== 'lv-license') failures.push(`greeting: ${JSON.stringify(greeting)}`);
    child.kill(signal);
    const code = await within(5_000, `exit after ${signal}`, exited);
    if (code !== 0) failures.push(`serve exited with ${code} after ${signal}`);
    if (!out.includes('stopped')) failures.push(`serve did not log its stop after ${signal}: ${out}`);
  } finally {
    child.kill('SIGKILL');
  }
}

await serveAndStop('SIGTERM');
await serveAndStop('SIGINT');

const usage = spawnSync(process.execPath, [cli, 'serve', '--port', 'banana'], { encoding: 'utf8' });
if (usage.status !== 2) failures.push(`usage error exited with ${usage.status}`);
if (!usage.stderr.includes('--port must be a whole number')) failures.push(`usage message: ${usage.stderr}`);

if (failures.length > 0) {
  console.error(`cli smoke test failed:\n  ${failures.join('\n  ')}`);
  process.exit(1);
}
console.log('cli smoke test passed: serve starts, greets, stops on SIGTERM and SIGINT; usage errors exit 2');
