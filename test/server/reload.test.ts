/**
 * LicenseServer changes without a restart (reload) and goes away gracefully (drain), seen from the
 * clients that live with it: real sockets, real LicenseClients, seats checked on both sides.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, LicenseClient, type LicenseClientOptions } from '../../src/index.js';
import { type AccountsSpec, LicenseServer } from '../../src/server/index.js';
import { FakeLicenseServer } from '../../src/testing/index.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const FAST: LicenseClientOptions = {
  connectTimeout: 500,
  requestTimeout: 500,
  operationTimeout: 2_000,
  gracePeriod: 60_000,
  reconnectDelay: { min: 20, max: 100 },
  licenseCachePeriod: 0,
};

async function startServer(accounts: AccountsSpec): Promise<LicenseServer> {
  const server = await LicenseServer.start({ port: 0, host: '127.0.0.1', accounts, scramIterations: 4096 });
  cleanups.push(() => server.close());
  return server;
}

function client(servers: string, username: string, password: string): LicenseClient {
  const c = new LicenseClient({ servers, username, password, ...FAST });
  cleanups.push(() => c.close());
  return c;
}

function events(c: LicenseClient) {
  const seen = { lost: [] as string[], disconnects: 0 };
  c.on('lease-lost', ({ lease }) => seen.lost.push(lease.id));
  c.on('disconnect', () => {
    seen.disconnects += 1;
  });
  return seen;
}

describe('LicenseServer.reload', () => {
  it('a pool that shrinks revokes its newest lease only; the client hears -41 for that one', async () => {
    const server = await startServer({ alice: { password: 'pw-1', licenses: { FULL: 3 } } });
    const c = client(server.address, 'alice', 'pw-1');
    const seen = events(c);
    const leases = [await c.acquire('FULL'), await c.acquire('FULL'), await c.acquire('FULL')];
    await server.reload({ alice: { password: 'pw-1', licenses: { FULL: 2 } } });
    await expect.poll(() => seen.lost).toEqual([leases[2]?.id]);
    expect(leases.map((l) => l.state)).toEqual(['held', 'held', 'lost']);
    expect(await server.inUse('FULL', 'alice')).toBe(2);
    expect(seen.disconnects).toBe(0);
  });

  it('a pool that grows serves its queue', async () => {
    const server = await startServer({ alice: { password: 'pw-1', licenses: { FULL: 1 } } });
    const c = client(server.address, 'alice', 'pw-1');
    await c.acquire('FULL');
    const waiting = c.acquire('FULL', { wait: 5_000 });
    await expect.poll(async () => (await server.leases()).length).toBe(1);
    await server.reload({ alice: { password: 'pw-1', licenses: { FULL: 2 } } });
    expect((await waiting).state).toBe('held');
    expect(await server.inUse('FULL', 'alice')).toBe(2);
  });

  it('a new password applies to the next login; the sessions already authenticated go on', async () => {
    const server = await startServer({ alice: { password: 'old-pw', licenses: { FULL: 4 } } });
    const before = client(server.address, 'alice', 'old-pw');
    await before.acquire('FULL');
    await server.reload({ alice: { password: 'new-pw', licenses: { FULL: 4 } } });
    expect((await before.acquire('FULL')).state).toBe('held');
    const stale = client(server.address, 'alice', 'old-pw');
    await expect(stale.acquire('FULL')).rejects.toMatchObject({ code: -34 });
    const fresh = client(server.address, 'alice', 'new-pw');
    expect((await fresh.acquire('FULL')).state).toBe('held');
  });

  it('a removed account loses its seats and its sessions; the other accounts keep theirs', async () => {
    const server = await startServer({
      alice: { password: 'pw-a', licenses: { FULL: 2 } },
      bob: { password: 'pw-b', licenses: { FULL: 2 } },
    });
    const alice = client(server.address, 'alice', 'pw-a');
    const bob = client(server.address, 'bob', 'pw-b');
    const aliceSeen = events(alice);
    const bobSeen = events(bob);
    const aliceLease = await alice.acquire('FULL');
    const bobLease = await bob.acquire('FULL');
    await server.reload({ bob: { password: 'pw-b', licenses: { FULL: 2 } } });
    await expect.poll(() => aliceLease.state).toBe('lost');
    expect(aliceSeen.lost).toEqual([aliceLease.id]);
    expect(bobLease.state).toBe('held');
    expect(bobSeen.disconnects).toBe(0);
    expect(await server.inUse('FULL', 'alice')).toBe(0);
    expect(await server.inUse('FULL', 'bob')).toBe(1);
    await expect(alice.acquire('FULL')).rejects.toMatchObject({ code: -34 });
  });

  it('accounts that do not validate change nothing', async () => {
    const server = await startServer({ alice: { password: 'pw-1', licenses: { FULL: 3 } } });
    const c = client(server.address, 'alice', 'pw-1');
    await c.acquire('FULL');
    await expect(
      server.reload({ alice: { password: '', licenses: { FULL: 0 } } } as unknown as AccountsSpec),
    ).rejects.toBeInstanceOf(ConfigError);
    expect(await server.inUse('FULL', 'alice')).toBe(1);
    expect((await c.acquire('FULL')).state).toBe('held');
    const again = client(server.address, 'alice', 'pw-1');
    expect((await again.acquire('FULL')).state).toBe('held');
  });
});

describe('LicenseServer.drain', () => {
  it('hands every seat back: clients move them to their other server at once, and the server closes', async () => {
    const accounts = { alice: { password: 'pw-1', licenses: { FULL: 4 } } };
    const a = await startServer(accounts);
    const b = await FakeLicenseServer.start({ port: 0, host: '127.0.0.1', accounts });
    cleanups.push(() => b.close());
    const c = client(`${a.address};${b.address}`, 'alice', 'pw-1');
    const seen = events(c);
    const ports = [await c.openPort(), await c.openPort()];
    expect(ports.map((p) => p.lease?.server)).toEqual([a.address, a.address]);
    // The clients leave once their seats are elsewhere: the drain ends well before its 20 s bound.
    const started = Date.now();
    await a.drain({ timeout: 20_000, retryAfter: 500 });
    expect(Date.now() - started).toBeLessThan(10_000);
    await expect.poll(() => b.inUse('FULL', 'alice')).toBe(2);
    expect(ports.map((p) => p.lease?.server)).toEqual([b.address, b.address]);
    expect(ports.map((p) => p.lease?.state)).toEqual(['held', 'held']);
    expect(seen.lost).toEqual([]);
    expect(a.listening).toBe(false);
    await expect.poll(() => a.connectionCount).toBe(0);
  });
});
