import { EventEmitter } from 'eventemitter3';
import { environmentStandsIn, loadClientProperties } from '../config/index.js';
import {
  InvalidPortError,
  LicenseError,
  LicensesExpiredError,
  OpenPortError,
  toReturnCode,
} from '../errors.js';
import type { Feature } from '../protocol/features.js';
import { ReturnCode } from '../protocol/return-codes.js';
import { checkAcquire, checkLicenseType, checkVoiceChannel, checkWait } from './arguments.js';
import { CallDeadlines, type CallSignal } from './call-deadlines.js';
import type { AcquireOptions, ClientStatus, FromConfigFileOptions, OpenPortOptions } from './call-options.js';
import { type CallContext, isTraced, traced } from './diagnostics.js';
import { optionsFromEnvironment } from './environment.js';
import type { LicenseClientEvents } from './events.js';
import type { Lease } from './lease.js';
import { Licenses } from './licenses.js';
import { type LogFn, makeLog } from './logger.js';
import { type ClientMetrics, MetricsRecorder } from './metrics.js';
import {
  type LicenseClientOptions,
  optionsFromProperties,
  type ResolvedOptions,
  resolveOptions,
} from './options.js';
import { Port } from './port.js';
import { watchAndReload } from './reload.js';
import { safeEmit } from './safe-emit.js';

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
  readonly #licenses: Licenses;
  readonly #metrics = new MetricsRecorder();
  /** The deadlines of the calls in flight, which close() aborts. */
  readonly #calls = new CallDeadlines(
    () => this.#options.operationTimeout,
    () => this.#licenses.servers.settleReceived(),
  );
  #closing: Promise<void> | undefined;
  #unwatch: (() => void) | undefined;

  /**
   * Makes a client. No I/O happens here: the first call (or {@link LicenseClient.connect}) connects.
   *
   * @throws {ConfigError} for an option that is wrong.
   */
  constructor(options: LicenseClientOptions = {}) {
    super();
    this.#options = resolveOptions(options);
    this.#log = makeLog(this.#options.logger);
    this.#licenses = new Licenses({
      options: this.#options,
      log: this.#log,
      emit: (event, ...args) => {
        this.#metrics.event(event, args);
        safeEmit(this, this.#log, event, args);
      },
      closedError: (operation) => (this.#closing === undefined ? undefined : this.#closedError(operation)),
    });
  }

  /**
   * A client configured by `client_property.conf`: the given path, else `LV_CLIENT_PROPERTY_CONF`, else the
   * vendor's default path. `LV_LICENSE_SERVERS`, `LV_AUTHENTICATION_USERNAME` and
   * `LV_AUTHENTICATION_PASSWORD` (or `LV_AUTHENTICATION_PASSWORD_FILE`) win over the file, and stand in for
   * it when there is none and no path is given; `overrides` win over both.
   *
   * @throws {ConfigError} when the file is missing, unreadable or invalid.
   * @example
   * ```ts
   * const client = await LicenseClient.fromConfigFile('/etc/lumenvox/client_property.conf', { watch: true });
   * ```
   */
  static async fromConfigFile(path?: string, overrides: FromConfigFileOptions = {}): Promise<LicenseClient> {
    const { watch, ...rest } = overrides;
    if (await environmentStandsIn(path)) {
      // A container with LV_LICENSE_SERVERS (and LV_AUTHENTICATION_*) and no client_property.conf.
      return new LicenseClient({ ...optionsFromEnvironment(), ...rest });
    }
    const props = await loadClientProperties(path);
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
      await this.#licenses.servers.connectFirst(call.signal);
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
  openPort(options: OpenPortOptions = {}): Promise<Port> {
    const feature = options.licenseType ?? this.#options.licenseType;
    return this.#measured(
      traced('openPort', { feature, count: 1 }, () => this.#openPort(options), learnFromPort),
      (port) => port.lease?.server,
    );
  }

  async #openPort(options: OpenPortOptions): Promise<Port> {
    try {
      this.#assertOpen('openPort()');
      const type = options.licenseType ?? this.#options.licenseType;
      checkLicenseType(type);
      checkWait(options.wait);
      const port = this.#licenses.newPort(type);
      if (this.#options.delayedLicenseAcquisition) return port;
      const call = this.#calls.start(options.signal, options.wait ?? 0, 'openPort()');
      try {
        this.#licenses.attach(
          port,
          await this.#licenses.licenseFor(type, options.wait, call.signal, 'openPort'),
        );
      } catch (err) {
        await this.#licenses.dropPort(port);
        throw err;
      } finally {
        call.done();
      }
      return port;
    } catch (err) {
      const error = OpenPortError.fromCause(err, this.#licenses.servers.addresses);
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
  loadVoiceChannel(
    port: Port,
    channel: number,
    audio?: Uint8Array | ArrayBuffer,
    options: { signal?: AbortSignal } = {},
  ): Promise<void> {
    return traced(
      'loadVoiceChannel',
      { port: port instanceof Port ? port.id : undefined },
      () => this.#loadVoiceChannel(port, channel, audio, options),
      (context) => learnFromPort(context, port),
    );
  }

  async #loadVoiceChannel(
    port: Port,
    channel: number,
    audio: Uint8Array | ArrayBuffer | undefined,
    options: { signal?: AbortSignal },
  ): Promise<void> {
    if (!(port instanceof Port) || !this.#licenses.isOpen(port) || port.state !== 'open') {
      const id = port instanceof Port ? port.id : String(port);
      throw new InvalidPortError(
        `Port ${id} is not valid: it was never opened by this client, failed to open, or is already closed (LV_INVALID_HPORT). Open a new port.`,
      );
    }
    checkVoiceChannel(channel, this.#options.maxVoiceChannels, audio);
    const lease =
      port.lease ??
      (await this.#licenses.delayedLicense(port, () =>
        this.#calls.start(options.signal, 0, 'loadVoiceChannel()'),
      ));
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
  acquire(feature: Feature, options: AcquireOptions = {}): Promise<Lease> {
    // Untraced (the common case): no context object and closures per call.
    if (!isTraced('acquire')) return this.#acquire(feature, options);
    return traced(
      'acquire',
      { feature, count: options.count ?? 1 },
      () => this.#acquire(feature, options),
      (context, lease) => {
        context.lease = lease.id;
        context.server = lease.server;
      },
    );
  }

  /**
   * The checks, the call's deadline and the metrics of one acquire, with no async frame of its own (one per
   * acquire is a measurable share of its CPU with many in flight): whatever fails rejects the promise.
   */
  #acquire(feature: Feature, options: AcquireOptions): Promise<Lease> {
    const started = performance.now();
    let call: CallSignal;
    let acquiring: Promise<Lease>;
    try {
      this.#assertOpen('acquire()');
      const count = options.count ?? 1;
      checkAcquire(feature, count);
      checkWait(options.wait);
      call = this.#calls.start(options.signal, options.wait ?? 0, 'acquire()');
      try {
        acquiring = this.#licenses.acquire(feature, count, options.wait, call.signal, 'acquire');
      } catch (err) {
        call.done();
        throw err;
      }
    } catch (err) {
      this.#refused(err);
      return Promise.reject(err);
    }
    return acquiring.then(
      (lease) => {
        call.done();
        this.#metrics.granted(lease.server, performance.now() - started);
        return lease;
      },
      (err: unknown) => {
        call.done();
        this.#refused(err);
        throw err;
      },
    );
  }

  /**
   * Counts since the client was made (grants, refusals by code, failovers, reclaims, migrations, losses,
   * reconnects), each server's grant latency, and the seats held now per license type. Cheap enough to
   * read every second (docs/observability.md shows it exported with prom-client).
   *
   * @example
   * ```ts
   * const { grants, refusals, servers } = client.metrics();
   * console.log(grants, refusals['-26'] ?? 0, servers['10.0.0.1:7569']?.p99);
   * ```
   */
  metrics(): ClientMetrics {
    const seats: Record<string, number> = {};
    for (const lease of this.status().leases) {
      if (lease.state === 'held' || lease.state === 'reconnecting') {
        seats[lease.feature] = (seats[lease.feature] ?? 0) + lease.count;
      }
    }
    return this.#metrics.snapshot(seats, this.#licenses.queueStats());
  }

  /** Records how a grant went: its server and time, or its code. */
  async #measured<T>(call: Promise<T>, serverOf: (result: T) => string | undefined): Promise<T> {
    const started = performance.now();
    try {
      const result = await call;
      this.#metrics.granted(serverOf(result), performance.now() - started);
      return result;
    } catch (err) {
      this.#refused(err);
      throw err;
    }
  }

  /** Counts a call that failed, by its code (an OpenPortError's detailed `status`). */
  #refused(err: unknown): void {
    const status = (err as { status?: unknown }).status;
    this.#metrics.refused(typeof status === 'number' ? status : toReturnCode(err));
  }

  /** A snapshot of every server, every held lease and the license cache. */
  status(): ClientStatus {
    return this.#licenses.status(this.#closing !== undefined);
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

  #watch(path: string, overrides: LicenseClientOptions): void {
    this.#unwatch = watchAndReload(path, overrides, {
      apply: (next, source) => {
        if (this.#closing !== undefined) return;
        this.#options = { ...next, logger: this.#options.logger };
        this.#licenses.reconfigure(next.servers, next.credentials, next.licenseCachePeriod * 1_000);
        this.#log('info', 'configuration reloaded', { source, servers: this.#licenses.servers.addresses });
      },
      fail: (error) => {
        this.#log('error', `the edited configuration was not applied: ${error.message}`);
        safeEmit(this, this.#log, 'error', [error]);
      },
    });
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
    await this.#licenses.shutdown(this.#options.closeTimeout);
    this.#log('info', 'closed');
  }
}

/** What a port tells a traced call: its id, and its lease and server once it holds one. */
function learnFromPort(context: CallContext, port: Port): void {
  if (!(port instanceof Port)) return;
  context.port = port.id;
  context.lease = port.lease?.id;
  context.server = port.lease?.server;
  // The port's type may be a cascade (`Auto`): the feature its lease holds is the one granted.
  context.feature = port.lease?.feature ?? context.feature;
}
