/**
 * Fake timers with real sockets: an hour of lease heartbeats and a reconnect backoff in a few hundred
 * milliseconds, against a real FakeLicenseServer over loopback. docs/testing.md shows this file (from the
 * first import on) and test/docs/testing-recipe.test.ts checks that the two stay the same.
 *
 *   npx vitest run examples/fake-timers.test.ts
 */
import { afterEach, expect, it, vi } from 'vitest';
// In your app: from 'lv-license-client' and 'lv-license-client/testing'.
import { LicenseClient } from '../src/index.js';
import { FakeLicenseServer } from '../src/testing/index.js';

// Fake the clock and the timers the client and the server schedule with; leave setImmediate,
// process.nextTick, queueMicrotask and performance real: sockets and streams run on them.
const TO_FAKE = ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] as const;

/** Waits in real time (real setImmediate turns, so sockets make progress) until `done()` is true. */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setImmediate(resolve));
}

afterEach(() => {
  vi.useRealTimers();
});

it('holds a seat through an hour of heartbeats', async () => {
  vi.useFakeTimers({ toFake: [...TO_FAKE] });
  // Started after the fake clock, the server's leases expire by it too.
  await using server = await FakeLicenseServer.start({ licenses: { FULL: 1 }, leaseTtl: 30_000 });
  await using client = new LicenseClient({ servers: server.address, licenseCachePeriod: 0 });
  const lease = await client.acquire('FULL'); // real I/O: no timer has to fire for it

  const renewals = () => server.requests().filter((r) => r.op === 'renew').length;
  for (let beat = 1; beat <= 360; beat += 1) {
    // One heartbeat interval (a third of the lease TTL) at a time, then wait for its real round trip.
    await vi.advanceTimersByTimeAsync(10_000);
    await until(() => renewals() === beat);
    await until(() => server.leases()[0]?.expiresAt === Date.now() + 30_000);
  }
  expect(server.inUse('FULL')).toBe(1);
  expect(lease.state).toBe('held');
  await lease.release();
});

it('reconnects after exactly one backoff wait, and keeps the seat', async () => {
  vi.useFakeTimers({ toFake: [...TO_FAKE] });
  await using server = await FakeLicenseServer.start({ licenses: { FULL: 1 } });
  // min = max: every backoff wait is exactly 1 s (otherwise random in [min·2ⁿ, 2·min·2ⁿ), at most max).
  await using client = new LicenseClient({
    servers: server.address,
    licenseCachePeriod: 0,
    reconnectDelay: { min: 1_000, max: 1_000 },
  });
  const lease = await client.acquire('FULL');

  await server.stop(); // drops the connection; the server keeps the lease, as a persistent one would
  const link = () => client.status().servers[0];
  // The first redial fails at once (refused); the next one waits for the backoff timer.
  await until(() => lease.state === 'reconnecting' && (link()?.consecutiveFailures ?? 0) >= 1);
  await server.restart();
  await vi.advanceTimersByTimeAsync(999);
  expect(link()?.state).toBe('down'); // not yet: the wait is not over
  await vi.advanceTimersByTimeAsync(1); // the backoff ends, the redial starts (real I/O)
  await until(() => lease.state === 'held');
  expect(link()?.state).toBe('up');
  expect(server.inUse('FULL')).toBe(1);
  await lease.release();
});
