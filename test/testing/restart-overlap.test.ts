/**
 * FakeLicenseServer's stop() and restart() called without waiting for the one before: each is done in
 * the order called, and the clients see a server that went away and came back.
 */
import { describe, expect, it } from 'vitest';
import { makeClient, startServer } from '../helpers/cluster.js';

describe('stop() and restart() called before the one before ended', () => {
  // FOUND by attack16: the second restart() listened while the first was still closing the listener,
  // and failed with EADDRINUSE ("pick another port, or 0 for a free one").
  it('two restart() at once: both resolve, the server listens, the client keeps its seat', async () => {
    const server = await startServer({ licenses: { FULL: 1 } });
    const client = makeClient([server], { gracePeriod: 10_000 });
    const lease = await client.acquire('FULL');
    await Promise.all([server.restart(), server.restart()]);
    expect(server.listening).toBe(true);
    await expect.poll(() => lease.state, { timeout: 5_000 }).toBe('held');
    expect(server.inUse('FULL')).toBe(1);
    await lease.release();
    expect(server.inUse('FULL')).toBe(0);
  });

  it('stop() then restart() at once: the server listens again', async () => {
    const server = await startServer({ licenses: { FULL: 1 } });
    const client = makeClient([server], { gracePeriod: 10_000 });
    const lease = await client.acquire('FULL');
    await Promise.all([server.stop(), server.restart()]);
    expect(server.listening).toBe(true);
    await expect.poll(() => lease.state, { timeout: 5_000 }).toBe('held');
    await lease.release();
    expect(server.inUse('FULL')).toBe(0);
  });

  it('restart() then stop() at once: the server is stopped', async () => {
    const server = await startServer({ licenses: { FULL: 1 } });
    await Promise.all([server.restart(), server.stop()]);
    expect(server.listening).toBe(false);
    await server.restart();
    expect(server.listening).toBe(true);
  });

  // FOUND by review24: a close() while a restart() was under way left the server listening after close().
  it('restart() then close() at once: the server is closed and does not listen', async () => {
    const server = await startServer({ licenses: { FULL: 1 } });
    const client = makeClient([server]);
    await client.acquire('FULL');
    const restarting = server.restart().catch((e: unknown) => e);
    await server.close();
    await restarting;
    expect(server.listening).toBe(false);
  });
});
