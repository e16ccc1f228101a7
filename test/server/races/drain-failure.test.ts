import { afterEach, expect, it } from 'vitest';
import { LicenseServer, StoreUnavailableError } from '../../../src/server/index.js';
import { HookStore, sleep } from '../../helpers/hook-store.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

it('a drain that meets a store failure says so and still closes the server', async () => {
  const store = new HookStore();
  const lines: string[] = [];
  const server = await LicenseServer.start({
    port: 0,
    host: '127.0.0.1',
    store,
    licenses: { FULL: 2 },
    log: (line) => lines.push(line),
  });
  cleanups.push(() => server.close());
  store.fail.revokeAll = () => new StoreUnavailableError('db away');
  await server.drain({ timeout: 100 });
  const closed = await Promise.race([server.closed.then(() => true), sleep(500).then(() => false)]);
  expect({ closed, listening: server.listening }).toEqual({ closed: true, listening: false });
  expect(
    lines.some((l) => l.includes('the license store failed (db away); its leases lapse with their TTL')),
  ).toBe(true);
  await server.drain({ timeout: 100 }); // idempotent
});

it('POST /drain with a store that fails does not leave an unhandled rejection', async () => {
  const { startAdmin } = await import('../../../src/server/index.js');
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);
  process.on('unhandledRejection', onRejection);
  cleanups.push(() => process.off('unhandledRejection', onRejection));
  const store = new HookStore();
  const server = await LicenseServer.start({ port: 0, host: '127.0.0.1', store, licenses: { FULL: 2 } });
  cleanups.push(() => server.close());
  const token = 'admin-token-0123456789abcdef';
  const admin = await startAdmin(server, {
    port: 0,
    host: '127.0.0.1',
    tokens: { admin: [token], read: [] },
  });
  cleanups.push(() => admin.close());
  store.fail.revokeAll = () => new StoreUnavailableError('db away');
  const response = await fetch(`${admin.url}/drain?timeout=100`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
  });
  expect(response.status).toBe(200);
  await sleep(100);
  expect(rejections.map(String)).toEqual([]);
});
