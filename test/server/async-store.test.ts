/**
 * The engine over a store that answers late and out of order, as one on a database does: the rules hold
 * (requests of one connection in order, no pool past its total, waiters served, seats back at the end),
 * over real sockets, with the real client.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LicenseClient } from '../../src/index.js';
import {
  type AcquireRequest,
  LicenseServer,
  type LicenseStore,
  MemoryStore,
} from '../../src/server/index.js';
import { MAX_RUN } from '../../src/server/lease-run.js';
import { FAST } from '../helpers/cluster.js';
import { HookStore } from '../helpers/hook-store.js';
import { type RawClient, rawConnect } from '../helpers/raw-client.js';
import { SlowStore } from '../helpers/slow-store.js';
import { countTurns } from '../helpers/turns.js';

const servers: LicenseServer[] = [];
const raws: RawClient[] = [];
const clients: LicenseClient[] = [];

afterEach(async () => {
  for (const raw of raws.splice(0)) raw.close();
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(store: LicenseStore, licenses: Record<string, number>): Promise<LicenseServer> {
  const server = await LicenseServer.start({ port: 0, store, licenses });
  servers.push(server);
  return server;
}

/** Holds every acquire `store` is asked for until `open()`; `started` names them in the order they came. */
function holdAcquires(store: HookStore): { started: string[]; open: () => void } {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const started: string[] = [];
  store.before.acquire = async (args) => {
    started.push(`acquire ${(args[0] as AcquireRequest).id}`);
    await gate;
  };
  return { started, open: () => release() };
}

async function hello(server: LicenseServer): Promise<RawClient> {
  const raw = await rawConnect(server.port);
  raws.push(raw);
  await raw.next((f) => f.type === 'greeting');
  expect((await raw.request('hello', { version: '1.0' })).ok).toBe(true);
  return raw;
}

describe('LicenseServer over a slow store', () => {
  it('works on one batch frame per turn of the event loop: the answer to one leaves before the next is read', async () => {
    const store = new HookStore();
    const server = await start(store, { FULL: 10 });
    const raw = await rawConnect(server.port);
    raws.push(raw);
    await raw.next((f) => f.type === 'greeting');
    await raw.request('hello', { version: '1.2' });
    const turn = countTurns();
    const turns: Record<string, number> = {};
    store.before.acquire = (args) => {
      turns[(args[0] as AcquireRequest).id] = turn.now();
    };
    const batch = (id: number, leases: string[]) =>
      JSON.stringify({
        id,
        op: 'batch',
        requests: leases.map((lease, i) => ({
          id: id + 1 + i,
          op: 'acquire',
          lease,
          feature: 'FULL',
          count: 1,
        })),
      });
    // Two batch frames in one write: the server reads them together.
    raw.sendRaw(`${batch(100, ['p-1', 'p-2'])}\n${batch(200, ['p-3', 'p-4'])}\n`);
    await raw.next((f) => f.id === 200);
    turn.stop();
    expect(raw.frames.filter((f) => f.id === 100 || f.id === 200).map((f) => f.ok)).toEqual([true, true]);
    // One turn for each frame: the first answer was written (at the end of its tick) before the second
    // frame's acquires started, so a client works on it while the server works on the next.
    expect(turns['p-2']).toBe(turns['p-1']);
    expect(turns['p-3']).toBeGreaterThan(turns['p-2'] as number);
    expect(turns['p-4']).toBe(turns['p-3']);
    expect(await server.inUse()).toBe(4);
  });

  it("handles one connection's pipelined requests in the order they were sent", async () => {
    const store = new SlowStore();
    const server = await start(store, { FULL: 1 });
    const raw = await hello(server);
    // One write: acquire and release the one seat 40 times, the same lease id each time.
    const frames: string[] = [];
    for (let i = 0; i < 40; i += 1) {
      frames.push(JSON.stringify({ id: 2 * i + 1, op: 'acquire', lease: 'p', feature: 'FULL', count: 1 }));
      frames.push(JSON.stringify({ id: 2 * i + 2, op: 'release', leases: ['p'] }));
    }
    raw.sendRaw(`${frames.join('\n')}\n`);
    await raw.next((f) => f.id === 80, 10_000);
    const answers = raw.frames.filter((f) => typeof f.id === 'number' && (f.id as number) <= 80);
    expect(answers.map((f) => f.id)).toEqual(Array.from({ length: 80 }, (_, i) => i + 1));
    for (const answer of answers) {
      expect(answer.ok).toBe(true);
      if ((answer.id as number) % 2 === 1) expect(answer.result).toMatchObject({ reclaimed: false });
      else expect(answer.result).toEqual({ released: ['p'], unknown: [] });
    }
    expect(await server.inUse()).toBe(0);
  });

  it('gives consecutive acquires of other leases to the store together, and holds back what would not join them', async () => {
    const store = new HookStore();
    const { started, open } = holdAcquires(store);
    store.before.release = (args) => {
      started.push(`release ${(args[1] as string[]).join()}`);
    };
    const server = await start(store, { FULL: 2 });
    const raw = await hello(server);
    const frames = [
      { id: 1, op: 'acquire', lease: 'a', feature: 'FULL', count: 1 },
      { id: 2, op: 'acquire', lease: 'b', feature: 'FULL', count: 1 },
      { id: 3, op: 'acquire', lease: 'c', feature: 'FULL', count: 1 },
      { id: 4, op: 'acquire', lease: 'a', feature: 'FULL', count: 1 },
      { id: 5, op: 'release', leases: ['b'] },
      { id: 6, op: 'acquire', lease: 'd', feature: 'FULL', count: 1 },
    ];
    raw.sendRaw(frames.map((frame) => `${JSON.stringify(frame)}\n`).join(''));
    // The first three are with the store at once; the fourth names a lease the run names, so it waits.
    await vi.waitFor(() => expect(started).toEqual(['acquire a', 'acquire b', 'acquire c']));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(started).toHaveLength(3);
    expect(raw.frames.filter((f) => typeof f.id === 'number' && (f.id as number) <= 6)).toEqual([]);
    open();
    await raw.next((f) => f.id === 6);
    expect(started).toEqual(['acquire a', 'acquire b', 'acquire c', 'acquire a', 'release b', 'acquire d']);
    // The answers one after the other gives: the pool of two refuses the third; the re-sent one reclaims;
    // the release frees the seat the last one takes.
    const answer = (id: number) => raw.frames.find((f) => f.id === id);
    expect(answer(1)).toMatchObject({ ok: true, result: { lease: 'a', reclaimed: false } });
    expect(answer(2)).toMatchObject({ ok: true, result: { lease: 'b', reclaimed: false } });
    expect(answer(3)).toMatchObject({ ok: false, error: { code: -26 } });
    expect(answer(4)).toMatchObject({ ok: true, result: { lease: 'a', reclaimed: true } });
    expect(answer(5)).toMatchObject({ ok: true, result: { released: ['b'], unknown: [] } });
    expect(answer(6)).toMatchObject({ ok: true, result: { lease: 'd', reclaimed: false } });
    expect(await server.inUse()).toBe(2);
  });

  it("keeps at most a run's limit of one connection's requests with the store, and the rest in its inbox", async () => {
    const store = new HookStore();
    const { started, open } = holdAcquires(store);
    const server = await start(store, { FULL: 1 });
    const raw = await hello(server);
    const count = 5_000;
    let text = '';
    for (let i = 0; i < count; i += 1) {
      text += `${JSON.stringify({ id: 10_000 + i, op: 'acquire', lease: `l${i}`, feature: 'FULL', count: 1 })}\n`;
    }
    raw.sendRaw(text);
    await vi.waitFor(() => expect(started).toHaveLength(MAX_RUN));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(started).toHaveLength(MAX_RUN);
    open();
    await raw.next((f) => f.id === 10_000 + count - 1, 20_000);
    expect(started).toHaveLength(count);
    // One seat: the first request gets it, every other one is refused.
    const answers = raw.frames.filter((f) => typeof f.id === 'number' && f.id >= 10_000);
    expect(answers).toHaveLength(count);
    expect(answers.filter((f) => f.ok === true).map((f) => f.id)).toEqual([10_000]);
  }, 30_000);

  it('grants a waiter when a seat frees, and answers a re-sent wait once each', async () => {
    const store = new SlowStore();
    const server = await start(store, { FULL: 1 });
    const holder = await hello(server);
    const waiter = await hello(server);
    expect((await holder.request('acquire', { lease: 'h', feature: 'FULL', count: 1 })).ok).toBe(true);
    waiter.send({ id: 1, op: 'acquire', lease: 'w', feature: 'FULL', count: 1, wait: 5_000 });
    await waiter.next((f) => f.push === 'queue-position');
    // Re-sent on the same connection: the first request is answered (taken over), the second waits on.
    waiter.send({ id: 2, op: 'acquire', lease: 'w', feature: 'FULL', count: 1, wait: 5_000 });
    expect(await waiter.next((f) => f.id === 1)).toMatchObject({ ok: false, error: { code: -3 } });
    // A re-send that asks for something else is refused, and the waiting request is left as it was.
    waiter.send({ id: 3, op: 'acquire', lease: 'w', feature: 'FULL', count: 2, wait: 5_000 });
    expect(await waiter.next((f) => f.id === 3)).toMatchObject({ ok: false });
    expect(waiter.frames.some((f) => f.id === 2)).toBe(false);
    await holder.request('release', { leases: ['h'] });
    expect(await waiter.next((f) => f.id === 2)).toMatchObject({ ok: true, result: { lease: 'w' } });
    expect(await server.inUse()).toBe(1);
  });

  it('keeps every pool within its total under many clients, and ends with every seat back', async () => {
    const store = new SlowStore();
    const server = await start(store, { FULL: 5, TTS: 2 });
    for (let c = 0; c < 4; c += 1) {
      clients.push(new LicenseClient({ servers: server.address, ...FAST, operationTimeout: 10_000 }));
    }
    let granted = 0;
    let busy = 0;
    await Promise.all(
      clients.flatMap((client) =>
        Array.from({ length: 6 }, async (_, i) => {
          for (let round = 0; round < 5; round += 1) {
            try {
              const lease = await client.acquire(i % 3 === 0 ? 'TTS' : 'FULL', { wait: 2_000 });
              granted += 1;
              await new Promise((resolve) => setTimeout(resolve, Math.random() * 5));
              await lease.release();
            } catch (err) {
              busy += 1;
              expect((err as { code?: number }).code).toBe(-26);
            }
          }
        }),
      ),
    );
    expect(granted).toBeGreaterThan(0);
    expect(granted + busy).toBe(4 * 6 * 5);
    expect(store.overbooked).toEqual([]);
    expect(await server.inUse()).toBe(0);
    expect(await server.pools()).toEqual([
      { account: '', feature: 'FULL', total: 5, inUse: 0, queued: 0 },
      { account: '', feature: 'TTS', total: 2, inUse: 0, queued: 0 },
    ]);
  });

  it('revokes the newest leases when a pool shrinks, and a drain hands back every seat', async () => {
    const store = new SlowStore();
    const server = await start(store, { FULL: 3 });
    const raw = await hello(server);
    for (const lease of ['a', 'b', 'c']) {
      expect((await raw.request('acquire', { lease, feature: 'FULL', count: 1 })).ok).toBe(true);
    }
    await server.setLicenses('FULL', 1);
    const push = await raw.next((f) => f.push === 'lease-revoked');
    expect([...(push.leases as string[])].sort()).toEqual(['b', 'c']);
    expect((await server.leases()).map((l) => l.id)).toEqual(['a']);
    await server.drain({ timeout: 200 });
    expect(store.inner.inUseNow()).toBe(0);
    expect(raw.frames.some((f) => f.push === 'shutdown')).toBe(true);
  });

  it('answers -22 while its store is unreachable, so the client takes the seat from its next server', async () => {
    const broken = new SlowStore();
    const a = await start(broken, { FULL: 2 });
    const b = await start(new MemoryStore(), { FULL: 2 });
    const lines: string[] = [];
    const c = await LicenseServer.start({
      port: 0,
      store: broken,
      licenses: { FULL: 2 },
      log: (l) => lines.push(l),
    });
    servers.push(c);
    broken.down = true;
    const raw = await hello(c);
    const refused = await raw.request('acquire', { lease: 'x', feature: 'FULL', count: 1 });
    expect(refused).toMatchObject({ ok: false, error: { code: -22 } });
    expect(lines.some((l) => l.includes('the license store is unavailable: the database refused'))).toBe(
      true,
    );
    const client = new LicenseClient({ servers: `${a.address};${b.address}`, ...FAST });
    clients.push(client);
    const lease = await client.acquire('FULL');
    expect(lease.server).toBe(b.address);
    expect(await b.inUse()).toBe(1);
    broken.down = false;
    expect(await a.inUse()).toBe(0);
  });
});
