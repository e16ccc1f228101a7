/**
 * After close() nothing of the client is left: no socket, no timer, no process listener, so the process
 * ends by itself, also when close() comes in the middle of reconnect loops, a dial to a black hole, a
 * cached license and a call waiting in a server queue.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeLicenseServer } from '../../src/testing/index.js';
import { closedPort } from '../helpers/raw-client.js';

const root = join(import.meta.dirname, '../..');
const servers: FakeLicenseServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** Handle kinds that would keep a process alive, or show a socket or timer we left behind. */
const OURS = [
  'TCPSocketWrap',
  'TCPServerWrap',
  'TCPWRAP',
  'Timeout',
  'Immediate',
  'GetAddrInfoReqWrap',
  'TLSWrap',
];

function run(app: string, args: string[], timeoutMs: number) {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'test/fixtures/apps', app), ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk) => {
    out += chunk;
  });
  child.stderr.on('data', (chunk) => {
    err += chunk;
  });
  return new Promise<{ code: number | null; out: string; err: string; killed: boolean }>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, out, err, killed: signal === 'SIGKILL' });
    });
  });
}

describe('nothing is left after close()', () => {
  it('no socket, timer or listener survives close() amid reconnects, a black hole and a queued call', async () => {
    const live = await FakeLicenseServer.start({ port: 0, host: '127.0.0.1', licenses: { FULL: 3, TTS: 1 } });
    const paused = await FakeLicenseServer.start({
      port: 0,
      host: '127.0.0.1',
      licenses: { FULL: 3, TTS: 1 },
    });
    servers.push(live, paused);
    paused.pause();
    const dead = `127.0.0.1:${await closedPort()}`;

    const result = await run('close-under-faults.ts', [dead, paused.address, live.address], 15_000);
    expect(result.killed, 'the process did not end by itself within 15 s').toBe(false);
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.out) as {
      closeMs: number;
      activeAtClose: string[];
      activeAfterTick: string[];
      before: Record<string, number>;
      after: Record<string, number>;
      waited: string;
      status: { closed: boolean; leases: unknown[] };
    };
    expect(report.activeAfterTick.filter((kind) => OURS.includes(kind))).toEqual([]);
    expect(report.after).toEqual(report.before);
    expect(report.waited).toMatch(/^rejected LV_/);
    expect(report.status.closed).toBe(true);
    // close() gave every seat back (the cached one and the lease included).
    expect(live.inUse()).toBe(0);
  }, 30_000);
});
