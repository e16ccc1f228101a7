import pgmod from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { LicenseClient } from '../../../src/index.js';
import { LicenseServer, PostgresStore } from '../../../src/server/index.js';
import { describeDatabase } from '../../../src/server/postgres/connection.js';
import { usePostgres } from '../../helpers/pg-nodes.js';
import { rawConnect } from '../../helpers/raw-client.js';

const pg = usePostgres();
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch(() => {});
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function node(url: string, licenses: Record<string, number>, extra: object = {}) {
  const store = await PostgresStore.connect({
    connectionString: url,
    migrate: true,
    heartbeat: 200,
    ...extra,
  });
  const server = await LicenseServer.start({ port: 0, store, licenses });
  cleanups.push(
    () => store.close(),
    () => server.close(),
  );
  return { store, server };
}
async function hello(server: LicenseServer) {
  const raw = await rawConnect(server.port);
  cleanups.push(() => raw.close());
  await raw.next((f) => f.type === 'greeting');
  expect((await raw.request('hello', { version: '1.1' })).ok).toBe(true);
  return raw;
}

describe('attack 2', () => {
  it("moves a lost node's leases to its cluster peer, not to a higher-priority server of another pool", async () => {
    const url = await pg.database('d3');
    const a = await node(url, { FULL: 2 });
    const b = await node(url, { FULL: 2 });
    const other = await LicenseServer.start({ port: 0, licenses: { FULL: 2 } }); // a separate pool (memory)
    cleanups.push(() => other.close());
    const client = new LicenseClient({
      servers: `${a.server.address};${other.address};${b.server.address}`,
      gracePeriod: 60_000,
      requestTimeout: 500,
      licenseCachePeriod: 0,
    });
    cleanups.push(() => client.close());
    await client.connect();
    const lease = await client.acquire('FULL');
    expect(lease.server).toBe(a.server.address);
    await sleep(500); // the client meets the cluster
    await a.server.close();
    await sleep(2_000);
    expect(lease.server).toBe(b.server.address);
  }, 30_000);

  it('answers the waiter of a live node whose heartbeat lapsed for more than 5 beats', async () => {
    const url = await pg.database('d4');
    const a = await node(url, { FULL: 1 }, { leaseTtl: 1_500 });
    const b = await node(url, { FULL: 1 }, { leaseTtl: 1_500 });
    const holder = await hello(b.server);
    expect((await holder.request('acquire', { lease: 'h', feature: 'FULL', count: 1 })).ok).toBe(true);
    const renewer = setInterval(() => holder.request('renew', { leases: ['h'] }).catch(() => {}), 300);
    cleanups.push(() => clearInterval(renewer));
    const waiter = await hello(a.server);
    waiter.send({ id: 77, op: 'acquire', lease: 'w', feature: 'FULL', count: 1, wait: 4_000 });
    await waiter.next((f) => f.push === 'queue-position');
    // A's heartbeats lapse for a while (a 1-2 s GC pause / event-loop stall / network blip with heartbeat 200 ms);
    // simulated in the database.
    const c = new pgmod.Client({ connectionString: url });
    await c.connect();
    // A's heartbeat stalls for 2 s (10 beats): its row is held so its beats cannot land, as for a node whose
    // pool connections are all busy, or a GC pause / event-loop stall, or a network blip.
    const h = new pgmod.Client({ connectionString: url });
    await h.connect();
    await h.query('BEGIN');
    await h.query('SELECT * FROM lv_license_nodes WHERE node = $1 FOR UPDATE', [a.store.node]);
    await sleep(2_000); // B's passes drop A's waiter
    await h.query('COMMIT');
    await h.end();
    const _rows = await c.query('SELECT id FROM lv_license_waiters');
    clearInterval(renewer);
    await holder.request('release', { leases: ['h'] });
    let answer: unknown;
    try {
      answer = await waiter.next((f) => f.id === 77, 8_000);
    } catch (e) {
      answer = `no answer within 8 s (wait was 4 s): ${String(e)}`;
    }
    await c.end();
    expect(typeof answer).toBe('object');
  }, 30_000);

  it('does not run expire() in a loop when its clock is ahead of the database', async () => {
    const url = await pg.database('d5');
    const a = await node(url, { FULL: 2 }, { leaseTtl: 3_000 });
    let expires = 0;
    const orig = a.store.expire.bind(a.store);
    (a.store as unknown as { expire: () => unknown }).expire = () => {
      expires += 1;
      return orig();
    };
    const raw = await hello(a.server);
    expect((await raw.request('acquire', { lease: 'x', feature: 'FULL', count: 1 })).ok).toBe(true);
    const realNow = Date.now;
    await sleep(1_500);
    const before = expires;
    Date.now = () => realNow() + 5_000; // the node's clock 5 s ahead of the DB
    cleanups.push(() => {
      Date.now = realNow;
    });
    // renew it (as its client would) so it never actually expires
    raw.request('renew', { leases: ['x'] }).catch(() => {});
    await sleep(2_000);
    const during = expires - before;
    Date.now = realNow;
    expect(during).toBeLessThan(20);
  }, 30_000);

  it('refuses a NUL byte in a lease id or a feature with -54, whatever the store', async () => {
    const url = await pg.database('d6');
    const a = await node(url, { FULL: 2 });
    const raw = await hello(a.server);
    for (const params of [
      { lease: 'a\u0000b', feature: 'FULL', count: 1 },
      { lease: 'ok', feature: 'FU\u0000LL', count: 1 },
    ]) {
      expect(((await raw.request('acquire', params)).error as { code: number }).code).toBe(-54);
    }
  }, 30_000);

  it('never shows a store password: in the user part, with an @ in it, or in the query string', async () => {
    for (const url of [
      'postgres://user:p@ss@127.0.0.1:1/db',
      'postgres://127.0.0.1:1/db?user=u&password=s3cret',
      'postgresql://u:secret@127.0.0.1:1/db',
      'postgres://u@127.0.0.1:1/db?sslpassword=s3cret',
      'mysql://u:secret@h/db',
    ]) {
      const message = await PostgresStore.connect({ connectionString: url }).then(
        () => 'connected',
        (err: Error) => err.message,
      );
      expect(message).not.toMatch(/s3cret|secret|p@ss|ss@/);
      expect(describeDatabase(url)).not.toMatch(/s3cret|secret|ss@|user|u@/);
    }
  }, 60_000);
});
