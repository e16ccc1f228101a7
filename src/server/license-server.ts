/**
 * LicenseServer: the lv-license protocol engine on a real socket. It greets, authenticates (SCRAM-SHA-256,
 * optionally over TLS), keeps pools with lease TTLs and a FIFO wait queue in a {@link LicenseStore}
 * ({@link MemoryStore} unless given another), pushes revocations, queue positions and shutdown notices,
 * and limits what hostile clients can do (connections, frame size, failed logins). FakeLicenseServer
 * (lv-license-client/testing) is this engine plus fault injection.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import { ConfigError } from '../errors.js';
import { buildGreeting, errorResponse } from '../protocol/builders.js';
import { encodeFrame } from '../protocol/codec.js';
import { DEFAULT_MAX_FRAME_BYTES, MAX_BATCH_REQUESTS } from '../protocol/constants.js';

/** Requests per `batch` frame a server takes unless told otherwise. */
const DEFAULT_MAX_BATCH = 128;

import type { AuthMode, Greeting } from '../protocol/messages.js';
import { ReturnCode } from '../protocol/return-codes.js';
import { type ScramCredentials, ScramServer } from '../protocol/scram.js';
import { LIBRARY_VERSION } from '../version.js';
import {
  type AccountsSpec,
  enabledAccounts,
  loadAccountsFile,
  subscriptionEnd,
  validateAccounts,
} from './accounts.js';
import type { LicenseServerOptions, PoolStatus, ReloadSummary, ServerTlsOptions } from './options.js';

export type { LicenseServerOptions, PoolStatus, ReloadSummary, ServerTlsOptions } from './options.js';

import { type AccountSource, accountsFileSource, isAccountSource } from './account-source.js';
import { applyAccounts } from './apply-accounts.js';
import { errorText } from './error-text.js';
import { describeEvent, type RevocationReason, type ServerEvent } from './events.js';
import { FaultPlan, kServerControl, kStartWithFaults, type ServerControl } from './faults.js';
import { AuthFailureGuard } from './guard.js';
import { InOrder } from './in-order.js';
import { closeListener, listen } from './listener.js';
import { MemoryStore } from './memory-store.js';
import type { LeaseRecord } from './pool-types.js';
import { ANONYMOUS_ACCOUNT } from './pools.js';
import { buildCredentialLookup } from './scram-lookup.js';
import { Session, type SessionHost } from './session.js';
import { kAnswersNow, type LeaseFilter, type LicenseStore, type StoreNow } from './store.js';

const DEFAULT_LICENSES = Object.freeze({ FULL: 4, LITE: 2, TTS: 2, AMD: 1 });

/**
 * A license server: real sockets, the lv-license protocol, accounts, pools, leases and queues.
 *
 * @example
 * ```ts
 * import { LicenseServer } from 'lv-license-client/server';
 *
 * await using server = await LicenseServer.start({
 *   port: 7569,
 *   host: '0.0.0.0',
 *   accounts: '/etc/lumenvox/license_authentication.conf',
 * });
 * console.log(`serving on ${server.address}`);
 * ```
 */
export class LicenseServer implements AsyncDisposable {
  #options: Omit<LicenseServerOptions, 'accounts'>;
  #accountNames: readonly string[];
  readonly #bindHost: string;
  readonly #auth: AuthMode;
  #credentials: ((username: string) => ScramCredentials | undefined) | undefined;
  readonly #store: LicenseStore;
  /** The store's decisions without a promise, when it makes them at once (a MemoryStore). */
  readonly #storeNow: StoreNow | undefined;
  /** Whether the server made its store (and so closes it). */
  readonly #ownsStore: boolean;
  readonly #guard: AuthFailureGuard;
  readonly #sessions = new Map<number, Session>();
  readonly #faults: FaultPlan;
  readonly #greeting: Greeting;
  #listener: net.Server | undefined;
  #port: number;
  #nextSession = 1;
  #expiryTimer: NodeJS.Timeout | undefined;
  /** When the expiry timer fires: nothing can expire before. */
  #nextCheckAt: number | undefined;
  #closed = false;
  /**
   * The stops and restarts of the testing control, one after the other: a restart that listened while the
   * one before still closed the listener failed (EADDRINUSE), and a stop called during a restart resolved
   * before the restart listened again. With none under way one starts at once: a stop() resets the
   * connections before it returns.
   */
  readonly #steps = new InOrder();
  #markClosed: () => void = () => {};
  readonly #whenClosed = new Promise<void>((resolve) => {
    this.#markClosed = resolve;
  });
  #draining: Promise<void> | undefined;
  /** When each cancelled subscription ends (epoch ms), by account. */
  #subscriptionEnds = new Map<string, number>();
  /** Accounts whose subscription has ended and whose seats were taken back. */
  readonly #ended = new Set<string>();
  /** Looks for subscriptions that ended while nothing asked (an idle server). */
  #billingTimer: NodeJS.Timeout | undefined;
  /** Where the accounts come from and changes to them go (a file, a database); none for accounts in code. */
  readonly #accountSource: AccountSource | undefined;
  #stopWatching: (() => void) | undefined;
  /** Stops hearing of other servers' changes in a shared store. */
  #unwatch: (() => void) | undefined;
  /** Whether the notices of revocations taken elsewhere are being fetched (one fetch at a time). */
  #takingNotices = false;
  /** Called once when the last connection closes (a drain waits for it). */
  #whenEmpty: (() => void) | undefined;
  readonly #sessionHost: SessionHost;
  /** Whether the expiry and grant pass runs now, and whether something changed since it began. */
  #checking = false;
  #checkAgain = false;
  /** The earliest new deadline reported while a pass ran (epoch ms). */
  #pendingDeadline: number | undefined;
  /**
   * Changes of accounts and pools, one after the other (a SIGHUP and a file change may come together). With
   * none under way one starts at once, so what it does to a {@link MemoryStore} is done when it returns.
   */
  readonly #changes = new InOrder();
  /** Accounts whose ended subscription is being enforced now. */
  readonly #ending = new Map<string, Promise<void>>();
  /** Who hears the server's events ({@link LicenseServer.onEvent}). */
  readonly #listeners = new Set<(event: ServerEvent) => void>();

  private constructor(
    options: LicenseServerOptions,
    all: AccountsSpec | undefined,
    faults: FaultPlan,
    store: LicenseStore | undefined,
    source: AccountSource | undefined,
  ) {
    // Passwords are not kept: only the SCRAM verifiers derived from them below.
    const { accounts: _accounts, ...rest } = options;
    // A disabled account is as good as absent: it cannot log in and holds no seat.
    const accounts = all === undefined ? undefined : enabledAccounts(all);
    this.#options = rest;
    this.#faults = faults;
    this.#accountSource = source;
    this.#accountNames = Object.keys(accounts ?? {});
    this.#bindHost = options.host ?? '127.0.0.1';
    this.#port = options.port ?? 0;
    this.#auth = all === undefined ? 'none' : 'scram-sha-256';
    this.#ownsStore = store === undefined;
    this.#store = store ?? new MemoryStore({ leaseTtl: options.leaseTtl ?? 30_000 });
    this.#storeNow = (this.#store as { [kAnswersNow]?: StoreNow | undefined })[kAnswersNow];
    this.#guard = new AuthFailureGuard({ limit: options.maxAuthFailuresPerAddress ?? 20, windowMs: 60_000 });
    const maxBatch = Math.max(
      0,
      Math.min(MAX_BATCH_REQUESTS, Math.floor(options.maxBatch ?? DEFAULT_MAX_BATCH)),
    );
    this.#greeting = buildGreeting({
      server: options.name ?? `lv-license-client/${LIBRARY_VERSION}`,
      auth: this.#auth,
      // Batching came with 1.2: a server without it is a 1.1 server.
      ...(maxBatch > 0 ? {} : { version: '1.1' }),
    });
    if (accounts !== undefined) {
      this.#credentials = buildCredentialLookup(accounts, options.scramIterations);
      this.#subscriptionEnds = subscriptionEnds(accounts);
    }
    this.#sessionHost = {
      auth: this.#auth,
      greeting: this.#greeting,
      store: this.#store,
      storeNow: this.#storeNow,
      guard: this.#guard,
      maxFrameBytes: options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
      maxBatch,
      maxAuthFailures: options.maxAuthFailuresPerConnection ?? 3,
      paused: () => faults.paused,
      responseDelay: () => faults.delay,
      newScramServer: () => this.#newScramServer(),
      takeFault: (op) => faults.take(op),
      record: (session, request) => faults.record(session.id, session.account, request),
      log: (line) => this.#log(line),
      observed: () => this.#listeners.size > 0,
      reporting: () => this.#listeners.size > 0 || this.#options.log !== undefined,
      emit: (event) => this.#emit(event),
      afterChange: (deadline) => this.#afterChange(deadline),
      leaseGranted: (expiresAt) => {
        // The timer already fires earlier (an older lease expires first): this grant needs no pass.
        if (this.#nextCheckAt !== undefined && this.#nextCheckAt <= expiresAt) return;
        this.#afterChange(expiresAt);
      },
      sessionFor: (id) => this.#sessions.get(id),
      subscriptionEnd: (account) => this.#subscriptionEnds.get(account),
      subscriptionEnded: (account) => this.#subscriptionEnded(account),
      draining: () => this.#draining !== undefined,
    };
  }

  /**
   * Starts a server and resolves once it listens.
   *
   * @throws {ConfigError} for bad accounts (or an unreadable accounts file) or a port already in use.
   */
  static start(options: LicenseServerOptions = {}): Promise<LicenseServer> {
    return LicenseServer[kStartWithFaults](options, new FaultPlan());
  }

  /** @internal {@link LicenseServer.start} with a fault plan (lv-license-client/testing). */
  static async [kStartWithFaults](options: LicenseServerOptions, faults: FaultPlan): Promise<LicenseServer> {
    const given = options.accounts;
    const source =
      typeof given === 'string' ? accountsFileSource(given) : isAccountSource(given) ? given : undefined;
    const accounts =
      given === undefined
        ? undefined
        : source !== undefined
          ? validateAccounts(await source.load())
          : validateAccounts(given as AccountsSpec);
    const server = new LicenseServer(options, accounts, faults, options.store, source);
    const store = server.#store;
    if (accounts === undefined) {
      await setAnonymousPool(store, options.licenses);
    } else {
      await applyAccounts(store, [], enabledAccounts(accounts));
    }
    try {
      await server.#listen();
    } catch (err) {
      if (server.#ownsStore) await store.close();
      throw err;
    }
    // A store shared with other servers says when they freed seats this server's waiters may take.
    // It also carries the revocations other servers took of leases held through this one, to push here.
    server.#unwatch = store.watch?.(() => {
      server.#afterChange();
      server.#pushNotices();
    });
    server.#billingTimer = setInterval(() => server.#enforceSubscriptions(), 1_000);
    server.#billingTimer.unref();
    // A file is watched when asked; a source given as such (a database) always.
    const watching = options.watch ?? (source !== undefined && typeof given !== 'string');
    if (watching && source?.watch !== undefined) {
      server.#stopWatching = source.watch(() => {
        server.reload().catch((err: unknown) => {
          server.#log(
            `the accounts of ${source.description} were not applied, the accounts in force stay: ${errorText(err)}`,
          );
        });
      });
    }
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

  /** @internal What lv-license-client/testing may do to a running server (see {@link ServerControl}). */
  get [kServerControl](): ServerControl {
    return {
      stop: () =>
        this.#steps.run(async () => {
          this.#dropAll(true);
          await this.#closeListener();
        }),
      restart: () =>
        this.#steps.run(async () => {
          if (this.#closed) throw new ConfigError('This license server was closed; start a new one.');
          // On a running server, a restart is a stop first: closing the listener waits for every connection
          // to end, and live clients keep theirs (it took about 40 s).
          if (this.#listener?.listening === true) {
            this.#dropAll(true);
            await this.#closeListener();
          }
          // A close() during the step: it stays closed.
          if (this.#closed) throw new ConfigError('This license server was closed; start a new one.');
          await this.#listen();
          if (this.#closed) await this.#closeListener();
        }),
      dropConnections: () => this.#dropAll(true),
      setLicenses: (feature, count, account = this.#defaultAccount()) => {
        if (!Number.isSafeInteger(count) || count < 0) {
          throw new RangeError(`The total of ${feature} must be a whole number, 0 or more, not ${count}.`);
        }
        return this.#setLicenses(feature, count, account);
      },
      setPaused: (paused) => {
        if (paused === this.#faults.paused) return;
        this.#faults.paused = paused;
        if (paused) {
          clearTimeout(this.#expiryTimer);
          this.#nextCheckAt = undefined;
          return;
        }
        for (const session of [...this.#sessions.values()]) session.resume();
        this.#afterChange();
      },
    };
  }

  // ---- change without a restart -----------------------------------------------------------------

  /**
   * Applies new accounts (code, or the path of a `license_authentication.conf`; by default the accounts of
   * the source the server was started with: its file, or its database) without a restart. The
   * new accounts are validated whole first: when they do not validate, it throws and nothing changes.
   * Then: a pool that shrinks revokes its newest leases (their holders get `lease-revoked`); one that grows
   * serves its queue; a new password applies to the next login (sessions already authenticated go on); the
   * sessions of a removed account get the `shutdown` push and are closed. No other connection is dropped
   * and no other lease is lost.
   *
   * @throws {ConfigError} for accounts that do not validate, or on a server without accounts.
   */
  reload(accounts?: AccountsSpec | string): Promise<ReloadSummary> {
    return this.#changes.run(() => this.#reload(accounts));
  }

  async #reload(accounts: AccountsSpec | string | undefined): Promise<ReloadSummary> {
    if (this.#auth === 'none') {
      throw new ConfigError(
        'This license server runs without accounts (unauthenticated mode): there are no accounts to reload. Start it with accounts to use them.',
      );
    }
    const source = this.#accountSource;
    if (accounts === undefined && source === undefined) {
      throw new ConfigError(
        "This license server's accounts were given in code: pass the new ones, reload(accounts).",
      );
    }
    const all =
      typeof accounts === 'string'
        ? await loadAccountsFile(accounts)
        : validateAccounts(accounts ?? (await (source as AccountSource).load()));
    const next = enabledAccounts(all);
    // Validated whole: from here on only the store can fail, and what it did by then is told.
    const revoked: LeaseRecord[] = [];
    let removed: string[];
    try {
      ({ removed } = await applyAccounts(this.#store, this.#accountNames, next, revoked));
    } catch (err) {
      this.#revoke(
        revoked,
        ReturnCode.LV_LICENSES_EXPIRED,
        'The license pool was reduced by a configuration change.',
        'pool-shrunk',
      );
      this.#afterChange();
      throw new Error(
        `The accounts were applied only in part: the license store failed (${errorText(err)}). ${revoked.length} lease(s) were revoked; the logins in force stay. Reload again once the store answers.`,
        { cause: err },
      );
    }
    this.#credentials = buildCredentialLookup(next, this.#options.scramIterations);
    this.#accountNames = Object.keys(next);
    this.#subscriptionEnds = subscriptionEnds(next);
    // A renewed (or un-cancelled) subscription serves again; one that ended stays ended.
    for (const account of [...this.#ended])
      if (!this.#subscriptionEnds.has(account)) this.#ended.delete(account);
    this.#revoke(
      revoked,
      ReturnCode.LV_LICENSES_EXPIRED,
      'The license pool was reduced by a configuration change.',
      'pool-shrunk',
    );
    for (const session of [...this.#sessions.values()]) {
      if (session.account === undefined || !removed.includes(session.account)) continue;
      session.push({
        push: 'shutdown',
        message: `The account ${session.account} was removed from this license server, or disabled.`,
      });
      session.end();
    }
    this.#afterChange();
    this.#log(
      `accounts reloaded: ${this.#accountNames.length} account(s), ${removed.length} removed, ${revoked.length} lease(s) revoked`,
    );
    return Object.freeze({ accounts: this.#accountNames.length, removed, revoked: revoked.length });
  }

  /**
   * Uses a new TLS certificate and key (and client CA) for the connections accepted from now on; those
   * already open keep theirs.
   *
   * @throws {ConfigError} on a server that does not serve TLS, or for material Node.js cannot use.
   */
  reloadTls(tlsOptions: ServerTlsOptions): void {
    const listener = this.#listener;
    if (!(listener instanceof tls.Server)) {
      throw new ConfigError('This license server does not serve TLS: there is no certificate to reload.');
    }
    try {
      listener.setSecureContext({
        cert: tlsOptions.cert,
        key: tlsOptions.key,
        ...(tlsOptions.ca === undefined ? {} : { ca: tlsOptions.ca }),
      });
    } catch (err) {
      throw new ConfigError(`The new TLS certificate or key cannot be used: ${(err as Error).message}`, {
        cause: err,
      });
    }
    this.#options = { ...this.#options, tls: tlsOptions };
    this.#log('TLS certificate reloaded');
  }

  /**
   * Goes away gracefully: stops accepting connections, takes every lease back with a `lease-revoked`
   * push (clients move those seats to their other servers at once) and pushes `shutdown` with `retryAfter`,
   * waits until the clients have gone or `timeout` ms have passed, then closes. Idempotent.
   */
  async drain(options: { retryAfter?: number; timeout?: number } = {}): Promise<void> {
    if (this.#closed) return;
    this.#draining ??= (async () => {
      // No new connection from now on. (The listener's close completes when the last connection has gone.)
      const listenerClosed = this.#closeListener();
      const handedBack = await this.#handBack().catch((err: unknown) => {
        // The store failed: the seats it holds lapse with their TTL, and clients still move on.
        this.#log(`draining: the license store failed (${errorText(err)}); its leases lapse with their TTL`);
        return 0;
      });
      for (const session of this.#sessions.values()) {
        session.push({
          push: 'shutdown',
          message: 'The license server is shutting down.',
          ...(options.retryAfter === undefined ? {} : { retryAfter: options.retryAfter }),
        });
      }
      this.#log(`draining: ${handedBack} lease(s) handed back, ${this.#sessions.size} connection(s) told`);
      await this.#sessionsGone(options.timeout ?? 5_000);
      await this.close();
      await listenerClosed;
    })();
    await this.#draining;
  }

  /** A drain takes every lease back and refuses every waiter; resolves with how many leases it took. */
  async #handBack(): Promise<number> {
    const revoked = await this.#store.revokeAll();
    this.#revoke(
      revoked,
      ReturnCode.LV_LICENSES_EXPIRED,
      'The license server is shutting down: this lease moves to another server.',
      'drain',
    );
    // Nobody waits here any more: a waiter is told to ask another server.
    for (const waiter of await this.#store.waiters()) {
      if ((await this.#store.cancel(waiter.account, waiter.id)) === undefined) continue;
      this.#emit({
        type: 'denial',
        ...this.#about(waiter, waiter.owner),
        reason: 'draining',
        code: ReturnCode.LV_NO_SERVER_AVAILABLE,
      });
      this.#sessions
        .get(waiter.owner)
        ?.fail(
          waiter.requestId,
          ReturnCode.LV_NO_SERVER_AVAILABLE,
          'This license server is shutting down: ask another one.',
        );
    }
    return revoked.length;
  }

  /** Whether {@link LicenseServer.drain} has begun. */
  get draining(): boolean {
    return this.#draining !== undefined;
  }

  /**
   * Whether the subscription of `account` has ended; when it just did, its seats are taken back (the
   * `lease-revoked` push, -41 on the client) and every later acquire is refused with -59. Resolves once
   * the seats are back.
   */
  async #subscriptionEnded(account: string): Promise<boolean> {
    if (!this.#ended.has(account)) {
      const end = this.#subscriptionEnds.get(account);
      if (end === undefined || !this.#hasEnded(account)) return false;
      this.#ended.add(account);
      const day = new Date(end).toISOString().slice(0, 10);
      const ending = (async () => {
        // Its waiters are refused too: a grant after the end would be one the subscription does not cover.
        for (const waiter of await this.#store.waiters()) {
          if (waiter.account !== account || (await this.#store.cancel(account, waiter.id)) === undefined)
            continue;
          this.#emit({
            type: 'denial',
            ...this.#about(waiter, waiter.owner),
            reason: 'expired',
            code: ReturnCode.LV_EXPIRED_LICENSE,
          });
          this.#sessions
            .get(waiter.owner)
            ?.fail(
              waiter.requestId,
              ReturnCode.LV_EXPIRED_LICENSE,
              `The subscription of account "${account}" ended on ${day}.`,
            );
        }
        const leases = await this.#store.revoke(account);
        this.#revoke(
          leases,
          ReturnCode.LV_LICENSES_EXPIRED,
          `The subscription of account "${account}" ended on ${day}.`,
          'subscription-ended',
        );
        this.#log(`subscription of account ${account} ended on ${day}: ${leases.length} lease(s) revoked`);
        this.#afterChange();
      })();
      this.#ending.set(account, ending);
      ending.then(
        () => this.#ending.delete(account),
        () => {
          // Not enforced (the store failed): the next request or billing check tries again.
          this.#ending.delete(account);
          this.#ended.delete(account);
        },
      );
    }
    await this.#ending.get(account);
    return true;
  }

  /** Whether the subscription of `account` has ended, enforced or not yet. */
  #hasEnded(account: string): boolean {
    if (this.#ended.has(account)) return true;
    const end = this.#subscriptionEnds.get(account);
    return end !== undefined && this.#billingNow() >= end;
  }

  #enforceSubscriptions(): void {
    for (const account of this.#subscriptionEnds.keys()) {
      this.#subscriptionEnded(account).catch((err: unknown) => {
        this.#log(`the subscription of account ${account} could not be enforced: ${errorText(err)}`);
      });
    }
  }

  #billingNow(): number {
    return (this.#options.billingClock ?? Date.now)();
  }

  /** Resolves when the last connection has closed, or after `timeout` ms. */
  #sessionsGone(timeout: number): Promise<void> {
    if (this.#sessions.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#whenEmpty = undefined;
        resolve();
      }, timeout);
      timer.unref();
      this.#whenEmpty = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  // ---- pools -------------------------------------------------------------------------------------

  /**
   * Sets the size of a pool. Shrinking it below what is in use revokes the newest leases, and their
   * holders get a `lease-revoked` push. Resolves once the store has the new size.
   *
   * @throws RangeError (at once, not through the promise) when `count` is not a whole number, 0 or more.
   * @throws {ConfigError} (at once) when the server has several accounts and `account` is not given.
   */
  setLicenses(feature: string, count: number, account: string = this.#defaultAccount()): Promise<void> {
    if (!Number.isSafeInteger(count) || count < 0) {
      throw new RangeError(`The total of ${feature} must be a whole number, 0 or more, not ${count}.`);
    }
    return this.#changes.run(() => this.#setLicenses(feature, count, account));
  }

  async #setLicenses(feature: string, count: number, account: string): Promise<void> {
    const revoked = await this.#store.setTotal(account, feature, count);
    this.#revoke(
      revoked,
      ReturnCode.LV_LICENSES_EXPIRED,
      `The ${feature} pool was reduced to ${count}.`,
      'pool-shrunk',
    );
    this.#afterChange();
  }

  // ---- introspection ---------------------------------------------------------------------------

  /** Seats in use, of one feature or all, for one account or all. */
  async inUse(feature?: string, account?: string): Promise<number> {
    const leases = await this.#store.leases({ account, feature });
    return leases.reduce((sum, lease) => sum + lease.count, 0);
  }

  /**
   * Sets the size of a pool and keeps it: on a server started from an accounts file or another
   * {@link AccountSource} (a database), the source is changed (atomically, as `lv-license accounts set`
   * does) and reloaded, so the next reload does not undo it, and every node of a shared database hears of
   * it; on one with accounts in code (or none), it lasts until a restart or a reload. Shrinking revokes the
   * newest leases.
   *
   * @throws {ConfigError} when the source cannot be changed, or the account does not exist.
   */
  async setPoolSize(account: string, feature: string, total: number): Promise<void> {
    const source = this.#accountSource;
    if (source === undefined || this.#auth === 'none') {
      await this.setLicenses(feature, total, account);
      return;
    }
    await source.edit((all) => {
      const existing = all[account];
      if (existing === undefined)
        throw new ConfigError(`There is no account ${account} in ${source.description}.`);
      all[account] = { ...existing, licenses: { ...existing.licenses, [feature]: total } };
    });
    await this.reload();
  }

  /**
   * Every pool of the accounts in force: account, license type, its size, the seats in use and the
   * requests waiting (a removed account's pools, at 0 and empty, are left out).
   */
  async pools(): Promise<PoolStatus[]> {
    const accounts = this.#auth === 'none' ? [ANONYMOUS_ACCOUNT] : this.#accountNames;
    const order = new Map(accounts.map((account, index) => [account, index]));
    // In the order of the accounts file (then by license type); a removed account's pools are left out.
    return (await this.#store.counts())
      .filter((pool) => order.has(pool.account))
      .sort((a, b) => (order.get(a.account) ?? 0) - (order.get(b.account) ?? 0));
  }

  /**
   * Takes one lease back (an operator's decision): its seats are free at once and its holder gets the
   * `lease-revoked` push (the client moves it to another server, or reports -41). Resolves to whether
   * there was such a lease.
   */
  async revoke(leaseId: string, account: string = this.#defaultAccount()): Promise<boolean> {
    const [lease] = await this.#store.revoke(account, [leaseId]);
    if (lease === undefined) return false;
    this.#revoke(
      [lease],
      ReturnCode.LV_LICENSES_EXPIRED,
      "The lease was revoked by the license server's operator.",
      'operator',
    );
    this.#afterChange();
    return true;
  }

  /** A snapshot of the leases held (of one account or feature, or all), in grant order. */
  leases(filter?: LeaseFilter): Promise<LeaseRecord[]> {
    return this.#store.leases(filter);
  }

  /**
   * Calls `listener` with every event from now on: grants, denials, releases, expiries, revocations,
   * failed logins, operator actions, and a `request` event per request answered (for latency). A listener
   * that throws is ignored. Returns the function that stops it.
   *
   * @example
   * ```ts
   * const stop = server.onEvent((event) => {
   *   if (event.type === 'denial') console.log(`${event.account} ${event.feature}: ${event.reason}`);
   * });
   * ```
   */
  onEvent(listener: (event: ServerEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Records an operator's action (the admin API does) as an `admin` event: `who` names the operator (never
   * a token), `action` what was asked, `status` the HTTP status of the outcome.
   */
  audit(who: string, action: string, status: number): void {
    this.#emit({ type: 'admin', time: Date.now(), who, action, status });
  }

  /** When each cancelled subscription ends or ended (epoch ms), by account. */
  subscriptionEnds(): ReadonlyMap<string, number> {
    return new Map(this.#subscriptionEnds);
  }

  /** The store the server keeps its pools in. */
  get store(): LicenseStore {
    return this.#store;
  }

  // ---- lifecycle -------------------------------------------------------------------------------

  /** Resolves once the server has closed (by {@link LicenseServer.close} or a drain). */
  get closed(): Promise<void> {
    return this.#whenClosed;
  }

  /** Tells clients it is going away, closes every connection and the listener. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopWatching?.();
    this.#unwatch?.();
    clearInterval(this.#billingTimer);
    clearTimeout(this.#expiryTimer);
    for (const session of this.#sessions.values()) {
      session.push({ push: 'shutdown', message: 'The license server is shutting down.' });
      session.end();
    }
    const ending = [...this.#sessions.values()];
    await this.#closeListener();
    for (const session of ending) session.destroy();
    if (this.#ownsStore) {
      await this.#store.close().catch((err: unknown) => {
        this.#log(`the license store did not close cleanly: ${errorText(err)}`);
      });
    }
    this.#markClosed();
  }

  /** Same as {@link LicenseServer.close}, for `await using`. */
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

  async #listen(): Promise<void> {
    const { listener, port } = await listen(this.#bindHost, this.#port, this.#options.tls, (socket) =>
      this.#accept(socket),
    );
    this.#listener = listener;
    this.#port = port;
    this.#log(
      `listening on ${this.address} (${this.#auth === 'none' ? 'unauthenticated' : 'authentication'} mode)`,
    );
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
      if (this.#sessions.size === 0 && this.#whenEmpty !== undefined) {
        const done = this.#whenEmpty;
        this.#whenEmpty = undefined;
        done();
      }
      this.#log(`connection ${id} closed`);
      this.#store.dropOwner(id).then(
        (dropped) => {
          if (dropped.length > 0) this.#afterChange();
        },
        (err: unknown) => this.#log(`the waiters of connection ${id} were not dropped: ${errorText(err)}`),
      );
    });
  }

  #newScramServer(): ScramServer {
    const lookup = this.#credentials ?? (() => undefined);
    return new ScramServer(lookup, { iterations: this.#options.scramIterations ?? 4096 });
  }

  #log(line: string, event?: ServerEvent): void {
    try {
      this.#options.log?.(line, event);
    } catch {
      // A broken log callback must not take the server down.
    }
  }

  /** Reports an event to every listener and, but for `request` events, logs its line. */
  #emit(event: ServerEvent): void {
    if (this.#listeners.size === 0 && this.#options.log === undefined) return;
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A broken listener must not take the server down, nor keep the others from hearing.
      }
    }
    if (event.type !== 'request') this.#log(describeEvent(event), event);
  }

  /** The fields of a lease event about `lease`, held (or asked for) on connection `owner`. */
  #about(lease: { id: string; account: string; feature: string; count: number }, owner: number) {
    return {
      time: Date.now(),
      account: lease.account,
      feature: lease.feature,
      count: lease.count,
      lease: lease.id,
      client: this.#sessions.get(owner)?.ip,
      connection: owner,
    };
  }

  /**
   * Asks for a pass that expires leases and waits, grants what now fits, reports queue moves, and re-arms
   * the one timer; `deadline` is a new lease's or waiter's (epoch ms). One pass runs at a time: a change
   * made while one runs asks for another, which runs right after.
   */
  #afterChange(deadline?: number): void {
    if (this.#faults.paused || this.#closed) return;
    if (deadline !== undefined) this.#pendingDeadline = Math.min(this.#pendingDeadline ?? deadline, deadline);
    this.#checkAgain = true;
    if (this.#checking) return;
    // Nobody waits and nothing is due before the timer fires: a pass would do nothing (a release when no
    // queue waits for its seats, the common case). Only a store that answers at once can say so.
    const due = this.#nextCheckAt;
    if (deadline === undefined && due !== undefined && this.#storeNow?.waiting() === 0 && Date.now() < due) {
      this.#checkAgain = false;
      return;
    }
    this.#checking = true;
    void (async () => {
      try {
        while (this.#checkAgain && !this.#faults.paused && !this.#closed) {
          this.#checkAgain = false;
          const next = this.#pendingDeadline;
          this.#pendingDeadline = undefined;
          await this.#check(next);
        }
      } catch (err) {
        // The store failed (a database away): try again soon rather than never.
        this.#log(`leases could not be expired or granted, retrying in 1 s: ${errorText(err)}`);
        this.#arm(Date.now() + 1_000);
      } finally {
        this.#checking = false;
      }
    })();
  }

  /**
   * One pass. Expiry scans every lease, so it runs only when the earliest deadline is due; between those
   * times a pass only grants waiters, and `deadline` moves the timer earlier.
   */
  async #check(deadline: number | undefined): Promise<void> {
    const due = this.#nextCheckAt;
    if (due !== undefined && Date.now() < due) {
      const granted = await this.#grantWaiters();
      const next = Math.min(deadline ?? due, granted > 0 ? Date.now() + this.#store.leaseTtl : due);
      if (next < due) this.#arm(next);
      return;
    }
    const { expired, timedOut } = await this.#store.expire();
    this.#revoke(
      expired,
      ReturnCode.LV_LICENSES_EXPIRED,
      'The lease expired: it was not renewed within its TTL.',
      'expiry',
    );
    for (const waiter of timedOut) {
      this.#emit({
        type: 'denial',
        ...this.#about(waiter, waiter.owner),
        reason: 'queue-timeout',
        code: ReturnCode.LV_TIME_OUT,
      });
      this.#sessions
        .get(waiter.owner)
        ?.fail(waiter.requestId, ReturnCode.LV_TIME_OUT, `No ${waiter.feature} license became free in time.`);
    }
    await this.#grantWaiters();
    const next = await this.#store.nextDeadline();
    if (next === undefined) {
      clearTimeout(this.#expiryTimer);
      this.#nextCheckAt = undefined;
    } else {
      this.#arm(next);
    }
  }

  /**
   * Grants the queue heads that now fit, refuses the waiters their shrunk pool can never grant, and tells
   * the rest where they stand; returns how many were granted.
   */
  async #grantWaiters(): Promise<number> {
    // A draining server grants nothing, not even to its queue (the waiters were sent elsewhere).
    if (this.#draining !== undefined) return 0;
    const { granted, positions, refused } = await this.#store.drain();
    for (const { waiter, total } of refused) {
      this.#emit({
        type: 'denial',
        ...this.#about(waiter, waiter.owner),
        reason: 'pool-shrunk',
        code: ReturnCode.LV_OPEN_PORT_FAILED__LICENSES_EXCEEDED,
      });
      const who = waiter.account === ANONYMOUS_ACCOUNT ? '' : ` of account "${waiter.account}"`;
      this.#sessions
        .get(waiter.owner)
        ?.fail(
          waiter.requestId,
          ReturnCode.LV_OPEN_PORT_FAILED__LICENSES_EXCEEDED,
          `The ${waiter.feature} pool${who} was reduced to ${total ?? 0} while this request waited for ${waiter.count} seat(s).`,
        );
    }
    const orphans: LeaseRecord[] = [];
    for (const { waiter, lease } of granted) {
      const session = this.#sessions.get(waiter.owner);
      if (session === undefined) {
        orphans.push(lease);
        continue;
      }
      // The drain or the subscription's end came while the store granted: the grant is undone.
      const refusal =
        this.#draining !== undefined ? 'draining' : this.#hasEnded(lease.account) ? 'expired' : undefined;
      if (refusal !== undefined) {
        orphans.push(lease);
        const code =
          refusal === 'draining' ? ReturnCode.LV_NO_SERVER_AVAILABLE : ReturnCode.LV_EXPIRED_LICENSE;
        this.#emit({ type: 'denial', ...this.#about(waiter, waiter.owner), reason: refusal, code });
        session.fail(
          waiter.requestId,
          code,
          refusal === 'draining'
            ? 'This license server is shutting down and grants nothing more: ask another one.'
            : `The subscription of account "${lease.account}" has ended.`,
        );
        continue;
      }
      this.#emit({ type: 'grant', ...this.#about(lease, waiter.owner), kind: 'new', waited: true });
      session.answer(waiter.requestId, session.grantResult(lease, false));
    }
    for (const { waiter, position } of positions) {
      this.#sessions.get(waiter.owner)?.push({ push: 'queue-position', lease: waiter.id, position });
    }
    // Granted to a connection that has gone: nobody holds it, so the seats go back (and may serve the queue).
    for (const lease of orphans) await this.#store.release(lease.account, [lease.id]);
    if (orphans.length > 0) this.#checkAgain = true;
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

  /** Tells the holders of `leases` that they are gone (`lease-revoked`), and reports each. */
  #revoke(
    leases: readonly LeaseRecord[],
    code: number,
    message: string,
    reason: RevocationReason | 'expiry',
  ): void {
    const byOwner = new Map<number, string[]>();
    for (const lease of leases) {
      byOwner.set(lease.owner, [...(byOwner.get(lease.owner) ?? []), lease.id]);
      const about = this.#about(lease, lease.owner);
      this.#emit(
        reason === 'expiry' ? { type: 'expiry', ...about } : { type: 'revocation', ...about, reason },
      );
    }
    for (const [owner, ids] of byOwner) {
      this.#sessions.get(owner)?.push({ push: 'lease-revoked', leases: ids, code, message });
    }
    // Held through another server of a shared store (owner -1): that server tells its client.
    if (reason !== 'expiry' && this.#store.tellHolders !== undefined && byOwner.has(-1)) {
      this.#store.tellHolders(leases, { code, message }).catch((err: unknown) => {
        this.#log(
          `the holders of leases taken back elsewhere could not be told (they learn it at their next renewal): ${errorText(err)}`,
        );
      });
    }
  }

  /** Pushes `lease-revoked` for the leases other servers of a shared store took back from this one's clients. */
  #pushNotices(): void {
    const store = this.#store;
    if (store.takeNotices === undefined || this.#takingNotices) return;
    this.#takingNotices = true;
    store
      .takeNotices()
      .then((notices) => {
        const byPush = new Map<string, { owner: number; code: number; message: string; ids: string[] }>();
        for (const { lease, notice } of notices) {
          const key = `${lease.owner}\u0000${notice.code}\u0000${notice.message}`;
          const push = byPush.get(key) ?? { owner: lease.owner, ...notice, ids: [] };
          push.ids.push(lease.id);
          byPush.set(key, push);
        }
        for (const { owner, code, message, ids } of byPush.values()) {
          this.#sessions.get(owner)?.push({ push: 'lease-revoked', leases: ids, code, message });
        }
      })
      .catch(() => {
        // The store is away: the notices wait in it for the next beat.
      })
      .finally(() => {
        this.#takingNotices = false;
      });
  }

  #dropAll(reset: boolean): void {
    for (const session of this.#sessions.values()) session.destroy(reset);
  }

  #closeListener(): Promise<void> {
    const listener = this.#listener;
    this.#listener = undefined;
    return closeListener(listener);
  }
}

/** When each cancelled subscription of `accounts` ends, by account. */
function subscriptionEnds(accounts: AccountsSpec): Map<string, number> {
  const ends = new Map<string, number>();
  for (const [name, account] of Object.entries(accounts)) {
    const end = subscriptionEnd(account);
    if (end !== undefined) ends.set(name, end);
  }
  return ends;
}

/**
 * Sets the pool of unauthenticated mode: `licenses` when given (a type it does not list goes to 0), else
 * the default, unless the store has one already (another node of a shared store set it: that one stays).
 */
async function setAnonymousPool(
  store: LicenseStore,
  licenses: LicenseServerOptions['licenses'],
): Promise<void> {
  const existing = await store.counts(ANONYMOUS_ACCOUNT);
  if (licenses === undefined && existing.length > 0) return;
  const wanted: Readonly<Record<string, number | undefined>> = licenses ?? DEFAULT_LICENSES;
  for (const { feature } of existing) {
    if (wanted[feature] === undefined) await store.setTotal(ANONYMOUS_ACCOUNT, feature, 0);
  }
  for (const [feature, total] of Object.entries(wanted)) {
    if (total !== undefined) await store.setTotal(ANONYMOUS_ACCOUNT, feature, total);
  }
}
