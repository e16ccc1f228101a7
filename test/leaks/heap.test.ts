/**
 * Opening and closing 10,000 ports gives the heap back: measured in a child process run with
 * `--expose-gc`, after full collections, against a baseline taken after a warm-up.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeLicenseServer } from '../../src/testing/index.js';

const root = join(import.meta.dirname, '../..');
const PORTS = 10_000;
const MiB = 1024 * 1024;
/** What the heap may keep after the work: JIT code, grown hash tables, V8's own bookkeeping. */
const TOLERANCE = 2 * MiB;

interface Report {
  count: number;
  baseline: number;
  whileHeld: number;
  afterHold: number;
  afterCycle: number;
  leases: number;
  active: string[];
  rss: number;
}

// A server that batches (protocol 1.2: the client sends what one tick asks in batch frames) and one that
// does not (1.1: a frame per operation).
describe.each([
  { batching: 'batching server', maxBatch: 128 },
  { batching: 'server without batching', maxBatch: 0 },
])('heap after 10,000 ports ($batching)', ({ maxBatch }) => {
  let server: FakeLicenseServer;
  let report: Report;
  let stderr = '';
  let exitCode: number | null = null;

  beforeAll(async () => {
    server = await FakeLicenseServer.start({
      port: 0,
      host: '127.0.0.1',
      licenses: { FULL: PORTS },
      maxBatch,
    });
    const child = spawn(
      process.execPath,
      [
        '--expose-gc',
        '--import',
        'tsx',
        join(root, 'test/fixtures/apps/cycle-ports.ts'),
        server.address,
        String(PORTS),
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 50_000);
    exitCode = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    clearTimeout(timer);
    report = JSON.parse(out || 'null') as Report;
  }, 60_000);

  afterAll(async () => {
    await server?.close();
  });

  it('runs to the end and exits by itself', () => {
    expect(exitCode, stderr).toBe(0);
    expect(report.count).toBe(PORTS);
    expect(report.leases).toBe(0);
    expect(server.inUse()).toBe(0);
  });

  /**
   * Regression test (found by this suite): each call used to add an `abort` listener to the client's
   * long-lived close signal, so with more than 10 calls in flight Node printed a
   * MaxListenersExceededWarning on the application's stderr. Calls are now tracked in a set instead.
   */
  it('prints no warning (MaxListenersExceededWarning with 100 calls in flight)', () => {
    expect(stderr, 'the client process wrote to stderr').toBe('');
  });

  it('holds 10,000 ports in under 2 KiB of heap each', () => {
    const perPort = (report.whileHeld - report.baseline) / PORTS;
    console.log(`heap per held port: ${perPort.toFixed(0)} bytes`);
    expect(perPort).toBeLessThan(2 * 1024);
  });

  it('returns the heap to its baseline after 10,000 ports are held and closed', () => {
    const growth = report.afterHold - report.baseline;
    expect(growth, `grew ${(growth / MiB).toFixed(2)} MiB`).toBeLessThan(TOLERANCE);
  });

  it('returns the heap to its baseline after 10,000 ports are opened and closed in turn', () => {
    const growth = report.afterCycle - report.baseline;
    expect(growth, `grew ${(growth / MiB).toFixed(2)} MiB`).toBeLessThan(TOLERANCE);
  });

  it('leaves no socket or timer after close()', () => {
    expect(report.active.filter((kind) => kind !== 'PipeWrap' && kind !== 'TTYWrap')).toEqual([]);
  });
});
