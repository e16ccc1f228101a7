/** Outside attack on PostgresStore / protocol 1.1. */
import * as net from 'node:net';
import pgmod from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { PostgresStore } from '../../../src/server/index.js';
import { usePostgres } from '../../helpers/pg-nodes.js';

const pg = usePostgres();
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch(() => {});
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A TCP proxy that delays every chunk from the database back to the node by `delay` ms (network latency),
 * and with `both`, every chunk to the database too.
 */
async function latencyProxy(port: number, delay: number, both = false): Promise<number> {
  const server = net.createServer((inbound) => {
    const outbound = net.connect(port, '127.0.0.1');
    inbound.on('data', (d) => (both ? setTimeout(() => outbound.write(d), delay) : outbound.write(d)));
    outbound.on('data', (d) => setTimeout(() => inbound.write(d), delay));
    inbound.on('error', () => outbound.destroy());
    outbound.on('error', () => inbound.destroy());
    inbound.on('close', () => outbound.destroy());
    outbound.on('close', () => setTimeout(() => inbound.destroy(), delay));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  return (server.address() as net.AddressInfo).port;
}

async function store(url: string, extra: object = {}) {
  const s = await PostgresStore.connect({ connectionString: url, migrate: true, heartbeat: 200, ...extra });
  cleanups.push(() => s.close());
  return s;
}

describe('PostgresStore attack', () => {
  it('never renews a lease the database counted as expired (a late renewal over a slow link), so a pool of 1 holds 1', async () => {
    const url = await pg.database('d1');
    const proxied = url.replace(`:${pg.port}/`, `:${await latencyProxy(pg.port, 400, true)}/`);
    const ttl = 2_000;
    const a = await store(proxied, { leaseTtl: ttl }); // node A: 400 ms from the database
    const b = await store(url, { leaseTtl: ttl });
    await b.setTotal('', 'FULL', 1);
    const g = await b.acquire({ account: '', id: 'L', feature: 'FULL', count: 1, owner: 1, requestId: 1 });
    expect(g.kind).toBe('granted');
    const E = g.kind === 'granted' ? g.lease.expiresAt : 0;
    // A's client renews L 150 ms before it expires: late, and the renewal (one statement) reaches the database
    // 400 ms later, after L expired by the database's clock. A's connection is open already (the pool keeps it).
    await a.counts();
    await sleep(E - Date.now() - 150);
    const renewing = a.renew('', ['L'], 7);
    await sleep(250); // now L has expired by the database's clock
    const m = await b.acquire({ account: '', id: 'M', feature: 'FULL', count: 1, owner: 2, requestId: 2 });
    const r = await renewing;
    const live = await b.leases();
    expect(m.kind).toBe('granted');
    // Claim: an expired lease is never renewed; never more live seats than the pool.
    expect(r.renewed).toEqual([]);
    expect(live.length).toBeLessThanOrEqual(1);
  }, 20_000);

  it('keeps one lease id one lease or one waiter, when two nodes ask for it under two features at once', async () => {
    const url = await pg.database('d2');
    const a = await store(url);
    const b = await store(url);
    await a.setTotal('', 'F1', 1000);
    await a.setTotal('', 'F2', 1);
    await a.acquire({ account: '', id: 'blocker', feature: 'F2', count: 1, owner: 1, requestId: 1 });
    let both = 0;
    let firstDup: string | undefined;
    for (let i = 0; i < 200; i += 1) {
      const id = `dup${i}`;
      const [x, y] = await Promise.all([
        a.acquire({ account: '', id, feature: 'F1', count: 1, owner: 1, requestId: i }),
        b.acquire({ account: '', id, feature: 'F2', count: 1, owner: 1, requestId: i, wait: 60_000 }),
      ]);
      if (x.kind === 'granted' && y.kind === 'queued') {
        both += 1;
        firstDup ??= id;
      }
    }
    if (firstDup !== undefined) {
      // Free F2: B's drain grants its waiter... onto A's F1 lease row.
      await b.revoke('', ['blocker']);
      // drop other dup waiters so firstDup is head
      const c = new pgmod.Client({ connectionString: url });
      await c.connect();
      await c.query('DELETE FROM lv_license_waiters WHERE id <> $1', [firstDup]);
      const _d = await b.drain();
      const _row = await c.query('SELECT * FROM lv_license_leases WHERE id = $1', [firstDup]);
      await c.end();
    }
    expect(both).toBe(0);
  }, 60_000);
});
