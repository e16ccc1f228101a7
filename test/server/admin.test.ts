/**
 * The admin HTTP API: each endpoint with an admin token, a read-only token and none, and what the
 * clients of the server see of each change. Real sockets on loopback.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { LicenseClient } from '../../src/index.js';
import { type AdminListener, LicenseServer, loadAdminTokens, startAdmin } from '../../src/server/index.js';

const ADMIN = 'admin-token-0123456789abcdef';
const READ = 'read-token-0123456789abcdef';
const PASSWORD = 'pw-admin-test-1';
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup() {
  const dir = await mkdtemp(join(tmpdir(), 'lv-admin-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const accounts = join(dir, 'license_authentication.conf');
  await writeFile(accounts, `[alice]\nPASSWORD = ${PASSWORD}\nFULL = 3\nTTS = 1\n`, { mode: 0o600 });
  const tokenFile = join(dir, 'tokens');
  await writeFile(tokenFile, `# admin tokens\nadmin ${ADMIN}\nread ${READ}\n`, { mode: 0o600 });
  const log: string[] = [];
  // Changes are reported as the server's `admin` events (and so logged by it); refusals by the listener.
  const server = await LicenseServer.start({ port: 0, host: '127.0.0.1', accounts, log: (l) => log.push(l) });
  cleanups.push(() => server.close());
  const admin: AdminListener = await startAdmin(server, {
    port: 0,
    tokens: await loadAdminTokens(tokenFile),
    log: (line) => log.push(line),
  });
  cleanups.push(() => admin.close());
  const client = new LicenseClient({
    servers: server.address,
    username: 'alice',
    password: PASSWORD,
    gracePeriod: 60_000,
    licenseCachePeriod: 0,
  });
  cleanups.push(() => client.close());
  const call = async (method: string, path: string, token?: string, body?: object) => {
    const response = await fetch(`${admin.url}${path}`, {
      method,
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  return { dir, accounts, tokenFile, server, admin, client, call, log };
}

describe('the admin API', () => {
  it('lists pools and leases with either token, never without one, and never a secret', async () => {
    const { call, client, log } = await setup();
    const lease = await client.acquire('FULL');
    for (const token of [ADMIN, READ]) {
      const pools = await call('GET', '/pools', token);
      expect(pools.status).toBe(200);
      expect(pools.body.pools).toEqual([
        { account: 'alice', feature: 'FULL', total: 3, inUse: 1, queued: 0 },
        { account: 'alice', feature: 'TTS', total: 1, inUse: 0, queued: 0 },
      ]);
      const leases = await call('GET', '/leases?feature=full', token);
      expect(leases.body.leases).toEqual([
        expect.objectContaining({ id: lease.id, account: 'alice', count: 1 }),
      ]);
      expect(JSON.stringify(leases.body)).not.toContain(PASSWORD);
    }
    expect((await call('GET', '/pools')).status).toBe(401);
    expect((await call('GET', '/pools', 'not-a-token-at-all-xyz')).status).toBe(401);
    expect(log.join('\n')).not.toContain(READ);
  });

  it('revokes one lease with the admin token: the client hears -41 for it; read-only and no token are refused', async () => {
    const { call, client, server, log } = await setup();
    const lost: string[] = [];
    client.on('lease-lost', ({ lease }) => lost.push(lease.id));
    const [kept, revoked] = [await client.acquire('FULL'), await client.acquire('FULL')];
    expect((await call('POST', `/leases/${revoked.id}/revoke?account=alice`)).status).toBe(401);
    expect((await call('POST', `/leases/${revoked.id}/revoke?account=alice`, READ)).status).toBe(403);
    expect(await server.inUse('FULL', 'alice')).toBe(2);
    const answer = await call('POST', `/leases/${revoked.id}/revoke?account=alice`, ADMIN);
    expect(answer).toEqual({ status: 200, body: { revoked: revoked.id } });
    await expect.poll(() => lost).toEqual([revoked.id]);
    expect(kept.state).toBe('held');
    expect(await server.inUse('FULL', 'alice')).toBe(1);
    expect((await call('POST', '/leases/no-such-lease/revoke?account=alice', ADMIN)).status).toBe(404);
    expect(log.some((line) => /admin: admin:[0-9a-f]{8} POST \/leases\/.*\/revoke/.test(line))).toBe(true);
    expect(log.join('\n')).not.toContain(ADMIN);
  });

  it('sets a pool size with the admin token (shrinking revokes the newest lease), not with a read token', async () => {
    const { call, client, server } = await setup();
    const leases = [await client.acquire('FULL'), await client.acquire('FULL')];
    expect((await call('PUT', '/pools/alice/FULL', READ, { total: 1 })).status).toBe(403);
    expect((await call('PUT', '/pools/alice/FULL', ADMIN, { total: -1 })).status).toBe(400);
    expect((await call('PUT', '/pools/nobody/FULL', ADMIN, { total: 1 })).status).toBe(404);
    expect(await call('PUT', '/pools/alice/FULL', ADMIN, { total: 1 })).toEqual({
      status: 200,
      body: { account: 'alice', feature: 'FULL', total: 1 },
    });
    await expect.poll(() => leases.map((l) => l.state)).toEqual(['held', 'lost']);
    expect((await server.pools()).find((p) => p.feature === 'FULL')).toMatchObject({ total: 1, inUse: 1 });
  });

  it('answers a request target that is not a path with 400, and stays up', async () => {
    const { admin, call } = await setup();
    const { port } = new URL(admin.url);
    for (const target of ['//[', 'http://a:99999/metrics']) {
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(Number(port), '127.0.0.1', () =>
          socket.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
        );
        let text = '';
        socket.on('data', (chunk) => {
          text += chunk.toString('latin1');
        });
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
      });
      expect(answer).toMatch(/^HTTP\/1\.1 400/);
    }
    expect((await call('GET', '/pools', ADMIN)).status).toBe(200);
  });

  it('audits a change with its known fields only: a token or password sent along is never logged', async () => {
    const { call, log, server } = await setup();
    const events: string[] = [];
    server.onEvent((event) => {
      if (event.type === 'admin') events.push(event.action);
    });
    const answer = await call('PUT', `/pools/alice/FULL?token=${ADMIN}`, ADMIN, {
      total: 2,
      password: PASSWORD,
    });
    expect(answer.status).toBe(200);
    expect(events).toEqual(['PUT /pools/alice/FULL total=2']);
    expect(log.join('\n')).not.toContain(ADMIN);
    expect(log.join('\n')).not.toContain(PASSWORD);
  });

  it('reloads the accounts file with the admin token', async () => {
    const { call, accounts, server } = await setup();
    await writeFile(accounts, `[alice]\nPASSWORD = ${PASSWORD}\nFULL = 5\n`, { mode: 0o600 });
    expect((await call('POST', '/reload', READ)).status).toBe(403);
    const answer = await call('POST', '/reload', ADMIN);
    expect(answer.status).toBe(200);
    expect(answer.body.reloaded).toMatchObject({ accounts: 1, removed: [] });
    expect(await server.pools()).toEqual([
      { account: 'alice', feature: 'FULL', total: 5, inUse: 0, queued: 0 },
      { account: 'alice', feature: 'TTS', total: 0, inUse: 0, queued: 0 },
    ]);
  });

  it('drains the server with the admin token', async () => {
    const { call, client, server } = await setup();
    await client.acquire('FULL');
    expect((await call('POST', '/drain', READ)).status).toBe(403);
    expect(server.draining).toBe(false);
    expect((await call('POST', '/drain?timeout=200', ADMIN)).body).toEqual({ draining: true });
    await server.closed;
    expect(server.listening).toBe(false);
  });

  it('lv-license admin pools and set, as commands', async () => {
    const { admin, tokenFile, dir, client } = await setup();
    await client.acquire('TTS');
    const out: string[] = [];
    const err: string[] = [];
    const io = { stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t) };
    expect(await main(['admin', 'pools', '--url', admin.url, '--token-file', tokenFile], io)).toBe(0);
    expect(out.join('')).toContain('alice\tTTS\t1\t1\t0');
    const readOnly = join(dir, 'read-token');
    await writeFile(readOnly, `${READ}\n`, { mode: 0o600 });
    expect(
      await main(
        [
          'admin',
          'set',
          '--url',
          admin.url,
          '--token-file',
          readOnly,
          '--account',
          'alice',
          '--feature',
          'TTS',
          '--total',
          '2',
        ],
        io,
      ),
    ).toBe(1);
    expect(err.join('')).toContain('403');
    expect(await main(['admin', 'frobnicate'], io)).toBe(2);
  });
});
