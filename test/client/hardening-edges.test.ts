/**
 * The edges an outside attack on the issue-10 fixes found: errors told apart by where they come from,
 * broken socket factories, slow servers and the TLS probe, releases during an outage or right after a
 * restart, and a password that must never be shown back. Real loopback sockets throughout.
 */

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  LicenseClient,
  type LicenseError,
  loadClientProperties,
  type OpenPortError,
  parseClientProperties,
  runDoctor,
} from '../../src/index.js';
import { makeClient, recordEvents, startPair, startServer, track } from '../helpers/cluster.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lv-edges-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A TCP server that answers every connection with `onConnect` (an echo, junk, silence). */
async function rawServer(onConnect: (socket: net.Socket) => void): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    onConnect(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return (server.address() as net.AddressInfo).port;
}

describe('errors are told apart by where they come from', () => {
  it("a server's own -68 answer is that server's failure: the next server is asked", async () => {
    const [a, b] = await startPair();
    a.failNext('acquire', -68, 100);
    const client = makeClient([a, b]);
    const port = await client.openPort();
    expect(port.lease?.server).toBe(b.address);
  });

  it('a socket error without an errno code (a proxy library) is a network failure: held leases are reclaimed', async () => {
    const server = await startServer();
    let failNext = false;
    const client = makeClient([server], {
      gracePeriod: 5_000,
      socketFactory: (target) => {
        const socket = net.connect({ host: target.host, port: target.port });
        if (failNext) {
          failNext = false;
          setImmediate(() => socket.destroy(new Error('Proxy connection timed out')));
        }
        return socket;
      },
    });
    const { named } = recordEvents(client);
    const port = await client.openPort();
    failNext = true;
    server.dropConnections();
    await expect.poll(() => named('lease-reclaimed').length, { timeout: 3_000 }).toBe(1);
    expect(named('lease-lost')).toEqual([]);
    expect(port.lease?.state).toBe('held');
    expect(server.inUse()).toBe(1);
  });
});

describe('a broken socketFactory', () => {
  it.each([
    ['null', () => null],
    ['a plain object', () => ({})],
    ['a Promise', async () => net.connect({ host: '127.0.0.1', port: 9 })],
  ])('returning %s rejects at once with -68 and never crashes the process later', async (_name, factory) => {
    const server = await startServer();
    const client = makeClient([server], {
      connectTimeout: 100,
      socketFactory: factory as unknown as () => net.Socket,
    });
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    cleanups.push(() => void process.off('uncaughtException', onUncaught));
    const err = (await client.openPort().catch((e: unknown) => e)) as OpenPortError;
    expect(err.status).toBe(-68);
    expect((err.cause as LicenseError).message).toContain('socketFactory');
    // Past the connect timeout, nothing of that dial may fire.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(uncaught).toEqual([]);
  });
});

describe('silent servers and the TLS probe', () => {
  it('a silent (black-holed) server costs one request timeout, not two', async () => {
    const hung = await startServer();
    const good = await startServer();
    hung.pause();
    const client = makeClient([hung, good], { requestTimeout: 400, operationTimeout: 5_000 });
    const started = Date.now();
    const port = await client.openPort();
    expect(port.lease?.server).toBe(good.address);
    // The greeting wait and the TLS probe run side by side: about 400 ms, far from 800.
    expect(Date.now() - started).toBeLessThan(750);
    hung.resume();
  });

  it('an echo server, or one that answers junk, is not taken for a TLS server', async () => {
    for (const onConnect of [
      (socket: net.Socket) => socket.pipe(socket),
      (socket: net.Socket) =>
        socket.on('data', () => socket.write(Buffer.from([0x16, 0x03, 0x01, 0xff, 0xff]))),
    ]) {
      const port = await rawServer(onConnect);
      const client = track(
        new LicenseClient({ servers: `127.0.0.1:${port}`, requestTimeout: 300, operationTimeout: 600 }),
      );
      const err = (await client.openPort().catch((e: unknown) => e)) as OpenPortError;
      expect(err.message).not.toContain('speaks TLS');
    }
  });
});

describe('release() in an outage, and right after a restart', () => {
  it('resolves at once while the server does not answer at all', async () => {
    const server = await startServer();
    let blackHole = false;
    const client = makeClient([server], {
      requestTimeout: 300,
      operationTimeout: 800,
      gracePeriod: 60_000,
      socketFactory: (target) =>
        blackHole
          ? // A socket that never connects: a host whose packets are dropped.
            new net.Socket()
          : net.connect({ host: target.host, port: target.port }),
    });
    const ports = await Promise.all([client.openPort(), client.openPort(), client.openPort()]);
    blackHole = true;
    server.pause();
    // The black hole is noticed by a request that gets no answer.
    await expect(client.acquire('FULL')).rejects.toBeTruthy();
    const started = Date.now();
    for (const port of ports) await port.close();
    expect(Date.now() - started).toBeLessThan(300);
    server.resume();
  });

  it('right after a restart the client has not noticed yet, resolves once the server has the seat back', async () => {
    const server = await startServer();
    const client = makeClient([server], { gracePeriod: 5_000 });
    const lease = await client.acquire('FULL');
    await server.stop();
    await server.restart();
    await lease.release();
    expect(server.inUse()).toBe(0);
  });
});

describe('the password is never shown back', () => {
  const auth = (password: string) =>
    `[AUTHENTICATION]\nAUTHENTICATION_USERNAME = ivr\nAUTHENTICATION_PASSWORD = ${password}\n`;

  it.each([
    ['lumenvox', 'lumenvox-lic01.corp.local:7569'],
    ['7569', '10.0.0.1:7569'],
    ['corp', 'license.corp.example.com'],
    ['abc', 'abc.example.com'],
  ])('a password (%s) that is part of a server name is not taken for a pasted one', (password, servers) => {
    const props = parseClientProperties(`[GLOBAL]\nLICENSE_SERVERS = ${servers}\n${auth(password)}`);
    expect(props.licenseServers).toHaveLength(1);
  });

  it('the servers option refuses an entry that is the password, without showing it', () => {
    const password = 'Hunter2Secret';
    let message = '';
    try {
      makeClient([], { servers: `127.0.0.1:1;${password}`, username: 'ivr', password });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('is the password');
    expect(message).not.toContain(password);
  });

  it('a long value cut short in a message does not show the start of the password', () => {
    const password = 'CorrectHorseBatteryStaple42';
    const servers = `license-server-primary.datacenter-one.corp.example.com:7569,${password}`;
    let message = '';
    try {
      parseClientProperties(`[GLOBAL]\nLICENSE_SERVERS = ${servers}\n${auth(password)}`);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('LICENSE_SERVERS');
    expect(message).not.toContain('CorrectHorseBattery');
  });

  it('a password pasted as a [TLS] file path is not shown by fromConfigFile nor by the doctor', async () => {
    const password = 'Hunter2Secret';
    const dir = await tempDir();
    const path = join(dir, 'client_property.conf');
    await writeFile(
      path,
      `[GLOBAL]\nLICENSE_SERVERS = tls://127.0.0.1:1\n[TLS]\nCA_FILE = ${password}\n${auth(password)}`,
      { mode: 0o600 },
    );
    const props = await loadClientProperties(path);
    expect(props.tls.caFile).toContain(password);
    const err = (await LicenseClient.fromConfigFile(path).catch((e: unknown) => e)) as Error;
    expect(err.message).toContain('CA_FILE');
    expect(err.message).not.toContain(password);
    const report = await runDoctor({ config: path, env: {}, timeout: 300 });
    expect(JSON.stringify(report)).not.toContain(password);
  });

  it('a C1 control character in the password is refused at load time', () => {
    expect(() => parseClientProperties(auth('pa\u0085ss'))).toThrow(/control character/);
  });
});
