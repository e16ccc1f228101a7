import { afterEach, expect, it } from 'vitest';
import { LicenseServer } from '../../../src/server/index.js';
import { HookStore, sleep } from '../../helpers/hook-store.js';
import { type RawClient, rawConnect } from '../../helpers/raw-client.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function hello(server: LicenseServer): Promise<RawClient> {
  const raw = await rawConnect(server.port);
  cleanups.push(() => raw.close());
  await raw.next((f) => f.type === 'greeting');
  await raw.request('hello', { version: '1.0' });
  return raw;
}

it('a drain leaves no lease behind: an acquire the store was deciding is refused or revoked', async () => {
  const store = new HookStore();
  const server = await LicenseServer.start({ port: 0, host: '127.0.0.1', store, licenses: { FULL: 2 } });
  cleanups.push(() => server.close());
  const raw = await hello(server);
  store.before.acquire = () => sleep(100);
  raw.send({ id: 1, op: 'acquire', lease: 'late', feature: 'FULL', count: 1 });
  await sleep(20);
  const drained = server.drain({ timeout: 300 });
  const answer = await raw.next((f) => f.id === 1);
  await drained;
  const revoked = raw.frames.some(
    (f) => f.push === 'lease-revoked' && (f.leases as string[]).includes('late'),
  );
  // A draining server grants nothing; whatever it granted it takes back and says so.
  expect({ ok: answer.ok, revoked, leftInStore: store.inner.leasesNow().map((l) => l.id) }).toEqual({
    ok: false,
    revoked: false,
    leftInStore: [],
  });
});

it('a drain leaves no waiter granted: a pass under way when it began grants nothing', async () => {
  const store = new HookStore();
  const server = await LicenseServer.start({
    port: 0,
    host: '127.0.0.1',
    store,
    licenses: { FULL: 1, TTS: 1 },
  });
  cleanups.push(() => server.close());
  const holder = await hello(server);
  const waiter = await hello(server);
  await holder.request('acquire', { lease: 'h', feature: 'FULL', count: 1 });
  waiter.send({ id: 1, op: 'acquire', lease: 'w', feature: 'FULL', count: 1, wait: 5_000 });
  await waiter.next((f) => f.push === 'queue-position');
  await sleep(50);
  // The next pass reaches the store late: after the drain's revokeAll, before its look at the waiters.
  let revokedAll!: () => void;
  const afterRevokeAll = new Promise<void>((resolve) => (revokedAll = resolve));
  store.before.drain = () => afterRevokeAll;
  store.after.revokeAll = () => revokedAll();
  store.before.waiters = () => sleep(30);
  await holder.request('acquire', { lease: 't', feature: 'TTS', count: 1 }); // a grant: asks for a pass
  await sleep(10);
  await server.drain({ timeout: 300 });
  const answer = waiter.frames.find((f) => f.id === 1);
  const revoked = waiter.frames.some((f) => f.push === 'lease-revoked');
  expect({ answer: answer?.ok, revoked, leftInStore: store.inner.leasesNow().map((l) => l.id) }).toEqual({
    answer: false,
    revoked: false,
    leftInStore: [],
  });
});
