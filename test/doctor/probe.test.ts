import * as net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { probeServerWith } from '../../src/doctor/probe.js';
import { runDoctor } from '../../src/index.js';
import { FakeLicenseServer } from '../../src/testing/index.js';
import { closedPort, rawConnect } from '../helpers/raw-client.js';
import {
  blackHole,
  expectFixesEverywhere,
  findingOf,
  httpServer,
  type Listener,
  tempDir,
} from './support.js';

const TIMEOUT = 300;
const ALICE = { alice: { password: 'alice-pw-42', licenses: { FULL: 2, LITE: 1 } } };
const AUTH = '[AUTHENTICATION]\nAUTHENTICATION_USERNAME = alice\nAUTHENTICATION_PASSWORD = alice-pw-42\n';

let tmp: ReturnType<typeof tempDir>;
const cleanups: Array<() => Promise<void> | void> = [];
beforeEach(() => {
  tmp = tempDir();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  tmp.cleanup();
});

async function started(options: Parameters<typeof FakeLicenseServer.start>[0]): Promise<FakeLicenseServer> {
  const server = await FakeLicenseServer.start(options);
  cleanups.push(() => server.close());
  return server;
}

async function listening(make: () => Promise<Listener>): Promise<Listener> {
  const listener = await make();
  cleanups.push(() => listener.close());
  return listener;
}

function doctor(servers: string, extra = '') {
  const config = tmp.write('client_property.conf', `[GLOBAL]\nLICENSE_SERVERS = ${servers}\n${extra}`);
  return runDoctor({ config, env: {}, timeout: TIMEOUT });
}

describe('runDoctor: each server', () => {
  it('a healthy setup: every check passes and the verdict names the server', async () => {
    const server = await started({ accounts: ALICE });
    const report = await doctor(server.address, AUTH);
    expect(report.findings.filter((f) => f.status === 'fail' || f.status === 'warn')).toEqual([]);
    expect(report.verdict).toEqual({
      ok: true,
      server: server.address,
      feature: 'FULL',
      licenseType: 'Auto',
      reason: `An Auto port can be opened now on ${server.address} (2 of 2 FULL licenses free).`,
    });
    expect(findingOf(report, 'server.licenses').data).toMatchObject({
      features: { FULL: { total: 2, inUse: 0, queued: 0, free: 2 }, LITE: { total: 1, free: 1 } },
    });
    expect(findingOf(report, 'server.rtt').data?.ms).toBeGreaterThanOrEqual(0);
    expect(findingOf(report, 'server.dns').status).toBe('skip');
  });

  it('a closed port: refused, with the host and port to check', async () => {
    const port = await closedPort();
    const report = await doctor(`127.0.0.1:${port}`);
    const tcp = findingOf(report, 'server.tcp');
    expect(tcp).toMatchObject({ status: 'fail', data: { reason: 'refused' } });
    expect(tcp.detail).toBe(`Connection refused: nothing is listening on port ${port} of 127.0.0.1.`);
    expect(tcp.fix).toContain('Check the host and port in LICENSE_SERVERS (line 2)');
    expect(findingOf(report, 'server.greeting').status).toBe('skip');
    expect(report.verdict.reason).toContain('status -30, LV_NO_SERVER_RESPONDING');
    expectFixesEverywhere(report);
  });

  it('a black-holed port (accepts, never speaks): not a license server, within the deadline', async () => {
    const hole = await listening(blackHole);
    const started = Date.now();
    const report = await doctor(`127.0.0.1:${hole.port}`);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(findingOf(report, 'server.tcp').status).toBe('pass');
    const greeting = findingOf(report, 'server.greeting');
    expect(greeting).toMatchObject({ status: 'fail', data: { reason: 'no-greeting' } });
    expect(greeting.detail).toContain(`nothing was said within ${TIMEOUT} ms`);
    expect(greeting.fix).toContain(`telnet 127.0.0.1 ${hole.port}`);
  });

  it('a paused license server is a black hole too', async () => {
    const server = await started({});
    server.pause();
    const report = await doctor(server.address);
    expect(findingOf(report, 'server.greeting')).toMatchObject({
      status: 'fail',
      data: { reason: 'no-greeting' },
    });
    server.resume();
  });

  it('an HTTP server is not a license server', async () => {
    const web = await listening(httpServer);
    const report = await doctor(`127.0.0.1:${web.port}`);
    expect(findingOf(report, 'server.greeting')).toMatchObject({
      status: 'fail',
      data: { reason: 'no-greeting' },
    });
    expect(report.verdict.ok).toBe(false);
  });

  it('a service that speaks first, but not the protocol, is named as not a license server', async () => {
    const ssh = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.end('SSH-2.0-OpenSSH_9.6\r\n');
    });
    await new Promise<void>((resolve) => ssh.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => ssh.close(() => resolve())));
    const report = await doctor(`127.0.0.1:${(ssh.address() as net.AddressInfo).port}`);
    const greeting = findingOf(report, 'server.greeting');
    expect(greeting).toMatchObject({ status: 'fail', data: { reason: 'not-a-license-server' } });
    expect(greeting.detail).toContain('it is not an lv-license server (it said "SSH-2.0-OpenSSH_9.6")');
  });

  it('wrong credentials: rejected, and the username and password must match', async () => {
    const server = await started({ accounts: ALICE });
    const report = await doctor(server.address, AUTH.replace('alice-pw-42', 'not-the-password'));
    const auth = findingOf(report, 'server.auth');
    expect(auth).toMatchObject({ status: 'fail', data: { reason: 'rejected' } });
    expect(auth.detail).toBe('The server rejected the credentials of account "alice".');
    expect(auth.fix?.toLowerCase()).toContain(
      'the username and password must match the account on the server',
    );
    expect(findingOf(report, 'server.licenses').status).toBe('skip');
    expectFixesEverywhere(report);
  });

  it('a mode mismatch: credentials against a server without authentication', async () => {
    const server = await started({});
    const report = await doctor(server.address, AUTH);
    const auth = findingOf(report, 'server.auth');
    expect(auth).toMatchObject({ status: 'fail', data: { reason: 'mode-mismatch' } });
    expect(auth.detail).toContain('the server runs without authentication');
    expect(auth.fix).toContain('Remove AUTHENTICATION_USERNAME and AUTHENTICATION_PASSWORD');
  });

  it('a mode mismatch: no credentials against a server that requires them', async () => {
    const server = await started({ accounts: ALICE });
    const report = await doctor(server.address);
    const auth = findingOf(report, 'server.auth');
    expect(auth).toMatchObject({ status: 'fail', data: { reason: 'mode-mismatch' } });
    expect(auth.detail).toContain('the server requires authentication');
    expect(auth.fix).toContain('under an [AUTHENTICATION] header');
  });

  it('an exhausted pool: the licenses warn, and the verdict says no port can be opened', async () => {
    const server = await started({ licenses: { FULL: 1, LITE: 1, TTS: 1 } });
    const holder = await rawConnect(server.port);
    cleanups.push(() => holder.close());
    await holder.next((f) => f.type === 'greeting');
    await holder.request('hello', { version: '1.0' });
    await holder.request('acquire', { lease: 'held-1', feature: 'FULL', count: 1 });
    await holder.request('acquire', { lease: 'held-2', feature: 'LITE', count: 1 });
    const report = await doctor(server.address);
    const licenses = findingOf(report, 'server.licenses');
    expect(licenses.status).toBe('warn');
    expect(licenses.detail).toBe(
      'No FULL or LITE license free for LICENSE_TYPE Auto: FULL 0 of 1 free (1 in use, 0 queued); LITE 0 of 1 free (1 in use, 0 queued); TTS 1 of 1 free (0 in use, 0 queued).',
    );
    expect(licenses.fix).toContain('close idle ports of other apps');
    expect(report.verdict.ok).toBe(false);
    expect(report.verdict.reason).toContain('out of FULL or LITE licenses');
    expect(findingOf(report, 'verdict').status).toBe('fail');
  });

  it('takes the first server, in priority order, that has a free license', async () => {
    const empty = await started({ licenses: { FULL: 0, LITE: 0 } });
    const full = await started({ licenses: { LITE: 1 } });
    const report = await doctor(`${empty.address};${full.address}`, '[SRE]\nLICENSE_TYPE = VoxLite\n');
    expect(findingOf(report, 'server.licenses', empty.address).fix).toContain('has no LITE licenses');
    expect(report.verdict).toMatchObject({
      ok: true,
      server: full.address,
      feature: 'LITE',
      licenseType: 'VoxLite',
    });
  });

  it('probes servers in parallel', async () => {
    const holes = await Promise.all([listening(blackHole), listening(blackHole), listening(blackHole)]);
    const started = Date.now();
    await doctor(holes.map((h) => `127.0.0.1:${h.port}`).join(';'));
    expect(Date.now() - started).toBeLessThan(3 * TIMEOUT);
  });

  it('stops at once when its signal fires', async () => {
    const hole = await listening(blackHole);
    const config = tmp.write('c.conf', `LICENSE_SERVERS = 127.0.0.1:${hole.port}\n`);
    const controller = new AbortController();
    const started = Date.now();
    const running = runDoctor({ config, env: {}, timeout: 10_000, signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    const report = await running;
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(findingOf(report, 'server.greeting').status).toBe('fail');
  });
});

describe('probeServer: DNS and TCP failures', () => {
  const entry = (host: string, port = 7569) => ({
    host,
    port,
    tls: false,
    entry: `${host}:${port}`,
    line: 4,
  });

  it('resolves names, and reports a name that does not resolve', async () => {
    const notFound = Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
    const probe = await probeServerWith(
      entry('licsrv.example.invalid'),
      { timeout: TIMEOUT },
      {
        lookup: () => Promise.reject(notFound),
      },
    );
    expect(probe.findings[0]).toMatchObject({
      id: 'server.dns',
      status: 'fail',
      data: { reason: 'ENOTFOUND' },
    });
    expect(probe.findings[0]?.fix).toContain(
      'Check the spelling of licsrv.example.invalid in LICENSE_SERVERS (line 4)',
    );
    expect(probe.findings.slice(1).every((f) => f.status === 'skip')).toBe(true);
    expect(probe).toMatchObject({
      reachable: false,
      error: 'licsrv.example.invalid could not be resolved (ENOTFOUND).',
    });

    const localhost = await probeServerWith(entry('localhost', await closedPort()), { timeout: TIMEOUT }, {});
    expect(localhost.findings[0]).toMatchObject({ id: 'server.dns', status: 'pass' });
  });

  it('gives up on a DNS server that does not answer', async () => {
    const probe = await probeServerWith(
      entry('slow.example'),
      { timeout: 50 },
      { lookup: () => new Promise(() => {}) },
    );
    expect(probe.findings[0]).toMatchObject({ status: 'fail', data: { reason: 'timed-out' } });
  });

  it('tells a firewall (timed out) from unreachable and reset', async () => {
    const silent = await probeServerWith(
      entry('10.0.0.1'),
      { timeout: 50 },
      { connect: () => new net.Socket() },
    );
    const tcp = silent.findings[1];
    expect(tcp).toMatchObject({ id: 'server.tcp', status: 'fail', data: { reason: 'timed-out' } });
    expect(tcp?.fix).toContain('Open TCP port 7569 from this machine to 10.0.0.1');

    const failing = (code: string) => () => {
      const socket = new net.Socket();
      setImmediate(() => socket.emit('error', Object.assign(new Error(code), { code })));
      return socket;
    };
    const unreachable = await probeServerWith(
      entry('10.0.0.1'),
      { timeout: 500 },
      { connect: failing('EHOSTUNREACH') },
    );
    expect(unreachable.findings[1]).toMatchObject({ status: 'fail', data: { reason: 'unreachable' } });
    const reset = await probeServerWith(
      entry('10.0.0.1'),
      { timeout: 500 },
      { connect: failing('ECONNRESET') },
    );
    expect(reset.findings[1]).toMatchObject({ status: 'fail', data: { reason: 'reset' } });
    expect(reset.findings[1]?.fix).toContain('firewall');
  });
});
