/**
 * The client's licensing machinery behind the facade: the servers, the lease table and its keeper, the
 * license cache, and what the application holds (ports, lease handles). It takes and gives back
 * licenses; LicenseClient checks arguments, keeps the call deadlines and turns failures into the errors
 * of its API.
 */
import type { PoolLink, PoolServer } from '../cluster/pool-types.js';
import { ServerPool } from '../cluster/server-pool.js';
import { DEFAULTS } from '../defaults.js';
import {
  InvalidParameterError,
  InvalidPortError,
  isLicenseError,
  LicenseError,
  LicensesExceededError,
  NotLicensedError,
} from '../errors.js';
import { IdTable } from '../id-table.js';
import { LeaseKeeper } from '../leases/lease-keeper.js';
import { type LeasePhase, LeaseTable, type TrackedLease } from '../leases/lease-table.js';
import { LicenseCache } from '../leases/license-cache.js';
import { ReturnCode } from '../protocol/return-codes.js';
import type { Signal } from '../signal.js';
import type { ConnectionCredentials } from '../transport/handshake.js';
import { leasePrefix } from './arguments.js';
import { CacheReturns } from './cache-returns.js';
import type { CallSignal } from './call-deadlines.js';
import type { ClientStatus } from './call-options.js';
import { isTraced, traced } from './diagnostics.js';
import type { LicenseClientEvents } from './events.js';
import { forwardEvents } from './forward-events.js';
import { Holdings } from './holdings.js';
import { Lease, type LeaseHost } from './lease.js';
import { featuresFor, type PortLicenseType } from './license-types.js';
import { type LogFn, SILENT_LOG } from './logger.js';
import { connectionSettings, type ResolvedOptions } from './options.js';
import { Port, type PortHost } from './port.js';
import { clientStatus } from './status.js';

/** The phases of a lease whose seat is still this client's (every one but lost and released). */
const STILL_HELD: readonly LeasePhase[] = Object.freeze(['held', 'reconnecting', 'reclaiming', 'migrating']);

/** What the machinery needs of the facade. */
export interface LicensesContext {
  readonly options: ResolvedOptions;
  readonly log: LogFn;
  emit<K extends keyof LicenseClientEvents>(event: K, ...args: LicenseClientEvents[K]): void;
  /** The error of a call made while the client closes, or `undefined` while it is open. */
  closedError(operation: string): LicenseError | undefined;
}

/** Servers, leases, cache and holdings of one client. */
export class Licenses {
  readonly servers: ServerPool;
  readonly #context: LicensesContext;
  readonly #table = new LeaseTable();
  readonly #keeper: LeaseKeeper;
  readonly #cache: LicenseCache;
  readonly #cacheReturns: CacheReturns;
  readonly #holdings = new Holdings();
  readonly #idPrefix = leasePrefix();
  #nextPort = 1;
  #nextLease = 1;
  /**
   * Acquires in flight by their number, so that close() can wait for them to give back what they took
   * (an {@link IdTable}: a busy `Set` of promises kept each acquire's whole chain of promises alive past
   * its end, into the old generation; see id-table.ts).
   */
  readonly #inflight = new IdTable<Promise<unknown>>();
  /** What each Port and Lease handle may ask (not part of the client's public shape). */
  readonly #portHost: PortHost = {
    close: (port) => this.#closePort(port),
    leaseOf: (port) => this.#holdings.leaseOf(port),
  };
  readonly #leaseHost: LeaseHost = {
    release: (lease) =>
      !isTraced('release')
        ? this.release(lease.id)
        : traced(
            'release',
            { lease: lease.id, feature: lease.feature, count: lease.count, server: lease.server },
            () => this.release(lease.id),
          ),
    stands: (lease) => this.#holdings.stands(lease),
  };

  constructor(context: LicensesContext) {
    this.#context = context;
    const { options: o, log } = context;
    this.servers = new ServerPool({
      servers: o.servers,
      credentials: o.credentials,
      settings: connectionSettings(o),
      retryDelay: DEFAULTS.retryDelay,
    });
    this.#keeper = new LeaseKeeper({
      servers: this.servers,
      table: this.#table,
      heartbeatInterval: o.heartbeatInterval,
      gracePeriod: o.gracePeriod,
      migrationTimeout: o.operationTimeout,
      log,
    });
    this.#cache = new LicenseCache(o.licenseCachePeriod * 1_000, Date.now);
    this.#cacheReturns = new CacheReturns(this.#cache, (due) => {
      log('debug', 'cached licenses go back to the server', { leases: due.map((d) => d.leaseId) });
      for (const entry of due) void this.release(entry.leaseId);
    });
    forwardEvents({
      servers: this.servers,
      keeper: this.#keeper,
      log,
      emit: (event, ...args) => context.emit(event, ...args),
      queued: (id) => this.#holdings.queued(id),
      lease: (id) => this.#holdings.handle(id),
      portOf: (id) => this.#holdings.portOf(id),
      lostFromCache: (id) => {
        // A lost license that sat in the cache belongs to no port: forget it.
        if (this.#cache.remove(id)) void this.release(id);
      },
    });
    // A server a reload removed is let go once the seats held there have moved away or been lost.
    this.#keeper.on('migrated', ({ from }) => this.#settled(from));
    this.#keeper.on('lost', ({ record }) => this.#settled(record.server));
    // A server going away whose seats are all elsewhere already: leave it now (its drain ends sooner).
    this.servers.on('push', (push, server) => {
      if (push.push === 'shutdown') this.#settled(server);
    });
  }

  /** A new open port of this client, without its license yet. */
  newPort(type: PortLicenseType): Port {
    const port = new Port(this.#nextPort++, type, this.#portHost);
    this.#holdings.addPort(port);
    return port;
  }

  /** Whether `port` is an open port of this client. */
  isOpen(port: Port): boolean {
    return this.#holdings.isOpen(port);
  }

  /** Gives a new port the license it opened with. */
  attach(port: Port, lease: Lease): void {
    this.#holdings.attach(port, lease);
  }

  /** Forgets a port that failed to open. */
  async dropPort(port: Port): Promise<void> {
    await this.#holdings.removePort(port);
  }

  /**
   * A license for a port of `type`: one from the cache (no round trip), or a new one. `Auto` tries FULL,
   * then LITE; only exhaustion moves on to the next type.
   */
  async licenseFor(
    type: PortLicenseType,
    wait: number | undefined,
    signal: Signal,
    operation: string,
  ): Promise<Lease> {
    const features = featuresFor(type);
    const cached = this.#cache.take(features, (id) => this.#table.get(id)?.state === 'held');
    const record = cached === undefined ? undefined : this.#table.get(cached.leaseId);
    if (record !== undefined) {
      this.#context.log('debug', 'license taken from the cache', {
        lease: record.id,
        feature: record.feature,
      });
      return this.#handleFor(record);
    }
    const last = features.length - 1;
    let busy: LicensesExceededError | undefined;
    for (const [i, feature] of features.entries()) {
      try {
        return await this.acquire(feature, 1, i === last ? wait : undefined, signal, operation);
      } catch (err) {
        // Busy or not licensed, the next type of the cascade is tried; at the end, a type that was busy
        // is the answer (the caller's busy prompt), not a later one that is not licensed.
        if (err instanceof LicensesExceededError) busy = err;
        else if (!(err instanceof NotLicensedError)) throw err;
        if (i === last) throw busy ?? err;
      }
    }
    throw new InvalidParameterError(`License type ${type} names no feature.`);
  }

  /** Takes `count` seats of `feature` on the first server that grants them. */
  acquire(
    feature: string,
    count: number,
    wait: number | undefined,
    signal: Signal,
    operation: string,
  ): Promise<Lease> {
    const number = this.#nextLease++;
    const id = `${this.#idPrefix}-${number}`;
    // Only an acquire that waits can be in a server's queue (its queue-position pushes name it).
    if (wait !== undefined && wait > 0)
      return this.#acquireQueued(number, id, feature, count, wait, signal, operation);
    // The common case: no async frame of its own (one per acquire is a measurable share of its CPU).
    const acquiring = this.servers.acquire({ lease: id, feature, count, wait, signal, operation });
    this.#inflight.set(number, acquiring);
    return acquiring.then(
      ({ link }) => {
        this.#inflight.delete(number);
        return this.#adopt(id, feature, count, link, operation);
      },
      (err: unknown) => {
        this.#inflight.delete(number);
        throw err;
      },
    );
  }

  /** {@link Licenses.acquire} with a `wait`: the acquire may wait in a server's queue. */
  async #acquireQueued(
    number: number,
    id: string,
    feature: string,
    count: number,
    wait: number,
    signal: Signal,
    operation: string,
  ): Promise<Lease> {
    this.#holdings.startWaiting(id, feature);
    try {
      const acquiring = this.servers.acquire({ lease: id, feature, count, wait, signal, operation });
      this.#inflight.set(number, acquiring);
      let link: PoolLink;
      try {
        ({ link } = await acquiring);
      } finally {
        this.#inflight.delete(number);
      }
      return await this.#adopt(id, feature, count, link, operation);
    } finally {
      this.#holdings.stopWaiting(id);
    }
  }

  /**
   * The lease of a grant: tracked (renewed from now on) and handed out, or given back at once when the
   * client closed meanwhile (the promise then rejects with the close's error).
   */
  #adopt(
    id: string,
    feature: string,
    count: number,
    link: PoolLink,
    operation: string,
  ): Lease | Promise<never> {
    const record: TrackedLease = { id, feature, count, server: link.server, state: 'held' };
    this.#keeper.track(record);
    const lease = this.#handleFor(record);
    const closed = this.#context.closedError(operation);
    if (closed !== undefined) {
      return lease.release().then(() => {
        throw closed;
      });
    }
    const log = this.#context.log;
    if (log !== SILENT_LOG) {
      log('info', 'lease granted', { lease: id, feature, count, server: link.server });
    }
    return lease;
  }

  /**
   * The license of a port with delayed acquisition, taken at its first `loadVoiceChannel()` (once: the
   * calls that come meanwhile share it; a failed one is tried again by the next call).
   *
   * @throws {LicenseError} -58 (`LV_ACQUIRING_LICENSE_FAILED`) with the reason as `cause`, or
   * `InvalidPortError` (-12) when the port was closed meanwhile.
   */
  delayedLicense(port: Port, startCall: () => CallSignal): Promise<Lease> {
    return this.#holdings.loading(port, async () => {
      const call = startCall();
      let lease: Lease;
      try {
        lease = await this.licenseFor(port.licenseType, undefined, call.signal, 'loadVoiceChannel');
      } catch (err) {
        throw new LicenseError(
          `No license could be obtained for port ${port.id} (delayed acquisition): ${err instanceof Error ? err.message : String(err)}`,
          {
            code: ReturnCode.LV_ACQUIRING_LICENSE_FAILED,
            cause: err,
            server: isLicenseError(err) ? err.server : undefined,
          },
        );
      } finally {
        call.done();
      }
      if (port.state !== 'open') {
        // The port's close() waits for this: it resolves once the server has the seat back.
        await lease.release();
        throw new InvalidPortError(`Port ${port.id} was closed while its license was being acquired.`);
      }
      this.#holdings.attach(port, lease);
      return lease;
    });
  }

  /** Gives a lease back (and forgets its handle and port); resolves once the server has it back. */
  release(id: string): Promise<void> {
    this.#cache.remove(id);
    this.#holdings.forget(id);
    const server = this.#table.get(id)?.server;
    // The common case (nothing to log, a server still configured): the keeper's promise is the release's.
    // A server a reload removes meanwhile is dropped by the reload itself, once nothing is held there.
    if (this.#context.log === SILENT_LOG && (server === undefined || !this.servers.isRetired(server))) {
      return this.#keeper.releaseOne(id);
    }
    return this.#releaseAndTell(id, server);
  }

  async #releaseAndTell(id: string, server: string | undefined): Promise<void> {
    await this.#keeper.releaseOne(id);
    const log = this.#context.log;
    if (log !== SILENT_LOG) log('debug', 'lease released', { lease: id, server });
    if (server !== undefined) this.#dropIfRetiredAndEmpty(server);
  }

  /** The acquires in a server's queue now, per feature, and how many have waited in one (for `metrics()`). */
  queueStats(): { queued: Record<string, number>; queueWaits: number } {
    return this.#holdings.queueStats();
  }

  /** The snapshot of `client.status()`. */
  status(closed: boolean): ClientStatus {
    return clientStatus({
      closed,
      links: this.servers.links,
      retired: this.servers.retiredLinks,
      table: this.#table,
      holdings: this.#holdings,
      cache: this.#cache,
    });
  }

  /** Applies a reloaded configuration: servers, credentials, cache period. */
  reconfigure(
    servers: readonly PoolServer[],
    credentials: ConnectionCredentials | undefined,
    cachePeriodMs: number,
  ): void {
    const retired = this.servers.update(servers, credentials);
    for (const link of retired) this.#dropIfRetiredAndEmpty(link.server);
    this.#cache.setPeriod(cachePeriodMs);
  }

  /**
   * Gives back every seat, within `timeout` ms: ports are closed, acquires in flight end (their seats are
   * given back too), the cache is emptied; then every timer stops and every connection closes.
   */
  async shutdown(timeout: number): Promise<void> {
    this.#cacheReturns.stop();
    this.#cache.drain();
    const closingPorts = this.#holdings.ports().map((port) => port.close());
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeout);
    });
    const releasing = (async () => {
      await Promise.allSettled([...this.#inflight.values(), ...closingPorts]);
      await this.#keeper.releaseEverything();
      // Releases the keeper sent on its own (ids of acquires that ended with no answer, grants that came
      // after the close): closing a connection under them would leave those seats taken until their TTL, as
      // a server drops the requests it has not handled yet when the client ends the connection.
      await this.servers.idle();
    })();
    await Promise.race([releasing.catch(() => {}), deadline]);
    clearTimeout(timer);
    this.#keeper.close();
    await this.servers.close();
  }

  async #closePort(port: Port): Promise<void> {
    const lease = await this.#holdings.removePort(port);
    if (lease === undefined) return;
    const open = this.#context.closedError('close') === undefined;
    if (open && lease.state === 'held' && this.#cache.put(lease.id, lease.feature)) {
      // The port's handle stops standing for the seat; the next port gets a fresh one.
      this.#holdings.retireHandle(lease.id);
      this.#context.log('debug', 'license cached', { lease: lease.id, feature: lease.feature });
      this.#cacheReturns.arm();
      return;
    }
    await lease.release();
  }

  /** A new application handle for a tracked lease (a fresh grant, or a license from the cache). */
  #handleFor(record: TrackedLease): Lease {
    const lease = new Lease(record, this.#leaseHost);
    this.#holdings.addHandle(lease);
    return lease;
  }

  /**
   * The seats this client held on `server` have moved away or been lost: a server a reload removed is let
   * go, and one that is draining is left.
   */
  #settled(server: string): void {
    if (this.#holdsOn(server)) return;
    this.servers.link(server)?.leaveIfDraining();
    this.#dropIfRetiredAndEmpty(server);
  }

  #holdsOn(server: string): boolean {
    return this.#table.hasOn(server, STILL_HELD);
  }

  /**
   * A server removed by a reload is let go once this client holds nothing there, and nothing is on its way
   * there: the acquires in flight may yet be granted there, and the server drops the requests it has not
   * handled yet (releases) when its connection is closed, so that those seats would stay taken until their
   * TTL.
   */
  #dropIfRetiredAndEmpty(server: string): void {
    if (!this.#retiredAndEmpty(server)) return;
    const acquiring = this.#inflight.values();
    void (async () => {
      // Each acquire's grant is adopted (in the table) before this goes on.
      await Promise.allSettled(acquiring);
      await this.servers.idleOn(server);
      if (this.#retiredAndEmpty(server)) await this.servers.dropRetired(server);
    })().catch((err: unknown) =>
      this.#context.log('warn', 'a server a reload removed was not let go', {
        server,
        error: err instanceof Error ? err.message : String(err),
      }),
    );
  }

  #retiredAndEmpty(server: string): boolean {
    return this.servers.isRetired(server) && !this.#holdsOn(server);
  }
}
