/**
 * The failure paths that outside testing found (issue 10): a full server, a grant whose answer was lost,
 * a release that must wait for the server, bugs that are not network errors, and bad input. Each test
 * runs over real loopback sockets and checks the seats on the server's side too.
 */
import * as net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  IncompatibleServerError,
  type LicenseError,
  NoServerRespondingError,
  OpenPortError,
  probeServer,
  RequestTimeoutError,
  TimeoutError,
} from '../../src/index.js';
import type { FakeLicenseServer } from '../../src/testing/index.js';
import { makeTestPki, type TestPki } from '../helpers/certs.js';
import { makeClient, recordEvents, startServer } from '../helpers/cluster.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Opens one idle connection that the server accepts and greets (it takes one of its connection slots). */
async function occupySlot(server: FakeLicenseServer): Promise<net.Socket> {
  const socket = net.connect({ host: server.host, port: server.port });
  socket.on('error', () => {});
  cleanups.push(() => void socket.destroy());
  const first = await new Promise<string>((resolve) => {
    socket.once('data', (chunk: Buffer) => resolve(chunk.toString('utf8')));
    socket.once('close', () => resolve(''));
  });
  expect(first).toContain('"type":"greeting"');
  return socket;
}

/**
 * A TCP proxy in front of a server that can cut the connection in the middle of the answer to an acquire
 * (after the server granted it), and refuse connections for a while.
 */
async function cuttingProxy(target: FakeLicenseServer) {
  let refusing = false;
  let cutNextGrant = false;
  const sockets = new Set<net.Socket>();
  const proxy = net.createServer((client) => {
    client.on('error', () => {});
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = net.connect({ host: target.host, port: target.port });
    upstream.on('error', () => {});
    sockets.add(client);
    sockets.add(upstream);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      if (cutNextGrant && text.includes('"reclaimed":false')) {
        cutNextGrant = false;
        refusing = true;
        // Half of the grant reaches the client, then the link dies.
        client.write(chunk.subarray(0, Math.floor(chunk.length / 2)), () => {
          client.destroy();
          upstream.destroy();
        });
        return;
      }
      client.write(chunk);
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const address = `127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        proxy.close(() => resolve());
      }),
  );
  return {
    address,
    cutNextGrant: () => {
      cutNextGrant = true;
    },
    heal: () => {
      refusing = false;
    },
  };
}

describe('a server at its connection limit (-22)', () => {
  it('is a retryable per-server refusal, not "not a license server", and no cool-down follows', async () => {
    const server = await startServer({ maxConnections: 1 });
    const holder = makeClient([server]);
    await holder.openPort();
    const client = makeClient([server], { operationTimeout: 800 });
    const { named } = recordEvents(client);

    const err = await client.openPort().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenPortError);
    expect((err as OpenPortError).status).toBe(-30);
    const cause = (err as OpenPortError).cause as NoServerRespondingError;
    expect(cause).toBeInstanceOf(NoServerRespondingError);
    const perServer = cause.errors[0] as LicenseError;
    expect(perServer.code).toBe(-22);
    expect(perServer.codeName).toBe('LV_NO_SERVER_AVAILABLE');
    expect(perServer.retryable).toBe(true);
    expect(perServer.message).toContain('is full');
    expect(perServer.message).toContain("raise the license server's connection limit");
    expect(perServer.message).not.toContain('not an lv-license server');
    // It was redialed with backoff, as for any server that cannot be reached.
    expect(named('retry').some((r) => (r.error as LicenseError).code === -22)).toBe(true);

    // The limit is lifted: the very next call works, with no 60 s cool-down in the way.
    await holder.close();
    const started = Date.now();
    const port = await client.openPort();
    expect(port.lease?.server).toBe(server.address);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(server.inUse()).toBe(1);
  });

  it('an openPort() that meets the limit gets its port as soon as a slot frees, within its deadline', async () => {
    const server = await startServer({ maxConnections: 1 });
    const filler = await occupySlot(server);
    const client = makeClient([server], { operationTimeout: 5_000 });
    const opening = client.openPort();
    setTimeout(() => filler.destroy(), 300);
    const port = await opening;
    expect(port.lease?.state).toBe('held');
    expect(server.inUse()).toBe(1);
  });

  it('held leases survive a reconnect into a full server and are reclaimed when a slot frees', async () => {
    const server = await startServer({ maxConnections: 1 });
    // A redial that waits long enough for the flood below to take the only slot first.
    const client = makeClient([server], { gracePeriod: 5_000, reconnectDelay: { min: 150, max: 300 } });
    const { named } = recordEvents(client);
    const ports = [await client.openPort(), await client.openPort()];
    const ids = ports.map((p) => p.lease?.id);
    expect(server.inUse()).toBe(2);

    await server.stop();
    await server.restart();
    const filler = await occupySlot(server);
    await expect
      .poll(() => named('retry').some((r) => (r.error as LicenseError).code === -22), { timeout: 3_000 })
      .toBe(true);
    expect(ports.map((p) => p.lease?.state)).toEqual(['reconnecting', 'reconnecting']);
    expect(server.inUse()).toBe(2);

    filler.destroy();
    await expect.poll(() => ports.map((p) => p.lease?.state), { timeout: 4_000 }).toEqual(['held', 'held']);
    expect(named('lease-lost')).toEqual([]);
    expect(named('lease-reclaimed')).toHaveLength(2);
    expect(ports.map((p) => p.lease?.id)).toEqual(ids);
    expect(server.inUse()).toBe(2);
    expect(
      server
        .leases()
        .map((l) => l.id)
        .sort(),
    ).toEqual([...ids].sort());
  });

  it('the doctor reports a full server as its own finding', async () => {
    const server = await startServer({ maxConnections: 1 });
    await occupySlot(server);
    const probe = await probeServer(
      { host: server.host, port: server.port, tls: false, entry: server.address },
      { timeout: 1_000 },
    );
    const greeting = probe.findings.find((f) => f.id === 'server.greeting');
    expect(greeting?.status).toBe('fail');
    expect(greeting?.detail).toContain('The license server is full');
    expect(greeting?.fix).toContain("Raise the license server's connection limit");
    expect(greeting?.data).toMatchObject({ reason: 'server-full' });
  });
});

describe('a granted seat whose answer was lost', () => {
  it("is given back once the server is reachable again, by the server's own count", async () => {
    const server = await startServer();
    const proxy = await cuttingProxy(server);
    const client = makeClient([server], { servers: proxy.address, operationTimeout: 1_000 });
    await client.connect();
    proxy.cutNextGrant();
    const err = await client.openPort().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenPortError);
    expect((err as OpenPortError).status).toBe(-30);
    // The server granted the seat; the client never learnt it.
    expect(server.inUse()).toBe(1);
    expect(client.status().leases).toEqual([]);

    proxy.heal();
    await expect.poll(() => server.inUse(), { timeout: 3_000 }).toBe(0);
  });

  it('is given back by close() when the server is reachable then', async () => {
    const server = await startServer();
    const proxy = await cuttingProxy(server);
    // No background redial before close(): close() itself must reach the server.
    const client = makeClient([server], {
      servers: proxy.address,
      operationTimeout: 1_000,
      reconnectDelay: { min: 60_000, max: 60_000 },
    });
    await client.connect();
    proxy.cutNextGrant();
    await expect(client.openPort()).rejects.toBeInstanceOf(OpenPortError);
    expect(server.inUse()).toBe(1);

    proxy.heal();
    await client.close();
    expect(server.inUse()).toBe(0);
  });
});

describe('release() and port.close() resolve once the server has the seat back', () => {
  it('right after a server restart, while the client is still reconnecting', async () => {
    const server = await startServer({ licenses: { FULL: 2 } });
    // The background redial waits long enough for release() to find the client still reconnecting.
    const client = makeClient([server], { gracePeriod: 5_000, reconnectDelay: { min: 400, max: 600 } });
    const { named } = recordEvents(client);
    const lease = await client.acquire('FULL');
    const port = await client.openPort({ licenseType: 'SpeechPort' });
    expect(server.inUse()).toBe(2);
    await server.stop();
    // The immediate redial has failed; the next one waits its backoff.
    await expect.poll(() => named('retry').length).toBeGreaterThan(0);
    await server.restart();
    expect(lease.state).toBe('reconnecting');

    await lease.release();
    expect(server.inUse()).toBe(1);
    await port.close();
    expect(server.inUse()).toBe(0);
  });

  it('resolves at once, and the seat comes back later, when the server cannot be reached', async () => {
    const server = await startServer();
    const client = makeClient([server], { gracePeriod: 60_000, requestTimeout: 300 });
    const lease = await client.acquire('FULL');
    await server.stop();
    const started = Date.now();
    await lease.release();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(lease.state).toBe('released');
    await server.restart();
    await expect.poll(() => server.inUse(), { timeout: 3_000 }).toBe(0);
  });
});

describe('programmer errors are not network errors', () => {
  it('a TypeError from a broken socketFactory rejects at once with LV_EXCEPTION (-68), the bug as cause', async () => {
    const server = await startServer();
    const bug = new TypeError("Cannot read properties of undefined (reading 'connect')");
    const client = makeClient([server], {
      operationTimeout: 10_000,
      socketFactory: () => {
        throw bug;
      },
    });
    const started = Date.now();
    const err = (await client.openPort().catch((e: unknown) => e)) as OpenPortError;
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(err).toBeInstanceOf(OpenPortError);
    expect(err.status).toBe(-68);
    const cause = err.cause as LicenseError;
    expect(cause.code).toBe(-68);
    expect(cause.retryable).toBe(false);
    expect(cause.cause).toBe(bug);
  });

  it('a socket that throws a TypeError while being set up is a bug too, not -30 after the deadline', async () => {
    const server = await startServer();
    const client = makeClient([server], {
      operationTimeout: 10_000,
      socketFactory: (target) => {
        const socket = net.connect({ host: target.host, port: target.port });
        socket.setNoDelay = () => {
          throw new TypeError('setNoDelay is broken');
        };
        return socket;
      },
    });
    const started = Date.now();
    const err = (await client.acquire('FULL').catch((e: unknown) => e)) as LicenseError;
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(err.code).toBe(-68);
    expect(err.retryable).toBe(false);
    expect((err.cause as Error).message).toBe('setNoDelay is broken');
  });

  it('a request that gets no answer is a RequestTimeoutError, a TimeoutError (-6) of its own class', async () => {
    const server = await startServer();
    const client = makeClient([server], { requestTimeout: 200, operationTimeout: 600, gracePeriod: 60_000 });
    const { named } = recordEvents(client);
    await client.connect();
    server.pause();
    await expect(client.acquire('FULL')).rejects.toBeInstanceOf(NoServerRespondingError);
    const lost = named('disconnect')[0]?.error;
    expect(lost).toBeInstanceOf(RequestTimeoutError);
    expect(lost).toBeInstanceOf(TimeoutError);
    expect((lost as LicenseError).code).toBe(-6);
    server.resume();
  });
});

describe('bad input gives a clear error, quickly', () => {
  it('a wait above 2^31-1 ms waits without TimeoutOverflowWarning or a busy timer loop', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    cleanups.push(() => void process.off('warning', onWarning));
    const server = await startServer({ licenses: { FULL: 1 } });
    const client = makeClient([server]);
    const held = await client.acquire('FULL');
    const waiting = client.acquire('FULL', { wait: 2 ** 31 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const before = process.cpuUsage();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const cpu = process.cpuUsage(before);
    await held.release();
    const lease = await waiting;
    expect(lease.state).toBe('held');
    expect(warnings).not.toContain('TimeoutOverflowWarning');
    // A 1 kHz timer loop costs far more than this; an idle wait costs next to nothing.
    expect(cpu.user + cpu.system).toBeLessThan(100_000);
  });

  it('durations above what a timer can hold are refused with a ConfigError', () => {
    expect(() => makeClient([], { servers: '127.0.0.1', gracePeriod: 2 ** 31 })).toThrow(
      /gracePeriod option must be a number of milliseconds from 0 to 2147483647/,
    );
  });

  it('a password pasted into the servers option is never echoed', () => {
    const password = 'Tr0ub4dor&3-horse';
    let message = '';
    try {
      makeClient([], { servers: `127.0.0.1;${password}`, username: 'ivr', password });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('servers');
    expect(message).not.toContain(password);
    expect(message).toContain('[redacted]');
    let fromList = '';
    try {
      makeClient([], { servers: [{ host: password, port: 7569 }], username: 'ivr', password });
    } catch (err) {
      fromList = (err as Error).message;
    }
    expect(fromList).toContain('servers option');
    expect(fromList).not.toContain(password);
  });

  it('control characters in the credentials are refused before anything is sent', () => {
    expect(() => makeClient([], { servers: '127.0.0.1', username: 'ivr', password: 'pass\tword' })).toThrow(
      /password .*control character/,
    );
  });
});

describe('TLS on one side only', () => {
  let pki: TestPki;
  beforeAll(() => {
    pki = makeTestPki();
  });
  afterAll(() => pki.cleanup());

  it('a tls:// entry against a plain server fails at once with a per-server -28 that says so', async () => {
    const server = await startServer();
    const client = makeClient([server], { servers: `tls://${server.address}`, operationTimeout: 10_000 });
    const started = Date.now();
    const err = (await client.openPort().catch((e: unknown) => e)) as OpenPortError;
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(err.status).toBe(-28);
    expect(err.cause).toBeInstanceOf(IncompatibleServerError);
    expect((err.cause as LicenseError).server).toBe(server.address);
    expect(err.message).toContain('one side uses TLS and the other does not');
    expect(err.message).toContain('Remove tls://');
  });

  it('a plain entry against a TLS server fails within the request timeout with -28 that says so', async () => {
    const server = await startServer({ tls: { cert: pki.serverCert, key: pki.serverKey } });
    const client = makeClient([server], { requestTimeout: 300, operationTimeout: 10_000 });
    const started = Date.now();
    const err = (await client.openPort().catch((e: unknown) => e)) as OpenPortError;
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(err.status).toBe(-28);
    expect(err.message).toContain('speaks TLS');
    expect(err.message).toContain(`tls://${server.address}`);
  });

  it('the doctor says the same of a plain entry against a TLS server', async () => {
    const server = await startServer({ tls: { cert: pki.serverCert, key: pki.serverKey } });
    const probe = await probeServer(
      { host: server.host, port: server.port, tls: false, entry: server.address },
      { timeout: 500 },
    );
    const greeting = probe.findings.find((f) => f.id === 'server.greeting');
    expect(greeting?.status).toBe('fail');
    expect(greeting?.detail).toContain('the server speaks TLS');
    expect(greeting?.fix).toContain(`tls://${server.address}`);
    expect(greeting?.data).toMatchObject({ reason: 'tls-mismatch' });
  });
});
