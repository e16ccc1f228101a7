import { afterEach, expect, it } from 'vitest';
import { LicenseServer, StoreUnavailableError } from '../../../src/server/index.js';
import { openConnection } from '../../../src/transport/handshake.js';
import { HookStore, sleep } from '../../helpers/hook-store.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(store: HookStore) {
  const clock = { now: Date.parse('2026-11-20T12:00:00Z') };
  const server = await LicenseServer.start({
    port: 0,
    host: '127.0.0.1',
    store,
    billingClock: () => clock.now,
    accounts: { alice: { password: 'pw-1', licenses: { FULL: 2 }, renewsOn: 25, cancelledOn: '2026-11-10' } },
  });
  cleanups.push(() => server.close());
  const connect = async () => {
    const opened = await openConnection({
      host: '127.0.0.1',
      port: server.port,
      credentials: { username: 'alice', password: 'pw-1' },
    });
    cleanups.push(() => opened.connection.close());
    return opened.connection;
  };
  return { server, clock, connect };
}

it('an acquire in flight when the subscription ends does not keep a seat for ever', async () => {
  const store = new HookStore();
  const { server, clock, connect } = await setup(store);
  const a = await connect();
  const b = await connect();
  // The store takes 100 ms to decide an acquire (a database round trip).
  store.before.acquire = () => sleep(100);
  const granted = a.request('acquire', { lease: 'late', feature: 'FULL', count: 1 });
  await sleep(20);
  clock.now = Date.parse('2026-11-25T00:00:01Z'); // the subscription ends meanwhile
  await b.request('renew', { leases: [] }); // enforces it: alice's seats are taken back
  delete store.before.acquire;
  // Either refused, or granted and then revoked: never granted and kept.
  await granted.catch(() => undefined);
  await sleep(50);
  const renewed = await a.request('renew', { leases: ['late'] });
  expect(renewed.renewed).toEqual([]);
  expect((await server.leases({ account: 'alice' })).map((l) => l.id)).toEqual([]);
});

it('a store failure while enforcing the end of a subscription does not leave its seats held for ever', async () => {
  const store = new HookStore();
  const { server, clock, connect } = await setup(store);
  const a = await connect();
  await a.request('acquire', { lease: 'held', feature: 'FULL', count: 1 });
  let failures = 1;
  store.fail.revoke = () => (failures-- > 0 ? new StoreUnavailableError('db away') : undefined);
  clock.now = Date.parse('2026-11-25T00:00:01Z');
  // The first enforcement (this renew) meets the store failure and is answered -22 ...
  await expect(a.request('renew', { leases: ['held'] })).rejects.toMatchObject({ code: -22 });
  // ... the store is back; the billing timer (1 s) and the next requests should enforce it now.
  await sleep(1_500);
  const renewed = await a.request('renew', { leases: ['held'] });
  expect(renewed.renewed).toEqual([]);
  expect((await server.leases({ account: 'alice' })).map((l) => l.id)).toEqual([]);
});
