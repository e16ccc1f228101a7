/**
 * A client that sends releases and ends the connection without waiting for their answers (as an older
 * client's close() did) still gets its seats back: the releases left unhandled when the connection closes
 * are done. Acquires left unhandled are not (nobody would hold their seats).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { LicenseServer } from '../../src/server/index.js';
import { type RawClient, rawConnect } from '../helpers/raw-client.js';

const servers: LicenseServer[] = [];
const raws: RawClient[] = [];

afterEach(async () => {
  for (const raw of raws.splice(0)) raw.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('releases a client did not wait for', () => {
  it('are done when it ends the connection behind them; acquires left behind are not', async () => {
    const server = await LicenseServer.start({ port: 0, licenses: { FULL: 4 } });
    servers.push(server);
    const raw = await rawConnect(server.port);
    raws.push(raw);
    await raw.next((f) => f.type === 'greeting');
    expect((await raw.request('hello', { version: '1.2' })).ok).toBe(true);
    for (const lease of ['a', 'b']) {
      expect((await raw.request('acquire', { lease, feature: 'FULL', count: 1 })).ok).toBe(true);
    }
    expect(await server.inUse('FULL')).toBe(2);

    // One batch frame is handled per turn of the server's event loop: the frames after the first 200
    // are still waiting when the connection closes.
    const filler = Array.from({ length: 200 }, (_, i) => ({
      id: 10 + i,
      op: 'batch',
      requests: [{ id: 1_000 + i, op: 'release', leases: [`never-${i}`] }],
    }));
    const left = [
      { id: 5_000, op: 'release', leases: ['a'] },
      { id: 5_001, op: 'batch', requests: [{ id: 5_002, op: 'release', leases: ['b'] }] },
      { id: 5_003, op: 'acquire', lease: 'c', feature: 'FULL', count: 1 },
    ];
    raw.sendRaw([...filler, ...left].map((r) => `${JSON.stringify(r)}\n`).join(''));
    raw.socket.end();
    await raw.closed();
    const answered = new Set(raw.frames.map((f) => f.id));
    // The test means something only if the last frames were left unhandled.
    expect(answered.has(5_000)).toBe(false);
    await expect.poll(() => server.inUse('FULL'), { timeout: 3_000 }).toBe(0);
    // The pool is whole again: c was not taken for a client that is gone.
    const next = await rawConnect(server.port);
    raws.push(next);
    await next.next((f) => f.type === 'greeting');
    expect((await next.request('hello', { version: '1.2' })).ok).toBe(true);
    for (const lease of ['w', 'x', 'y', 'z']) {
      expect((await next.request('acquire', { lease, feature: 'FULL', count: 1 })).ok).toBe(true);
    }
  });
});
