import { EventEmitter } from 'eventemitter3';
import { Cluster } from '../cluster/cluster.js';
import type { ServerHealthSnapshot } from '../cluster/health.js';
import { loadClientProperties } from '../config/load.js';
import {
  InvalidParameterError,
  InvalidPortError,
  isLicenseError,
  LicenseError,
  LicensesExceededError,
  LicensesExpiredError,
  OpenPortError,
} from '../errors.js';
import { LeaseKeeper } from '../leases/lease-keeper.js';
import { type LeaseRecord, type LeaseState, LeaseTable } from '../leases/lease-table.js';
import { LicenseCache } from '../leases/license-cache.js';
import { FEATURE_PATTERN } from '../protocol/constants.js';
import { ReturnCode } from '../protocol/return-codes.js';
import { checkWait, isAudioBuffer, leasePrefix } from './arguments.js';
import { CallDeadlines } from './calls.js';
import type { LicenseClientEvents } from './events.js';
import { Lease } from './lease.js';
import { featuresFor, isPortLicenseType, type PortLicenseType } from './license-types.js';
import { type LogFn, makeLog } from './logger.js';
import {
  type LicenseClientOptions,
  optionsFromProperties,
  type ResolvedOptions,
  resolveOptions,
} from './options.js';
import { Port, type PortOwner } from './port.js';
import { watchAndReload } from './reload.js';
import { safeEmit } from './safe-emit.js';
import { wireEvents } from './wire-events.js';

/** Options of {@link LicenseClient.openPort}. */
export interface OpenPortOptions {
  /** The license the port holds; defaults to the client's `licenseType` (the conf's `LICENSE_TYPE`). */
  licenseType?: PortLicenseType | undefined;
  /** Wait up to this many ms in a server's queue when every license is in use. */
  wait?: number | undefined;
  /**
   * Aborts the call (and leaves a server's queue); the `OpenPortError` then has `status` -3 (LV_RESET) for
   * an abort and -6 (LV_TIME_OUT) for `AbortSignal.timeout()`. (At the client's own `operationTimeout`
   * the status is what the servers said, such as -26 or -30.)
   */
  signal?: AbortSignal | undefined;
}

/** Options of {@link LicenseClient.acquire}. */
export interface AcquireOptions {
  /** Seats to take. @defaultValue 1 */
  count?: number | undefined;
  /** Wait up to this many ms in a server's queue when every license is in use. */
  wait?: number | undefined;
  /**
   * Aborts the call and leaves a server's queue: it rejects with LV_RESET (-3) for an abort and with
   * LV_TIME_OUT (-6) for `AbortSignal.timeout()`. (At the client's own `operationTimeout` it rejects with
   * what the servers said, such as -26 or -30.)
   */
  signal?: AbortSignal | undefined;
}

/** What {@link LicenseClient.status} reports. */
export interface ClientStatus {
  /** Whether `close()` has been called. */
  readonly closed: boolean;
  /** Every configured server, in priority order, with its health and the seats this client holds there. */
  readonly servers: ReadonlyArray<
    ServerHealthSnapshot & {
      /** Seats this client holds on the server. */
      readonly seats: number;
    }
  >;
  /** Every lease this client holds (ports' licenses included). */
  readonly leases: ReadonlyArray<{
    /** The lease id. */
    readonly id: string;
    /** The license feature (`FULL`, `LITE`, `TTS`...). */
    readonly feature: string;
    /** Seats held. */
    readonly count: number;
    /** `host:port` of the server that holds it. */
    readonly server: string;
    /** `held`, `reconnecting`, `lost` or `released`. */
    readonly state: LeaseState;
    /** The id of the port holding it, if a port does. */
    readonly port: number | undefined;
  }>;
  /** Licenses kept by closed ports for the next port (`LICENSE_CACHE_PERIOD`). */
  readonly cache: ReadonlyArray<{
    /** The lease id. */
    readonly lease: string;
    /** The license feature. */
    readonly feature: string;
    /** Epoch ms when it goes back to the server unless a port takes it. */
    readonly expiresAt: number;
  }>;
}

/** Overrides of {@link LicenseClient.fromConfigFile}. */
export interface FromConfigFileOptions extends LicenseClientOptions {
  /** Apply edits of the file (servers, credentials, license settings) without a restart. @defaultValue false */
  watch?: boolean;
}

interface PortState {
  readonly port: Port;
  leaseLoading?: Promise<Lease> | undefined;
}

/**
 * Gets and holds licenses from LumenVox-style license servers.
 *
 * @example
 * ```ts
 * const client = await LicenseClient.fromConfigFile();      // LV_CLIENT_PROPERTY_CONF or the vendor path
 * const port = await client.openPort();                     // one license until the port closes
 * await client.loadVoiceChannel(port, 1, audio);           // rejects InvalidPortError (-12) on a bad port
 * await port.close();
 * await client.close();
 * ```
 */
export class LicenseClient extends EventEmitter<LicenseClientEvents> implements PortOwner, AsyncDisposable {
  #options: ResolvedOptions;
  readonly #log: LogFn;
  readonly #cluster: Cluster;
  readonly #table = new LeaseTable();
  readonly #keeper: LeaseKeeper;
  readonly #cache: LicenseCache;
  readonly #leases = new Map<string, Lease>();
  readonly #ports = new Map<number, PortState>();
  readonly #portByLease = new Map<string, Port>();
  readonly #waiting = new Map<string, string>();
  readonly #idPrefix: string;
  #nextPort = 1;
  #nextLease = 1;
  #cacheTimer: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;
  #unwatch: (() => void) | undefined;
  /** The deadlines of the calls in flight, which close() aborts. */
  readonly #calls = new CallDeadlines(() => this.#options.operationTimeout);
  /** Acquires in flight, so that close() can wait for them to give back what they took. */
  readonly #inflight = new Set<Promise<unknown>>();

  /**
   * Makes a client. No I/O happens here: the first call (or {@link LicenseClient.connect}) connects.
   *
   * @throws {ConfigError} for an option that is wrong.
   */
  constructor(options: LicenseClientOptions = {}) {
    super();
    this.#options = resolveOptions(options);
    this.#log = makeLog(this.#options.logger);
    const o = this.#options;
    const now = Date.now;
    this.#cluster = new Cluster({
      servers: o.servers,
      credentials: o.credentials,
      tls: o.tls,
      connectTimeout: o.connectTimeout,
      requestTimeout: o.requestTimeout,
      clientName: o.clientName,
      socketFactory: o.socketFactory,
      reconnectDelay: o.reconnectDelay,
      retryDelay: { min: 50, max: 1_000 },
      now,
    });
    this.#keeper = new LeaseKeeper({
      cluster: this.#cluster,
      table: this.#table,
      heartbeatInterval: o.heartbeatInterval,
      gracePeriod: o.gracePeriod,
      migrationTimeout: o.operationTimeout,
      now,
      log: this.#log,
    });
    this.#cache = new LicenseCache(o.licenseCachePeriod * 1_000, now);
    this.#idPrefix = leasePrefix();
    this.#wireEvents();
  }

  /**
   * A client configured by `client_property.conf`: the given path, else `LV_CLIENT_PROPERTY_CONF`, else the
   * vendor's default path. `overrides` win over the file.
   *
   * @throws {ConfigError} when the file is missing, unreadable or invalid.
   * @example
   * ```ts
   * const client = await LicenseClient.fromConfigFile('/etc/lumenvox/client_property.conf', { watch: true });
   * ```
   */
  static async fromConfigFile(path?: string, overrides: FromConfigFileOptions = {}): Promise<LicenseClient> {
    const props = await loadClientProperties(path);
    const { watch, ...rest } = overrides;
    const client = new LicenseClient(await optionsFromProperties(props, rest));
    for (const warning of props.warnings) client.#log('warn', warning.message, { code: warning.code });
    if (watch === true) client.#watch(props.source, rest);
    return client;
  }

  /**
   * Connects to the first server, in priority order, that answers and authenticates: each server is
   * tried once, within the operation timeout. Optional: every call connects by itself when needed (and
   * retries).
   *
   * @throws {LicenseError} `NoServerRespondingError` (-30) when no server answers,
   * `AuthenticationError` (-34), `IncompatibleServerError` (-28), or the abort reason.
   */
  async connect(options: { signal?: AbortSignal } = {}): Promise<void> {
    this.#assertOpen('connect()');
    const call = this.#calls.start(options.signal, 0, 'connect()');
    try {
      await this.#cluster.connectFirst(call.signal);
    } finally {
      call.done();
    }
  }

  /**
   * Opens a port that holds one license until it is closed (or, with delayed acquisition, from its first
   * `loadVoiceChannel`). A license cached by a recently closed port is reused with no round trip.
   *
   * @throws {OpenPortError} `code` -1 (what the vendor's `OpenPort()` returns), `status` the detail
   * (-26 licenses exceeded, -30 no server responding, -34 authentication, -28 incompatible...), `cause`
   * the specific error; the message reads like the vendor's log line.
   */
  async openPort(options: OpenPortOptions = {}): Promise<Port> {
    try {
      this.#assertOpen('openPort()');
      const type = options.licenseType ?? this.#options.licenseType;
      if (!isPortLicenseType(type)) {
        throw new InvalidParameterError(
          `licenseType ${JSON.stringify(type)} is not one of SpeechPort, VoxLite, Auto, TTS, AMD.`,
        );
      }
      checkWait(options.wait);
      const port = new Port(this.#nextPort++, type, this, undefined);
      this.#ports.set(port.id, { port });
      if (this.#options.delayedLicenseAcquisition) return port;
      const call = this.#calls.start(options.signal, options.wait ?? 0, 'openPort()');
      try {
        this.#attach(port, await this.#licenseFor(type, options.wait, call.signal, 'openPort'));
      } catch (err) {
        this.#ports.delete(port.id);
        throw err;
      } finally {
        call.done();
      }
      return port;
    } catch (err) {
      const error = OpenPortError.fromCause(err, this.#cluster.addresses);
      this.#log('error', error.message, { status: error.status });
      throw error;
    }
  }

  /**
   * The license gate before audio goes to a speech engine: checks that the port is open and still
   * licensed (taking its license now with delayed acquisition).
   *
   * @throws {InvalidPortError} (-12) for a port that is closed, failed to open, or is not this client's.
   * @throws {LicensesExpiredError} (-41) when the port's license was lost.
   * @throws {InvalidParameterError} -8 (`LV_SOUND_CHANNEL_OUT_OF_RANGE`) for a bad channel, -47
   * (`LV_INVALID_BUFFER`) for audio that is not a non-empty Buffer, Uint8Array or ArrayBuffer.
   * @throws {LicenseError} -58 (`LV_ACQUIRING_LICENSE_FAILED`) when a delayed acquisition fails.
   */
  async loadVoiceChannel(
    port: Port,
    channel: number,
    audio?: Uint8Array | ArrayBuffer,
    options: { signal?: AbortSignal } = {},
  ): Promise<void> {
    const state = port instanceof Port ? this.#ports.get(port.id) : undefined;
    if (state === undefined || state.port !== port || port.state !== 'open') {
      const id = port instanceof Port ? port.id : String(port);
      throw new InvalidPortError(
        `Port ${id} is not valid: it was never opened by this client, failed to open, or is already closed (LV_INVALID_HPORT). Open a new port.`,
      );
    }
    if (!Number.isInteger(channel) || channel < 0 || channel >= this.#options.maxVoiceChannels) {
      throw new InvalidParameterError(
        `Voice channel ${String(channel)} is out of range: use 0 to ${this.#options.maxVoiceChannels - 1}.`,
        { code: ReturnCode.LV_SOUND_CHANNEL_OUT_OF_RANGE },
      );
    }
    if (audio !== undefined && !isAudioBuffer(audio)) {
      throw new InvalidParameterError('The audio must be a non-empty Buffer, Uint8Array or ArrayBuffer.', {
        code: ReturnCode.LV_INVALID_BUFFER,
      });
    }
    const lease = port.lease ?? (await this.#delayedLicense(state, options.signal));
    if (lease.state === 'lost') {
      throw new LicensesExpiredError(
        lease.lostError?.message ??
          `The license of port ${port.id} was lost. Close the port and open a new one.`,
        { server: lease.server, cause: lease.lostError },
      );
    }
  }

  /**
   * Takes `count` seats of any feature the servers know (`TTS`, `AMD`, ...) until the lease is released.
   *
   * @throws {LicensesExceededError} (-26) when every server is out (after `wait`, if given).
   * @throws {NoServerRespondingError} (-30) when no server answered before the operation timeout.
   * @throws {InvalidParameterError} (-54) for a bad feature name, count or wait.
   * @example
   * ```ts
   * const tts = await client.acquire('TTS', { count: 2, wait: 5_000, signal });
   * await tts.release();
   * ```
   */
  async acquire(feature: string, options: AcquireOptions = {}): Promise<Lease> {
    this.#assertOpen('acquire()');
    if (typeof feature !== 'string' || !FEATURE_PATTERN.test(feature)) {
      throw new InvalidParameterError(
        `Feature ${JSON.stringify(feature)} is not a license type name: use upper-case letters, digits and _, such as TTS.`,
      );
    }
    const count = options.count ?? 1;
    if (!Number.isInteger(count) || count < 1) {
      throw new InvalidParameterError(`count must be a whole number of at least 1, not ${String(count)}.`);
    }
    checkWait(options.wait);
    const call = this.#calls.start(options.signal, options.wait ?? 0, 'acquire()');
    try {
      return await this.#acquireLease(feature, count, options.wait, call.signal, 'acquire');
    } finally {
      call.done();
    }
  }

  /** A snapshot of every server, every held lease and the license cache. */
  status(): ClientStatus {
    const seats = this.#table.seatsByServer();
    return {
      closed: this.#closing !== undefined,
      servers: this.#cluster.links.map((link) => ({
        ...link.health.snapshot(),
        seats: seats.get(link.server) ?? 0,
      })),
      leases: this.#table.all().map((r) => ({
        id: r.id,
        feature: r.feature,
        count: r.count,
        server: r.server,
        state: r.state,
        port: this.#portByLease.get(r.id)?.id,
      })),
      cache: this.#cache
        .entries()
        .map((e) => ({ lease: e.leaseId, feature: e.feature, expiresAt: e.expiresAt })),
    };
  }

  /**
   * Releases every seat (bounded by `closeTimeout`), closes every connection and stops every timer.
   * Idempotent; after it, nothing of the client keeps the process alive.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  /** Same as {@link LicenseClient.close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** @internal Called by {@link Port.close}. */
  async closePort(port: Port): Promise<void> {
    const state = this.#ports.get(port.id);
    if (state === undefined || state.port !== port) return;
    this.#ports.delete(port.id);
    await state.leaseLoading?.catch(() => undefined);
    const lease = port.detach();
    if (lease === undefined) return;
    this.#portByLease.delete(lease.id);
    if (this.#closing === undefined && lease.state === 'held' && this.#cache.put(lease.id, lease.feature)) {
      // The port's handle stops standing for the seat; the next port gets a fresh one.
      lease.retire();
      this.#leases.delete(lease.id);
      this.#log('debug', 'license cached', { lease: lease.id, feature: lease.feature });
      this.#armCache();
      return;
    }
    await lease.release();
  }

  async #licenseFor(
    type: PortLicenseType,
    wait: number | undefined,
    signal: AbortSignal,
    operation: string,
  ): Promise<Lease> {
    const features = featuresFor(type);
    const cached = this.#cache.take(features, (id) => this.#table.get(id)?.state === 'held');
    const record = cached === undefined ? undefined : this.#table.get(cached.leaseId);
    if (record !== undefined) {
      const lease = new Lease(record, (l) => this.#release(l));
      this.#leases.set(record.id, lease);
      this.#log('debug', 'license taken from the cache', { lease: record.id, feature: record.feature });
      return lease;
    }
    let last: unknown;
    for (const [i, feature] of features.entries()) {
      const isLast = i === features.length - 1;
      try {
        return await this.#acquireLease(feature, 1, isLast ? wait : undefined, signal, operation);
      } catch (err) {
        last = err;
        // Auto: FULL first, then LITE; only exhaustion moves on to the next type.
        if (isLast || !(err instanceof LicensesExceededError)) throw err;
      }
    }
    throw last;
  }

  async #acquireLease(
    feature: string,
    count: number,
    wait: number | undefined,
    signal: AbortSignal,
    operation: string,
  ): Promise<Lease> {
    const id = `${this.#idPrefix}-${this.#nextLease++}`;
    this.#waiting.set(id, feature);
    try {
      const acquiring = this.#cluster.acquire({ lease: id, feature, count, wait, signal, operation });
      this.#inflight.add(acquiring);
      const { link } = await acquiring.finally(() => this.#inflight.delete(acquiring));
      const record: LeaseRecord = {
        id,
        feature,
        count,
        server: link.server,
        state: 'held',
        acquiredAt: Date.now(),
      };
      const lease = new Lease(record, (l) => this.#release(l));
      this.#leases.set(id, lease);
      this.#keeper.track(record);
      if (this.#closing !== undefined) {
        await lease.release();
        throw this.#closedError(operation);
      }
      this.#log('info', 'lease granted', { lease: id, feature, count, server: link.server });
      return lease;
    } finally {
      this.#waiting.delete(id);
    }
  }

  /** Releases through a handle; a handle that no longer stands for its seat does nothing. */
  async #release(lease: Lease): Promise<void> {
    if (this.#leases.get(lease.id) !== lease) return;
    await this.#releaseId(lease.id);
  }

  async #releaseId(id: string): Promise<void> {
    this.#cache.remove(id);
    this.#leases.delete(id);
    const port = this.#portByLease.get(id);
    this.#portByLease.delete(id);
    if (port !== undefined) this.#ports.delete(port.id);
    const server = this.#table.get(id)?.server;
    await this.#keeper.release([id]);
    this.#log('debug', 'lease released', { lease: id, server });
    if (server !== undefined) this.#dropIfRetiredAndEmpty(server);
  }

  /** A server removed by a reload is let go once this client holds nothing there. */
  #dropIfRetiredAndEmpty(server: string): void {
    if (!this.#table.hasOn(server)) void this.#cluster.dropRetired(server);
  }

  #delayedLicense(state: PortState, signal: AbortSignal | undefined): Promise<Lease> {
    const call = this.#calls.start(signal, 0, 'loadVoiceChannel()');
    state.leaseLoading ??= this.#licenseFor(
      state.port.licenseType,
      undefined,
      call.signal,
      'loadVoiceChannel',
    )
      .finally(() => call.done())
      .then((lease) => {
        if (state.port.state !== 'open') {
          void lease.release();
          throw new InvalidPortError(
            `Port ${state.port.id} was closed while its license was being acquired.`,
          );
        }
        this.#attach(state.port, lease);
        return lease;
      })
      .catch((err: unknown) => {
        state.leaseLoading = undefined;
        if (err instanceof InvalidPortError) throw err;
        throw new LicenseError(
          `No license could be obtained for port ${state.port.id} (delayed acquisition): ${err instanceof Error ? err.message : String(err)}`,
          {
            code: ReturnCode.LV_ACQUIRING_LICENSE_FAILED,
            cause: err,
            server: isLicenseError(err) ? err.server : undefined,
          },
        );
      });
    return state.leaseLoading;
  }

  #attach(port: Port, lease: Lease): void {
    port.attach(lease);
    this.#portByLease.set(lease.id, port);
  }

  #armCache(): void {
    clearTimeout(this.#cacheTimer);
    const next = this.#cache.nextExpiry();
    if (next === undefined) return;
    this.#cacheTimer = setTimeout(
      () => {
        const due = this.#cache.expired();
        if (due.length > 0) {
          this.#log('debug', 'cached licenses go back to the server', { leases: due.map((d) => d.leaseId) });
          for (const entry of due) void this.#releaseId(entry.leaseId);
        }
        this.#armCache();
      },
      Math.max(0, next - Date.now()) + 1,
    );
    this.#cacheTimer.unref();
  }

  #wireEvents(): void {
    wireEvents({
      cluster: this.#cluster,
      keeper: this.#keeper,
      log: this.#log,
      emit: (event, ...args) => this.#emit(event, ...args),
      waitingFeature: (id) => this.#waiting.get(id),
      lease: (id) => this.#leases.get(id),
      portOf: (id) => this.#portByLease.get(id),
      lostFromCache: (id) => {
        // A lost license that sat in the cache belongs to no port: forget it.
        if (this.#cache.remove(id)) void this.#releaseId(id);
      },
    });
  }

  #watch(path: string, overrides: LicenseClientOptions): void {
    this.#unwatch = watchAndReload(path, overrides, {
      apply: (next, source) => {
        if (this.#closing !== undefined) return;
        this.#options = { ...next, logger: this.#options.logger };
        const retired = this.#cluster.update(next.servers, next.credentials);
        for (const link of retired) this.#dropIfRetiredAndEmpty(link.server);
        this.#cache.setPeriod(next.licenseCachePeriod * 1_000);
        this.#log('info', 'configuration reloaded', { source, servers: this.#cluster.addresses });
      },
      fail: (error) => {
        this.#log('error', `the edited configuration was not applied: ${error.message}`);
        this.#emit('error', error);
      },
    });
  }

  /** Emits an event to the application; a listener that throws never breaks licensing (see safeEmit). */
  #emit<K extends keyof LicenseClientEvents>(event: K, ...args: LicenseClientEvents[K]): void {
    safeEmit(this, this.#log, event, args);
  }

  #assertOpen(operation: string): void {
    if (this.#closing !== undefined) throw this.#closedError(operation);
  }

  #closedError(operation: string): LicenseError {
    return new LicenseError(`${operation}: this LicenseClient is closed. Make a new one.`, {
      code: ReturnCode.LV_INVALID_CLIENT_OBJECT,
      retryable: false,
    });
  }

  async #shutdown(): Promise<void> {
    this.#unwatch?.();
    // Calls in flight end now; the seats they may have taken are given back with the rest.
    this.#calls.abortAll(this.#closedError('close()'));
    clearTimeout(this.#cacheTimer);
    this.#cache.drain();
    const closingPorts = [...this.#ports.values()].map(({ port }) => port.close());
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.#options.closeTimeout);
    });
    const releasing = (async () => {
      await Promise.allSettled([...this.#inflight, ...closingPorts]);
      await this.#keeper.releaseEverything();
    })();
    await Promise.race([releasing.catch(() => {}), deadline]);
    clearTimeout(timer);
    this.#keeper.close();
    await this.#cluster.close();
    this.#log('info', 'closed');
  }
}
