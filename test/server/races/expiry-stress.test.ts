import { afterEach, expect, it } from 'vitest';
import { LicenseServer } from '../../../src/server/index.js';
import { type RawClient, rawConnect } from '../../helpers/raw-client.js';
import { SlowStore } from '../../helpers/slow-store.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

it('over a slow store, every unrenewed lease expires and every waiter is answered', async () => {
  const store = new SlowStore(150);
  const server = await LicenseServer.start({ port: 0, host: '127.0.0.1', store, licenses: { FULL: 3 } });
  cleanups.push(() => server.close());
  const raws: RawClient[] = [];
  for (let i = 0; i < 6; i += 1) {
    const r = await rawConnect(server.port);
    cleanups.push(() => r.close());
    await r.next((f) => f.type === 'greeting');
    await r.request('hello', { version: '1.0' });
    raws.push(r);
  }
  let id = 1;
  const sent: Array<[RawClient, number]> = [];
  for (let round = 0; round < 40; round += 1) {
    const r = raws[Math.floor(Math.random() * raws.length)] as RawClient;
    const wait = Math.random() < 0.5 ? Math.floor(Math.random() * 300) : undefined;
    r.send({
      id,
      op: 'acquire',
      lease: `l${id}`,
      feature: 'FULL',
      count: 1,
      ...(wait === undefined ? {} : { wait }),
    });
    sent.push([r, id]);
    id += 1;
    if (Math.random() < 0.3)
      raws[Math.floor(Math.random() * raws.length)]?.send({
        id: id++,
        op: 'release',
        leases: [`l${id - 5}`],
      });
    await sleep(Math.random() * 15);
    if (round === 20) {
      raws[0]?.close();
      raws[1]?.close();
    }
  }
  await sleep(1_000);
  const unanswered = sent
    .filter(([r]) => r !== raws[0] && r !== raws[1])
    .filter(([r, i]) => !r.frames.some((f) => f.id === i))
    .map(([, i]) => i);
  const twice = sent.filter(([r, i]) => r.frames.filter((f) => f.id === i).length > 1).map(([, i]) => i);
  expect({
    unanswered,
    twice,
    left: store.inner.leasesNow().length,
    queued: store.inner.countsNow()[0]?.queued,
    overbooked: store.overbooked,
  }).toEqual({
    unanswered: [],
    twice: [],
    left: 0,
    queued: 0,
    overbooked: [],
  });
});
