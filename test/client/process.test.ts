import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer } from '../helpers/cluster.js';

const app = join(import.meta.dirname, '../fixtures/apps/hold-ports.ts');
const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

function run(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', app, ...args], {
    cwd: join(import.meta.dirname, '../..'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk) => {
    out += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    err += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, out: () => out, err: () => err };
}

describe('the client in a real process', () => {
  it('a killed app loses its seats to the server after the lease TTL', async () => {
    const server = await startServer({ leaseTtl: 500, licenses: { FULL: 2, LITE: 2, TTS: 1 } });
    const proc = run([server.address, 'hold']);
    await expect.poll(() => proc.out(), { timeout: 15_000 }).toContain('ready');
    expect(server.inUse()).toBe(3);
    proc.child.kill('SIGKILL');
    await proc.exited;
    await expect.poll(() => server.inUse(), { timeout: 5_000 }).toBe(0);
  });

  it('after close() nothing keeps the process alive: it exits by itself', async () => {
    const server = await startServer({ licenses: { FULL: 2, LITE: 2, TTS: 1 } });
    const proc = run([server.address, 'exit']);
    const code = await proc.exited;
    expect(proc.err()).toBe('');
    expect(proc.out()).toContain('closed');
    expect(code).toBe(0);
    expect(server.inUse()).toBe(0);
  });
});
