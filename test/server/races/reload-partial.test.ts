import { afterEach, expect, it } from 'vitest';
import type { Push } from '../../../src/protocol/messages.js';
import { LicenseServer, StoreUnavailableError } from '../../../src/server/index.js';
import { openConnection } from '../../../src/transport/handshake.js';
import { HookStore, sleep } from '../../helpers/hook-store.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

it('a reload the store fails half-way either changes nothing or tells the holders of what it revoked', async () => {
  const store = new HookStore();
  const server = await LicenseServer.start({
    port: 0,
    host: '127.0.0.1',
    store,
    accounts: {
      alice: { password: 'pw-1', licenses: { FULL: 3 } },
      bob: { password: 'pw-2', licenses: { FULL: 2 } },
    },
  });
  cleanups.push(() => server.close());
  const { connection } = await openConnection({
    host: '127.0.0.1',
    port: server.port,
    credentials: { username: 'alice', password: 'pw-1' },
  });
  cleanups.push(() => connection.close());
  const pushes: Push[] = [];
  connection.on('push', (p) => pushes.push(p));
  for (const lease of ['a1', 'a2', 'a3'])
    await connection.request('acquire', { lease, feature: 'FULL', count: 1 });
  // The database goes away after alice's pool was set, before bob's.
  store.fail.setTotal = (args) => (args[0] === 'bob' ? new StoreUnavailableError('db away') : undefined);
  await expect(
    server.reload({
      alice: { password: 'pw-1', licenses: { FULL: 1 } },
      bob: { password: 'pw-2', licenses: { FULL: 1 } },
    }),
  ).rejects.toThrow(/applied only in part: the license store failed \(db away\)\. 2 lease\(s\) were revoked/);
  await sleep(100);
  const held = store.inner.leasesNow({ account: 'alice' }).map((l) => l.id);
  const told = pushes
    .filter((p) => p.push === 'lease-revoked')
    .flatMap((p) => ('leases' in p ? p.leases : []));
  // Leases taken back in the store were pushed to their holder: none is lost silently.
  expect({ held, told: told.sort() }).toEqual({ held: ['a1'], told: ['a2', 'a3'] });
});
