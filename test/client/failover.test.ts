import { describe, expect, it } from 'vitest';
import { AuthenticationError, LicensesExpiredError, OpenPortError } from '../../src/index.js';
import { makeClient, recordEvents, startPair, startServer } from '../helpers/cluster.js';
import { closedPort } from '../helpers/raw-client.js';

const seats = (...servers: Array<{ inUse(): number }>) => servers.map((s) => s.inUse());

describe('failover across prioritized servers', () => {
  it('uses servers in LICENSE_SERVERS order', async () => {
    const [a, b] = await startPair();
    const client = makeClient([a, b]);
    await client.openPort();
    await client.openPort();
    expect(seats(a, b)).toEqual([2, 0]);
    expect(b.connectionCount).toBe(0);
  });

  it('skips a refused primary at once', async () => {
    const dead = await closedPort();
    const b = await startServer();
    const client = makeClient([b], { servers: `127.0.0.1:${dead};${b.address}` });
    const { named } = recordEvents(client);
    const started = Date.now();
    const port = await client.openPort();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(port.lease?.server).toBe(b.address);
    expect(named('failover')[0]).toMatchObject({
      from: `127.0.0.1:${dead}`,
      to: b.address,
      operation: 'openPort',
    });
  });

  it('spills over to the next server when a pool is exhausted', async () => {
    const [a, b] = await startPair({ licenses: { FULL: 1 } });
    const client = makeClient([a, b], { licenseType: 'SpeechPort' });
    await client.openPort();
    const second = await client.openPort();
    expect(second.lease?.server).toBe(b.address);
    expect(seats(a, b)).toEqual([1, 1]);
    await expect(client.openPort()).rejects.toMatchObject({ status: -26 });
  });

  it('moves new work to the secondary when the primary resets its connections', async () => {
    const [a, b] = await startPair();
    const client = makeClient([a, b], { gracePeriod: 60_000 });
    const { named } = recordEvents(client);
    await client.openPort();
    await a.stop();
    await expect.poll(() => named('disconnect').length).toBe(1);
    const port = await client.openPort();
    expect(port.lease?.server).toBe(b.address);
  });

  it('declares a black-holed primary dead within the request timeout and serves from the secondary', async () => {
    const [a, b] = await startPair();
    const client = makeClient([a, b], { requestTimeout: 300, gracePeriod: 60_000 });
    await client.connect();
    a.pause();
    const started = Date.now();
    const port = await client.openPort();
    const elapsed = Date.now() - started;
    expect(port.lease?.server).toBe(b.address);
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(3_000);
    expect(client.status().servers[0]?.state).toBe('down');
    a.resume();
    // The acquire that timed out may have been granted late; the client gives that seat back.
    await expect.poll(() => a.inUse(), { timeout: 5_000 }).toBe(0);
  });

  it('fails back: new work goes to the recovered primary, seats stay where they are', async () => {
    const [a, b] = await startPair();
    const client = makeClient([a, b], { gracePeriod: 60_000 });
    const { named } = recordEvents(client);
    await client.connect();
    await a.stop();
    const onB = await client.openPort();
    expect(onB.lease?.server).toBe(b.address);
    await a.restart();
    await expect
      .poll(() => named('connect').filter((c) => c.server === a.address).length, { timeout: 5_000 })
      .toBe(2);
    const onA = await client.openPort();
    expect(onA.lease?.server).toBe(a.address);
    expect(onB.lease?.server).toBe(b.address);
    expect(seats(a, b)).toEqual([1, 1]);
  });

  it('fails over past a server that rejects the credentials, without a retry loop', async () => {
    const a = await startServer({ accounts: { alice: { password: 'other', licenses: { FULL: 2 } } } });
    const b = await startServer({ accounts: { alice: { password: 'right', licenses: { FULL: 2 } } } });
    const client = makeClient([a, b], { username: 'alice', password: 'right' });
    const port = await client.openPort();
    expect(port.lease?.server).toBe(b.address);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(a.requests().filter((r) => r.op === 'auth-finish')).toHaveLength(1);
  });

  it('fails with AuthenticationError at once when every server rejects the credentials', async () => {
    const a = await startServer({ accounts: { alice: { password: 'other', licenses: { FULL: 2 } } } });
    const client = makeClient([a], {
      username: 'alice',
      password: 'wrong-pass-123',
      operationTimeout: 10_000,
    });
    const started = Date.now();
    const err = (await client.openPort().catch((e: unknown) => e)) as OpenPortError;
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(err.status).toBe(-34);
    expect(err.cause).toBeInstanceOf(AuthenticationError);
    expect(err.message).toContain('the username and password must match the account on the server');
    expect(err.message).not.toContain('wrong-pass-123');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(a.requests().filter((r) => r.op === 'auth-finish')).toHaveLength(1);
  });

  it('reports a mode mismatch as incompatible (-28), not a hang', async () => {
    const a = await startServer();
    const client = makeClient([a], { username: 'alice', password: 'x' });
    const err = (await client.openPort().catch((e: unknown) => e)) as OpenPortError;
    expect(err.status).toBe(-28);
  });

  it('never waits longer than its deadline when every server is a black hole', async () => {
    const [a, b] = await startPair();
    a.pause();
    b.pause();
    const client = makeClient([a, b], { requestTimeout: 5_000, operationTimeout: 400 });
    const started = Date.now();
    const err = (await client.openPort().catch((e: unknown) => e)) as OpenPortError;
    expect(err).toBeInstanceOf(OpenPortError);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('honours the caller signal', async () => {
    const a = await startServer();
    a.pause();
    const client = makeClient([a], { requestTimeout: 5_000, operationTimeout: 10_000 });
    const err = (await client
      .openPort({ signal: AbortSignal.timeout(200) })
      .catch((e: unknown) => e)) as OpenPortError;
    expect(err).toBeInstanceOf(OpenPortError);
    expect(err.status).toBe(-6);
  });
});

describe('leases that survive', () => {
  it('renews leases with heartbeats so they outlive the server TTL', async () => {
    const a = await startServer({ leaseTtl: 300 });
    const client = makeClient([a]);
    await client.openPort();
    await client.openPort();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(a.inUse()).toBe(2);
    const renews = a.requests().filter((r) => r.op === 'renew');
    expect(renews.length).toBeGreaterThanOrEqual(2);
    // One frame renews every seat on the server.
    expect(renews.at(-1)?.params.leases).toHaveLength(2);
  });

  it('reclaims its seats by id after a reset, never taking a second seat', async () => {
    const a = await startServer({ licenses: { FULL: 2 } });
    const client = makeClient([a]);
    const { named } = recordEvents(client);
    const ports = [await client.openPort(), await client.openPort()];
    a.dropConnections();
    await expect.poll(() => named('lease-reclaimed').length, { timeout: 5_000 }).toBe(2);
    expect(a.inUse()).toBe(2);
    expect(a.leases()).toHaveLength(2);
    for (const port of ports) await client.loadVoiceChannel(port, 1);
    expect(ports.map((p) => p.lease?.state)).toEqual(['held', 'held']);
  });

  it('reclaims after a restart of the same server', async () => {
    const a = await startServer({ licenses: { FULL: 1 } });
    const client = makeClient([a], { gracePeriod: 10_000 });
    const { named } = recordEvents(client);
    const port = await client.openPort();
    await a.stop();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await a.restart();
    await expect.poll(() => named('lease-reclaimed').length, { timeout: 5_000 }).toBe(1);
    expect(a.inUse()).toBe(1);
    await client.loadVoiceChannel(port, 1);
  });

  it('migrates seats to the next server when their server stays gone past the grace period', async () => {
    const [a, b] = await startPair();
    const client = makeClient([a, b], { gracePeriod: 200 });
    const { named } = recordEvents(client);
    const port = await client.openPort();
    await a.stop();
    await expect.poll(() => named('lease-migrated').length, { timeout: 5_000 }).toBe(1);
    expect(named('lease-migrated')[0]).toMatchObject({ from: a.address, to: b.address });
    expect(port.lease?.server).toBe(b.address);
    expect(b.inUse()).toBe(1);
    await client.loadVoiceChannel(port, 1);
  });

  it('loses a seat only when no server can take it, and the port then fails with -41', async () => {
    const [a, b] = await startPair({ licenses: { FULL: 1 } });
    const client = makeClient([a, b], { gracePeriod: 200, licenseType: 'SpeechPort' });
    const { named } = recordEvents(client);
    const port = await client.openPort();
    const other = makeClient([b]);
    await other.openPort({ licenseType: 'SpeechPort' });
    await a.stop();
    await expect.poll(() => named('lease-lost').length, { timeout: 5_000 }).toBe(1);
    expect(named('lease-lost')[0]?.port).toBe(port);
    const err = await client.loadVoiceChannel(port, 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LicensesExpiredError);
    expect(err).toMatchObject({ code: -41 });
    await port.close();
    expect(client.status().leases).toEqual([]);
  });

  it('keeps the port through the grace period', async () => {
    const [a, b] = await startPair();
    const client = makeClient([a, b], { gracePeriod: 5_000 });
    const port = await client.openPort();
    await a.stop();
    await expect.poll(() => port.lease?.state).toBe('reconnecting');
    await client.loadVoiceChannel(port, 1);
    expect(b.inUse()).toBe(0);
  });

  it('moves a revoked lease elsewhere', async () => {
    const [a, b] = await startPair({ licenses: { FULL: 1 } });
    const client = makeClient([a, b], { licenseType: 'SpeechPort' });
    const { named } = recordEvents(client);
    const port = await client.openPort();
    a.setLicenses('FULL', 0);
    await expect.poll(() => named('lease-migrated').length).toBe(1);
    expect(port.lease?.server).toBe(b.address);
  });

  it('reports a consistent status()', async () => {
    const [a, b] = await startPair();
    const client = makeClient([a, b]);
    const port = await client.openPort();
    const status = client.status();
    expect(status.servers.map((s) => [s.server, s.state, s.seats])).toEqual([
      [a.address, 'up', 1],
      [b.address, 'idle', 0],
    ]);
    expect(status.leases).toEqual([
      expect.objectContaining({
        feature: 'FULL',
        count: 1,
        server: a.address,
        state: 'held',
        port: port.id,
      }),
    ]);
    expect(typeof status.servers[0]?.rtt === 'number' || status.servers[0]?.rtt === undefined).toBe(true);
  });
});
