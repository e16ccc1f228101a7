import * as http from 'node:http';
import * as net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  AuthenticationError,
  IncompatibleServerError,
  LicenseError,
  LicensesExceededError,
  SocketsError,
  TimeoutError,
} from '../../src/errors.js';
import type { Push } from '../../src/protocol/messages.js';
import { FakeLicenseServer, type FakeLicenseServerOptions } from '../../src/testing/index.js';
import type { Connection } from '../../src/transport/connection.js';
import {
  type OpenConnectionOptions,
  type OpenedConnection,
  openConnection,
} from '../../src/transport/handshake.js';
import { makeTestPki, type TestPki } from '../helpers/certs.js';
import { closedPort } from '../helpers/raw-client.js';

const servers: Array<{ close(): Promise<void> | void }> = [];
const connections: Connection[] = [];

async function start(options: FakeLicenseServerOptions = {}): Promise<FakeLicenseServer> {
  const server = await FakeLicenseServer.start({ port: 0, host: '127.0.0.1', ...options });
  servers.push(server);
  return server;
}

async function open(port: number, options: Partial<OpenConnectionOptions> = {}): Promise<OpenedConnection> {
  const opened = await openConnection({ host: '127.0.0.1', port, requestTimeout: 2_000, ...options });
  connections.push(opened.connection);
  return opened;
}

/** A TCP server that does something other than speak lv-license. */
async function rawServer(onSocket: (socket: net.Socket) => void): Promise<number> {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  servers.push({
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  });
  return (server.address() as net.AddressInfo).port;
}

afterEach(async () => {
  await Promise.all(connections.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const ALICE = { alice: { password: 'correct horse 7', licenses: { FULL: 2, TTS: 1 } } };

describe('openConnection: handshake', () => {
  it('opens an unauthenticated connection', async () => {
    const server = await start({ leaseTtl: 9_000 });
    const { connection, greeting, session, account } = await open(server.port, { clientName: 'test/1' });
    expect(greeting).toMatchObject({ protocol: 'lv-license', auth: 'none' });
    expect(session).toMatchObject({ version: '1.3', leaseTtl: 9_000, auth: 'none', batch: 128 });
    expect(account).toBeUndefined();
    expect(connection.server).toBe(`127.0.0.1:${server.port}`);
    expect(connection.state).toBe('open');
    const pong = await connection.request('ping', {});
    expect(typeof pong.time).toBe('number');
  });

  it('authenticates with good credentials (SCRAM, both directions)', async () => {
    const server = await start({ accounts: ALICE });
    const { account, connection } = await open(server.port, {
      credentials: { username: 'alice', password: 'correct horse 7' },
    });
    expect(account).toBe('alice');
    const status = await connection.request('status', {});
    expect(status.features.FULL).toEqual({ total: 2, inUse: 0, queued: 0 });
  });

  it('rejects a wrong password with AuthenticationError, once, without retrying', async () => {
    const server = await start({ accounts: ALICE });
    const err = await open(server.port, { credentials: { username: 'alice', password: 'nope' } }).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(err.code).toBe(-34);
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('the username and password must match the account on the server');
    expect(err.message).not.toContain('nope');
    expect(server.requests().filter((r) => r.op === 'auth-finish')).toHaveLength(1);
  });

  it('refuses a server that cannot prove it knows the account', async () => {
    // An impostor that accepts any proof: it answers auth-finish with a made-up server signature.
    const port = await rawServer((socket) => {
      socket.write(
        '{"type":"greeting","protocol":"lv-license","version":"1.0","server":"evil","auth":"scram-sha-256","message":"hi"}\n',
      );
      let buffer = '';
      socket.on('data', (chunk) => {
        buffer += chunk.toString();
        for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
          const request = JSON.parse(buffer.slice(0, nl));
          buffer = buffer.slice(nl + 1);
          const reply = (result: object) =>
            socket.write(`${JSON.stringify({ id: request.id, ok: true, result })}\n`);
          if (request.op === 'hello') {
            reply({
              version: '1.0',
              server: 'evil',
              auth: 'scram-sha-256',
              leaseTtl: 1000,
              maxFrameBytes: 65536,
            });
          } else if (request.op === 'auth-start') {
            const nonce = /r=([^,]+)/.exec(request.message)?.[1];
            reply({ message: `r=${nonce}SERVERPART,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096` });
          } else if (request.op === 'auth-finish') {
            reply({ message: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=', account: 'alice' });
          }
        }
      });
    });
    const err = await open(port, { credentials: { username: 'alice', password: 'secret' } }).catch((e) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(err.message).toContain('could not prove that it knows the password');
  });

  it('fails a client with credentials against an unauthenticated server with IncompatibleServerError', async () => {
    const server = await start();
    const err = await open(server.port, { credentials: { username: 'alice', password: 'x' } }).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(IncompatibleServerError);
    expect(err.code).toBe(-28);
    expect(err.message).toContain('does not use authentication');
  });

  it('fails a client without credentials against an authenticating server with IncompatibleServerError', async () => {
    const server = await start({ accounts: ALICE });
    const err = await open(server.port).catch((e) => e);
    expect(err).toBeInstanceOf(IncompatibleServerError);
    expect(err.message).toContain('requires authentication');
  });

  it('refuses another major protocol version', async () => {
    const port = await rawServer((socket) => {
      socket.write(
        '{"type":"greeting","protocol":"lv-license","version":"2.0","server":"future","auth":"none","message":"hi"}\n',
      );
    });
    const err = await open(port).catch((e) => e);
    expect(err).toBeInstanceOf(IncompatibleServerError);
    expect(err.message).toContain('protocol 2.0');
  });

  it('says "connection refused" for a port with nothing listening', async () => {
    const port = await closedPort();
    const err = await open(port).catch((e) => e);
    expect(err).toBeInstanceOf(SocketsError);
    expect(err.retryable).toBe(true);
    expect(err.message).toContain('Connection refused');
    expect(err.server).toBe(`127.0.0.1:${port}`);
    expect((err.cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
  });

  it('times out on a black hole that accepts and never speaks', async () => {
    const server = await start();
    server.pause();
    const started = Date.now();
    const err = await open(server.port, { requestTimeout: 200 }).catch((e) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err.message).toContain('sent no greeting within 200 ms');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('recognises something that is not a license server', async () => {
    const port = await rawServer((socket) => socket.write('SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n'));
    const err = await open(port).catch((e) => e);
    expect(err).toBeInstanceOf(IncompatibleServerError);
    expect(err.message).toContain('not an lv-license server');
    expect(err.message).toContain('SSH-2.0-OpenSSH');
  });

  it('times out on an HTTP server, which waits for the client to speak first', async () => {
    const server = http.createServer((_req, res) => res.end('hello'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push({ close: () => new Promise<void>((resolve) => server.close(() => resolve())) });
    const port = (server.address() as net.AddressInfo).port;
    const err = await open(port, { requestTimeout: 200 }).catch((e) => e);
    server.closeAllConnections();
    expect(err).toBeInstanceOf(TimeoutError);
  });

  it('honours an abort signal during the handshake', async () => {
    const server = await start();
    server.pause();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const err = await open(server.port, { signal: controller.signal, requestTimeout: 10_000 }).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(LicenseError);
    expect(err.code).toBe(-3);
  });

  it('never puts the password on the wire', async () => {
    const server = await start({ accounts: ALICE });
    const bytes: Buffer[] = [];
    // A recording proxy between client and server.
    const proxyPort = await rawServer((socket) => {
      const upstream = net.connect(server.port, '127.0.0.1');
      upstream.on('error', () => socket.destroy());
      socket.on('data', (chunk) => {
        bytes.push(chunk);
        upstream.write(chunk);
      });
      upstream.on('data', (chunk) => {
        bytes.push(chunk);
        socket.write(chunk);
      });
      socket.on('close', () => upstream.destroy());
    });
    const { connection } = await open(proxyPort, {
      credentials: { username: 'alice', password: 'correct horse 7' },
    });
    await connection.request('acquire', { lease: 'w1', feature: 'FULL', count: 1 });
    const wire = Buffer.concat(bytes);
    expect(wire.toString('latin1')).toContain('auth-finish');
    expect(wire.includes('correct horse 7')).toBe(false);
    expect(wire.includes(Buffer.from('correct horse 7').toString('base64'))).toBe(false);
  });
});

describe('Connection: requests', () => {
  it('pipelines many requests on one connection and matches answers by id', async () => {
    const server = await start({ licenses: { FULL: 10 } });
    const { connection } = await open(server.port);
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) =>
        connection.request('acquire', { lease: `p${i}`, feature: 'FULL', count: 1 }),
      ),
    );
    const granted = results.filter((r) => r.status === 'fulfilled');
    expect(granted).toHaveLength(10);
    for (const r of results) {
      if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(LicensesExceededError);
    }
    expect(server.inUse('FULL')).toBe(10);
  });

  it('rejects a server error as its class, with the server named', async () => {
    const server = await start({ licenses: { FULL: 0 } });
    const { connection } = await open(server.port);
    server.failNext('acquire', -26);
    const err = await connection
      .request('acquire', { lease: 'a', feature: 'FULL', count: 1 })
      .catch((e) => e);
    expect(err).toBeInstanceOf(LicensesExceededError);
    expect(err.server).toBe(server.address);
    expect(err.message).toContain(server.address);
  });

  it('times out one slow request and keeps the socket for the next', async () => {
    const server = await start();
    const { connection } = await open(server.port);
    server.delay(300);
    const err = await connection.request('ping', {}, { timeout: 50 }).catch((e) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err.message).toContain('did not answer the ping request within 50 ms');
    server.delay(0);
    await expect(connection.request('ping', {})).resolves.toHaveProperty('time');
    expect(connection.state).toBe('open');
  });

  it('aborts one pending request without killing the shared socket', async () => {
    const server = await start();
    const { connection } = await open(server.port);
    server.delay(200);
    const controller = new AbortController();
    const aborted = connection.request('ping', {}, { signal: controller.signal });
    const other = connection.request('ping', {});
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ code: -3 });
    await expect(other).resolves.toHaveProperty('time');
    expect(connection.pendingCount).toBe(0);
  });

  it('rejects at once with an already-aborted signal', async () => {
    const server = await start();
    const { connection } = await open(server.port);
    await expect(connection.request('ping', {}, { signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: -3,
    });
  });

  it('delivers pushes as events', async () => {
    const server = await start({ licenses: { FULL: 2 } });
    const { connection } = await open(server.port);
    const pushes: Push[] = [];
    connection.on('push', (p) => pushes.push(p));
    await connection.request('acquire', { lease: 'a', feature: 'FULL', count: 1 });
    await connection.request('acquire', { lease: 'b', feature: 'FULL', count: 1 });
    server.setLicenses('FULL', 1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(pushes).toEqual([expect.objectContaining({ push: 'lease-revoked', leases: ['b'], code: -41 })]);
  });

  it('rejects every pending request when the server drops the connection', async () => {
    const server = await start();
    const { connection } = await open(server.port);
    server.pause();
    const pending = connection.request('ping', {});
    const closed = new Promise<unknown>((resolve) => connection.once('close', resolve));
    server.dropConnections();
    const err = await pending.catch((e) => e);
    expect(err).toBeInstanceOf(SocketsError);
    expect(err.retryable).toBe(true);
    expect(await closed).toMatchObject({ error: expect.any(SocketsError) });
    expect(connection.state).toBe('closed');
    await expect(connection.request('ping', {})).rejects.toBeInstanceOf(SocketsError);
  });

  it('tells a shutdown notice apart and closes', async () => {
    const server = await start();
    const { connection } = await open(server.port);
    const pushes: Push[] = [];
    connection.on('push', (p) => pushes.push(p));
    const closed = new Promise<unknown>((resolve) => connection.once('close', resolve));
    await server.close();
    await closed;
    expect(pushes).toContainEqual(expect.objectContaining({ push: 'shutdown' }));
  });

  it('closes cleanly and idempotently, rejecting what is pending', async () => {
    const server = await start();
    const { connection } = await open(server.port);
    server.pause();
    const pending = connection.request('ping', {}).catch((e: unknown) => e);
    const events: unknown[] = [];
    connection.on('close', (info) => events.push(info));
    await Promise.all([connection.close(), connection.close()]);
    expect(await pending).toBeInstanceOf(SocketsError);
    expect(events).toEqual([{ error: undefined }]);
    await connection.close();
  });

  it('respects backpressure: a burst larger than the socket buffer arrives whole', async () => {
    const server = await start({ licenses: { FULL: 1 }, maxFrameBytes: 65_536 });
    const { connection } = await open(server.port);
    const leases = Array.from(
      { length: 1_000 },
      (_, i) => `lease-with-a-long-name-${i.toString().padStart(6, '0')}`,
    );
    const answers = await Promise.all(
      Array.from({ length: 200 }, () => connection.request('renew', { leases }, { timeout: 10_000 })),
    );
    expect(answers.every((a) => a.unknown.length === 1_000)).toBe(true);
  });

  it('refuses to send a frame over the size limit', async () => {
    const server = await start();
    const { connection } = await open(server.port, { maxFrameBytes: 256 });
    const leases = Array.from({ length: 50 }, (_, i) => `lease-${i}`);
    await expect(connection.request('release', { leases })).rejects.toMatchObject({ code: -54 });
    await expect(connection.request('ping', {})).resolves.toHaveProperty('time');
  });
});

describe('TLS', () => {
  let pki: TestPki;
  beforeAll(() => {
    pki = makeTestPki();
  });
  afterAll(() => pki.cleanup());

  it('connects over TLS and verifies the certificate against the given CA', async () => {
    const server = await start({ tls: { cert: pki.serverCert, key: pki.serverKey } });
    const { session } = await open(server.port, { tls: { ca: pki.caCert, serverName: 'localhost' } });
    expect(session.version).toBe('1.3');
  });

  it('verifies the IP address when no server name is given', async () => {
    const server = await start({ tls: { cert: pki.serverCert, key: pki.serverKey } });
    const { session } = await open(server.port, { tls: { ca: pki.caCert } });
    expect(session.auth).toBe('none');
  });

  it('refuses a certificate from an unknown CA by default', async () => {
    const server = await start({ tls: { cert: pki.serverCert, key: pki.serverKey } });
    const err = await open(server.port, { tls: { ca: pki.otherCaCert } }).catch((e) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(err.message).toContain('TLS certificate');
    expect(err.message).toContain('CA_FILE');
  });

  it('refuses a certificate for another name', async () => {
    const server = await start({ tls: { cert: pki.serverCert, key: pki.serverKey } });
    const err = await open(server.port, { tls: { ca: pki.caCert, serverName: 'license.example.com' } }).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(AuthenticationError);
    expect((err.cause as NodeJS.ErrnoException).code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('presents a client certificate to a server that asks for one', async () => {
    const server = await start({
      tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert, requestCert: true },
    });
    const ok = await open(server.port, { tls: { ca: pki.caCert, cert: pki.clientCert, key: pki.clientKey } });
    expect(ok.session.version).toBe('1.3');
    const refused = await open(server.port, { tls: { ca: pki.caCert } }).catch((e) => e);
    expect(refused).toBeInstanceOf(LicenseError);
  });

  it('talks plain TCP to a TLS port and fails clearly, not by hanging', async () => {
    const server = await start({ tls: { cert: pki.serverCert, key: pki.serverKey } });
    const err = await open(server.port, { requestTimeout: 300 }).catch((e) => e);
    expect(err).toBeInstanceOf(LicenseError);
  });
});
