/**
 * FakeLicenseServer: the real license server (lv-license-client/server) on a real socket, for tests and
 * demos, plus the faults a production server shows: stopping, restarting, black-holing, dropped
 * connections, slowness and error codes, and a log of the requests it received.
 */
import type { AuthMode, RequestOp } from '../protocol/messages.js';
import { FaultPlan, kServerControl, kStartWithFaults, type ReceivedRequest } from '../server/faults.js';
import { LicenseServer, type LicenseServerOptions, type ServerTlsOptions } from '../server/license-server.js';
import { MemoryStore } from '../server/memory-store.js';
import type { LeaseRecord } from '../server/pool-types.js';
import { LIBRARY_VERSION } from '../version.js';

export type { ReceivedRequest } from '../server/faults.js';

/** TLS material for the server: PEM strings or buffers. */
export type FakeServerTlsOptions = ServerTlsOptions;

/**
 * Options of {@link FakeLicenseServer.start}: those of a {@link LicenseServer}, but for its store: a fake
 * server keeps its pools in memory, so that a test can read them at any moment.
 */
export type FakeLicenseServerOptions = Omit<LicenseServerOptions, 'store'> & {
  /**
   * Keep the last 10,000 requests for {@link FakeLicenseServer.requests}. A load test may turn it off:
   * at 100,000 requests a second the log is most of what the server keeps past a young-generation
   * collection (its garbage collection then takes about twice as long).
   *
   * @defaultValue true
   */
  recordRequests?: boolean;
};

/**
 * A license server for tests: real sockets, real protocol, real license semantics, and fault injection.
 *
 * @example
 * ```ts
 * import { FakeLicenseServer } from 'lv-license-client/testing';
 *
 * await using server = await FakeLicenseServer.start({
 *   accounts: { alice: { password: 'secret', licenses: { FULL: 4, LITE: 2 } } },
 * });
 * const client = new LicenseClient({ servers: server.address, username: 'alice', password: 'secret' });
 * server.pause(); // now it accepts connections and reads, but never answers
 * ```
 */
export class FakeLicenseServer implements AsyncDisposable {
  readonly #server: LicenseServer;
  readonly #faults: FaultPlan;
  readonly #store: MemoryStore;

  private constructor(server: LicenseServer, faults: FaultPlan, store: MemoryStore) {
    this.#server = server;
    this.#faults = faults;
    this.#store = store;
  }

  /**
   * Starts a server and resolves once it listens.
   *
   * @throws {ConfigError} for bad accounts (or an unreadable accounts file) or a port already in use.
   */
  static async start(options: FakeLicenseServerOptions = {}): Promise<FakeLicenseServer> {
    const faults = new FaultPlan(options.recordRequests ?? true);
    const {
      store: _ignored,
      recordRequests: _record,
      ...rest
    } = options as FakeLicenseServerOptions & Pick<LicenseServerOptions, 'store'>;
    const store = new MemoryStore({ leaseTtl: options.leaseTtl ?? 30_000 });
    const server = await LicenseServer[kStartWithFaults](
      { ...rest, store, name: options.name ?? `lv-license-client-fake/${LIBRARY_VERSION}` },
      faults,
    );
    return new FakeLicenseServer(server, faults, store);
  }

  /** `host:port` to put in `LICENSE_SERVERS`. */
  get address(): string {
    return this.#server.address;
  }

  /** The port it listens on (the one picked, when started with port 0). */
  get port(): number {
    return this.#server.port;
  }

  /** The address it listens on. */
  get host(): string {
    return this.#server.host;
  }

  /** Whether it runs in authentication mode. */
  get authMode(): AuthMode {
    return this.#server.authMode;
  }

  /** Open client connections. */
  get connectionCount(): number {
    return this.#server.connectionCount;
  }

  /** Whether the listener is up (false after `stop()` until `restart()`). */
  get listening(): boolean {
    return this.#server.listening;
  }

  // ---- fault injection -------------------------------------------------------------------------

  /**
   * Stops listening and drops every connection (with a TCP reset); leases stay, as a persistent server's
   * would. Stops and restarts run in the order called, each once the one before has ended.
   */
  stop(): Promise<void> {
    return this.#server[kServerControl].stop();
  }

  /**
   * Listens again on the same port after {@link FakeLicenseServer.stop}. On a running server it stops
   * first, as {@link FakeLicenseServer.stop} does (every connection reset, the leases kept), then listens.
   */
  restart(): Promise<void> {
    return this.#server[kServerControl].restart();
  }

  /** Becomes a black hole: connections are accepted and read, nothing is answered, no lease expires. */
  pause(): void {
    this.#server[kServerControl].setPaused(true);
  }

  /** Answers again: what arrived while paused is handled in order. */
  resume(): void {
    this.#server[kServerControl].setPaused(false);
  }

  /** Resets every client connection (leases stay until their TTL, so clients can reclaim them). */
  dropConnections(): void {
    this.#server[kServerControl].dropConnections();
  }

  /** Holds every response for `ms` milliseconds (0 to stop). */
  delay(ms: number): void {
    this.#faults.delay = Math.max(0, ms);
  }

  /** Fails the next `times` requests of `operation` with `returnCode` (for example -26 or -50). */
  failNext(operation: RequestOp, returnCode: number, times = 1): void {
    this.#faults.failNext(operation, returnCode, times);
  }

  /**
   * Sets the size of a pool. Shrinking it below what is in use revokes the newest leases, and their
   * holders get a `lease-revoked` push.
   */
  setLicenses(feature: string, count: number, account?: string): void {
    // The memory store has the new size when this returns; the pushes follow on the event loop.
    this.#server[kServerControl].setLicenses(feature, count, account).catch(() => {
      // Not reached: a memory store does not fail once the count was checked (which throws above).
    });
  }

  // ---- introspection ---------------------------------------------------------------------------

  /** Seats in use, of one feature or all, for one account or all. */
  inUse(feature?: string, account?: string): number {
    return this.#store.inUseNow(account, feature);
  }

  /** A snapshot of every lease held. */
  leases(): LeaseRecord[] {
    return this.#store.leasesNow();
  }

  /**
   * Requests received so far, oldest first (at most the last 10,000). Secrets are never recorded.
   *
   * @throws {Error} for a server started with `recordRequests: false`.
   */
  requests(): ReceivedRequest[] {
    if (!this.#faults.recording) {
      throw new Error('This FakeLicenseServer was started with recordRequests: false: it keeps no requests.');
    }
    return this.#faults.requests();
  }

  // ---- lifecycle -------------------------------------------------------------------------------

  /** Tells clients it is going away, closes every connection and the listener. Idempotent. */
  close(): Promise<void> {
    return this.#server.close();
  }

  /** Same as {@link FakeLicenseServer.close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
