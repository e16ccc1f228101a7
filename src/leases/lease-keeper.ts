/**
 * Keeps the client's leases alive: one heartbeat frame per server renews all its leases; after a
 * reconnect the leases are reclaimed by id (never a second seat); if a server stays gone past the grace
 * period, its leases migrate to the next server with room; only when none can take them is a lease lost.
 * Every change of a lease's phase goes through {@link LeaseTable.transition}: a step that finishes after
 * the lease moved on (the app released it meanwhile) is refused there, and gives back what it took.
 */
import { EventEmitter } from 'eventemitter3';
import { DEFAULTS } from '../defaults.js';
import { asLicenseError, type LicenseError, LicensesExpiredError } from '../errors.js';
import type { LogFn } from '../log.js';
import type { Push } from '../protocol/messages.js';
import { timerDelay } from '../timing.js';
import type { LeaseServers } from './lease-servers.js';
import type { LeasePhase, LeaseTable, TrackedLease } from './lease-table.js';

/** The phase a heartbeat renews. */
const HELD: readonly LeasePhase[] = ['held'];

/** Options of a {@link LeaseKeeper}. */
export interface LeaseKeeperOptions {
  servers: LeaseServers;
  table: LeaseTable;
  /** Renew every this many ms; by default a third of the server's lease TTL. */
  heartbeatInterval?: number | undefined;
  /** How long seats wait for their server to come back before they migrate, in ms. */
  gracePeriod: number;
  /** Deadline of one migration attempt, in ms. */
  migrationTimeout: number;
  /** Where the keeper logs; secrets never reach it. */
  log: LogFn;
}

/** Events of a {@link LeaseKeeper}. */
export interface LeaseKeeperEvents {
  reclaimed: [info: { record: TrackedLease; server: string }];
  migrated: [info: { record: TrackedLease; from: string; to: string }];
  lost: [info: { record: TrackedLease; error: LicenseError }];
}

/** Heartbeats, reclaim, migration and loss of the client's leases. */
/** The outcome of a release with nothing to tell a server. */
const RESOLVED: Promise<void> = Promise.resolve();

export class LeaseKeeper extends EventEmitter<LeaseKeeperEvents> {
  readonly #servers: LeaseServers;
  readonly #table: LeaseTable;
  readonly #options: LeaseKeeperOptions;
  readonly #beats = new Map<string, NodeJS.Timeout>();
  readonly #graces = new Map<string, NodeJS.Timeout>();
  /** Lease ids a server may still hold that the client no longer wants there. */
  readonly #orphans = new Map<string, Set<string>>();
  #closed = false;
  /**
   * The migration in flight, per lease id: release() and close() wait for its outcome. (A reclaim needs no
   * wait: it went first, on the same connection as the release.)
   */
  readonly #steps = new Map<string, Promise<void>>();

  constructor(options: LeaseKeeperOptions) {
    super();
    this.#options = options;
    this.#servers = options.servers;
    this.#table = options.table;
    const { servers } = options;
    servers.on('connect', ({ server }) => this.#onConnect(server));
    servers.on('disconnect', ({ server }) => this.#onDisconnect(server));
    servers.on('push', (push, server) => this.#onPush(push, server));
    servers.on('uncertain', ({ server, lease }) => {
      this.#orphan(server, lease);
      // Give the seat back now if the server is there; otherwise when it comes back.
      if (servers.isUp(server)) void this.#releaseOrphans(server);
    });
  }

  /** Starts keeping a freshly granted lease. */
  track(record: TrackedLease): void {
    this.#table.add(record);
    this.#schedule(record.server);
  }

  /**
   * Gives leases back now. They leave the table at once; a server that cannot be told gets them back
   * when it returns (or when their TTL runs out).
   */
  async release(ids: readonly string[]): Promise<void> {
    const [only] = ids;
    if (ids.length === 1 && only !== undefined) return this.releaseOne(only);
    const steps = ids.map((id) => this.#steps.get(id)).filter((p) => p !== undefined);
    const byServer = new Map<string, string[]>();
    for (const id of ids) {
      const record = this.#table.get(id);
      if (record === undefined) continue;
      const lost = record.state === 'lost';
      this.#table.transition(record, 'released');
      this.#table.delete(id);
      if (!lost) byServer.set(record.server, [...(byServer.get(record.server) ?? []), id]);
    }
    const [first] = byServer;
    if (byServer.size === 1 && first !== undefined) {
      // One server (one lease, the common case): no array of promises to wait for.
      await this.#releaseOn(first[0], first[1]);
    } else {
      await Promise.all([...byServer].map(([server, leases]) => this.#releaseOn(server, leases)));
    }
    // A migration in flight may still take a seat elsewhere; it gives it back, and release() waits for that.
    if (steps.length > 0) await Promise.all(steps);
  }

  /**
   * {@link LeaseKeeper.release} of one id (every `lease.release()`): no maps or arrays to build, and no
   * promise of its own but a failure's.
   */
  releaseOne(id: string): Promise<void> {
    const step = this.#steps.get(id);
    const record = this.#table.get(id);
    if (record === undefined || step !== undefined) return this.#releaseStepping(id, record, step);
    const lost = record.state === 'lost';
    this.#table.transition(record, 'released');
    this.#table.delete(id);
    if (lost) return RESOLVED;
    const server = record.server;
    this.#schedule(server);
    return this.#servers.release(server, [id]).catch((err: unknown) => {
      this.#releaseFailed(server, [id], err);
      this.#schedule(server);
    });
  }

  /** {@link LeaseKeeper.releaseOne} of a lease that is not in the table, or that a migration is moving. */
  async #releaseStepping(
    id: string,
    record: TrackedLease | undefined,
    step: Promise<void> | undefined,
  ): Promise<void> {
    if (record !== undefined) {
      const lost = record.state === 'lost';
      this.#table.transition(record, 'released');
      this.#table.delete(id);
      if (!lost) await this.#releaseOn(record.server, [id]);
    }
    // A migration in flight may still take a seat elsewhere; it gives it back, and release() waits for that.
    if (step !== undefined) await step;
  }

  /** Gives `leases` back on `server`; what it cannot reach now is kept as orphans for later. */
  async #releaseOn(server: string, leases: string[]): Promise<void> {
    try {
      await this.#servers.release(server, leases);
    } catch (err) {
      this.#releaseFailed(server, leases, err);
    }
    this.#schedule(server);
  }

  /** `leases` could not be given back on `server` now: kept as orphans for when it is reachable. */
  #releaseFailed(server: string, leases: readonly string[], err: unknown): void {
    for (const id of leases) this.#orphan(server, id);
    this.#options.log(
      'warn',
      'release failed; the seats go back when the server is reachable again, or by their TTL',
      {
        server,
        leases,
        error: asLicenseError(err, server).message,
      },
    );
  }

  /** Gives back everything: the table's leases and the ids servers may still hold (the client is closing). */
  async releaseEverything(): Promise<void> {
    await Promise.all(this.#steps.values());
    await this.release(this.#table.all().map((r) => r.id));
    await Promise.all([...this.#orphans.keys()].map((server) => this.#releaseOrphans(server)));
  }

  /** Stops every timer. */
  close(): void {
    this.#closed = true;
    for (const timer of [...this.#beats.values(), ...this.#graces.values()]) clearTimeout(timer);
    this.#beats.clear();
    this.#graces.clear();
  }

  #interval(server: string): number {
    if (this.#options.heartbeatInterval !== undefined) return this.#options.heartbeatInterval;
    const ttl = this.#servers.leaseTtl(server) ?? DEFAULTS.leaseTtl;
    return Math.max(50, Math.floor(ttl / 3));
  }

  /**
   * Keeps one heartbeat timer per server that holds leases. An armed timer is left alone: restarting it
   * on every grant or release would starve the renewals of a busy client's long-held seats.
   */
  #schedule(server: string): void {
    if (this.#closed) {
      clearTimeout(this.#beats.get(server));
      this.#beats.delete(server);
      return;
    }
    // A timer armed while nothing is held is left to run out: its beat finds nothing and stops (a client
    // that acquires and releases one lease at a time would otherwise make and clear a timer per pair).
    if (this.#beats.has(server) || !(this.#table.hasOn(server, HELD) || this.#owes(server))) return;
    const timer = setTimeout(() => void this.#beat(server), timerDelay(this.#interval(server)));
    timer.unref();
    this.#beats.set(server, timer);
  }

  async #beat(server: string): Promise<void> {
    this.#beats.delete(server);
    const held = this.#table.onServer(server, ['held']);
    if (this.#closed || !this.#servers.isUp(server)) {
      this.#schedule(server);
      return;
    }
    if (held.length === 0) {
      // Nothing to renew, but ids whose release failed (the server answered with an error of its own).
      await this.#releaseOrphans(server);
      this.#schedule(server);
      return;
    }
    try {
      const unknown = await this.#servers.renew(
        server,
        held.map((r) => r.id),
      );
      // Seats the server no longer knows (it restarted without its state, or our renewals were late):
      // take them again under the same ids, which never counts a seat twice.
      const missing = held.filter((r) => unknown.has(r.id) && r.state === 'held');
      if (missing.length > 0) await this.#reclaim(server, missing);
      await this.#releaseOrphans(server);
    } catch (err) {
      // A renewal that timed out has already taken the connection down (disconnect handles the rest).
      this.#options.log('warn', 'heartbeat failed', { server, error: asLicenseError(err, server).message });
    }
    this.#schedule(server);
  }

  #onDisconnect(server: string): void {
    if (this.#closed) return;
    clearTimeout(this.#beats.get(server));
    this.#beats.delete(server);
    const affected = this.#table.onServer(server, ['held']);
    for (const record of affected) this.#table.transition(record, 'reconnecting');
    const peer = this.#servers.clusterPeerUp(server);
    if (peer !== undefined && affected.length > 0) {
      // Another node of the same pool is up: the leases are there already; take them by id now, with no
      // grace wait (the same seats, not new ones).
      this.#options.log('info', 'server lost; its seats move to another node of its cluster at once', {
        server,
        to: peer,
        seats: affected.length,
      });
      void this.#migrateAll(server, peer);
      return;
    }
    if (this.#awaitReturn(server)) {
      this.#options.log('warn', 'server lost; reconnecting to reclaim its seats', {
        server,
        seats: affected.length,
        gracePeriod: this.#options.gracePeriod,
      });
    }
  }

  /**
   * Arms the grace timer of a server that holds leases waiting for it (reconnecting, or being reclaimed),
   * unless it is armed. Returns whether it armed it.
   */
  #awaitReturn(server: string): boolean {
    if (this.#closed || this.#graces.has(server)) return false;
    if (!this.#table.hasOn(server, ['reconnecting', 'reclaiming'])) return false;
    const timer = setTimeout(() => {
      this.#graces.delete(server);
      void this.#migrateAll(server);
    }, timerDelay(this.#options.gracePeriod));
    timer.unref();
    this.#graces.set(server, timer);
    return true;
  }

  #onConnect(server: string): void {
    if (this.#closed) return;
    clearTimeout(this.#graces.get(server));
    this.#graces.delete(server);
    const waiting = this.#table.onServer(server, ['reconnecting']);
    void (async () => {
      if (waiting.length > 0) await this.#reclaim(server, waiting);
      await this.#releaseOrphans(server);
      this.#schedule(server);
    })();
  }

  #onPush(push: Push, server: string): void {
    if (this.#closed || push.push !== 'lease-revoked') return;
    for (const id of push.leases) {
      const record = this.#table.get(id);
      if (record?.server !== server || record.state !== 'held') continue;
      // The server took it back on purpose: going back to it would undo that.
      void this.#migrate(record, server, `the server revoked it (${push.message})`, false);
    }
  }

  /** Takes leases again on the same server by their ids: the server answers `reclaimed` for seats it kept. */
  async #reclaim(server: string, records: readonly TrackedLease[]): Promise<void> {
    await Promise.all(
      records.map(async (record) => {
        if (!this.#table.transition(record, 'reclaiming')) return;
        try {
          await this.#servers.reacquire(server, record);
        } catch (err) {
          const error = asLicenseError(err, server);
          this.#options.log('warn', 'reclaim failed', { server, lease: record.id, error: error.message });
          if (!this.#servers.isUp(server)) {
            // Not reached (lost again, full of connections, no answer): the grace timer decides.
            if (this.#table.transition(record, 'reconnecting')) this.#awaitReturn(server);
          } else {
            // The server is there and answered no (the seat taken, an error of its own): move it now.
            await this.#migrate(record, server, error.message);
          }
          return;
        }
        if (this.#table.transition(record, 'held')) {
          if (!this.#closed) this.emit('reclaimed', { record, server });
        } else {
          // Released while the reclaim was in flight: the seat just taken back goes back again.
          await this.#giveBack(server, record.id);
        }
      }),
    );
  }

  /** Moves every lease waiting for `server`; to `peer` first when one of its cluster is up. */
  async #migrateAll(server: string, peer?: string): Promise<void> {
    const records = this.#table.onServer(server, ['reconnecting']);
    const why = peer === undefined ? `${server} stayed unreachable` : `${server} was lost`;
    await Promise.all(records.map((r) => this.#migrate(r, server, why, true, peer)));
  }

  /** Moves a lease to the next server that has room; if none can take it, it is lost. */
  #migrate(record: TrackedLease, from: string, why: string, mayReturn = true, peer?: string): Promise<void> {
    if (this.#closed || !this.#table.transition(record, 'migrating')) return Promise.resolve();
    const step = this.#migrating(record, from, why, mayReturn, peer).finally(() => {
      if (this.#steps.get(record.id) === step) this.#steps.delete(record.id);
    });
    this.#steps.set(record.id, step);
    return step;
  }

  async #migrating(
    record: TrackedLease,
    from: string,
    why: string,
    mayReturn: boolean,
    peer: string | undefined,
  ): Promise<void> {
    let to: string;
    try {
      // A peer of the lost server's cluster holds the same lease: it is taken there by its id, whatever the
      // priority order says (a server of another pool would take a second seat).
      to =
        peer !== undefined &&
        (await this.#servers.reacquire(peer, record).then(
          () => true,
          () => false,
        ))
          ? peer
          : await this.#servers.acquireElsewhere(record, from, this.#options.migrationTimeout);
    } catch (err) {
      if (record.state !== 'migrating' || this.#closed) return;
      // The home server may have come back while the move was being tried: keep the seat there.
      if (mayReturn && (await this.#takeBackAt(from, record))) return;
      const cause = asLicenseError(err, undefined);
      const error = new LicensesExpiredError(
        `The ${record.feature} license of lease ${record.id} was lost: ${why}, and no other license server could take it (${cause.message}). Close the port and open a new one.`,
        { server: from, cause },
      );
      if (!this.#table.transition(record, 'lost', error)) return;
      this.#orphan(from, record.id);
      this.emit('lost', { record, error });
      return;
    }
    // Within one cluster the seat moved, it was not taken twice: releasing it at the old node would end it.
    if (!this.#servers.samePool(from, to)) this.#orphan(from, record.id);
    if (this.#closed || !this.#table.transition(record, 'held')) {
      await this.#giveBack(to, record.id);
      return;
    }
    this.#table.move(record, to);
    // Its home server may be up (back during the move, or never gone): it lets go of the id now.
    if (this.#servers.isUp(from)) void this.#releaseOrphans(from);
    this.#schedule(to);
    this.emit('migrated', { record, from, to });
  }

  /** Re-acquires a migrating lease by its id on its own server, if that server is up. */
  async #takeBackAt(server: string, record: TrackedLease): Promise<boolean> {
    if (!this.#servers.isUp(server)) return false;
    try {
      await this.#servers.reacquire(server, record);
    } catch {
      return false;
    }
    if (!this.#table.transition(record, 'held')) {
      await this.#giveBack(server, record.id);
      return true;
    }
    this.#schedule(server);
    this.emit('reclaimed', { record, server });
    return true;
  }

  /** Releases one id on a server now, or remembers it for when the server is back. */
  async #giveBack(server: string, id: string): Promise<void> {
    await this.#servers.release(server, [id]).catch(() => this.#orphan(server, id));
  }

  #orphan(server: string, lease: string): void {
    const set = this.#orphans.get(server) ?? new Set<string>();
    set.add(lease);
    this.#orphans.set(server, set);
  }

  /**
   * Whether ids `server` may hold wait to be given back there while it is up (a server that is down gets
   * them when it reconnects).
   */
  #owes(server: string): boolean {
    return this.#orphans.has(server) && this.#servers.isUp(server);
  }

  /** Releases the ids `server` may hold that the client no longer wants there. Never rejects. */
  async #releaseOrphans(server: string): Promise<void> {
    const set = this.#orphans.get(server);
    if (set === undefined || set.size === 0) return;
    const fate = (id: string): 'ours' | 'in-flight' | 'orphan' => {
      const record = this.#table.get(id);
      if (record === undefined || record.server !== server || record.state === 'lost') return 'orphan';
      return record.state === 'reclaiming' || record.state === 'migrating' ? 'in-flight' : 'ours';
    };
    // Ids being reclaimed or migrated stay for the next round: their outcome is not known yet.
    const ids = [...set].filter((id) => fate(id) === 'orphan');
    for (const id of [...set]) if (fate(id) !== 'in-flight') set.delete(id);
    if (set.size === 0) this.#orphans.delete(server);
    if (ids.length === 0) return;
    try {
      await this.#servers.release(server, ids);
    } catch {
      for (const id of ids) this.#orphan(server, id);
      // Sent again by the next heartbeat (a server that is down gets them when it reconnects).
      this.#schedule(server);
    }
  }
}
