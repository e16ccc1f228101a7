/**
 * LeaseKeeper alone: a stub of the servers (leases/lease-servers.ts) and fake timers, so grace,
 * migration, loss and orphan release run in milliseconds. The socket-level behaviour is in test/client.
 */
import { EventEmitter } from 'eventemitter3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LicensesExceededError, LicensesExpiredError, SocketsError } from '../../src/errors.js';
import { LeaseKeeper } from '../../src/leases/lease-keeper.js';
import type { LeaseRef, LeaseServerEvents, LeaseServers } from '../../src/leases/lease-servers.js';
import { LeaseTable, type TrackedLease } from '../../src/leases/lease-table.js';

const TTL = 3_000;
const GRACE = 1_000;

/** Servers that hold seats in memory, can go down and come back, and record every call. */
class StubServers extends EventEmitter<LeaseServerEvents> implements LeaseServers {
  readonly up = new Set<string>();
  /** Seats each server holds, by lease id. */
  readonly seats = new Map<string, Set<string>>();
  /** Free seats per server, for acquires. */
  readonly room = new Map<string, number>();
  /** Servers whose reacquire answers "the seat is gone". */
  readonly gone = new Set<string>();
  readonly calls: string[] = [];
  /** Holds reacquire answers until released, to test what happens meanwhile. */
  hold: Promise<void> | undefined;
  /** The cluster each server announced (protocol 1.1), if any. */
  readonly clusters = new Map<string, string>();

  constructor(...servers: string[]) {
    super();
    for (const server of servers) {
      this.up.add(server);
      this.seats.set(server, new Set());
      this.room.set(server, 10);
    }
  }

  isUp(server: string): boolean {
    return this.up.has(server);
  }

  leaseTtl(): number {
    return TTL;
  }

  samePool(a: string, b: string): boolean {
    const cluster = this.clusters.get(a);
    return cluster !== undefined && a !== b && this.clusters.get(b) === cluster;
  }

  clusterPeerUp(server: string): string | undefined {
    return [...this.up].find((other) => this.samePool(server, other));
  }

  async renew(server: string, leases: readonly string[]): Promise<Set<string>> {
    this.#reach(server, `renew ${leases.join(',')}`);
    const seats = this.#seats(server);
    return new Set(leases.filter((id) => !seats.has(id)));
  }

  async release(server: string, leases: readonly string[]): Promise<void> {
    this.#reach(server, `release ${leases.join(',')}`);
    for (const id of leases) this.#seats(server).delete(id);
  }

  async reacquire(server: string, lease: LeaseRef): Promise<void> {
    this.#reach(server, `reacquire ${lease.id}`);
    await this.hold;
    if (this.gone.has(server)) throw new LicensesExceededError('the seat went to someone else', { server });
    this.#seats(server).add(lease.id);
  }

  async acquireElsewhere(lease: LeaseRef, from: string): Promise<string> {
    this.calls.push(`elsewhere ${lease.id} from ${from}`);
    for (const [server, free] of this.room) {
      if (server === from || !this.up.has(server) || free < lease.count) continue;
      this.room.set(server, free - lease.count);
      this.#seats(server).add(lease.id);
      return server;
    }
    throw new LicensesExceededError('no room anywhere');
  }

  /** The server's connection is lost. */
  drop(server: string): void {
    this.up.delete(server);
    this.emit('disconnect', { server, error: new SocketsError('lost', { server }) });
  }

  /** The server is back. */
  back(server: string): void {
    this.up.add(server);
    this.emit('connect', { server, reconnected: true });
  }

  #reach(server: string, call: string): void {
    this.calls.push(`${server} ${call}`);
    if (!this.up.has(server)) throw new SocketsError(`${server} is not connected`, { server });
  }

  #seats(server: string): Set<string> {
    const seats = this.seats.get(server) ?? new Set<string>();
    this.seats.set(server, seats);
    return seats;
  }
}

let servers: StubServers;
let table: LeaseTable;
let keeper: LeaseKeeper;
let events: Array<{ name: string; lease: string; detail?: unknown }>;

function start(...names: string[]) {
  servers = new StubServers(...names);
  table = new LeaseTable();
  keeper = new LeaseKeeper({
    servers,
    table,
    gracePeriod: GRACE,
    migrationTimeout: 500,
    log: () => {},
  });
  events = [];
  keeper.on('reclaimed', ({ record, server }) =>
    events.push({ name: 'reclaimed', lease: record.id, detail: server }),
  );
  keeper.on('migrated', ({ record, to }) => events.push({ name: 'migrated', lease: record.id, detail: to }));
  keeper.on('lost', ({ record, error }) => events.push({ name: 'lost', lease: record.id, detail: error }));
}

/** A lease granted on `server` and handed to the keeper. */
function grant(id: string, server: string): TrackedLease {
  servers.seats.get(server)?.add(id);
  const record: TrackedLease = { id, feature: 'FULL', count: 1, server, state: 'held' };
  keeper.track(record);
  return record;
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  keeper.close();
  expect(vi.getTimerCount()).toBe(0);
  vi.useRealTimers();
});

describe('LeaseKeeper', () => {
  it('renews every lease of a server in one call, every third of its TTL', async () => {
    start('a:1');
    grant('L1', 'a:1');
    grant('L2', 'a:1');
    await vi.advanceTimersByTimeAsync(TTL / 3 - 1);
    expect(servers.calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(servers.calls).toEqual(['a:1 renew L1,L2']);
    await vi.advanceTimersByTimeAsync(TTL / 3);
    expect(servers.calls).toEqual(['a:1 renew L1,L2', 'a:1 renew L1,L2']);
  });

  it('a lease the server forgot is reclaimed under its id at the next heartbeat', async () => {
    start('a:1');
    const lease = grant('L1', 'a:1');
    servers.seats.get('a:1')?.clear();
    await vi.advanceTimersByTimeAsync(TTL / 3);
    expect(servers.calls).toEqual(['a:1 renew L1', 'a:1 reacquire L1']);
    expect(lease.state).toBe('held');
    expect(servers.seats.get('a:1')?.has('L1')).toBe(true);
    expect(events).toEqual([{ name: 'reclaimed', lease: 'L1', detail: 'a:1' }]);
  });

  it('a server back within the grace period gets its leases reclaimed, not moved', async () => {
    start('a:1', 'b:1');
    const lease = grant('L1', 'a:1');
    servers.drop('a:1');
    expect(lease.state).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(GRACE - 1);
    servers.back('a:1');
    await vi.advanceTimersByTimeAsync(GRACE);
    expect(lease).toMatchObject({ state: 'held', server: 'a:1' });
    expect(events.map((e) => e.name)).toEqual(['reclaimed']);
    expect(servers.calls.filter((c) => c.startsWith('elsewhere'))).toEqual([]);
  });

  it('after the grace period the leases migrate, and the old server is told to let go when it returns', async () => {
    start('a:1', 'b:1');
    const lease = grant('L1', 'a:1');
    servers.drop('a:1');
    await vi.advanceTimersByTimeAsync(GRACE);
    expect(lease).toMatchObject({ state: 'held', server: 'b:1' });
    expect(events).toEqual([{ name: 'migrated', lease: 'L1', detail: 'b:1' }]);
    expect(table.onServer('b:1').map((r) => r.id)).toEqual(['L1']);

    servers.back('a:1');
    await vi.advanceTimersByTimeAsync(0);
    expect(servers.calls).toContain('a:1 release L1');
    expect(servers.seats.get('a:1')?.has('L1')).toBe(false);
    expect(servers.seats.get('b:1')?.has('L1')).toBe(true);
  });

  it("within one cluster a lost node's leases move at once, with no grace wait and no release at the old node", async () => {
    start('a:1', 'b:1');
    servers.clusters.set('a:1', 'pool-1');
    servers.clusters.set('b:1', 'pool-1');
    const lease = grant('L1', 'a:1');
    servers.drop('a:1');
    await vi.advanceTimersByTimeAsync(0);
    expect(lease).toMatchObject({ state: 'held', server: 'b:1' });
    expect(events).toEqual([{ name: 'migrated', lease: 'L1', detail: 'b:1' }]);
    servers.back('a:1');
    await vi.advanceTimersByTimeAsync(GRACE);
    // The same lease lives on b: a release through a would end it.
    expect(servers.calls.filter((call) => call.startsWith('a:1 release'))).toEqual([]);
  });

  it('a lease no server can take is lost, with LicensesExpiredError, and released at home when it returns', async () => {
    start('a:1', 'b:1');
    servers.room.set('b:1', 0);
    const lease = grant('L1', 'a:1');
    servers.drop('a:1');
    await vi.advanceTimersByTimeAsync(GRACE);
    expect(lease.state).toBe('lost');
    expect(events.map((e) => e.name)).toEqual(['lost']);
    expect(events[0]?.detail).toBeInstanceOf(LicensesExpiredError);
    expect(lease.lostError?.message).toContain('a:1 stayed unreachable');

    servers.back('a:1');
    await vi.advanceTimersByTimeAsync(0);
    expect(servers.calls).toContain('a:1 release L1');
    // A lost lease is not reclaimed: the app was told, and its port fails with -41.
    expect(lease.state).toBe('lost');
  });

  it('a reclaim that finds the seat gone moves the lease elsewhere at once', async () => {
    start('a:1', 'b:1');
    const lease = grant('L1', 'a:1');
    servers.drop('a:1');
    servers.gone.add('a:1');
    servers.back('a:1');
    await vi.advanceTimersByTimeAsync(0);
    expect(lease).toMatchObject({ state: 'held', server: 'b:1' });
    expect(events.map((e) => e.name)).toEqual(['migrated']);
  });

  it('a lease released while its reclaim is in flight gives the reclaimed seat back', async () => {
    start('a:1');
    grant('L1', 'a:1');
    servers.drop('a:1');
    let answer: () => void = () => {};
    servers.hold = new Promise<void>((resolve) => {
      answer = resolve;
    });
    servers.back('a:1');
    await vi.advanceTimersByTimeAsync(0);
    expect(table.get('L1')?.state).toBe('reclaiming');
    await keeper.release(['L1']);
    answer();
    await vi.advanceTimersByTimeAsync(0);
    expect(servers.seats.get('a:1')?.has('L1')).toBe(false);
    expect(events).toEqual([]);
    expect(table.size).toBe(0);
  });

  it('a revoked lease moves to another server at once', async () => {
    start('a:1', 'b:1');
    const lease = grant('L1', 'a:1');
    servers.emit('push', { push: 'lease-revoked', leases: ['L1'], code: -41, message: 'pool shrunk' }, 'a:1');
    await vi.advanceTimersByTimeAsync(0);
    expect(lease).toMatchObject({ state: 'held', server: 'b:1' });
  });

  it('an id whose acquire was never answered is released now on a connected server, later on a lost one', async () => {
    start('a:1', 'b:1');
    servers.seats.get('a:1')?.add('U1');
    servers.emit('uncertain', { server: 'a:1', lease: 'U1' });
    await vi.advanceTimersByTimeAsync(0);
    expect(servers.calls).toEqual(['a:1 release U1']);

    servers.up.delete('b:1');
    servers.seats.get('b:1')?.add('U2');
    servers.emit('uncertain', { server: 'b:1', lease: 'U2' });
    await vi.advanceTimersByTimeAsync(0);
    expect(servers.seats.get('b:1')?.has('U2')).toBe(true);
    servers.back('b:1');
    await vi.advanceTimersByTimeAsync(0);
    expect(servers.seats.get('b:1')?.has('U2')).toBe(false);
  });

  it('releaseEverything() gives back the leases and the uncertain ids of every reachable server', async () => {
    start('a:1', 'b:1');
    grant('L1', 'a:1');
    grant('L2', 'b:1');
    servers.up.delete('b:1');
    servers.seats.get('b:1')?.add('U1');
    servers.emit('uncertain', { server: 'b:1', lease: 'U1' });
    servers.up.add('b:1');
    await keeper.releaseEverything();
    expect(servers.seats.get('a:1')?.size).toBe(0);
    expect(servers.seats.get('b:1')?.size).toBe(0);
    expect(table.size).toBe(0);
  });

  it('close() stops every timer, heartbeats and grace periods alike', async () => {
    start('a:1', 'b:1');
    grant('L1', 'a:1');
    grant('L2', 'b:1');
    servers.drop('a:1');
    expect(vi.getTimerCount()).toBe(2);
    keeper.close();
    expect(vi.getTimerCount()).toBe(0);
  });
});
