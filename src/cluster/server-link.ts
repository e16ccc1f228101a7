/**
 * The client's link to one license server: at most one authenticated connection, opened on demand
 * (single flight), declared down at once on a refused or reset connection and on a request that gets
 * no answer in time (a black hole), and re-dialed in the background with jittered exponential backoff
 * (p-retry) until it is back or the client closes. Where it stands is one {@link LinkState}, moved only
 * by {@link ServerLink.#move}; what it has measured is its {@link ServerHealth}.
 *
 * It also does the per-server lease work (renew, release, re-acquire by id), batched to this server's
 * frame limit, so that the lease keeper never needs a connection of its own.
 */
import { EventEmitter } from 'eventemitter3';
import pRetry from 'p-retry';
import {
  abortError,
  asLicenseError,
  isLicenseError,
  type LicenseError,
  SocketsError,
  TimeoutError,
} from '../errors.js';
import { idBatches, idsPerFrame } from '../protocol/batches.js';
import type {
  AcquireResult,
  HelloResult,
  ParamsOf,
  Push,
  RequestOp,
  ResultOf,
} from '../protocol/messages.js';
import type { Signal } from '../signal.js';
import { delay, raceAbort, retryDelay, retryForever, timerDelay } from '../timing.js';
import type { Connection } from '../transport/connection.js';
import { type ConnectionCredentials, openConnection } from '../transport/handshake.js';
import { droppedForNoAnswer, isNoAnswer, type RequestSink } from '../transport/pending.js';
import { ServerHealth, type ServerHealthSnapshot } from './health.js';
import { LeaseEpochs } from './lease-epochs.js';
import { type LinkState, nextLinkState, type ServerState, serverStateOf } from './link-state.js';
import type {
  ConnectionSettings,
  LinkRequestOptions,
  ServerAddressOptions,
  ServerLinkEvents,
} from './link-types.js';

export type {
  ConnectionSettings,
  LinkRequestOptions,
  ServerAddressOptions,
  ServerLinkEvents,
} from './link-types.js';

/** One server: its connection, its health, and the loop that brings it back. */
export class ServerLink extends EventEmitter<ServerLinkEvents> {
  readonly server: string;
  readonly health: ServerHealth;
  /** Its place in `LICENSE_SERVERS`, 0 first (changes when a reload reorders the list). */
  priority: number;
  readonly #address: ServerAddressOptions;
  readonly #settings: ConnectionSettings;
  readonly #epochs: LeaseEpochs;
  #credentials: ConnectionCredentials | undefined;
  #state: LinkState = { kind: 'idle' };
  /** A draining server's connection to leave once its last answer is in (see leaveIfDraining). */
  #leaving: Connection | undefined;
  /** Ends the dial in progress and the redial loop when the link closes. */
  readonly #closing = new AbortController();
  /** The redial loop, while it runs (one at a time). */
  #redial: Promise<void> | undefined;
  /** The one dial after a refusal's cool-down. */
  #probe: NodeJS.Timeout | undefined;

  constructor(
    address: ServerAddressOptions,
    priority: number,
    settings: ConnectionSettings,
    credentials: ConnectionCredentials | undefined,
    epochs: LeaseEpochs = new LeaseEpochs(),
  ) {
    super();
    this.#epochs = epochs;
    this.#address = address;
    this.server = address.label;
    this.priority = priority;
    this.#settings = settings;
    this.#credentials = credentials;
    this.health = new ServerHealth(address.label, settings.now);
  }

  /** Where the link stands. */
  get linkState(): LinkState {
    return this.#state;
  }

  /** What users see of {@link ServerLink.linkState}, and what server selection orders by. */
  get state(): ServerState {
    return serverStateOf(this.#state);
  }

  /** What the server said in `hello` on the last connection that came up. */
  get session(): HelloResult | undefined {
    return this.health.session;
  }

  /** {@link Connection.settleReceived} of the open connection, if any. */
  settleReceived(): boolean {
    const state = this.#state;
    return (state.kind === 'up' || state.kind === 'draining') && state.connection.settleReceived();
  }

  /** Whether an authenticated connection is open now (also while the server drains). */
  get isUp(): boolean {
    const state = this.#state;
    return (state.kind === 'up' || state.kind === 'draining') && state.connection.state === 'open';
  }

  /** The health snapshot `status()` shows. */
  snapshot(): ServerHealthSnapshot {
    return this.health.snapshot(this.state, this.priority);
  }

  /** Credentials for connections opened from now on (hot reload); the open one keeps its own. */
  setCredentials(credentials: ConnectionCredentials | undefined): void {
    this.#credentials = credentials;
    const state = this.#state;
    if (state.kind === 'refused') {
      this.#move({ kind: 'backing-off', error: state.error, notBefore: 0 });
      this.#startRedial();
    }
  }

  /**
   * An open, authenticated connection: the current one, the dial in progress, or a new dial. A server
   * that rejected the credentials is not dialed again for a while: each try would cost a failed login,
   * and the server locks out addresses that fail too often.
   *
   * @throws {LicenseError} why the server cannot be reached or talked to.
   */
  connection(signal?: Signal): Promise<Connection> {
    const state = this.#state;
    const now = this.#settings.now();
    switch (state.kind) {
      case 'closed':
        return Promise.reject(this.#closedError());
      case 'up':
      case 'draining':
        if (state.connection.state === 'open') return Promise.resolve(state.connection);
        // It died under us before its close event came: the loss is handled now, as that event would.
        this.#lost(state.connection, state.connection.closeError);
        return this.connection(signal);
      case 'dialing':
        return this.#wait(state.attempt, signal);
      case 'refused':
        if (now < state.until) return Promise.reject(state.error);
        break;
      case 'backing-off':
        if (now < state.notBefore) {
          return Promise.reject(
            new SocketsError(`${this.server} announced a shutdown and asked clients to come back later.`, {
              server: this.server,
            }),
          );
        }
        break;
      case 'idle':
        break;
    }
    const attempt = this.#dial();
    this.#move({ kind: 'dialing', attempt, redial: state.kind !== 'idle' });
    return this.#wait(attempt, signal);
  }

  /**
   * Sends one request, connecting first if needed. A request that gets no answer in time takes the
   * connection down: a server that cannot answer a small request within the deadline is treated as dead,
   * which is how a black hole is noticed without waiting for TCP's own timeouts. (A server's own
   * LV_TIME_OUT answer, such as a wait that ran out, is an answer, and leaves the connection alone.)
   */
  request<Op extends RequestOp>(
    op: Op,
    params: ParamsOf<Op>,
    options: LinkRequestOptions = {},
  ): Promise<ResultOf<Op>> {
    return new Promise<ResultOf<Op>>((resolve, reject) => {
      this.send(op, params, options, { resolve: resolve as (value: unknown) => void, reject });
    });
  }

  /**
   * {@link ServerLink.request}, with the outcome given to `sink` (never from inside this call) instead of a
   * promise: for a caller whose hot path makes no promise of its own.
   */
  send<Op extends RequestOp>(
    op: Op,
    params: ParamsOf<Op>,
    options: LinkRequestOptions,
    sink: RequestSink,
  ): void {
    // The open connection without a promise hop (every request on a busy client), else connect.
    const open = this.#open();
    if (open !== undefined) {
      this.#sendOn(open, op, params, options, sink);
      return;
    }
    this.connection(options.signal).then(
      (connection) => this.#sendOn(connection, op, params, options, sink),
      // What the dial failed with, as it is (a request never sent).
      (err: unknown) => sink.reject(err as LicenseError, false),
    );
  }

  /** The connection of a link that is up (or draining), if it is open. */
  #open(): Connection | undefined {
    const state = this.#state;
    return (state.kind === 'up' || state.kind === 'draining') && state.connection.state === 'open'
      ? state.connection
      : undefined;
  }

  /**
   * One request on `connection`: the connection settles a {@link LinkCall}, which does the link's
   * bookkeeping and then settles `sink`. `release`: the ids of a `release` frame, marked released once the
   * server confirmed; `again`: that release is sent once more, on a new connection, if this one dies under
   * it.
   */
  #sendOn<Op extends RequestOp>(
    connection: Connection,
    op: Op,
    params: ParamsOf<Op>,
    options: LinkRequestOptions,
    sink: RequestSink,
    release?: readonly string[],
    again = false,
  ): void {
    // An acquire's time is not the server's latency (it may wait in a queue): only other requests count.
    const started = op === 'acquire' ? 0 : this.#settings.now();
    const call = new LinkCall(this, connection, op, started, sink, release, again);
    const refused = connection.send(
      op,
      params,
      {
        signal: options.signal,
        timeout: options.timeout ?? this.#settings.requestTimeout,
        onUnsettled: options.onUnsettled,
      },
      call,
    );
    if (refused !== undefined) call.reject(refused, false);
  }

  /**
   * @internal The end of a request sent by {@link ServerLink.send}: the link's bookkeeping, then the
   * caller's sink (see {@link LinkCall}).
   */
  callEnded(call: LinkCall, result: unknown, error: LicenseError | undefined, uncertain: boolean): void {
    const { connection, op } = call;
    if (error === undefined) {
      if (op === 'acquire') this.#epochs.granted(result as ResultOf<'acquire'>);
      else {
        this.health.measured(this.#settings.now() - call.started);
        if (op === 'renew') this.#epochs.renewed(result as ResultOf<'renew'>);
        else if (call.release !== undefined) this.#epochs.released(call.release);
      }
    } else {
      this.#requestFailed(connection, error);
    }
    // Leaving a draining server closes its connection: not from inside the connection's own handling.
    if (this.#leaving === connection) queueMicrotask(() => this.#answered(connection));
    const sink = call.sink;
    if (error === undefined) sink.resolve(result);
    // A connection that died under a release (a restart not noticed yet) is replaced once.
    else if (call.again && call.release !== undefined && resendsRelease(error, uncertain)) {
      this.#releaseOnce(call.release).then(
        (value) => sink.resolve(value),
        (err: unknown) => sink.reject(err as LicenseError, false),
      );
    } else sink.reject(error, uncertain);
  }

  /** A request on `connection` got no answer (the connection goes: the server is not answering) or a fatal one. */
  #requestFailed(connection: Connection, err: unknown): void {
    if (isNoAnswer(err)) {
      // It closes for that request's timeout; the requests still on it were within their deadlines, so
      // their error says why they end now.
      connection.destroy(err, droppedForNoAnswer(connection.server, err));
    } else if (isLicenseError(err) && !err.retryable) {
      this.health.noteError(err);
    }
  }

  /** A request on `connection` ended: a draining server is left once its last answer is in. */
  #answered(connection: Connection): void {
    if (this.#leaving === connection && connection.pendingCount === 0) this.leaveIfDraining();
  }

  /**
   * Renews leases here, in frames that fit this server's frame limit. Never dials: a lease on a server
   * that is not connected waits for the reconnect.
   *
   * @returns the ids the server no longer knows.
   * @throws {LicenseError} `SocketsError` when the server is not connected, or the request's error.
   */
  async renew(leases: readonly string[]): Promise<Set<string>> {
    this.#assertUp();
    const unknown = new Set<string>();
    for (const batch of idBatches(leases, this.session?.maxFrameBytes)) {
      for (const id of (await this.request('renew', { leases: batch })).unknown) unknown.add(id);
    }
    return unknown;
  }

  /**
   * Gives leases back here, in frames that fit this server's frame limit, and resolves once the server
   * confirmed. A server whose connection was lost by a refusal or a reset (a restart) is redialed first, for
   * at most the request timeout; one that stopped answering (a black hole) is not waited for. A connection
   * that dies under the release (a restart not noticed yet) is replaced once.
   *
   * @throws {LicenseError} `SocketsError` or `TimeoutError` when the server cannot be reached now (the
   * caller keeps the ids for when it returns), or the request's error.
   */
  release(leases: readonly string[]): Promise<void> {
    if (leases.length === 0) return Promise.resolve();
    const open = this.#open();
    // The common case (every lease.release()): connected, one frame, one promise.
    if (open !== undefined && leases.length <= idsPerFrame(this.session?.maxFrameBytes)) {
      return this.#releaseFrame(open, leases, true);
    }
    return this.#releaseReplacedOnce(leases);
  }

  /** {@link ServerLink.release} that needs a dial first, or several frames. */
  async #releaseReplacedOnce(leases: readonly string[]): Promise<void> {
    let unsettled = false;
    try {
      await this.#releaseAnyway(leases, () => {
        unsettled = true;
      });
    } catch (err) {
      if (!resendsRelease(err, unsettled)) throw err;
      await this.#releaseOnce(leases);
    }
  }

  /** A release, not replaced if its connection dies under it. */
  #releaseOnce(leases: readonly string[]): Promise<void> {
    const open = this.#open();
    if (open !== undefined && leases.length <= idsPerFrame(this.session?.maxFrameBytes)) {
      return this.#releaseFrame(open, leases, false);
    }
    return this.#releaseAnyway(leases);
  }

  /**
   * One `release` frame on an open connection, with each lease's epoch (when the server gave one): a server
   * sharing its pool with others then knows this release from a stale one. `again`: sent once more, on a
   * new connection, if this one dies under it.
   */
  #releaseFrame(connection: Connection, leases: readonly string[], again: boolean): Promise<void> {
    const epochs = this.#epochs.forRelease(leases);
    const ids = leases as string[];
    const params = epochs === undefined ? { leases: ids } : { leases: ids, epochs };
    return new Promise<void>((resolve, reject) => {
      this.#sendOn(
        connection,
        'release',
        params,
        {},
        { resolve: resolve as () => void, reject },
        leases,
        again,
      );
    });
  }

  /** A release that may need a dial first, or several frames. */
  async #releaseAnyway(leases: readonly string[], onUnsettled?: () => void): Promise<void> {
    if (!this.isUp) {
      const state = this.#state;
      // A server that stopped answering is not waited for: every release would stall for the deadline.
      if (state.kind === 'backing-off' && state.error instanceof TimeoutError) throw state.error;
      await this.connection(AbortSignal.timeout(this.#settings.requestTimeout));
    }
    // Most releases are of one lease or a few: one frame, no splitting.
    const frames =
      leases.length <= idsPerFrame(this.session?.maxFrameBytes)
        ? [leases as string[]]
        : idBatches(leases, this.session?.maxFrameBytes);
    for (const batch of frames) {
      // With each lease's epoch (when the server gave one): a server sharing its pool with others then
      // knows this release from a stale one.
      const epochs = this.#epochs.forRelease(batch);
      await this.request('release', epochs === undefined ? { leases: batch } : { leases: batch, epochs }, {
        onUnsettled,
      });
      this.#epochs.released(batch);
    }
  }

  /**
   * Takes a lease again here under its id (after a reconnect): the server answers `reclaimed` for a seat
   * it kept, and never counts it twice. Never dials.
   *
   * @throws {LicenseError} `SocketsError` when the server is not connected, or the server's refusal.
   */
  reacquire(lease: {
    readonly id: string;
    readonly feature: string;
    readonly count: number;
  }): Promise<AcquireResult> {
    this.#assertUp();
    return this.request('acquire', { lease: lease.id, feature: lease.feature, count: lease.count });
  }

  /**
   * Lets go of the connection of a server that announced its shutdown, once this client holds nothing
   * there and waits for no answer: the server's drain need not wait for it. The link then redials as
   * for any lost server, not before the server's `retryAfter`.
   */
  leaveIfDraining(): void {
    const state = this.#state;
    if (state.kind !== 'draining') return;
    if (state.connection.pendingCount > 0) {
      // The last answers (a release of what moved away, say) come first; then it leaves.
      this.#leaving = state.connection;
      return;
    }
    this.#leaving = undefined;
    void state.connection.close();
  }

  /**
   * Resolves once the open connection has the answers to every request sent on it (at once when none is
   * pending or none is open): what was sent before a close is then known to have reached the server.
   */
  idle(): Promise<void> {
    const state = this.#state;
    return state.kind === 'up' || state.kind === 'draining' ? state.connection.idle() : Promise.resolve();
  }

  /** Closes the connection and stops reconnecting. Idempotent. */
  async close(): Promise<void> {
    const state = this.#state;
    if (state.kind === 'closed') return;
    this.#move({ kind: 'closed' });
    this.#closing.abort();
    if (state.kind === 'up' || state.kind === 'draining') await state.connection.close();
  }

  /** The one place the state changes. */
  #move(next: LinkState): void {
    this.#state = nextLinkState(this.#state, next, this.server);
    if (next.kind !== 'refused') {
      clearTimeout(this.#probe);
      this.#probe = undefined;
    }
  }

  #wait(attempt: Promise<Connection>, signal: Signal | undefined): Promise<Connection> {
    return raceAbort(attempt, signal, (s) => abortError(s, `Connecting to ${this.server}`, this.server));
  }

  #assertUp(): void {
    if (!this.isUp) {
      throw new SocketsError(`${this.server} is not connected; its seats are given back when it returns.`, {
        server: this.server,
      });
    }
  }

  async #dial(): Promise<Connection> {
    const s = this.#settings;
    const credentials = this.#credentials;
    try {
      const opened = await openConnection({
        host: this.#address.host,
        port: this.#address.port,
        tls: this.#address.tls ? (s.tls ?? {}) : undefined,
        credentials,
        connectTimeout: s.connectTimeout,
        requestTimeout: s.requestTimeout,
        clientName: s.clientName,
        batching: s.batching,
        socketFactory: s.socketFactory,
        signal: this.#closing.signal,
      });
      const { connection, session } = opened;
      if (this.#state.kind === 'closed') {
        await connection.close();
        throw this.#closedError();
      }
      const reconnected = this.health.everUp;
      this.#move({ kind: 'up', connection, since: s.now() });
      this.health.up(session);
      this.health.measured(opened.rtt);
      connection.on('push', (push) => this.#onPush(push));
      connection.once('close', ({ error }) => this.#lost(connection, error));
      this.emit('up', { server: this.server, session, reconnected });
      return connection;
    } catch (err) {
      const error = asLicenseError(err, this.server);
      if (this.#state.kind === 'closed') throw error;
      this.health.down(error);
      // New credentials arrived while this dial used the old ones: its refusal says nothing about them.
      if (error.retryable || this.#credentials !== credentials) {
        this.#move({ kind: 'backing-off', error, notBefore: 0 });
        this.#startRedial();
      } else {
        // Wrong credentials or an incompatible server do not heal by themselves, and retrying them
        // would only lock this address out at the server: one probe after the cool-down, or new
        // credentials, try again.
        const until = s.now() + s.misconfiguredCoolDown;
        this.#move({ kind: 'refused', error, until });
        this.#probe = setTimeout(
          () => {
            this.connection().catch(() => {
              // Still refused: the dial arms the next probe.
            });
          },
          timerDelay(s.misconfiguredCoolDown + 1),
        );
        this.#probe.unref();
      }
      throw error;
    }
  }

  #onPush(push: Push): void {
    const state = this.#state;
    if (push.push === 'shutdown' && (state.kind === 'up' || state.kind === 'draining')) {
      // The server is going away: new work goes elsewhere now, and redials wait as long as it asked.
      this.#move({ ...state, kind: 'draining', notBefore: this.#settings.now() + (push.retryAfter ?? 0) });
      this.health.down(
        new SocketsError(`${this.server} announced that it is shutting down: ${push.message}`, {
          server: this.server,
        }),
      );
    }
    this.emit('push', push, this.server);
  }

  #lost(connection: Connection, reason: LicenseError | undefined): void {
    const state = this.#state;
    if ((state.kind !== 'up' && state.kind !== 'draining') || state.connection !== connection) return;
    const error =
      reason ?? new SocketsError(`The connection to ${this.server} closed.`, { server: this.server });
    this.#move({ kind: 'backing-off', error, notBefore: state.kind === 'draining' ? state.notBefore : 0 });
    this.health.lost(error, this.#settings.now() - state.since);
    this.emit('down', { server: this.server, error });
    this.#startRedial();
  }

  #startRedial(): void {
    if (this.#redial !== undefined || this.#state.kind !== 'backing-off') return;
    this.#redial = this.#redialLoop().finally(() => {
      this.#redial = undefined;
    });
  }

  /**
   * Re-dials in the background until the server is back, so that it can serve again (fail back). The
   * first redial after a loss is immediate (to reclaim seats fast), unless the server flaps (accepts,
   * then drops us again at once) or asked us to wait: then it waits a backoff delay first.
   */
  async #redialLoop(): Promise<void> {
    const signal = this.#closing.signal;
    const backoff = this.#settings.reconnectDelay;
    const { flaps } = this.health;
    const state = this.#state;
    const notBefore = state.kind === 'backing-off' ? state.notBefore : 0;
    const first = Math.max(flaps > 0 ? retryDelay(flaps, backoff) : 0, notBefore - this.#settings.now());
    try {
      await delay(first, signal);
      await pRetry(
        async () => {
          if (!this.isUp) await this.connection();
        },
        {
          ...retryForever(backoff, signal),
          shouldRetry: ({ error }) => !signal.aborted && isLicenseError(error) && error.retryable,
          onFailedAttempt: ({ error, attemptNumber }) => {
            if (isLicenseError(error) && error.retryable) {
              this.emit('retry', { server: this.server, attempt: attemptNumber, error });
            }
          },
        },
      );
    } catch {
      // Closing the client, or a refusal, ends the loop; the error is in the health record.
    }
  }

  #closedError(): LicenseError {
    return new SocketsError(`The client is closed; ${this.server} is no longer used.`, {
      server: this.server,
      retryable: false,
    });
  }
}

/**
 * One request of a {@link ServerLink} on an open connection, in one object: the connection settles it, the
 * link does its bookkeeping ({@link ServerLink.callEnded}), then the caller's promise is settled. A failure
 * is handled in a microtask, as an `await` would: never from inside the connection's own handling (a
 * request with no answer in time takes the connection down).
 */
class LinkCall implements RequestSink {
  constructor(
    readonly link: ServerLink,
    readonly connection: Connection,
    readonly op: RequestOp,
    readonly started: number,
    /** Where the outcome goes once the link's bookkeeping is done. */
    readonly sink: RequestSink,
    readonly release: readonly string[] | undefined,
    readonly again: boolean,
  ) {}

  resolve(value: unknown): void {
    this.link.callEnded(this, value, undefined, false);
  }

  reject(err: LicenseError, uncertain: boolean): void {
    queueMicrotask(() => this.link.callEnded(this, undefined, err, uncertain));
  }
}

/**
 * Whether a release that failed with `err` is sent once more, on a new connection: when it was sent and its
 * connection died under it (a restart not noticed yet), not when the server did not answer in time (a new
 * connection would not make it answer) nor when it answered.
 */
function resendsRelease(err: unknown, uncertain: boolean): boolean {
  return uncertain && !isNoAnswer(err);
}
