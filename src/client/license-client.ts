import { EventEmitter } from 'eventemitter3';
import type { ServerHealthSnapshot } from '../cluster/health.js';
import { ServerPool } from '../cluster/server-pool.js';
import { loadClientProperties } from '../config/load.js';
import { DEFAULTS } from '../defaults.js';
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
import { type LeaseState, LeaseTable, leaseStateOf, type TrackedLease } from '../leases/lease-table.js';
import { LicenseCache } from '../leases/license-cache.js';
import { FEATURE_PATTERN } from '../protocol/constants.js';
import { ReturnCode } from '../protocol/return-codes.js';
import { checkWait, isAudioBuffer, leasePrefix } from './arguments.js';
import { CallDeadlines } from './call-deadlines.js';
import type { LicenseClientEvents } from './events.js';
import { forwardEvents } from './forward-events.js';
import { Holdings } from './holdings.js';
import { Lease, type LeaseHost } from './lease.js';
import { featuresFor, isPortLicenseType, type PortLicenseType } from './license-types.js';
import { type LogFn, makeLog } from './logger.js';
import {
  connectionSettings,
  type LicenseClientOptions,
  optionsFromProperties,
  type ResolvedOptions,
  resolveOptions,
} from './options.js';
import { Port, type PortHost } from './port.js';
import { watchAndReload } from './reload.js';
import { safeEmit } from './safe-emit.js';

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
export class LicenseClient extends EventEmitter<LicenseClientEvents> implements AsyncDisposable {
  #options: ResolvedOptions;
  readonly #log: LogFn;
  readonly #servers: ServerPool;
  readonly #table = new LeaseTable();
  readonly #keeper: LeaseKeeper;
  readonly #cache: LicenseCache;
  readonly #holdings = new Holdings();
  readonly #idPrefix: string;
  /** What each Port and Lease handle may ask of this client (not part of its public shape). */
  readonly #portHost: PortHost = {
    close: (port) => this.#closePort(port),
    leaseOf: (port) => this.#holdings.leaseOf(port),
  };
  readonly #leaseHost: LeaseHost = {
    release: (lease) => this.#releaseId(lease.id),
    stands: (lease) => this.#holdings.stands(lease),
  };
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
    this.#servers = new ServerPool({
      servers: o.servers,
      credentials: o.credentials,
      settings: connectionSettings(o),
      retryDelay: DEFAULTS.retryDelay,
    });
    this.#keeper = new LeaseKeeper({
      servers: this.#servers,
      table: this.#table,
      heartbeatInterval: o.heartbeatInterval,
      gracePeriod: o.gracePeriod,
      migrationTimeout: o.operationTimeout,
      log: this.#log,
    });
    this.#cache = new LicenseCache(o.licenseCachePeriod * 1_000, Date.now);
    this.#idPrefix = leasePrefix();
    forwardEvents({
      servers: this.#servers,
      keeper: this.#keeper,
      log: this.#log,
      emit: (event, ...args) => this.#emit(event, ...args),
      waitingFeature: (id) => this.#holdings.waitingFeature(id),
      lease: (id) => this.#holdings.handle(id),
      portOf: (id) => this.#holdings.portOf(id),
      lostFromCache: (id) => {
        // A lost license that sat in the cache belongs to no port: forget it.
        if (this.#cache.remove(id)) void this.#releaseId(id);
      },
    });
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
      await this.#servers.connectFirst(call.signal);
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
      const port = new Port(this.#nextPort++, type, this.#portHost);
      this.#holdings.addPort(port);
      if (this.#options.delayedLicenseAcquisition) return port;
      const call = this.#calls.start(options.signal, options.wait ?? 0, 'openPort()');
      try {
        this.#holdings.attach(port, await this.#licenseFor(type, options.wait, call.signal, 'openPort'));
      } catch (err) {
        await this.#holdings.removePort(port);
        throw err;
      } finally {
        call.done();
      }
      return port;
    } catch (err) {
      const error = OpenPortError.fromCause(err, this.#servers.addresses);
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
    if (!(port instanceof Port) || !this.#holdings.isOpen(port) || port.state !== 'open') {
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
    const lease = port.lease ?? (await this.#delayedLicense(port, options.signal));
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
      servers: this.#servers.links.map((link) => ({
        ...link.snapshot(),
        seats: seats.get(link.server) ?? 0,
      })),
      leases: this.#table.all().map((r) => ({
        id: r.id,
        feature: r.feature,
        count: r.count,
        server: r.server,
        state: leaseStateOf(r.state),
        port: this.#holdings.portOf(r.id)?.id,
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

  async #closePort(port: Port): Promise<void> {
    const lease = await this.#holdings.removePort(port);
    if (lease === undefined) return;
    if (this.#closing === undefined && lease.state === 'held' && this.#cache.put(lease.id, lease.feature)) {
      // The port's handle stops standing for the seat; the next port gets a fresh one.
      this.#holdings.retireHandle(lease.id);
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
      this.#log('debug', 'license taken from the cache', { lease: record.id, feature: record.feature });
      return this.#handleFor(record);
    }
    // Auto: FULL first, then LITE; only exhaustion moves on to the next type.
    const last = features.length - 1;
    for (const [i, feature] of features.entries()) {
      try {
        return await this.#acquireLease(feature, 1, i === last ? wait : undefined, signal, operation);
      } catch (err) {
        if (i === last || !(err instanceof LicensesExceededError)) throw err;
      }
    }
    throw new InvalidParameterError(`License type ${type} names no feature.`);
  }

  async #acquireLease(
    feature: string,
    count: number,
    wait: number | undefined,
    signal: AbortSignal,
    operation: string,
  ): Promise<Lease> {
    const id = `${this.#idPrefix}-${this.#nextLease++}`;
    this.#holdings.startWaiting(id, feature);
    try {
      const acquiring = this.#servers.acquire({ lease: id, feature, count, wait, signal, operation });
      this.#inflight.add(acquiring);
      const { link } = await acquiring.finally(() => this.#inflight.delete(acquiring));
      const record: TrackedLease = { id, feature, count, server: link.server, state: 'held' };
      this.#keeper.track(record);
      const lease = this.#handleFor(record);
      if (this.#closing !== undefined) {
        await lease.release();
        throw this.#closedError(operation);
      }
      this.#log('info', 'lease granted', { lease: id, feature, count, server: link.server });
      return lease;
    } finally {
      this.#holdings.stopWaiting(id);
    }
  }

  /** A new application handle for a tracked lease (a fresh grant, or a license from the cache). */
  #handleFor(record: TrackedLease): Lease {
    const lease = new Lease(record, this.#leaseHost);
    this.#holdings.addHandle(lease);
    return lease;
  }

  async #releaseId(id: string): Promise<void> {
    this.#cache.remove(id);
    this.#holdings.forget(id);
    const server = this.#table.get(id)?.server;
    await this.#keeper.release([id]);
    this.#log('debug', 'lease released', { lease: id, server });
    if (server !== undefined) this.#dropIfRetiredAndEmpty(server);
  }

  /** A server removed by a reload is let go once this client holds nothing there. */
  #dropIfRetiredAndEmpty(server: string): void {
    if (!this.#table.hasOn(server)) void this.#servers.dropRetired(server);
  }

  #delayedLicense(port: Port, signal: AbortSignal | undefined): Promise<Lease> {
    return this.#holdings.loading(port, async () => {
      const call = this.#calls.start(signal, 0, 'loadVoiceChannel()');
      let lease: Lease;
      try {
        lease = await this.#licenseFor(port.licenseType, undefined, call.signal, 'loadVoiceChannel');
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
        void lease.release();
        throw new InvalidPortError(`Port ${port.id} was closed while its license was being acquired.`);
      }
      this.#holdings.attach(port, lease);
      return lease;
    });
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

  #watch(path: string, overrides: LicenseClientOptions): void {
    this.#unwatch = watchAndReload(path, overrides, {
      apply: (next, source) => {
        if (this.#closing !== undefined) return;
        this.#options = { ...next, logger: this.#options.logger };
        const retired = this.#servers.update(next.servers, next.credentials);
        for (const link of retired) this.#dropIfRetiredAndEmpty(link.server);
        this.#cache.setPeriod(next.licenseCachePeriod * 1_000);
        this.#log('info', 'configuration reloaded', { source, servers: this.#servers.addresses });
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
    const closingPorts = this.#holdings.ports().map((port) => port.close());
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
    await this.#servers.close();
    this.#log('info', 'closed');
  }
}
