import { afterEach, expect, it } from 'vitest';
import { LicenseServer } from '../../../src/server/index.js';
import { HookStore, sleep } from '../../helpers/hook-store.js';
import { rawConnect } from '../../helpers/raw-client.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

it('a seat the store grants after the connection closed is given back, as a late-granted waiter is', async () => {
  const store = new HookStore();
  const server = await LicenseServer.start({ port: 0, host: '127.0.0.1', store, licenses: { FULL: 1 } });
  cleanups.push(() => server.close());
  const raw = await rawConnect(server.port);
  cleanups.push(() => raw.close());
  await raw.next((f) => f.type === 'greeting');
  await raw.request('hello', { version: '1.0' });
  store.before.acquire = () => sleep(100);
  raw.send({ id: 1, op: 'acquire', lease: 'p', feature: 'FULL', count: 1 });
  await sleep(20);
  raw.close(); // the client gives up before the store has decided
  await sleep(200);
  // Nobody got the answer: the one seat should be free for the next client, not held for the 30 s TTL.
  expect(store.inner.leasesNow().map((l) => l.id)).toEqual([]);
});
