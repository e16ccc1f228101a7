/**
 * FakeLicenseServer: a real license server on a real socket, for tests and demos. It speaks the
 * lv-license protocol (src/protocol), keeps real pools with TTLs and a FIFO queue, and lets tests
 * inject the faults a production server shows: stopping, restarting, black-holing, dropped
 * connections, slowness and error codes.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import { ConfigError } from '../errors.js';
import { buildGreeting, errorResponse } from '../protocol/builders.js';
import { encodeFrame } from '../protocol/codec.js';
import { DEFAULT_MAX_FRAME_BYTES } from '../protocol/constants.js';
import type { AuthMode, Greeting, Request, RequestOp } from '../protocol/messages.js';
import { ReturnCode } from '../protocol/return-codes.js';
import { type ScramCredentials, ScramServer } from '../protocol/scram.js';
import { LIBRARY_VERSION } from '../version.js';
import { type AccountsSpec, loadAccountsFile, validateAccounts } from './accounts.js';
import { AuthFailureGuard } from './guard.js';
import { ANONYMOUS_ACCOUNT, type LeaseRecord, LicensePools } from './pools.js';
import { buildCredentialLookup } from './scram-lookup.js';
import { grantResult, Session, type SessionHost } from './session.js';

/** TLS material for the server: PEM strings or buffers. */
export interface FakeServerTlsOptions {
  /** The server's certificate chain (PEM). */
  cert: string | Buffer;
  /** The private key of `cert` (PEM). */
  key: string | Buffer;
  /** CA to verify client certificates with; set with `requestCert` for mutual TLS. */
  ca?: string | Buffer;
  /** Ask clients for a certificate (and refuse those without a valid one). @defaultValue false */
  requestCert?: boolean;
}

/** Options of {@link FakeLicenseServer.start}. */
export interface FakeLicenseServerOptions {
  /** TCP port; 0 picks a free one. @defaultValue 0 */
  port?: number;
  /** Address to listen on. @defaultValue '127.0.0.1' */
  host?: string;
  /**
   * Accounts for authentication mode, in code or as the path of a `license_authentication.conf` file.
   * Without accounts the server runs in unauthenticated mode with one pool, {@link FakeLicenseServerOptions.licenses}.
   */
  accounts?: AccountsSpec | string;
  /** The pool of unauthenticated mode. @defaultValue `{ FULL: 4, LITE: 2, TTS: 2, AMD: 1 }` */
  licenses?: Readonly<Record<string, number>>;
  /** How long a lease lives without renewal, in ms. @defaultValue 30000 */
  leaseTtl?: number;
  /** Serve TLS instead of plain TCP. */
  tls?: FakeServerTlsOptions;
  /** Connections at once; more are refused with LV_NO_SERVER_AVAILABLE. @defaultValue 1000 */
  maxConnections?: number;
  /** The largest frame accepted. @defaultValue 65536 */
  maxFrameBytes?: number;
  /** A connection that has not authenticated (or said hello) within this many ms is closed. @defaultValue 10000 */
  authTimeout?: number;
  /** Failed authentications before a connection is closed. @defaultValue 3 */
  maxAuthFailuresPerConnection?: number;
  /** Failed authentications per remote address per minute before it is refused. @defaultValue 20 */
  maxAuthFailuresPerAddress?: number;
  /** SCRAM iteration count for accounts given with a plain password. @defaultValue 4096 */
  scramIterations?: number;
  /** The software name in the greeting. @defaultValue 'lv-license-client-fake/0.1.0' */
  name?: string;
  /** Receives one line per connection, grant and release (what `lv-license serve` prints). */
  log?: (line: string) => void;
}

/** One received request, as {@link FakeLicenseServer.requests} keeps it. Secrets are never recorded. */
export interface ReceivedRequest {
  /** Epoch ms when it arrived. */
  readonly at: number;
  /** The connection it came on (1, 2, ...). */
  readonly connection: number;
  /** The authenticated account, `''` in unauthenticated mode, `undefined` before authentication. */
  readonly account: string | undefined;
  /** The operation: `hello`, `acquire`, `renew`, `release`... */
  readonly op: RequestOp;
  /** The request's fields, with the SCRAM messages replaced by `'[redacted]'`. */
  readonly params: Readonly<Record<string, unknown>>;
}

const DEFAULT_LICENSES = Object.freeze({ FULL: 4, LITE: 2, TTS: 2, AMD: 1 });
const REQUEST_LOG_LIMIT = 10_000;

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
  readonly #options: Omit<FakeLicenseServerOptions, 'accounts'>;
  readonly #accountNames: readonly string[];
  readonly #bindHost: string;
  readonly #auth: AuthMode;
  readonly #credentials: ((username: string) => ScramCredentials | undefined) | undefined;
  readonly #pools: LicensePools;
  readonly #guard: AuthFailureGuard;
  readonly #sessions = new Map<number, Session>();
  readonly #faults = new Map<RequestOp, { code: number; times: number }>();
  readonly #requests: ReceivedRequest[] = [];
  readonly #greeting: Greeting;
  #listener: net.Server | undefined;
  #port: number;
  #nextSession = 1;
  #paused = false;
  #delay = 0;
  #expiryTimer: NodeJS.Timeout | undefined;
  /** When the expiry timer fires: nothing can expire before. */
  #nextCheckAt: number | undefined;
  #closed = false;
  readonly #sessionHost: SessionHost;

  private constructor(options: FakeLicenseServerOptions, accounts: AccountsSpec | undefined) {
    // Passwords are not kept: only the SCRAM verifiers derived from them below.
    const { accounts: _accounts, ...rest } = options;
    this.#options = rest;
    this.#accountNames = Object.keys(accounts ?? {});
    this.#bindHost = options.host ?? '127.0.0.1';
    this.#port = options.port ?? 0;
    this.#auth = accounts === undefined ? 'none' : 'scram-sha-256';
    this.#pools = new LicensePools({ now: Date.now, leaseTtl: options.leaseTtl ?? 30_000 });
    this.#guard = new AuthFailureGuard({ limit: options.maxAuthFailuresPerAddress ?? 20, windowMs: 60_000 });
    this.#greeting = buildGreeting({
      server: options.name ?? `lv-license-client-fake/${LIBRARY_VERSION}`,
      auth: this.#auth,
    });
    if (accounts === undefined) {
      for (const [feature, total] of Object.entries(options.licenses ?? DEFAULT_LICENSES)) {
        this.#pools.setTotal(ANONYMOUS_ACCOUNT, feature, total);
      }
      this.#credentials = undefined;
    } else {
      for (const [account, spec] of Object.entries(accounts)) {
        for (const [feature, total] of Object.entries(spec.licenses))
          this.#pools.setTotal(account, feature, total);
      }
      this.#credentials = buildCredentialLookup(accounts, options.scramIterations);
    }
    this.#sessionHost = {
      auth: this.#auth,
      greeting: this.#greeting,
      pools: this.#pools,
      guard: this.#guard,
      maxFrameBytes: options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
      maxAuthFailures: options.maxAuthFailuresPerConnection ?? 3,
      paused: () => this.#paused,
      responseDelay: () => this.#delay,
      newScramServer: () => this.#newScramServer(),
      takeFault: (op) => this.#takeFault(op),
      record: (session, request) => this.#record(session.id, session.account, request),
      log: (line) => this.#log(line),
      afterChange: (deadline) => this.#afterChange(deadline),
      sessionFor: (id) => this.#sessions.get(id),
    };
  }

  /**
   * Starts a server and resolves once it listens.
   *
   * @throws {ConfigError} for bad accounts (or an unreadable accounts file) or a port already in use.
   */
  static async start(options: FakeLicenseServerOptions = {}): Promise<FakeLicenseServer> {
    const accounts =
      options.accounts === undefined
        ? undefined
        : typeof options.accounts === 'string'
          ? await loadAccountsFile(options.accounts)
          : validateAccounts(options.accounts);
    const server = new FakeLicenseServer(options, accounts);
    await server.#listen();
    return server;
  }

  /** `host:port` to put in `LICENSE_SERVERS`. */
  get address(): string {
    return net.isIP(this.#bindHost) === 6
      ? `[${this.#bindHost}]:${this.#port}`
      : `${this.#bindHost}:${this.#port}`;
  }

  /** The port it listens on (the one picked, when started with port 0). */
  get port(): number {
    return this.#port;
  }

  /** The address it listens on. */
  get host(): string {
    return this.#bindHost;
  }

  /** Whether it runs in authentication mode. */
  get authMode(): AuthMode {
    return this.#auth;
  }

  /** Open client connections. */
  get connectionCount(): number {
    return this.#sessions.size;
  }

  /** Whether the listener is up (false after `stop()` until `restart()`). */
  get listening(): boolean {
    return this.#listener?.listening === true;
  }

  // ---- fault injection -------------------------------------------------------------------------

  /** Stops listening and drops every connection (with a TCP reset); leases stay, as a persistent server's would. */
  async stop(): Promise<void> {
    this.#dropAll(true);
    await this.#closeListener();
  }

  /** Listens again on the same port after {@link FakeLicenseServer.stop}. */
  async restart(): Promise<void> {
    if (this.#closed) throw new ConfigError('This FakeLicenseServer was closed; start a new one.');
    await this.#stopListenerOnly();
    await this.#listen();
  }

  /** Becomes a black hole: connections are accepted and read, nothing is answered, no lease expires. */
  pause(): void {
    this.#paused = true;
    clearTimeout(this.#expiryTimer);
    this.#nextCheckAt = undefined;
  }

  /** Answers again: what arrived while paused is handled in order. */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    for (const session of [...this.#sessions.values()]) session.resume();
    this.#afterChange();
  }

  /** Resets every client connection (leases stay until their TTL, so clients can reclaim them). */
  dropConnections(): void {
    this.#dropAll(true);
  }

  /** Holds every response for `ms` milliseconds (0 to stop). */
  delay(ms: number): void {
    this.#delay = Math.max(0, ms);
  }

  /** Fails the next `times` requests of `operation` with `returnCode` (for example -26 or -50). */
  failNext(operation: RequestOp, returnCode: number, times = 1): void {
    if (times <= 0) this.#faults.delete(operation);
    else this.#faults.set(operation, { code: returnCode, times });
  }

  /**
   * Sets the size of a pool. Shrinking it below what is in use revokes the newest leases, and their
   * holders get a `lease-revoked` push.
   */
  setLicenses(feature: string, count: number, account: string = this.#defaultAccount()): void {
    const revoked = this.#pools.setTotal(account, feature, count);
    this.#revoke(revoked, ReturnCode.LV_LICENSES_EXPIRED, `The ${feature} pool was reduced to ${count}.`);
    this.#afterChange();
  }

  // ---- introspection ---------------------------------------------------------------------------

  /** Seats in use, of one feature or all, for one account or all. */
  inUse(feature?: string, account?: string): number {
    return this.#pools.inUse(account, feature);
  }

  /** A snapshot of every lease held. */
  leases(): LeaseRecord[] {
    return this.#pools.leases();
  }

  /** Requests received so far, oldest first (at most the last 10,000). Secrets are never recorded. */
  requests(): ReceivedRequest[] {
    return this.#requests.slice(-REQUEST_LOG_LIMIT);
  }

  // ---- lifecycle -------------------------------------------------------------------------------

  /** Tells clients it is going away, closes every connection and the listener. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#expiryTimer);
    for (const session of this.#sessions.values()) {
      session.push({ push: 'shutdown', message: 'The license server is shutting down.' });
      session.end();
    }
    const ending = [...this.#sessions.values()];
    await this.#closeListener();
    for (const session of ending) session.destroy();
  }

  /** Same as {@link FakeLicenseServer.close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #defaultAccount(): string {
    if (this.#auth === 'none') return ANONYMOUS_ACCOUNT;
    const first = this.#accountNames[0];
    if (this.#accountNames.length !== 1 || first === undefined) {
      throw new ConfigError(
        'This server has several accounts: say which one, setLicenses(feature, count, account).',
      );
    }
    return first;
  }

  #listen(): Promise<void> {
    const onConnection = (socket: net.Socket) => this.#accept(socket);
    const tlsOptions = this.#options.tls;
    const listener =
      tlsOptions === undefined
        ? net.createServer(onConnection)
        : tls.createServer(
            {
              cert: tlsOptions.cert,
              key: tlsOptions.key,
              ...(tlsOptions.ca === undefined ? {} : { ca: tlsOptions.ca }),
              requestCert: tlsOptions.requestCert ?? false,
              rejectUnauthorized: tlsOptions.requestCert ?? false,
            },
            onConnection,
          );
    // A client that fails the TLS handshake must not take the server down.
    listener.on('tlsClientError', () => {});
    this.#listener = listener;
    return new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        this.#listener = undefined;
        reject(
          new ConfigError(
            `FakeLicenseServer could not listen on ${this.#bindHost}:${this.#port} (${err.code ?? err.message}): pick another port, or 0 for a free one.`,
            { cause: err },
          ),
        );
      };
      listener.once('error', onError);
      listener.listen(this.#port, this.#bindHost, () => {
        listener.off('error', onError);
        listener.on('error', () => {});
        const address = listener.address();
        if (address !== null && typeof address === 'object') this.#port = address.port;
        this.#log(
          `listening on ${this.address} (${this.#auth === 'none' ? 'unauthenticated' : 'authentication'} mode)`,
        );
        resolve();
      });
    });
  }

  #accept(socket: net.Socket): void {
    const id = this.#nextSession++;
    if (this.#sessions.size >= (this.#options.maxConnections ?? 1_000)) {
      socket.on('error', () => {});
      socket.end(
        encodeFrame(errorResponse(null, ReturnCode.LV_NO_SERVER_AVAILABLE, 'Too many connections.')),
      );
      return;
    }
    const session = new Session(id, socket, this.#sessionHost, this.#options.authTimeout ?? 10_000);
    this.#sessions.set(id, session);
    this.#log(`connection ${id} from ${session.remote}`);
    socket.once('close', () => {
      this.#sessions.delete(id);
      session.dispose();
      this.#pools.dropOwner(id);
      this.#log(`connection ${id} closed`);
      this.#afterChange();
    });
  }

  #newScramServer(): ScramServer {
    const lookup = this.#credentials ?? (() => undefined);
    return new ScramServer(lookup, { iterations: this.#options.scramIterations ?? 4096 });
  }

  #takeFault(op: RequestOp): number | undefined {
    const fault = this.#faults.get(op);
    if (fault === undefined) return undefined;
    fault.times -= 1;
    if (fault.times <= 0) this.#faults.delete(op);
    return fault.code;
  }

  #record(connection: number, account: string | undefined, request: Request): void {
    const { id: _id, op, ...params } = request;
    const safe: Record<string, unknown> = { ...params };
    if (op === 'auth-start' || op === 'auth-finish') safe.message = '[redacted]';
    this.#requests.push(
      Object.freeze({ at: Date.now(), connection, account, op, params: Object.freeze(safe) }),
    );
    // Trimmed in chunks, not one shift() per request (which would copy 10,000 entries each time).
    if (this.#requests.length >= 2 * REQUEST_LOG_LIMIT) this.#requests.splice(0, REQUEST_LOG_LIMIT);
  }

  #log(line: string): void {
    try {
      this.#options.log?.(line);
    } catch {
      // A broken log callback must not take the server down.
    }
  }

  /**
   * Expires leases and waits, grants what now fits, reports queue moves, and re-arms the one timer.
   * Expiry scans every lease, so it runs only when the earliest deadline is due; between those times a
   * change only grants waiters, and `deadline` (a new lease's or waiter's) moves the timer earlier.
   */
  #afterChange(deadline?: number): void {
    if (this.#paused || this.#closed) return;
    const due = this.#nextCheckAt;
    if (due !== undefined && Date.now() < due) {
      const granted = this.#grantWaiters();
      const next = Math.min(deadline ?? due, granted > 0 ? Date.now() + this.#pools.leaseTtl : due);
      if (next < due) this.#arm(next);
      return;
    }
    const { expired, timedOut } = this.#pools.expire();
    this.#revoke(
      expired,
      ReturnCode.LV_LICENSES_EXPIRED,
      'The lease expired: it was not renewed within its TTL.',
    );
    for (const waiter of timedOut) {
      this.#sessions
        .get(waiter.owner)
        ?.fail(waiter.requestId, ReturnCode.LV_TIME_OUT, `No ${waiter.feature} license became free in time.`);
    }
    this.#grantWaiters();
    const next = this.#pools.nextDeadline();
    if (next === undefined) {
      clearTimeout(this.#expiryTimer);
      this.#nextCheckAt = undefined;
    } else {
      this.#arm(next);
    }
  }

  /** Grants the queue heads that now fit and tells waiters where they stand; returns how many were granted. */
  #grantWaiters(): number {
    const { granted, positions } = this.#pools.drain();
    for (const { waiter, lease } of granted) {
      const session = this.#sessions.get(waiter.owner);
      if (session === undefined) {
        this.#pools.release(lease.account, [lease.id]);
        continue;
      }
      this.#log(
        `connection ${waiter.owner} granted ${lease.feature} x${lease.count} lease ${lease.id} after waiting`,
      );
      session.answer(waiter.requestId, grantResult(lease, this.#pools.leaseTtl, false));
    }
    for (const { waiter, position } of positions) {
      this.#sessions.get(waiter.owner)?.push({ push: 'queue-position', lease: waiter.id, position });
    }
    return granted.length;
  }

  /** The one expiry timer, set for `at` (epoch ms). */
  #arm(at: number): void {
    clearTimeout(this.#expiryTimer);
    this.#nextCheckAt = at;
    this.#expiryTimer = setTimeout(
      () => {
        this.#nextCheckAt = undefined;
        this.#afterChange();
      },
      // setTimeout takes at most 2^31-1 ms; a longer wait is reached in steps (each check re-arms).
      Math.min(2 ** 31 - 1, Math.max(0, at - Date.now()) + 1),
    );
    this.#expiryTimer.unref();
  }

  #revoke(leases: readonly LeaseRecord[], code: number, message: string): void {
    const byOwner = new Map<number, string[]>();
    for (const lease of leases) byOwner.set(lease.owner, [...(byOwner.get(lease.owner) ?? []), lease.id]);
    for (const [owner, ids] of byOwner) {
      this.#sessions.get(owner)?.push({ push: 'lease-revoked', leases: ids, code, message });
    }
  }

  #dropAll(reset: boolean): void {
    for (const session of this.#sessions.values()) session.destroy(reset);
  }

  async #stopListenerOnly(): Promise<void> {
    if (this.#listener?.listening === true) await this.#closeListener();
  }

  #closeListener(): Promise<void> {
    const listener = this.#listener;
    this.#listener = undefined;
    if (listener === undefined || !listener.listening) return Promise.resolve();
    return new Promise<void>((resolve) => listener.close(() => resolve()));
  }
}
