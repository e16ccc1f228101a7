import { afterEach, expect, it } from 'vitest';
import { LicenseServer, StoreUnavailableError } from '../../../src/server/index.js';
import { openConnection } from '../../../src/transport/handshake.js';
import { HookStore, sleep } from '../../helpers/hook-store.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const METHODS = [
  'setTotal',
  'acquire',
  'cancel',
  'renew',
  'release',
  'revoke',
  'revokeAll',
  'expire',
  'drain',
  'dropOwner',
  'counts',
  'leases',
  'waiters',
  'nextDeadline',
] as const;

it.each([
  ['plain Error', () => new Error('boom')],
  ['StoreUnavailableError', () => new StoreUnavailableError('db away')],
])('a store that throws %s: every request is answered, nothing is left unhandled', async (_name, make) => {
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);
  process.on('unhandledRejection', onRejection);
  cleanups.push(() => process.off('unhandledRejection', onRejection));
  const store = new HookStore(300);
  const lines: string[] = [];
  let now = Date.parse('2026-11-20T12:00:00Z');
  const server = await LicenseServer.start({
    port: 0,
    host: '127.0.0.1',
    store,
    log: (l) => lines.push(l),
    billingClock: () => now,
    accounts: { alice: { password: 'pw-1', licenses: { FULL: 1 }, renewsOn: 25, cancelledOn: '2026-11-10' } },
  });
  cleanups.push(() => server.close());
  const open = async () => {
    const { connection } = await openConnection({
      host: '127.0.0.1',
      port: server.port,
      credentials: { username: 'alice', password: 'pw-1' },
    });
    cleanups.push(() => connection.close());
    return connection;
  };
  const c = await open();
  await c.request('acquire', { lease: 'held', feature: 'FULL', count: 1 });
  const c2 = await open();
  for (const m of METHODS) store.fail[m] = () => make();
  const codes: Record<string, unknown> = {};
  const ask = async (op: string, params: object) => {
    codes[op] = await (c.request as (o: string, p: object) => Promise<unknown>)(op, params).then(
      () => 'ok',
      (e: { code?: number }) => e.code,
    );
  };
  await ask('acquire', { lease: 'x', feature: 'FULL', count: 1, wait: 200 });
  await ask('renew', { leases: ['held'] });
  await ask('release', { leases: ['held'] });
  await ask('status', {});
  await ask('cancel', { lease: 'x' });
  await c2.close(); // dropOwner fails
  await server.setLicenses('FULL', 2).catch(() => {});
  await server.revoke('held').catch(() => {});
  now = Date.parse('2026-11-26T00:00:00Z'); // the billing timer now meets the failing store
  await sleep(1_500); // lease TTL 300 ms: the expiry pass meets the failing store and retries
  await server.drain({ timeout: 100 }).catch(() => {});
  await server.close();
  await sleep(50);
  expect(rejections.map(String)).toEqual([]);
  const expected = _name === 'plain Error' ? -68 : -22;
  expect(codes).toEqual({
    acquire: expected,
    renew: expected,
    release: expected,
    status: expected,
    cancel: expected,
  });
});
