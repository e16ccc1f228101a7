/**
 * Races a second review of the client's core found: a lease's reclaim, migration, release and close()
 * crossing each other, a credentials change during a dial, and a retired server. Real loopback sockets;
 * the seats are checked on the servers' side.
 */
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ServerLink } from '../../src/cluster/server-link.js';
import { LicenseClient } from '../../src/index.js';
import { FakeLicenseServer } from '../../src/testing/index.js';
import { FAST, makeClient, recordEvents, startPair, startServer, track } from '../helpers/cluster.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** How many acquires of lease `id` a server has received. */
const acquiresOf = (server: FakeLicenseServer, id: string) =>
  server.requests().filter((r) => r.op === 'acquire' && r.params.lease === id).length;

/** Starts `a` losing the lease's server, with `b` slow to grant the migration; resolves once `b` has it. */
async function migrationInFlight(a: FakeLicenseServer, b: FakeLicenseServer, id: string): Promise<void> {
  b.delay(700);
  await a.stop();
  await expect.poll(() => acquiresOf(b, id), { timeout: 5_000 }).toBe(1);
}

describe('lease races', () => {
  it('a reclaim that a connected server answers with an error moves the lease at once, counted once', async () => {
    const [a, b] = await startPair({ licenses: { TTS: 2 } });
    const client = makeClient([a, b], { gracePeriod: 1_500 });
    const lease = await client.acquire('TTS');
    a.failNext('acquire', -50);
    a.dropConnections();
    await expect.poll(() => lease.server, { timeout: 1_000 }).toBe(b.address);
    expect(lease.state).toBe('held');
    // The id the client left at a is given back at once, not at a's TTL.
    await expect.poll(() => a.inUse('TTS'), { timeout: 1_000 }).toBe(0);
    expect(b.inUse('TTS')).toBe(1);
  });

  it('release() during a migration resolves once no server holds the seat', async () => {
    const [a, b] = await startPair({ licenses: { TTS: 2 } });
    const client = makeClient([a, b], { gracePeriod: 200, requestTimeout: 2_000 });
    const { named } = recordEvents(client);
    const lease = await client.acquire('TTS');
    await migrationInFlight(a, b, lease.id);
    await lease.release();
    expect(b.inUse('TTS')).toBe(0);
    expect(named('lease-migrated')).toEqual([]);
    b.delay(0);
    await a.restart();
    await expect.poll(() => a.inUse('TTS'), { timeout: 5_000 }).toBe(0);
  });

  it('close() during a migration leaves no seat at the target', async () => {
    const [a, b] = await startPair({ licenses: { TTS: 2 } });
    const client = makeClient([a, b], { gracePeriod: 200, requestTimeout: 2_000, closeTimeout: 3_000 });
    const lease = await client.acquire('TTS');
    await migrationInFlight(a, b, lease.id);
    await client.close();
    expect(b.inUse('TTS')).toBe(0);
  });

  it('release() during a reclaim resolves once the server has the seat back', async () => {
    const server = await startServer({ licenses: { TTS: 2 } });
    const client = makeClient([server], { gracePeriod: 5_000, requestTimeout: 2_000 });
    const lease = await client.acquire('TTS');
    server.delay(500);
    server.dropConnections();
    await expect.poll(() => acquiresOf(server, lease.id), { timeout: 5_000 }).toBe(2);
    await lease.release();
    expect(server.inUse('TTS')).toBe(0);
  });

  it('a lost license that sat in the cache is given back when its server returns', async () => {
    const server = await startServer({ licenses: { FULL: 2 } });
    const client = makeClient([server], {
      gracePeriod: 200,
      licenseCachePeriod: 60,
      licenseType: 'SpeechPort',
    });
    const port = await client.openPort();
    await port.close();
    expect(client.status().cache).toHaveLength(1);
    await server.stop();
    await expect.poll(() => client.status().leases.length, { timeout: 5_000 }).toBe(0);
    expect(client.status().cache).toEqual([]);
    await server.restart();
    await expect.poll(() => server.inUse(), { timeout: 5_000 }).toBe(0);
  });

  it('port.close() during a delayed acquisition resolves once the server has the seat back', async () => {
    const server = await startServer({ licenses: { FULL: 2 } });
    const client = makeClient([server], {
      delayedLicenseAcquisition: true,
      licenseType: 'SpeechPort',
      requestTimeout: 2_000,
    });
    await client.connect();
    const port = await client.openPort();
    server.delay(300);
    const loading = client.loadVoiceChannel(port, 1).catch((e: unknown) => e);
    await sleep(50);
    await port.close();
    expect(server.inUse()).toBe(0);
    expect(await loading).toMatchObject({ code: -12 });
  });
});

describe('link and pool races', () => {
  it('new credentials given while a dial with the old ones is in flight are used at once', async () => {
    const server = await FakeLicenseServer.start({
      port: 0,
      host: '127.0.0.1',
      accounts: { alice: { password: 'right', licenses: { FULL: 1 } } },
    });
    const link = new ServerLink(
      { host: '127.0.0.1', port: server.port, tls: false, label: server.address },
      0,
      {
        connectTimeout: 1_000,
        requestTimeout: 1_000,
        reconnectDelay: { min: 20, max: 100 },
        misconfiguredCoolDown: 60_000,
        now: Date.now,
      },
      { username: 'alice', password: 'wrong' },
    );
    cleanups.push(async () => {
      await link.close();
      await server.close();
    });
    server.delay(150);
    const first = link.connection().catch((e: unknown) => e);
    await sleep(20);
    expect(link.linkState.kind).toBe('dialing');
    link.setCredentials({ username: 'alice', password: 'right' });
    expect(await first).toMatchObject({ code: -34 });
    server.delay(0);
    await expect.poll(() => link.isUp, { timeout: 2_000 }).toBe(true);
  });

  it('a server a reload removed is no longer redialed once its seats have moved away', async () => {
    const [a, b] = await startPair({ licenses: { TTS: 2 } });
    const dir = await mkdtemp(join(tmpdir(), 'lv-races-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'client_property.conf');
    const conf = (servers: string) => `[GLOBAL]\nLICENSE_SERVERS = ${servers}\nLICENSE_CACHE_PERIOD = 0\n`;
    writeFileSync(file, conf(`${a.address};${b.address}`), { mode: 0o600 });
    const client = track(
      await LicenseClient.fromConfigFile(file, { ...FAST, watch: true, gracePeriod: 300 }),
    );
    const { named } = recordEvents(client);
    const lease = await client.acquire('TTS');
    expect(lease.server).toBe(a.address);
    writeFileSync(file, conf(b.address), { mode: 0o600 });
    await expect
      .poll(
        () =>
          client
            .status()
            .servers.filter((s) => s.removed !== true)
            .map((s) => s.server),
        { timeout: 5_000 },
      )
      .toEqual([b.address]);
    // The removed server stays listed while the lease is still there.
    expect(client.status().servers.find((s) => s.server === a.address)).toMatchObject({
      removed: true,
      seats: 1,
    });
    await a.stop();
    await expect.poll(() => lease.server, { timeout: 5_000 }).toBe(b.address);
    expect(client.status().servers.map((s) => s.server)).toEqual([b.address]);
    await sleep(200);
    const before = named('retry').filter((r) => r.server === a.address).length;
    await sleep(1_000);
    expect(named('retry').filter((r) => r.server === a.address).length).toBe(before);
  });
});
