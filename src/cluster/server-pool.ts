/**
 * The prioritized license servers, each its own pool of licenses: which server gets new work, and the
 * failover and retry loop of one acquire. Servers are asked in `LICENSE_SERVERS` order; the next one is
 * asked when one is unreachable, does not answer in time, or is out of licenses. When no server answers
 * at all, the whole pass is retried (p-retry, the same backoff policy as the redials) until the call's
 * deadline or signal. Per-server work (redials, renewals, releases) is each {@link ServerLink}'s.
 */
import { EventEmitter } from 'eventemitter3';
import pRetry from 'p-retry';
import {
  abortError,
  asLicenseError,
  isLicenseError,
  type LicenseError,
  LicensesExceededError,
  NoServerRespondingError,
  SocketsError,
  TimeoutError,
  UnexpectedError,
} from '../errors.js';
import { formatServer } from '../protocol/address.js';
import type { AcquireResult } from '../protocol/messages.js';
import { ReturnCode } from '../protocol/return-codes.js';
import type { Signal } from '../signal.js';
import { type Backoff, delay, retryDelay, retryForever } from '../timing.js';
import type { ConnectionCredentials } from '../transport/handshake.js';
import { isNoAnswer, type RequestSink } from '../transport/pending.js';
import { orderForNewWork } from './health.js';
import { LeaseEpochs } from './lease-epochs.js';
import type { ConnectionSettings } from './link-types.js';
import type {
  AcquireRequest,
  Granted,
  LinkFactory,
  PoolLink,
  PoolServer,
  ServerPoolEvents,
  ServerPoolOptions,
} from './pool-types.js';
import { ServerLink } from './server-link.js';

/** @internal What one acquire call learnt across its passes. */
export interface Attempt {
  /** The servers' errors of the last pass that got any. */
  errors: readonly LicenseError[];
  /** Servers that may hold a seat under the lease id although no grant reached us (made when one does). */
  uncertain: Set<string> | undefined;
  granted: Granted | undefined;
  /**
   * When an acquire with `wait` stops waiting (the settings' clock), from the first time it queued: a
   * queue left because the connection went is joined again for what is left of the wait.
   */
  waitUntil?: number | undefined;
  /** The server it last waited in the queue of. */
  queuedAt?: string | undefined;
}

/** Notes that `server` may hold a seat under the attempt's lease id. */
function uncertainAt(attempt: Attempt, server: string): void {
  attempt.uncertain ??= new Set();
  attempt.uncertain.add(server);
}

const NO_ERRORS: readonly LicenseError[] = Object.freeze([]);

/** @internal A server asked already, and the error it answered (or why it could not). */
export interface Asked {
  readonly link: PoolLink;
  readonly error: LicenseError;
}

/** The prioritized servers. */
export class ServerPool extends EventEmitter<ServerPoolEvents> {
  readonly #settings: ConnectionSettings;
  /** The fencing epochs of this client's leases, shared by every link (lease ids are unique per client). */
  readonly #epochs = new LeaseEpochs();
  readonly #retryDelay: Backoff;
  readonly #linkFactory: LinkFactory;
  #credentials: ConnectionCredentials | undefined;
  #links: PoolLink[] = [];
  /** Servers a reload removed that still hold seats of this client. */
  readonly #retired = new Set<PoolLink>();

  constructor(options: ServerPoolOptions) {
    super();
    this.#settings = options.settings;
    this.#retryDelay = options.retryDelay;
    this.#linkFactory = options.makeLink ?? ((...args) => new ServerLink(...args));
    this.#credentials = options.credentials;
    this.#links = options.servers.map((server, priority) => this.#makeLink(server, priority));
  }

  /** Every server in use, in priority order. */
  get links(): readonly PoolLink[] {
    return this.#links;
  }

  /** Servers a reload removed that are kept until the seats held there have moved away or been lost. */
  get retiredLinks(): readonly PoolLink[] {
    return [...this.#retired];
  }

  /**
   * Handles at once, on every connection, the answers received and still waiting for their turn of the
   * event loop (for a call's deadline that is due). Returns whether any were waiting.
   */
  settleReceived(): boolean {
    let any = false;
    for (const link of this.#links) any = link.settleReceived() || any;
    for (const link of this.#retired) any = link.settleReceived() || any;
    return any;
  }

  /** `host:port` of every configured server, in priority order. */
  get addresses(): string[] {
    return this.#links.map((link) => link.server);
  }

  /** The link of a server (also one retired by a reload), by `host:port`. */
  link(server: string): PoolLink | undefined {
    return (
      this.#links.find((l) => l.server === server) ?? [...this.#retired].find((l) => l.server === server)
    );
  }

  // ---- what the lease keeper uses (leases/lease-servers.ts) ---------------------------------------

  /** Whether `server` is connected now. */
  isUp(server: string): boolean {
    return this.link(server)?.isUp === true;
  }

  /** The lease TTL `server` announced, once it was connected. */
  leaseTtl(server: string): number | undefined {
    return this.link(server)?.session?.leaseTtl;
  }

  /** Whether `a` and `b` announced the same cluster in their last `hello` (protocol 1.1). */
  samePool(a: string, b: string): boolean {
    const cluster = this.link(a)?.session?.cluster;
    return cluster !== undefined && a !== b && this.link(b)?.session?.cluster === cluster;
  }

  /**
   * A server shares its pool with others (it announced a cluster): the servers never connected yet are
   * dialed in the background, so that the client knows which of them are its peers before it needs one
   * (a lost node's leases then move to a peer at once). Failures are the links' own business (backoff).
   */
  #meetTheCluster(): void {
    for (const link of this.#links) {
      if (link.session !== undefined || link.state !== 'idle') continue;
      link.connection(AbortSignal.timeout(this.#settings.connectTimeout * 2)).catch(() => {});
    }
  }

  /** Another connected server of `server`'s cluster, if there is one. */
  clusterPeerUp(server: string): string | undefined {
    return this.#links.find((link) => link.isUp && this.samePool(server, link.server))?.server;
  }

  /** Renews leases on `server` (see {@link ServerLink.renew}). */
  renew(server: string, leases: readonly string[]): Promise<Set<string>> {
    const link = this.link(server);
    return link === undefined ? Promise.reject(this.#unknown(server)) : link.renew(leases);
  }

  /** Gives leases back on `server` (see {@link ServerLink.release}). */
  release(server: string, leases: readonly string[]): Promise<void> {
    const link = this.link(server);
    return link === undefined ? Promise.reject(this.#unknown(server)) : link.release(leases);
  }

  /** Takes a lease again on `server` under its id (see {@link ServerLink.reacquire}). */
  async reacquire(
    server: string,
    lease: { readonly id: string; readonly feature: string; readonly count: number },
  ): Promise<void> {
    await this.#known(server).reacquire(lease);
  }

  /**
   * Takes a lease, under its id, on the first server other than `from` that can grant it: one pass, within
   * `timeout` ms. Resolves with the server that granted it.
   */
  async acquireElsewhere(
    lease: { readonly id: string; readonly feature: string; readonly count: number },
    from: string,
    timeout: number,
  ): Promise<string> {
    const { link } = await this.acquire({
      lease: lease.id,
      feature: lease.feature,
      count: lease.count,
      signal: AbortSignal.timeout(timeout),
      exclude: new Set([from]),
      operation: 'migrate',
      retry: false,
    });
    return link.server;
  }

  // ---- new work ------------------------------------------------------------------------------------

  /**
   * Connects to the first server, in priority order, that answers and authenticates.
   *
   * @throws {LicenseError} the non-retryable error of a server (authentication, incompatibility), or
   * `NoServerRespondingError` with every server's error.
   */
  async connectFirst(signal: Signal): Promise<PoolLink> {
    const errors: LicenseError[] = [];
    for (const link of orderForNewWork(this.#links)) {
      try {
        await link.connection(signal);
        return link;
      } catch (err) {
        if (signal.aborted) throw abortError(signal, 'connect()');
        errors.push(asLicenseError(err, link.server));
      }
    }
    throw this.#allFailed(errors, 'connect');
  }

  /**
   * Acquires `count` seats of `feature` on the first server that can grant them: failover across
   * servers, retries with backoff while none answers, queueing when asked to wait.
   *
   * @throws {LicenseError} `LicensesExceededError` when every server that answered is out of licenses,
   * `AuthenticationError`/`IncompatibleServerError` when that is all the servers said,
   * `NoServerRespondingError` when none answered before the deadline, or the abort reason.
   */
  acquire(request: AcquireRequest): Promise<Granted> {
    const attempt: Attempt = { errors: NO_ERRORS, uncertain: undefined, granted: undefined };
    const only = this.#links.length === 1 ? this.#links[0] : undefined;
    if (
      only === undefined ||
      !only.isUp ||
      request.exclude?.has(only.server) === true ||
      request.signal.aborted
    ) {
      return this.#acquire(request, attempt, undefined);
    }
    // The common case (one server, connected): one promise, settled by its answer. Any other answer goes on
    // in the whole loop, which takes it as that server's.
    const { lease, feature, count, signal } = request;
    return new Promise<Granted>((resolve, reject) => {
      only.send(
        'acquire',
        { lease, feature, count },
        { signal },
        new FirstAsk(this, request, attempt, only, resolve, reject),
      );
    });
  }

  /** @internal {@link ServerPool.acquire} once the server of the common case answered with an error. */
  acquireAfter(request: AcquireRequest, attempt: Attempt, asked: Asked): Promise<Granted> {
    return this.#acquire(request, attempt, asked);
  }

  /** {@link ServerPool.acquire}, after `asked`, the answer of the server the common case asked, if any. */
  async #acquire(request: AcquireRequest, attempt: Attempt, asked: Asked | undefined): Promise<Granted> {
    try {
      let granted: Granted;
      try {
        // The first pass at once, with no retry machinery: the common case.
        granted = await this.#pass(request, attempt, asked);
      } catch (err) {
        granted = await this.#retry(err, request, attempt);
      }
      attempt.uncertain?.delete(granted.link.server);
      return granted;
    } catch (err) {
      // A grant that raced with the deadline or an abort: that seat is not ours to keep.
      if (attempt.granted !== undefined) uncertainAt(attempt, attempt.granted.link.server);
      if (isLicenseError(err) && !request.signal.aborted) throw err;
      if (request.signal.aborted) {
        // At the deadline, what the servers said is more useful than "time is up".
        if (isDeadline(request.signal) && attempt.errors.length > 0) {
          throw this.#allFailed(attempt.errors, request.operation, request.feature);
        }
        throw abortError(request.signal, request.operation);
      }
      throw asLicenseError(err, undefined);
    } finally {
      // An acquire whose answer never came may still have taken a seat under this id: the lease keeper
      // gives such ids back (never the one that was granted and is now held).
      if (attempt.uncertain !== undefined) {
        for (const server of attempt.uncertain) this.emit('uncertain', { server, lease: request.lease });
      }
    }
  }

  /**
   * After a first pass that failed with `err`: further passes only while no server answers at all, with
   * the one backoff policy ({@link retryDelay}, then p-retry), until the call's deadline or signal.
   */
  async #retry(err: unknown, request: AcquireRequest, attempt: Attempt): Promise<Granted> {
    const retries = (error: unknown): error is NoServerRespondingError =>
      request.retry !== false && error instanceof NoServerRespondingError && !request.signal.aborted;
    if (!retries(err)) throw err;
    this.emit('retry', { attempt: 1, error: err, operation: request.operation });
    const backoff = this.#retryDelay;
    await delay(retryDelay(1, backoff), request.signal);
    // p-retry's first wait is its minTimeout: the policy's second step.
    const rest = { min: Math.min(backoff.max, 2 * backoff.min), max: backoff.max };
    return pRetry(() => this.#pass(request, attempt), {
      ...retryForever(rest, request.signal),
      shouldRetry: ({ error }) => retries(error),
      onFailedAttempt: ({ error, attemptNumber }) => {
        if (retries(error)) {
          this.emit('retry', { attempt: attemptNumber + 1, error, operation: request.operation });
        }
      },
    });
  }

  /**
   * Applies a new server list and credentials (hot reload). New servers join; removed servers stop
   * getting new work but keep their connections, so held seats are not dropped.
   */
  update(servers: readonly PoolServer[], credentials: ConnectionCredentials | undefined): PoolLink[] {
    const previous = this.#credentials;
    this.#credentials = credentials;
    const next: PoolLink[] = [];
    servers.forEach((server, priority) => {
      const label = formatServer(server.host, server.port);
      const existing =
        this.#links.find((l) => l.server === label) ?? [...this.#retired].find((l) => l.server === label);
      if (existing !== undefined) {
        this.#retired.delete(existing);
        existing.priority = priority;
        // Only a change is news: the same wrong password would cost the server one more failed login.
        if (!sameCredentials(credentials, previous)) existing.setCredentials(credentials);
        next.push(existing);
      } else {
        next.push(this.#makeLink(server, priority));
      }
    });
    const retired = this.#links.filter((link) => !next.includes(link));
    for (const link of retired) this.#retired.add(link);
    this.#links = next;
    return retired;
  }

  /** Whether `server` is one a reload removed (its link is kept while it holds seats). */
  isRetired(server: string): boolean {
    for (const link of this.#retired) if (link.server === server) return true;
    return false;
  }

  /** Closes a retired server's link (once it holds nothing for this client). */
  async dropRetired(server: string): Promise<void> {
    const link = [...this.#retired].find((l) => l.server === server);
    if (link === undefined) return;
    this.#retired.delete(link);
    await link.close();
  }

  /** Resolves once `server`'s link waits for no answer (at once for a server it does not know). */
  idleOn(server: string): Promise<void> {
    return this.link(server)?.idle() ?? Promise.resolve();
  }

  /** Resolves once no link waits for an answer (see {@link ServerLink.idle}). */
  async idle(): Promise<void> {
    await Promise.all([...this.#links, ...this.#retired].map((link) => link.idle()));
  }

  /** Closes every link. */
  async close(): Promise<void> {
    await Promise.all([...this.#links, ...this.#retired].map((link) => link.close()));
  }

  #known(server: string): PoolLink {
    const link = this.link(server);
    if (link === undefined) throw this.#unknown(server);
    return link;
  }

  #unknown(server: string): SocketsError {
    return new SocketsError(`${server} is not one of this client's license servers.`, { server });
  }

  async #pass(request: AcquireRequest, attempt: Attempt, asked?: Asked): Promise<Granted> {
    const { lease, feature, count, signal } = request;
    const errors: LicenseError[] = [];
    const order = orderForNewWork(this.#links, request.exclude);
    if (order.length === 0) {
      // Moving away from the only server there is: say so, not "no server responding".
      throw new NoServerRespondingError(
        `No other license server is configured to take it (${request.operation}; LICENSE_SERVERS: ${this.addresses.join(';')}).`,
        { retryable: false },
      );
    }
    let exhausted: PoolLink | undefined;
    // Asking again after its queue went with its connection: the server that still has that queue entry
    // (its drop not handled yet), or a node sharing its store, takes this ask over as the waiter and answers
    // at the grant or when the first wait ends, so its answer may take up to what is left of the wait.
    const queuedAt = attempt.queuedAt;
    const waitLeft =
      attempt.waitUntil === undefined
        ? undefined
        : Math.max(0, attempt.waitUntil - this.#settings.now()) + this.#settings.requestTimeout;
    for (const link of order) {
      const timeout =
        queuedAt !== undefined && (link.server === queuedAt || this.samePool(queuedAt, link.server))
          ? waitLeft
          : undefined;
      if (signal.aborted) throw abortError(signal, request.operation);
      // Sent and never answered (the connection cut, no answer in time, an abort): the server may hold
      // a seat under this id, which is given back once it is reachable.
      const onUnsettled = () => uncertainAt(attempt, link.server);
      try {
        // Asked already (see acquire): its answer is that error.
        if (link === asked?.link) throw asked.error;
        const result = await link.request(
          'acquire',
          { lease, feature, count },
          { signal, onUnsettled, timeout },
        );
        attempt.granted = { link, result };
        const previous = errors.at(-1);
        if (previous !== undefined) {
          this.emit('failover', {
            from: previous.server ?? '?',
            to: link.server,
            operation: request.operation,
            error: previous,
          });
        }
        return attempt.granted;
      } catch (err) {
        const error = asLicenseError(err, link.server);
        if (signal.aborted) throw abortError(signal, request.operation);
        // A bug is not a reason to ask another server: it would fail there too, and hide behind -30.
        // (A server's own -68 answer is that server's failure: the next one is asked.)
        if (error instanceof UnexpectedError) throw error;
        // Each server is its own pool: what one refuses (exhausted, a count above its pool, bad
        // credentials) another may grant, so every server gets asked.
        if (error instanceof LicensesExceededError) exhausted ??= link;
        errors.push(error);
        attempt.errors = [...errors];
      }
    }
    if (request.wait !== undefined && request.wait > 0 && exhausted !== undefined) {
      const now = this.#settings.now();
      attempt.waitUntil ??= now + request.wait;
      const wait = attempt.waitUntil - now;
      if (wait > 0) return this.#queue(exhausted, request, wait, attempt);
      // Asked again after its queue went with its connection, and the wait is over: the answer a server
      // gives when a wait runs out in its queue.
      throw new TimeoutError(
        `No ${feature} license became free within the ${request.wait} ms wait (${request.operation}; it was asked again after the connection to the server it waited at went).`,
        { server: exhausted.server },
      );
    }
    throw this.#allFailed(errors, request.operation, feature);
  }

  async #queue(link: PoolLink, request: AcquireRequest, wait: number, attempt: Attempt): Promise<Granted> {
    const { lease, feature, count, signal } = request;
    attempt.queuedAt = link.server;
    try {
      const result = await link.request(
        'acquire',
        { lease, feature, count, wait },
        {
          signal,
          timeout: wait + this.#settings.requestTimeout,
          onUnsettled: () => uncertainAt(attempt, link.server),
        },
      );
      attempt.granted = { link, result };
      return attempt.granted;
    } catch (err) {
      if (signal.aborted) {
        // Leave the server's queue. If the seat was granted meanwhile, the id is given back.
        if (link.isUp) link.request('cancel', { lease }).catch(() => {});
        throw abortError(signal, request.operation);
      }
      const error = asLicenseError(err, link.server);
      const left = (attempt.waitUntil ?? 0) - this.#settings.now();
      if (left > 0 && request.retry !== false && (error instanceof SocketsError || isNoAnswer(error))) {
        // The connection went (a server restart, a cut) with this acquire in its queue, not the seats: it
        // asks again, with what is left of its wait, once a server answers (the retries' backoff). The same
        // lease id gets back a seat granted meanwhile, never a second one.
        attempt.errors = [error];
        throw new NoServerRespondingError(
          `${link.server} dropped the connection while this ${request.operation} waited in its queue (${error.message}); asking again with ${Math.ceil(left)} ms of the wait left.`,
          { cause: error },
        );
      }
      throw error;
    }
  }

  #allFailed(errors: readonly LicenseError[], operation: string, feature?: string): LicenseError {
    const said = errors.map((e) => e.message).join(' | ');
    const exhausted = errors.find((e) => e instanceof LicensesExceededError);
    if (exhausted !== undefined) {
      return new LicensesExceededError(`No ${feature ?? ''} license free on any license server (${said})`, {
        cause: exhausted,
        server: exhausted.server,
      });
    }
    const fatal = errors.find((e) => !e.retryable);
    if (fatal !== undefined) return fatal;
    return new NoServerRespondingError(
      `No license server responding at address: ${this.addresses.join(';')} (${operation}: ${said})`,
      { errors, cause: errors[0] },
    );
  }

  #makeLink(server: PoolServer, priority: number): PoolLink {
    const label = formatServer(server.host, server.port);
    const link = this.#linkFactory(
      { ...server, label },
      priority,
      this.#settings,
      this.#credentials,
      this.#epochs,
    );
    link.on('up', ({ server: s, session, reconnected }) => {
      this.emit('connect', { server: s, reconnected });
      if (session.cluster !== undefined) this.#meetTheCluster();
    });
    link.on('down', (info) => this.emit('disconnect', info));
    link.on('push', (push, s) => this.emit('push', push, s));
    link.on('retry', ({ server: s, attempt, error }) =>
      this.emit('retry', { server: s, attempt, error, operation: 'reconnect' }),
    );
    return link;
  }
}

function sameCredentials(
  a: ConnectionCredentials | undefined,
  b: ConnectionCredentials | undefined,
): boolean {
  return a?.username === b?.username && a?.password === b?.password;
}

/**
 * Whether the call's own operation deadline fired (a `TimeoutError` of this library as the reason), as
 * opposed to the caller's signal: at the deadline the servers' answers are the better error, while a
 * caller's abort or `AbortSignal.timeout()` is reported as such.
 */
function isDeadline(signal: Signal): boolean {
  const reason: unknown = signal.reason;
  return isLicenseError(reason) && reason.code === ReturnCode.LV_TIME_OUT;
}

/**
 * The answer to the first acquire of the common case (see {@link ServerPool.acquire}): a grant settles the
 * call; anything else goes on in the whole loop.
 */
class FirstAsk implements RequestSink {
  constructor(
    readonly pool: ServerPool,
    readonly request: AcquireRequest,
    readonly attempt: Attempt,
    readonly link: PoolLink,
    readonly done: (granted: Granted) => void,
    readonly failed: (err: unknown) => void,
  ) {}

  resolve(result: unknown): void {
    const granted: Granted = { link: this.link, result: result as AcquireResult };
    this.attempt.granted = granted;
    this.done(granted);
  }

  reject(error: LicenseError, uncertain: boolean): void {
    if (uncertain) uncertainAt(this.attempt, this.link.server);
    this.pool
      .acquireAfter(this.request, this.attempt, { link: this.link, error })
      .then(this.done, this.failed);
  }
}
