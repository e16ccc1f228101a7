import { afterEach, expect, it } from 'vitest';
import { type AcquireRequest, LicenseServer } from '../../../src/server/index.js';
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

it("when a closed connection's late waiter is dropped, the queue behind it is served", async () => {
  const store = new HookStore();
  const server = await LicenseServer.start({ port: 0, host: '127.0.0.1', store, licenses: { FULL: 2 } });
  cleanups.push(() => server.close());
  const holder = await hello(server);
  const a = await hello(server);
  const b = await hello(server);
  await holder.request('acquire', { lease: 'h', feature: 'FULL', count: 1 });
  const isA = (args: unknown[]) => (args[0] as AcquireRequest).id === 'a';
  store.before.acquire = (args) => (isA(args) ? sleep(100) : undefined);
  store.after.acquire = (args) => (isA(args) ? sleep(100) : undefined);
  // A asks for both seats and may wait; it goes away while the store decides.
  a.send({ id: 1, op: 'acquire', lease: 'a', feature: 'FULL', count: 2, wait: 5_000 });
  await sleep(20);
  a.close();
  await sleep(110); // A's waiter is now in the queue, its connection closed
  // B asks for the one free seat and queues behind A's (orphaned) waiter.
  b.send({ id: 1, op: 'acquire', lease: 'b', feature: 'FULL', count: 1, wait: 3_000 });
  await b.next((f) => f.push === 'queue-position');
  // Once A's waiter is gone, B should get the free seat at once, not time out at its deadline.
  const answer = await b.next((f) => f.id === 1, 4_000);
  expect({ ok: answer.ok, queued: store.inner.countsNow()[0]?.queued }).toEqual({ ok: true, queued: 0 });
});
