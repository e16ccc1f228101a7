/**
 * PostgresStore against a real PostgreSQL: the same contract MemoryStore keeps, then what only a shared
 * store has (several nodes, one pool).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { LicenseClient } from '../../src/index.js';
import { LicenseServer, PostgresStore } from '../../src/server/index.js';
import { frameProxy } from '../helpers/frame-proxy.js';
import { usePostgres } from '../helpers/pg-nodes.js';
import { postgresAvailable, type TestPostgres } from '../helpers/postgres.js';
import { type RawClient, rawConnect } from '../helpers/raw-client.js';
import { describeStoreContract } from './store-contract.js';
import { describeStoreModel } from './store-model.js';

let pg: TestPostgres;

describe.skipIf(!postgresAvailable)('PostgresStore', () => {
  pg = usePostgres();

  /** Drops a database the suite made (the model test makes one per run: hundreds in a soak). */
  async function dropDatabase(url: string): Promise<void> {
    const { default: pgModule } = await import('pg');
    const admin = new pgModule.Client({ connectionString: pg.url });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${new URL(url).pathname.slice(1)} WITH (FORCE)`);
    } finally {
      await admin.end();
    }
  }

  describeStoreContract(
    'PostgresStore',
    async (leaseTtl) => {
      const url = await pg.database('contract');
      const store = await PostgresStore.connect({ connectionString: url, leaseTtl, migrate: true });
      return {
        store,
        // The database's clock decides: time passes for real.
        advance: (ms) => new Promise((resolve) => setTimeout(resolve, ms + 5)),
        now: Date.now,
        dispose: async () => {
          await store.close();
          await dropDatabase(url);
        },
      };
    },
    // Real time passes (the model sleeps past deadlines), so a few runs: about 10 s.
    { runs: 12, steps: 50, leaseTtl: 600, guard: 150, timeout: 120_000 },
  );

  describeStoreModel(
    'Two PostgresStore nodes on one database',
    async (leaseTtl) => {
      const url = await pg.database('model');
      const nodes = [
        await PostgresStore.connect({ connectionString: url, leaseTtl, migrate: true, node: 'node-a' }),
        await PostgresStore.connect({ connectionString: url, leaseTtl, node: 'node-b' }),
      ];
      return {
        nodes,
        now: Date.now,
        advance: (ms) => new Promise((resolve) => setTimeout(resolve, ms + 5)),
        dispose: async () => {
          for (const node of nodes) await node.close();
          await dropDatabase(url);
        },
      };
    },
    { nodes: 2, runs: 12, steps: 50, leaseTtl: 600, guard: 150, timeout: 120_000 },
  );
});

describe.skipIf(!postgresAvailable)('several LicenseServers on one PostgreSQL pool', () => {
  const pg = usePostgres();
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /**
   * A connected client of `servers` (the first preferred), closed after the test. Its grace period is far
   * beyond any test here: a move within a cluster does not wait for it.
   */
  async function clientOf(...servers: LicenseServer[]): Promise<LicenseClient> {
    const client = new LicenseClient({
      servers: servers.map((server) => server.address).join(';'),
      gracePeriod: 60_000,
      requestTimeout: 500,
      licenseCachePeriod: 0,
    });
    cleanups.push(() => client.close());
    await client.connect();
    return client;
  }

  async function nodes(count: number, licenses: Record<string, number>, leaseTtl = 30_000) {
    const url = await pg.database('nodes');
    const started: Array<{ server: LicenseServer; store: PostgresStore }> = [];
    for (let i = 0; i < count; i += 1) {
      const store = await PostgresStore.connect({
        connectionString: url,
        leaseTtl,
        migrate: true,
        heartbeat: 200,
      });
      const server = await LicenseServer.start({ port: 0, store, licenses });
      cleanups.push(
        () => store.close(),
        () => server.close(),
      );
      started.push({ server, store });
    }
    return { url, nodes: started };
  }

  async function hello(server: LicenseServer): Promise<RawClient> {
    const raw = await rawConnect(server.port);
    cleanups.push(() => raw.close());
    await raw.next((f) => f.type === 'greeting');
    expect((await raw.request('hello', { version: '1.0' })).ok).toBe(true);
    return raw;
  }

  const acquire = (raw: RawClient, lease: string, extra: object = {}) =>
    raw.request('acquire', { lease, feature: 'FULL', count: 1, ...extra });
  const code = (frame: Record<string, unknown>) => (frame.error as { code?: number } | undefined)?.code;

  it('grants one pool across nodes, never past it, and reclaims a lease on another node by its id', async () => {
    const {
      nodes: [a, b],
    } = await nodes(2, { FULL: 3 });
    if (a === undefined || b === undefined) throw new Error('two nodes');
    const onA = await hello(a.server);
    const onB = await hello(b.server);
    expect((await acquire(onA, 'a1')).ok).toBe(true);
    expect((await acquire(onA, 'a2')).ok).toBe(true);
    expect((await acquire(onB, 'b1')).ok).toBe(true);
    expect(code(await acquire(onB, 'b2'))).toBe(-26);
    // A's client moves to B with its lease: the same seat, not a second one.
    onA.close();
    expect((await acquire(onB, 'a1')).result).toMatchObject({ reclaimed: true });
    expect(await b.server.pools()).toEqual([{ account: '', feature: 'FULL', total: 3, inUse: 3, queued: 0 }]);
    expect(await a.server.inUse()).toBe(3);
    // A late release of a1 through A (the client tidying up after it moved) does not end the live lease.
    const lateOnA = await hello(a.server);
    expect((await lateOnA.request('release', { leases: ['a1'] })).result).toMatchObject({ unknown: ['a1'] });
    expect((await onB.request('release', { leases: ['a1', 'b1'] })).result).toMatchObject({
      released: ['a1', 'b1'],
    });
    expect(await a.server.inUse('FULL')).toBe(1);
  });

  it('fences releases by epoch (protocol 1.1): a release older than the lease is ignored, a current one frees it', async () => {
    const {
      nodes: [a, b],
    } = await nodes(2, { FULL: 2 });
    if (a === undefined || b === undefined) throw new Error('two nodes');
    const hello11 = async (server: LicenseServer) => {
      const raw = await rawConnect(server.port);
      cleanups.push(() => raw.close());
      await raw.next((f) => f.type === 'greeting');
      expect((await raw.request('hello', { version: '1.1' })).ok).toBe(true);
      return raw;
    };
    const onA = await hello11(a.server);
    const onB = await hello11(b.server);
    expect((await acquire(onA, 'L')).result).toMatchObject({ reclaimed: false, epoch: 1 });
    // The client moves L to B (a reclaim): a new epoch.
    expect((await acquire(onB, 'L')).result).toMatchObject({ reclaimed: true, epoch: 2 });
    // A release with the old epoch through A, which no longer holds it, is stale: ignored, the lease lives on.
    expect((await onA.request('release', { leases: ['L'], epochs: [1] })).result).toEqual({
      released: [],
      unknown: ['L'],
    });
    expect(await b.server.inUse('FULL')).toBe(1);
    // A renewal through A moves it back (epoch 3), and says so.
    expect((await onA.request('renew', { leases: ['L'] })).result).toMatchObject({
      renewed: ['L'],
      epochs: { L: 3 },
    });
    // B's connection no longer holds it: its release with the epoch it knew (2) is stale too.
    expect((await onB.request('release', { leases: ['L'], epochs: [2] })).result).toMatchObject({
      unknown: ['L'],
    });
    expect(await b.server.inUse('FULL')).toBe(1);
    // The current epoch frees it, through whichever node.
    expect((await onB.request('release', { leases: ['L'], epochs: [3] })).result).toEqual({
      released: ['L'],
      unknown: [],
    });
    expect(await a.server.inUse('FULL')).toBe(0);
    // Epochs that do not match the leases are refused as a bad request.
    expect(code(await onA.request('release', { leases: ['x', 'y'], epochs: [1] }))).toBe(-54);
    // A 1.0 client sees no epochs (the golden 1.0 sessions are unchanged).
    const old = await hello(a.server);
    expect((await acquire(old, 'M')).result).not.toHaveProperty('epoch');
  });

  it('tells the holder of a lease another node took back: that node pushes lease-revoked at once', async () => {
    const {
      nodes: [a, b],
    } = await nodes(2, { FULL: 3 });
    if (a === undefined || b === undefined) throw new Error('two nodes');
    const onB = await hello(b.server);
    for (const id of ['x', 'y', 'z']) expect((await acquire(onB, id)).ok).toBe(true);
    // An operator revokes x through node A; then node A's pool shrinks to 1 (the newest, z and y, go).
    expect(await a.server.revoke('x')).toBe(true);
    const first = await onB.next((f) => f.push === 'lease-revoked');
    expect(first).toMatchObject({ leases: ['x'], code: -41, message: expect.stringMatching(/operator/) });
    await a.server.setLicenses('FULL', 1);
    const second = await onB.next((f) => f.push === 'lease-revoked' && f !== first);
    expect(second).toMatchObject({ leases: ['z'], code: -41, message: expect.stringMatching(/reduced/) });
    expect(await b.server.leases()).toEqual([expect.objectContaining({ id: 'y' })]);
    // Each notice is pushed once.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(onB.frames.filter((f) => f.push === 'lease-revoked')).toHaveLength(2);
  });

  it('releases a lease that moved to another node: the client sends the epoch it learnt there', async () => {
    const { nodes: two } = await nodes(2, { FULL: 1 });
    const [a, b] = two;
    if (a === undefined || b === undefined) throw new Error('two nodes');
    const client = await clientOf(a.server, b.server);
    const lease = await client.acquire('FULL');
    expect(lease.server).toBe(a.server.address);
    await a.server.close();
    await expect.poll(() => lease.server, { timeout: 5_000 }).toBe(b.server.address);
    await lease.release();
    expect(await b.server.inUse('FULL')).toBe(0);
    // The seat is free for the next caller at once, not after a TTL.
    const next = await client.acquire('FULL');
    expect(next.server).toBe(b.server.address);
  });

  it("announces one cluster from every node, so a client moves a lost node's leases at once, same ids", async () => {
    const { nodes: two } = await nodes(2, { FULL: 2 });
    const [a, b] = two;
    if (a === undefined || b === undefined) throw new Error('two nodes');
    const onA = await hello(a.server);
    const greeting = onA.frames.find((f) => f.ok === true)?.result as { cluster?: string; version?: string };
    expect(greeting.cluster).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.store.cluster).toBe(b.store.cluster);
    const client = await clientOf(a.server, b.server);
    const lease = await client.acquire('FULL');
    expect(lease.server).toBe(a.server.address);
    await a.server.close();
    await expect.poll(() => lease.server, { timeout: 5_000 }).toBe(b.server.address);
    expect(await b.server.leases()).toEqual([expect.objectContaining({ id: lease.id })]);
    expect(await b.server.inUse()).toBe(1);
  });

  it('keeps one FIFO queue across nodes: a release on one node serves the first waiter, on another', async () => {
    const {
      nodes: [a, b],
    } = await nodes(2, { FULL: 1 });
    if (a === undefined || b === undefined) throw new Error('two nodes');
    const holder = await hello(a.server);
    const first = await hello(b.server);
    const second = await hello(a.server);
    expect((await acquire(holder, 'h')).ok).toBe(true);
    first.send({ id: 1, op: 'acquire', lease: 'w1', feature: 'FULL', count: 1, wait: 10_000 });
    expect(await first.next((f) => f.push === 'queue-position')).toMatchObject({ position: 1 });
    second.send({ id: 1, op: 'acquire', lease: 'w2', feature: 'FULL', count: 1, wait: 10_000 });
    expect(await second.next((f) => f.push === 'queue-position')).toMatchObject({ position: 2 });
    await holder.request('release', { leases: ['h'] });
    // B hears of A's release through the database and grants its waiter, first in line.
    expect(await first.next((f) => f.id === 1, 5_000)).toMatchObject({ ok: true, result: { lease: 'w1' } });
    expect(second.frames.some((f) => f.id === 1)).toBe(false);
    expect(await second.next((f) => f.push === 'queue-position' && f.position === 1, 5_000)).toBeTruthy();
    await first.request('release', { leases: ['w1'] });
    expect(await second.next((f) => f.id === 1, 5_000)).toMatchObject({ ok: true, result: { lease: 'w2' } });
  });

  it('drops the waiters of a node that left, so the queue behind them moves', async () => {
    const {
      nodes: [a, b],
    } = await nodes(2, { FULL: 1 });
    if (a === undefined || b === undefined) throw new Error('two nodes');
    const holder = await hello(a.server);
    const stuck = await hello(b.server);
    const next = await hello(a.server);
    expect((await acquire(holder, 'h')).ok).toBe(true);
    stuck.send({ id: 1, op: 'acquire', lease: 'w1', feature: 'FULL', count: 1, wait: 60_000 });
    await stuck.next((f) => f.push === 'queue-position');
    next.send({ id: 1, op: 'acquire', lease: 'w2', feature: 'FULL', count: 1, wait: 60_000 });
    await next.next((f) => f.push === 'queue-position');
    // Node B goes (a SIGSTOPped or killed node is tried as a process in serve-nodes.test.ts).
    await b.store.close();
    await holder.request('release', { leases: ['h'] });
    // Within 5 heartbeats (1 s) A drops B's waiter and grants its own.
    expect(await next.next((f) => f.id === 1, 5_000)).toMatchObject({ ok: true, result: { lease: 'w2' } });
  });

  it('never grants past a pool under a storm of acquires on three nodes; an unlocked grant would', async () => {
    const { url, nodes: three } = await nodes(3, { FULL: 5 });
    const clients = await Promise.all(three.flatMap(({ server }) => [hello(server), hello(server)]));
    let granted = 0;
    await Promise.all(
      clients.map(async (raw, c) => {
        for (let i = 0; i < 30; i += 1) {
          const answer = await acquire(raw, `c${c}-${i}`);
          if (answer.ok === true) {
            granted += 1;
            if (i % 3 === 0) await raw.request('release', { leases: [`c${c}-${i}`] });
          }
        }
      }),
    );
    expect(granted).toBeGreaterThanOrEqual(5);
    const pg8 = (await import('pg')).default;
    const monitor = new pg8.Client({ connectionString: url });
    await monitor.connect();
    cleanups.push(() => monitor.end());
    const live = async () =>
      Number(
        (await monitor.query('SELECT coalesce(sum(count), 0)::int AS n FROM lv_license_live_leases')).rows[0]
          .n,
      );
    expect(await live()).toBeLessThanOrEqual(5);
    // The negative control: the same check-then-insert without the pool's lock, from six connections at once,
    // overbooks, and the same monitor sees it.
    await monitor.query('DELETE FROM lv_license_leases');
    const racers = await Promise.all(
      Array.from({ length: 6 }, async () => {
        const racer = new pg8.Client({ connectionString: url });
        await racer.connect();
        cleanups.push(() => racer.end());
        return racer;
      }),
    );
    await Promise.all(
      racers.map(async (racer, r) => {
        for (let i = 0; i < 10; i += 1) {
          await racer.query('BEGIN');
          const used = Number(
            (await racer.query('SELECT coalesce(sum(count), 0)::int AS n FROM lv_license_live_leases'))
              .rows[0].n,
          );
          await new Promise((resolve) => setTimeout(resolve, 2));
          if (used < 5) {
            await racer.query(
              `WITH s AS (INSERT INTO lv_license_sessions (id, node, expires_at)
                 VALUES ($1, 'unlocked', now() + interval '1 minute') RETURNING id)
               INSERT INTO lv_license_leases (account, id, feature, count, granted_at, expires_at, node, owner, session)
               SELECT '', $1, 'FULL', 1, now(), now() + interval '1 minute', 'unlocked', 0, s.id FROM s`,
              [`r${r}-${i}`],
            );
          }
          await racer.query('COMMIT');
        }
      }),
    );
    expect(await live()).toBeGreaterThan(5);
  });
});

describe.skipIf(!postgresAvailable)('a 1.3 client of a PostgresStore server: compact batch answers', () => {
  const pg = usePostgres();
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('gives the client the epochs of its batched grants (the compact answer), and its releases send them back', async () => {
    const url = await pg.database('compact');
    const store = await PostgresStore.connect({ connectionString: url, leaseTtl: 30_000, migrate: true });
    const server = await LicenseServer.start({ port: 0, store, licenses: { FULL: 8 } });
    cleanups.push(
      () => store.close(),
      () => server.close(),
    );
    // Covers what no other test does: a real fenced store's epochs through the compact answer (the
    // connection tests use a scripted server, the server's unit test no client).
    const proxy = await frameProxy(server.port);
    const client = new LicenseClient({ servers: proxy.address, licenseCachePeriod: 0 });
    cleanups.push(() => client.close());
    await client.connect();
    const leases = await Promise.all(Array.from({ length: 8 }, () => client.acquire('FULL')));
    expect(await server.inUse('FULL')).toBe(8);
    await Promise.all(leases.map((lease) => lease.release()));
    expect(await server.inUse('FULL')).toBe(0);
    expect(client.status().leases).toEqual([]);

    const answers = proxy.toClient.flatMap((frame) => {
      const result = frame.result as { granted?: number[]; epochs?: number[] } | undefined;
      return result?.granted === undefined ? [] : [result];
    });
    // The grants came compact, each with its epoch.
    expect(answers.flatMap((a) => a.granted)).toHaveLength(8);
    const epochs = answers.flatMap((a) => a.epochs ?? []);
    expect(epochs).toHaveLength(8);
    const epochOf = new Map<string, number>();
    const requests = proxy.toServer.flatMap((frame) =>
      frame.op === 'batch' ? (frame.requests as Array<Record<string, unknown>>) : [frame],
    );
    for (const answer of answers) {
      answer.granted?.forEach((id, index) => {
        const request = requests.find((r) => r.id === id);
        epochOf.set(request?.lease as string, answer.epochs?.[index] as number);
      });
    }
    // Each release names the epoch the compact answer gave for its lease.
    const released = requests.filter((r) => r.op === 'release');
    expect(released.length).toBeGreaterThan(0);
    for (const release of released) {
      const ids = release.leases as string[];
      expect(release.epochs).toEqual(ids.map((id) => epochOf.get(id)));
    }
  });
});
