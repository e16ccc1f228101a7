import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ScramClient } from '../../src/protocol/scram.js';
import { FakeLicenseServer, type FakeLicenseServerOptions } from '../../src/testing/index.js';
import { closedPort, type RawClient, rawConnect } from '../helpers/raw-client.js';

const servers: FakeLicenseServer[] = [];
const clients: RawClient[] = [];

async function start(options: FakeLicenseServerOptions = {}): Promise<FakeLicenseServer> {
  const server = await FakeLicenseServer.start({ port: 0, host: '127.0.0.1', ...options });
  servers.push(server);
  return server;
}

async function connect(server: FakeLicenseServer): Promise<RawClient> {
  const client = await rawConnect(server.port);
  clients.push(client);
  await client.next((f) => f.type === 'greeting');
  return client;
}

/** A raw connection that has said hello (and authenticated when credentials are given). */
async function ready(server: FakeLicenseServer, username?: string, password?: string): Promise<RawClient> {
  const client = await connect(server);
  const hello = await client.request('hello', { version: '1.0' });
  expect(hello.ok).toBe(true);
  if (username !== undefined && password !== undefined) {
    const response = await authenticate(client, username, password);
    expect(response.ok).toBe(true);
  }
  return client;
}

async function authenticate(client: RawClient, username: string, password: string) {
  const scram = new ScramClient(username, password);
  const first = await client.request('auth-start', {
    mechanism: 'SCRAM-SHA-256',
    message: scram.firstMessage(),
  });
  if (first.ok !== true) return first;
  const serverFirst = (first.result as { message: string }).message;
  return client.request('auth-finish', { message: scram.finalMessage(serverFirst) });
}

const result = (frame: Record<string, unknown>) => frame.result as Record<string, unknown>;
const errorCode = (frame: Record<string, unknown>) => (frame.error as { code: number } | undefined)?.code;

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

const ALICE = { alice: { password: 'pencil-9f3a', licenses: { FULL: 2, LITE: 1, TTS: 2, AMD: 1 } } };

describe('FakeLicenseServer basics', () => {
  it('keeps no requests with recordRequests: false, and says so when asked for them', async () => {
    const server = await start({ recordRequests: false, licenses: { FULL: 1 } });
    const client = await ready(server);
    expect(result(await client.request('acquire', { lease: 'a', feature: 'FULL', count: 1 }))).toMatchObject({
      lease: 'a',
    });
    expect(server.inUse('FULL')).toBe(1);
    expect(() => server.requests()).toThrow(/recordRequests: false/);
  });

  it('listens on 127.0.0.1 and reports its address', async () => {
    const server = await start();
    expect(server.port).toBeGreaterThan(0);
    expect(server.address).toBe(`127.0.0.1:${server.port}`);
    expect(server.authMode).toBe('none');
  });

  it('greets first, in one line a person can read', async () => {
    const server = await start();
    const client = await rawConnect(server.port);
    clients.push(client);
    const greeting = await client.next((f) => f.type === 'greeting');
    expect(greeting).toMatchObject({
      type: 'greeting',
      protocol: 'lv-license',
      version: '1.3', // protocol 1.3: 1.2 (batch) plus the compact batch answer
      auth: 'none',
    });
    expect(String(greeting.message)).toContain('license server');
  });

  it('announces authentication mode when it has accounts', async () => {
    const server = await start({ accounts: ALICE });
    const client = await connect(server);
    expect(client.frames[0]).toMatchObject({ auth: 'scram-sha-256' });
  });

  it('asks for hello first, and answers hello with the session settings', async () => {
    const server = await start({ leaseTtl: 12_000 });
    const client = await connect(server);
    expect(errorCode(await client.request('acquire', { lease: 'a', feature: 'FULL', count: 1 }))).toBe(-54);
    const hello = await client.request('hello', { version: '1.0', client: 'test/1' });
    expect(result(hello)).toEqual({
      version: '1.3',
      server: 'lv-license-client-fake/0.1.0',
      auth: 'none',
      leaseTtl: 12_000,
      maxFrameBytes: 65_536,
      batch: 128,
    });
    expect(errorCode(await client.request('hello', { version: '1.0' }))).toBe(-54);
  });

  it('refuses another major version with -28 and closes', async () => {
    const server = await start();
    const client = await connect(server);
    const response = await client.request('hello', { version: '2.0' });
    expect(errorCode(response)).toBe(-28);
    await client.closed();
  });

  it('answers an unknown operation with -13 and keeps the connection', async () => {
    const server = await start();
    const client = await ready(server);
    expect(errorCode(await client.request('teleport'))).toBe(-13);
    expect((await client.request('ping')).ok).toBe(true);
  });

  it('validates every accounts spec before listening', async () => {
    await expect(
      FakeLicenseServer.start({ accounts: { bob: { licenses: { FULL: 1 } } } }),
    ).rejects.toMatchObject({
      code: -11,
    });
  });

  it('reads accounts from a license_authentication.conf file', async () => {
    const file = join(import.meta.dirname, '../fixtures/accounts/license_authentication.conf');
    const server = await start({ accounts: file });
    expect(server.authMode).toBe('scram-sha-256');
    const client = await connect(server);
    await client.request('hello', { version: '1.0' });
    // The fixture's "ivr-node-2" account stores only the RFC 7677 verifier of password "pencil".
    expect((await authenticate(client, 'ivr-node-2', 'pencil')).ok).toBe(true);
  });

  it('reports a port in use as a ConfigError', async () => {
    const first = await start();
    await expect(FakeLicenseServer.start({ port: first.port })).rejects.toMatchObject({
      name: 'ConfigError',
    });
  });
});

describe('licensing over a raw connection', () => {
  it('grants, renews, reports and releases', async () => {
    const server = await start({ licenses: { FULL: 2 } });
    const client = await ready(server);
    const grant = await client.request('acquire', { lease: 'L1', feature: 'FULL', count: 1 });
    expect(result(grant)).toEqual({ lease: 'L1', feature: 'FULL', count: 1, ttl: 30_000, reclaimed: false });
    expect(server.inUse('FULL')).toBe(1);
    const renew = await client.request('renew', { leases: ['L1', 'nope'] });
    expect(result(renew)).toEqual({ renewed: ['L1'], unknown: ['nope'], ttl: 30_000 });
    const status = await client.request('status');
    expect(result(status)).toEqual({ features: { FULL: { total: 2, inUse: 1, queued: 0 } } });
    const release = await client.request('release', { leases: ['L1'] });
    expect(result(release)).toEqual({ released: ['L1'], unknown: [] });
    expect(server.inUse()).toBe(0);
  });

  it('never grants past the pool under concurrent acquires from many connections', async () => {
    const server = await start({ licenses: { FULL: 4 } });
    const connections = await Promise.all(Array.from({ length: 5 }, () => ready(server)));
    const answers = await Promise.all(
      connections.flatMap((client, c) =>
        Array.from({ length: 6 }, (_, i) =>
          client.request('acquire', { lease: `c${c}-${i}`, feature: 'FULL', count: 1 }),
        ),
      ),
    );
    expect(answers.filter((a) => a.ok === true)).toHaveLength(4);
    expect(answers.filter((a) => errorCode(a) === -26)).toHaveLength(26);
    expect(server.inUse('FULL')).toBe(4);
  });

  it('returns the same lease for a re-sent acquire, also from a new connection', async () => {
    const server = await start({ licenses: { FULL: 1 } });
    const first = await ready(server);
    await first.request('acquire', { lease: 'seat-1', feature: 'FULL', count: 1 });
    const again = await first.request('acquire', { lease: 'seat-1', feature: 'FULL', count: 1 });
    expect(result(again).reclaimed).toBe(true);
    first.close();
    const second = await ready(server);
    const reclaimed = await second.request('acquire', { lease: 'seat-1', feature: 'FULL', count: 1 });
    expect(result(reclaimed)).toMatchObject({ lease: 'seat-1', reclaimed: true });
    expect(server.inUse('FULL')).toBe(1);
    expect(server.leases()).toHaveLength(1);
  });

  it('takes a lease back when it is not renewed within its TTL, and tells the holder', async () => {
    const server = await start({ licenses: { FULL: 1 }, leaseTtl: 150 });
    const client = await ready(server);
    await client.request('acquire', { lease: 'short', feature: 'FULL', count: 1 });
    const revoked = await client.next((f) => f.push === 'lease-revoked');
    expect(revoked).toMatchObject({ leases: ['short'], code: -41 });
    expect(server.inUse()).toBe(0);
  });

  it('keeps a renewed lease past its first TTL', async () => {
    const server = await start({ licenses: { FULL: 1 }, leaseTtl: 300 });
    const client = await ready(server);
    await client.request('acquire', { lease: 'kept', feature: 'FULL', count: 1 });
    for (let i = 0; i < 4; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(result(await client.request('renew', { leases: ['kept'] })).renewed).toEqual(['kept']);
    }
    expect(server.inUse()).toBe(1);
  });

  it('queues waiters in FIFO order with positions, and grants on release', async () => {
    const server = await start({ licenses: { TTS: 1 } });
    const holder = await ready(server);
    const a = await ready(server);
    const b = await ready(server);
    await holder.request('acquire', { lease: 'h', feature: 'TTS', count: 1 });
    a.send({ id: 1, op: 'acquire', lease: 'wa', feature: 'TTS', count: 1, wait: 5_000 });
    expect(await a.next((f) => f.push === 'queue-position')).toMatchObject({ lease: 'wa', position: 1 });
    b.send({ id: 2, op: 'acquire', lease: 'wb', feature: 'TTS', count: 1, wait: 5_000 });
    expect(await b.next((f) => f.push === 'queue-position')).toMatchObject({ lease: 'wb', position: 2 });
    expect(result(await holder.request('status')).features).toEqual({
      TTS: { total: 1, inUse: 1, queued: 2 },
    });

    await holder.request('release', { leases: ['h'] });
    expect(result(await a.next((f) => f.id === 1))).toMatchObject({ lease: 'wa', reclaimed: false });
    expect(await b.next((f) => f.push === 'queue-position' && f.position === 1)).toBeTruthy();

    const cancel = await b.request('cancel', { lease: 'wb' });
    expect(result(cancel)).toEqual({ lease: 'wb', cancelled: true });
    expect(errorCode(await b.next((f) => f.id === 2))).toBe(-3);
  });

  it('answers the earlier request when a waiting acquire is re-sent, keeping its place', async () => {
    const server = await start({ licenses: { TTS: 1 } });
    const holder = await ready(server);
    const first = await ready(server);
    await holder.request('acquire', { lease: 'h', feature: 'TTS', count: 1 });
    first.send({ id: 11, op: 'acquire', lease: 'w', feature: 'TTS', count: 1, wait: 5_000 });
    await first.next((f) => f.push === 'queue-position');
    const second = await ready(server);
    second.send({ id: 12, op: 'acquire', lease: 'w', feature: 'TTS', count: 1, wait: 5_000 });
    expect(errorCode(await first.next((f) => f.id === 11))).toBe(-3);
    expect(await second.next((f) => f.push === 'queue-position')).toMatchObject({ position: 1 });
    await holder.request('release', { leases: ['h'] });
    expect(result(await second.next((f) => f.id === 12))).toMatchObject({ lease: 'w' });
  });

  it('answers a wait that runs out with LV_TIME_OUT', async () => {
    const server = await start({ licenses: { AMD: 1 } });
    const client = await ready(server);
    await client.request('acquire', { lease: 'x', feature: 'AMD', count: 1 });
    const late = await client.request('acquire', { lease: 'y', feature: 'AMD', count: 1, wait: 100 });
    expect(errorCode(late)).toBe(-6);
    expect(server.inUse('AMD')).toBe(1);
  });

  it('drops the waiters of a connection that goes away', async () => {
    const server = await start({ licenses: { AMD: 1 } });
    const holder = await ready(server);
    const waiter = await ready(server);
    await holder.request('acquire', { lease: 'x', feature: 'AMD', count: 1 });
    waiter.send({ id: 7, op: 'acquire', lease: 'w', feature: 'AMD', count: 1, wait: 5_000 });
    await waiter.next((f) => f.push === 'queue-position');
    waiter.close();
    await vi.waitFor(() => expect(server.connectionCount).toBe(1));
    expect(result(await holder.request('status')).features).toEqual({
      AMD: { total: 1, inUse: 1, queued: 0 },
    });
  });

  it('refuses what an account does not have', async () => {
    const server = await start({ licenses: { FULL: 1 } });
    const client = await ready(server);
    // A 1.0 client hears -26 for a type it has no seats of, as it always did (its cascade goes on to the
    // next type on -26); a 1.1 client hears -69, "not licensed", told apart from "busy".
    expect(errorCode(await client.request('acquire', { lease: 'q', feature: 'ASR_X', count: 1 }))).toBe(-26);
    const modern = await connect(server);
    await modern.request('hello', { version: '1.1' });
    expect(errorCode(await modern.request('acquire', { lease: 'q', feature: 'ASR_X', count: 1 }))).toBe(-69);
    expect(errorCode(await client.request('acquire', { lease: 'q', feature: 'FULL', count: 0 }))).toBe(-54);
    expect(errorCode(await client.request('acquire', { lease: 'bad id!', feature: 'FULL', count: 1 }))).toBe(
      -54,
    );
  });
});

describe('authentication', () => {
  it('accepts the right password and scopes pools to the account', async () => {
    const server = await start({
      accounts: { ...ALICE, bob: { password: 'other-pass', licenses: { FULL: 1 } } },
    });
    const alice = await ready(server, 'alice', 'pencil-9f3a');
    const bob = await ready(server, 'bob', 'other-pass');
    expect(result(await alice.request('status')).features).toMatchObject({ FULL: { total: 2 } });
    expect(result(await bob.request('status')).features).toEqual({ FULL: { total: 1, inUse: 0, queued: 0 } });
  });

  it('refuses licensing before authentication', async () => {
    const server = await start({ accounts: ALICE });
    const client = await ready(server);
    expect(errorCode(await client.request('acquire', { lease: 'a', feature: 'FULL', count: 1 }))).toBe(-34);
  });

  it('rejects a wrong password with -34, and closes after three tries', async () => {
    const server = await start({ accounts: ALICE });
    const client = await ready(server);
    for (let i = 0; i < 2; i++) expect(errorCode(await authenticate(client, 'alice', 'wrong'))).toBe(-34);
    expect(errorCode(await authenticate(client, 'alice', 'wrong'))).toBe(-34);
    await client.closed();
  });

  it('treats an unknown user like a wrong password', async () => {
    const server = await start({ accounts: ALICE });
    const client = await ready(server);
    expect(errorCode(await authenticate(client, 'mallory', 'x'))).toBe(-34);
  });

  it('refuses an address after too many failures', async () => {
    const server = await start({ accounts: ALICE, maxAuthFailuresPerAddress: 2 });
    const first = await ready(server);
    await authenticate(first, 'alice', 'bad');
    await authenticate(first, 'alice', 'bad');
    const next = await ready(server);
    const refused = await next.request('auth-start', {
      mechanism: 'SCRAM-SHA-256',
      message: 'n,,n=alice,r=abc',
    });
    expect(errorCode(refused)).toBe(-34);
    await next.closed();
  });

  it('answers auth in unauthenticated mode with -28', async () => {
    const server = await start();
    const client = await ready(server);
    const response = await client.request('auth-start', {
      mechanism: 'SCRAM-SHA-256',
      message: 'n,,n=a,r=b',
    });
    expect(errorCode(response)).toBe(-28);
  });

  it('never records a secret', async () => {
    const lines: string[] = [];
    const server = await start({ accounts: ALICE, log: (line) => lines.push(line) });
    const client = await ready(server, 'alice', 'pencil-9f3a');
    await client.request('acquire', { lease: 'a', feature: 'FULL', count: 1 });
    const recorded = JSON.stringify(server.requests());
    expect(recorded).toContain('"op":"auth-start"');
    expect(recorded).toContain('[redacted]');
    expect(recorded).not.toMatch(/p=|pencil/);
    expect(lines.join('\n')).not.toContain('pencil');
  });
});

describe('fault injection', () => {
  it('stop() refuses connections and restart() serves again on the same port, with leases kept', async () => {
    const server = await start({ licenses: { FULL: 1 } });
    const client = await ready(server);
    await client.request('acquire', { lease: 'kept', feature: 'FULL', count: 1 });
    const port = server.port;
    await server.stop();
    await client.closed();
    expect(server.listening).toBe(false);
    await expect(rawConnect(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await server.restart();
    expect(server.port).toBe(port);
    const again = await ready(server);
    expect(
      result(await again.request('acquire', { lease: 'kept', feature: 'FULL', count: 1 })).reclaimed,
    ).toBe(true);
  });

  it('restart() of a running server resets its connections at once and listens again, with leases kept', async () => {
    const server = await start({ licenses: { FULL: 1 } });
    const client = await ready(server);
    await client.request('acquire', { lease: 'kept', feature: 'FULL', count: 1 });
    const port = server.port;
    // Before: it waited for the connected clients to hang up on their own (about 40 s for this client).
    await server.restart();
    await client.closed();
    expect(server.listening).toBe(true);
    expect(server.port).toBe(port);
    const again = await ready(server);
    expect(
      result(await again.request('acquire', { lease: 'kept', feature: 'FULL', count: 1 })).reclaimed,
    ).toBe(true);
  });

  it('pause() is a black hole: accepts and reads, answers nothing until resume()', async () => {
    const server = await start();
    const client = await ready(server);
    server.pause();
    client.send({ id: 99, op: 'ping' });
    const late = await rawConnect(server.port);
    clients.push(late);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(client.frames.some((f) => f.id === 99)).toBe(false);
    expect(late.frames).toHaveLength(0);
    server.resume();
    expect((await client.next((f) => f.id === 99)).ok).toBe(true);
    expect(await late.next((f) => f.type === 'greeting')).toBeTruthy();
  });

  it('dropConnections() resets every connection but keeps the leases', async () => {
    const server = await start();
    const client = await ready(server);
    await client.request('acquire', { lease: 'z', feature: 'FULL', count: 1 });
    server.dropConnections();
    await client.closed();
    expect(server.inUse()).toBe(1);
  });

  it('delay() holds responses', async () => {
    const server = await start();
    const client = await ready(server);
    server.delay(200);
    client.send({ id: 5, op: 'ping' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(client.frames.some((f) => f.id === 5)).toBe(false);
    expect((await client.next((f) => f.id === 5)).ok).toBe(true);
  });

  it('failNext() fails the next requests of one operation with the given code', async () => {
    const server = await start();
    const client = await ready(server);
    server.failNext('acquire', -50, 2);
    expect(errorCode(await client.request('acquire', { lease: 'a', feature: 'FULL', count: 1 }))).toBe(-50);
    expect(errorCode(await client.request('acquire', { lease: 'a', feature: 'FULL', count: 1 }))).toBe(-50);
    expect((await client.request('acquire', { lease: 'a', feature: 'FULL', count: 1 })).ok).toBe(true);
    expect((await client.request('ping')).ok).toBe(true);
  });

  it('setLicenses() shrinks a pool and revokes the newest leases with a push', async () => {
    const server = await start({ licenses: { FULL: 3 } });
    const client = await ready(server);
    for (const lease of ['a', 'b', 'c'])
      await client.request('acquire', { lease, feature: 'FULL', count: 1 });
    server.setLicenses('FULL', 1);
    const push = await client.next((f) => f.push === 'lease-revoked');
    expect(push).toMatchObject({ code: -41 });
    expect([...(push.leases as string[])].sort()).toEqual(['b', 'c']);
    expect(server.inUse('FULL')).toBe(1);
    server.setLicenses('TTS', 2);
    expect(result(await client.request('acquire', { lease: 't', feature: 'TTS', count: 2 })).count).toBe(2);
  });

  it('close() sends a shutdown notice', async () => {
    const server = await start();
    const client = await ready(server);
    await server.close();
    expect(client.frames.some((f) => f.push === 'shutdown')).toBe(true);
    await client.closed();
    await server.close();
  });

  it('survives a log callback that throws', async () => {
    const server = await start({
      log: () => {
        throw new Error('logger broke');
      },
    });
    const client = await ready(server);
    expect((await client.request('ping')).ok).toBe(true);
  });

  it('supports await using', async () => {
    let port = 0;
    {
      await using server = await FakeLicenseServer.start();
      port = server.port;
    }
    await expect(rawConnect(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});

describe('hostile clients do not hurt others', () => {
  it('closes a connection that does not say hello in time', async () => {
    const server = await start({ authTimeout: 100 });
    const idle = await connect(server);
    await idle.closed();
    expect(idle.frames.at(-1)).toMatchObject({ ok: false, error: { code: -6 } });
  });

  it('closes a connection that sends garbage, and only that one', async () => {
    const server = await start();
    const good = await ready(server);
    const bad = await connect(server);
    bad.sendRaw('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await bad.closed();
    expect((await good.request('ping')).ok).toBe(true);
  });

  it('closes a connection that sends an oversized frame', async () => {
    const server = await start({ maxFrameBytes: 1_024 });
    const bad = await connect(server);
    bad.sendRaw(`{"id":1,"op":"ping","pad":"${'x'.repeat(2_000)}"}\n`);
    await bad.closed();
    expect(bad.frames.at(-1)).toMatchObject({ ok: false, id: null });
  });

  it('refuses connections past the limit with LV_NO_SERVER_AVAILABLE', async () => {
    const server = await start({ maxConnections: 2 });
    await connect(server);
    await connect(server);
    const third = await rawConnect(server.port);
    clients.push(third);
    expect(await third.next((f) => f.ok === false)).toMatchObject({ error: { code: -22 } });
    await third.closed();
  });

  it('survives half-open and abruptly reset sockets', async () => {
    const server = await start();
    const half = await connect(server);
    half.socket.end();
    const reset = await connect(server);
    reset.socket.resetAndDestroy();
    const good = await ready(server);
    expect((await good.request('ping')).ok).toBe(true);
  });

  it('is not reachable on a closed port (test helper sanity)', async () => {
    await expect(rawConnect(await closedPort())).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
