/**
 * Keeps the client's leases alive: one heartbeat frame per server renews all its leases; after a
 * reconnect the leases are reclaimed by id (never a second seat); if a server stays gone past the grace
 * period, its leases migrate to the next server with room; only when none can take them is a lease lost.
 */
import { EventEmitter } from 'eventemitter3';
import type { Cluster } from '../cluster/cluster.js';
import {
  asLicenseError,
  type LicenseError,
  LicensesExpiredError,
  SocketsError,
  TimeoutError,
} from '../errors.js';
import type { Push } from '../protocol/messages.js';
import type { LeaseRecord, LeaseTable } from './lease-table.js';

/** A log sink the keeper writes to; secrets never reach it. */
export type KeeperLog = (
  level: 'debug' | 'info' | 'warn' | 'error',
  message: string,
  fields?: object,
) => void;

/** Options of a {@link LeaseKeeper}. */
export interface LeaseKeeperOptions {
  cluster: Cluster;
  table: LeaseTable;
  /** Renew every this many ms; by default a third of the server's lease TTL. */
  heartbeatInterval?: number | undefined;
  /** How long seats wait for their server to come back before they migrate, in ms. */
  gracePeriod: number;
  /** Deadline of one migration attempt, in ms. */
  migrationTimeout: number;
  now: () => number;
  log: KeeperLog;
}

/** Events of a {@link LeaseKeeper}. */
export interface LeaseKeeperEvents {
  reclaimed: [info: { record: LeaseRecord; server: string }];
  migrated: [info: { record: LeaseRecord; from: string; to: string }];
  lost: [info: { record: LeaseRecord; error: LicenseError }];
}

const DEFAULT_TTL = 30_000;

/** Heartbeats, reclaim, migration and loss of the client's leases. */
export class LeaseKeeper extends EventEmitter<LeaseKeeperEvents> {
  readonly #o: LeaseKeeperOptions;
  readonly #beats = new Map<string, NodeJS.Timeout>();
  readonly #graces = new Map<string, NodeJS.Timeout>();
  /** Lease ids a server may still hold that the client no longer wants there. */
  readonly #orphans = new Map<string, Set<string>>();
  readonly #busy = new Set<string>();
  #closed = false;

  constructor(options: LeaseKeeperOptions) {
    super();
    this.#o = options;
    const { cluster } = options;
    cluster.on('connect', ({ server }) => this.#onConnect(server));
    cluster.on('disconnect', ({ server }) => this.#onDisconnect(server));
    cluster.on('push', (push, server) => this.#onPush(push, server));
    cluster.on('uncertain', ({ server, lease }) => {
      this.#orphan(server, lease);
      // Give the seat back now if the server is there; otherwise when it comes back.
      if (cluster.link(server)?.isUp === true) void this.#releaseOrphans(server).catch(() => {});
    });
  }

  /** Starts keeping a freshly granted lease. */
  track(record: LeaseRecord): void {
    this.#o.table.add(record);
    this.#schedule(record.server);
  }

  /**
   * Gives leases back now. They leave the table at once; a server that cannot be told gets them back
   * when it returns (or when their TTL runs out).
   */
  async release(ids: readonly string[]): Promise<void> {
    const byServer = new Map<string, string[]>();
    for (const id of ids) {
      const record = this.#o.table.get(id);
      if (record === undefined) continue;
      const wasHeld = record.state === 'held' || record.state === 'reconnecting';
      record.state = 'released';
      this.#o.table.delete(id);
      if (wasHeld) byServer.set(record.server, [...(byServer.get(record.server) ?? []), id]);
    }
    await Promise.all(
      [...byServer].map(async ([server, leases]) => {
        try {
          await this.#o.cluster.release(server, leases);
        } catch (err) {
          for (const id of leases) this.#orphan(server, id);
          this.#o.log('warn', 'release failed; the server frees the seats when their TTL runs out', {
            server,
            leases,
            error: asLicenseError(err, server).message,
          });
        }
        this.#schedule(server);
      }),
    );
  }

  /** Stops every timer. */
  close(): void {
    this.#closed = true;
    for (const timer of [...this.#beats.values(), ...this.#graces.values()]) clearTimeout(timer);
    this.#beats.clear();
    this.#graces.clear();
  }

  #interval(server: string): number {
    if (this.#o.heartbeatInterval !== undefined) return this.#o.heartbeatInterval;
    const ttl = this.#o.cluster.link(server)?.session?.leaseTtl ?? DEFAULT_TTL;
    return Math.max(50, Math.floor(ttl / 3));
  }

  /**
   * Keeps one heartbeat timer per server that holds leases. An armed timer is left alone: restarting it
   * on every grant or release would starve the renewals of a busy client's long-held seats.
   */
  #schedule(server: string): void {
    if (this.#closed || !this.#o.table.hasOn(server, ['held'])) {
      clearTimeout(this.#beats.get(server));
      this.#beats.delete(server);
      return;
    }
    if (this.#beats.has(server)) return;
    const timer = setTimeout(() => void this.#beat(server), this.#interval(server));
    timer.unref();
    this.#beats.set(server, timer);
  }

  async #beat(server: string): Promise<void> {
    this.#beats.delete(server);
    const link = this.#o.cluster.link(server);
    const held = this.#o.table.onServer(server, ['held']).filter((r) => !this.#busy.has(r.id));
    if (this.#closed || link === undefined || !link.isUp || held.length === 0) {
      this.#schedule(server);
      return;
    }
    try {
      const unknown = await this.#o.cluster.renew(
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
      this.#o.log('warn', 'heartbeat failed', { server, error: asLicenseError(err, server).message });
    }
    this.#schedule(server);
  }

  #onDisconnect(server: string): void {
    if (this.#closed) return;
    clearTimeout(this.#beats.get(server));
    this.#beats.delete(server);
    const affected = this.#o.table.onServer(server, ['held']);
    for (const record of affected) record.state = 'reconnecting';
    if (this.#o.table.hasOn(server, ['reconnecting']) && !this.#graces.has(server)) {
      const timer = setTimeout(() => {
        this.#graces.delete(server);
        void this.#migrateAll(server);
      }, this.#o.gracePeriod);
      timer.unref();
      this.#graces.set(server, timer);
      this.#o.log('warn', 'server lost; reconnecting to reclaim its seats', {
        server,
        seats: affected.length,
        gracePeriod: this.#o.gracePeriod,
      });
    }
  }

  #onConnect(server: string): void {
    if (this.#closed) return;
    clearTimeout(this.#graces.get(server));
    this.#graces.delete(server);
    const waiting = this.#o.table.onServer(server, ['reconnecting']);
    void (async () => {
      if (waiting.length > 0) await this.#reclaim(server, waiting);
      await this.#releaseOrphans(server).catch(() => {});
      this.#schedule(server);
    })();
  }

  #onPush(push: Push, server: string): void {
    if (this.#closed || push.push !== 'lease-revoked') return;
    const revoked = push.leases
      .map((id) => this.#o.table.get(id))
      .filter((r): r is LeaseRecord => r !== undefined && r.server === server && r.state === 'held');
    for (const record of revoked) {
      record.state = 'reconnecting';
      void this.#migrate(record, server, `the server revoked it (${push.message})`);
    }
  }

  /** Takes leases again on the same server by their ids: the server answers `reclaimed` for seats it kept. */
  async #reclaim(server: string, records: readonly LeaseRecord[]): Promise<void> {
    const link = this.#o.cluster.link(server);
    if (link === undefined) return;
    await Promise.all(
      records.map(async (record) => {
        if (this.#busy.has(record.id)) return;
        this.#busy.add(record.id);
        try {
          await link.request('acquire', { lease: record.id, feature: record.feature, count: record.count });
          if (isReleased(record)) {
            await this.#o.cluster.release(server, [record.id]).catch(() => this.#orphan(server, record.id));
            return;
          }
          record.state = 'held';
          this.emit('reclaimed', { record, server });
        } catch (err) {
          const error = asLicenseError(err, server);
          this.#o.log('warn', 'reclaim failed', { server, lease: record.id, error: error.message });
          // Still unreachable: the grace timer decides. Anything else: the seat is gone here; move it.
          if (!(error instanceof TimeoutError || error instanceof SocketsError)) {
            this.#busy.delete(record.id);
            await this.#migrate(record, server, error.message);
          } else {
            record.state = 'reconnecting';
          }
        } finally {
          this.#busy.delete(record.id);
        }
      }),
    );
  }

  async #migrateAll(server: string): Promise<void> {
    const records = this.#o.table.onServer(server, ['reconnecting']);
    await Promise.all(records.map((r) => this.#migrate(r, server, `${server} stayed unreachable`)));
  }

  /** Moves a lease to the next server that has room; if none can take it, it is lost. */
  async #migrate(record: LeaseRecord, from: string, why: string): Promise<void> {
    if (this.#closed || this.#busy.has(record.id) || record.state === 'released') return;
    this.#busy.add(record.id);
    try {
      const { link } = await this.#o.cluster.acquire({
        lease: record.id,
        feature: record.feature,
        count: record.count,
        signal: AbortSignal.timeout(this.#o.migrationTimeout),
        exclude: new Set([from]),
        operation: 'migrate',
        retry: false,
      });
      this.#orphan(from, record.id);
      if (isReleased(record) || this.#closed) {
        await this.#o.cluster
          .release(link.server, [record.id])
          .catch(() => this.#orphan(link.server, record.id));
        return;
      }
      this.#o.table.move(record, link.server);
      record.state = 'held';
      record.acquiredAt = this.#o.now();
      this.#schedule(link.server);
      this.emit('migrated', { record, from, to: link.server });
    } catch (err) {
      if (isReleased(record) || this.#closed) return;
      // The home server may have come back while the move was being tried: keep the seat there.
      if (await this.#takeBackAt(from, record)) return;
      const cause = asLicenseError(err, undefined);
      const error = new LicensesExpiredError(
        `The ${record.feature} license of lease ${record.id} was lost: ${why}, and no other license server could take it (${cause.message}). Close the port and open a new one.`,
        { server: from, cause },
      );
      record.state = 'lost';
      record.lostError = error;
      this.#orphan(from, record.id);
      this.emit('lost', { record, error });
    } finally {
      this.#busy.delete(record.id);
    }
  }

  /** Re-acquires a lease by its id on its own server, if that server is up. */
  async #takeBackAt(server: string, record: LeaseRecord): Promise<boolean> {
    const link = this.#o.cluster.link(server);
    if (link === undefined || !link.isUp) return false;
    try {
      await link.request('acquire', { lease: record.id, feature: record.feature, count: record.count });
    } catch {
      return false;
    }
    this.#o.table.move(record, server);
    record.state = 'held';
    this.#schedule(server);
    this.emit('reclaimed', { record, server });
    return true;
  }

  /** Gives back everything: the table's leases and the ids servers may still hold (the client is closing). */
  async releaseEverything(): Promise<void> {
    await this.release(this.#o.table.all().map((r) => r.id));
    await Promise.all(
      [...this.#orphans.keys()].map((server) => this.#releaseOrphans(server).catch(() => {})),
    );
  }

  #orphan(server: string, lease: string): void {
    const set = this.#orphans.get(server) ?? new Set<string>();
    set.add(lease);
    this.#orphans.set(server, set);
  }

  async #releaseOrphans(server: string): Promise<void> {
    const set = this.#orphans.get(server);
    if (set === undefined || set.size === 0) return;
    const stillOurs = (id: string) => {
      const record = this.#o.table.get(id);
      return record !== undefined && record.server === server && record.state !== 'lost';
    };
    // Ids being reclaimed or migrated stay for the next round: their outcome is not known yet.
    const ids = [...set].filter((id) => !stillOurs(id) && !this.#busy.has(id));
    for (const id of set) if (!this.#busy.has(id)) set.delete(id);
    if (set.size === 0) this.#orphans.delete(server);
    if (ids.length === 0) return;
    try {
      await this.#o.cluster.release(server, ids);
    } catch {
      for (const id of ids) this.#orphan(server, id);
    }
  }
}

/** Read through a function so that TypeScript does not narrow a state another task may change. */
function isReleased(record: LeaseRecord): boolean {
  return record.state === 'released';
}
