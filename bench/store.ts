/**
 * `npm run bench:store`: the PostgreSQL store against a bare `pg` baseline measured in the same run, on a
 * durable PostgreSQL of its own (fsync on; 127.0.0.1). Baseline: a single-row insert-then-delete, one
 * transaction each (two transactions per pair). Prints the pair latency one at a time (store calls, and the
 * real client through a server node) and grants per second with 256 in flight: one client through a node
 * (its pipelined calls reach the store together), and store calls across two nodes on 40 pools and on one
 * hot pool, each as a ratio to the bare transactions at the same concurrency.
 */
import { availableParallelism, cpus } from 'node:os';
import pg from 'pg';
import { LicenseClient } from '../src/index.js';
import { LicenseServer, PostgresStore } from '../src/server/index.js';
import { startPostgres } from '../test/helpers/postgres.js';

const quick = process.argv.includes('--quick');
const PAIRS = quick ? 200 : 2_000;
const SECONDS = quick ? 2 : 6;
const IN_FLIGHT = 256;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

const db = await startPostgres({ durable: true });
try {
  const url = await db.database('bench');
  const setup = new pg.Client({ connectionString: url });
  await setup.connect();
  await setup.query('CREATE TABLE bare (id text PRIMARY KEY, n int)');
  await setup.end();
  const bare = [
    new pg.Pool({ connectionString: url, max: 10 }),
    new pg.Pool({ connectionString: url, max: 10 }),
  ];
  for (const pool of bare) pool.on('error', () => {}); // the database stopping at the end
  let bareId = 0;
  const barePair = async (pool: pg.Pool) => {
    const id = `b${bareId++}`;
    await pool.query('INSERT INTO bare (id, n) VALUES ($1, 1)', [id]); // one transaction (autocommit)
    await pool.query('DELETE FROM bare WHERE id = $1', [id]);
  };
  const stores = [
    await PostgresStore.connect({ connectionString: url, migrate: true }),
    await PostgresStore.connect({ connectionString: url }),
  ];
  for (let p = 0; p < 40; p += 1) await stores[0]?.setTotal('bench', `POOL${p}`, 1_000);
  await stores[0]?.setTotal('bench', 'HOT', 1_000);
  let leaseId = 0;
  const storePair = async (store: PostgresStore, feature: string) => {
    const id = `l${leaseId++}`;
    const outcome = await store.acquire({ account: 'bench', id, feature, count: 1, owner: 1, requestId: 1 });
    if (outcome.kind !== 'granted') throw new Error(`not granted: ${outcome.kind}`);
    await store.release('bench', [id]);
  };

  // One at a time, interleaved so that both see the same machine.
  const bareTimes: number[] = [];
  const storeTimes: number[] = [];
  for (let i = 0; i < PAIRS; i += 1) {
    let t = performance.now();
    await barePair(bare[0] as pg.Pool);
    bareTimes.push(performance.now() - t);
    t = performance.now();
    await storePair(stores[0] as PostgresStore, 'HOT');
    storeTimes.push(performance.now() - t);
  }
  // Through the real client and a server node.
  const server = await LicenseServer.start({
    port: 0,
    store: stores[0] as PostgresStore,
    licenses: { HOT: 1_000 },
  });
  const client = new LicenseClient({ servers: server.address, licenseCachePeriod: 0 });
  const clientTimes: number[] = [];
  for (let i = 0; i < PAIRS / 2; i += 1) {
    const t = performance.now();
    const lease = await client.acquire('HOT');
    await lease.release();
    clientTimes.push(performance.now() - t);
  }
  await client.close();

  /** Pairs per second of one client with `IN_FLIGHT` loops of acquire+release, through the server node. */
  const clientRate = async () => {
    const pipelined = new LicenseClient({ servers: server.address, licenseCachePeriod: 0 });
    await (await pipelined.acquire('HOT')).release();
    let done = 0;
    const until = performance.now() + SECONDS * 1000;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (performance.now() < until) {
          const lease = await pipelined.acquire('HOT');
          await lease.release();
          done += 1;
        }
      }),
    );
    await pipelined.close();
    return done / SECONDS;
  };
  const throughNode = await clientRate();
  await server.close();

  /** Pairs per second with `IN_FLIGHT` loops running `pair(i)` for `SECONDS`. */
  const rate = async (pair: (loop: number) => Promise<void>) => {
    let done = 0;
    const until = performance.now() + SECONDS * 1000;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async (_, loop) => {
        while (performance.now() < until) {
          await pair(loop);
          done += 1;
        }
      }),
    );
    return done / SECONDS;
  };
  const bareRate = await rate((loop) => barePair(bare[loop % 2] as pg.Pool));
  const manyRate = await rate((loop) => storePair(stores[loop % 2] as PostgresStore, `POOL${loop % 40}`));
  const hotRate = await rate((loop) => storePair(stores[loop % 2] as PostgresStore, 'HOT'));

  const b = median(bareTimes);
  console.log(
    `machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}), Node ${process.version}`,
  );
  console.log('| figure | value | bare baseline | ratio |');
  console.log('| --- | ---: | ---: | ---: |');
  console.log(
    `| acquire+release pair, store calls, one at a time (median) | ${median(storeTimes).toFixed(2)} ms | ${b.toFixed(2)} ms (2 transactions) | ${(median(storeTimes) / b).toFixed(2)}x |`,
  );
  console.log(
    `| acquire+release pair, client through a node (median) | ${median(clientTimes).toFixed(2)} ms | ${b.toFixed(2)} ms | ${(median(clientTimes) / b).toFixed(2)}x |`,
  );
  console.log(
    `| pairs/s, ${IN_FLIGHT} in flight, one client through a node, one hot pool | ${Math.round(throughNode)}/s | ${Math.round(bareRate)}/s | ${(throughNode / bareRate).toFixed(2)}x |`,
  );
  console.log(
    `| pairs/s, ${IN_FLIGHT} in flight, 2 nodes, 40 pools | ${Math.round(manyRate)}/s | ${Math.round(bareRate)}/s | ${(manyRate / bareRate).toFixed(2)}x |`,
  );
  console.log(
    `| pairs/s, ${IN_FLIGHT} in flight, 2 nodes, one hot pool | ${Math.round(hotRate)}/s | ${Math.round(bareRate)}/s | ${(hotRate / bareRate).toFixed(2)}x |`,
  );
  for (const store of stores) await store.close();
  for (const pool of bare) await pool.end();
} finally {
  await db.stop();
}
