// A release the server answers with an error (its own failure, -50): the seat is given back later even when
// the client holds nothing else there (no heartbeat would otherwise carry the retry).
import { describe, expect, it } from 'vitest';
import { makeClient, startServer } from '../helpers/cluster.js';

describe('a release the server refused', () => {
  it('is sent again by the next heartbeat, also when nothing else is held there', async () => {
    const server = await startServer({ licenses: { TTS: 2 } });
    const client = makeClient([server], { heartbeatInterval: 100 });
    const lease = await client.acquire('TTS');
    server.failNext('release', -50);
    await lease.release();
    // The client let go of it; the server still counts it (its release failed).
    expect(client.status().leases).toEqual([]);
    expect(server.inUse()).toBe(1);
    // Before, the id waited for a reconnect (or for another lease's heartbeat), else for its TTL (30 s).
    await expect.poll(() => server.inUse(), { timeout: 3_000 }).toBe(0);
    expect(server.requests().filter((r) => r.op === 'release')).toHaveLength(2);
  });

  it('is sent again by the next heartbeat while other leases are held there (as before)', async () => {
    const server = await startServer({ licenses: { TTS: 2 } });
    const client = makeClient([server], { heartbeatInterval: 100 });
    const kept = await client.acquire('TTS');
    const lease = await client.acquire('TTS');
    server.failNext('release', -50);
    await lease.release();
    expect(server.inUse()).toBe(2);
    await expect.poll(() => server.inUse(), { timeout: 3_000 }).toBe(1);
    await kept.release();
    expect(server.inUse()).toBe(0);
  });
});
