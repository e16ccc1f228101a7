/**
 * A batch whose answer does not fit in a frame (a small `maxFrameBytes`, grants mixed with refusals):
 * the server sends each answer alone and still answers the batch's id, and the 1.3 client, which gets the
 * compact form otherwise, settles every request with its answer; the seats on both sides agree.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FakeLicenseServer } from '../../src/testing/index.js';
import type { Connection } from '../../src/transport/connection.js';
import { openConnection } from '../../src/transport/handshake.js';
import { rawConnect } from '../helpers/raw-client.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function setUp(): Promise<{ server: FakeLicenseServer; connection: Connection }> {
  const server = await FakeLicenseServer.start({ licenses: { FULL: 100 }, maxFrameBytes: 4_096 });
  cleanups.push(() => server.close());
  const { connection } = await openConnection({
    host: '127.0.0.1',
    port: server.port,
    requestTimeout: 3_000,
    maxFrameBytes: 4_096,
  });
  cleanups.push(() => connection.destroy());
  return { server, connection };
}

describe('a batch answer too large for one frame', () => {
  it('reaches the client answer by answer, every request settled by its own answer', async () => {
    const { server, connection } = await setUp();
    // A quarter granted (FULL), the rest refused with -69 (no TTS here): the refusals' whole answers are
    // what makes the batch's answer too large.
    const outcomes = await Promise.allSettled(
      Array.from({ length: 80 }, (_, i) =>
        connection.request('acquire', {
          lease: `L-${i + 1}`,
          feature: i % 4 === 0 ? 'FULL' : 'TTS',
          count: 1,
        }),
      ),
    );
    const granted = outcomes.filter((o) => o.status === 'fulfilled');
    const refused = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as { code: number }] : []));
    expect(granted).toHaveLength(20);
    expect(refused.map((e) => e.code)).toEqual(Array(60).fill(-69));
    expect(server.inUse('FULL')).toBe(20);
    expect(server.requests().filter((r) => r.op === 'batch').length).toBeGreaterThan(0);
    expect(connection.pendingCount).toBe(0);
    const released = await connection.request('release', { leases: granted.map((_, i) => `L-${4 * i + 1}`) });
    expect(released.unknown).toEqual([]);
    expect(server.inUse('FULL')).toBe(0);
  });

  it("answers each request alone, then the batch's own id once, with no responses left in it", async () => {
    const { server } = await setUp();
    const raw = await rawConnect(server.port);
    cleanups.push(() => raw.close());
    expect((await raw.request('hello', { version: '1.3' })).ok).toBe(true);
    const requests = Array.from({ length: 40 }, (_, i) => ({
      id: 100 + i,
      op: 'acquire',
      lease: `R-${i + 1}`,
      feature: i % 4 === 0 ? 'FULL' : 'TTS',
      count: 1,
    }));
    raw.send({ id: 99, op: 'batch', requests });
    const answer = await raw.next((f) => f.id === 99);
    expect(answer).toEqual({ id: 99, ok: true, result: { responses: [] } });
    const alone = raw.frames.filter((f) => typeof f.id === 'number' && f.id >= 100 && f.id < 140);
    expect(alone.map((f) => f.id)).toEqual(requests.map((r) => r.id));
    expect(alone.filter((f) => f.ok === true)).toHaveLength(10);
    expect(raw.frames.filter((f) => f.id === 99)).toHaveLength(1);
    expect(server.inUse('FULL')).toBe(10);
  });
});
