/**
 * The client's link to one license server: at most one authenticated connection, opened on demand
 * (single flight), declared down at once on a refused or reset connection and on a request that gets
 * no answer in time (a black hole), and re-dialed in the background with jittered exponential backoff
 * (p-retry) until it is back or the client closes.
 */
import { EventEmitter } from 'eventemitter3';
import pRetry from 'p-retry';
import { abortError, asLicenseError, isLicenseError, type LicenseError, SocketsError } from '../errors.js';
import type { HelloResult, ParamsOf, Push, RequestOp, ResultOf } from '../protocol/messages.js';
import type { Connection } from '../transport/connection.js';
import type { SocketFactory, TransportTlsOptions } from '../transport/dial.js';
import { type ConnectionCredentials, openConnection } from '../transport/handshake.js';
import { isNoAnswer } from '../transport/pending.js';
import { delay } from './delay.js';
import { backoffDelay, ServerHealth } from './health.js';

/** Where and how to reach one server. */
export interface ServerLinkOptions {
  host: string;
  port: number;
  /** `host:port` as shown to users. */
  label: string;
  priority: number;
  tls?: TransportTlsOptions | undefined;
  credentials?: ConnectionCredentials | undefined;
  connectTimeout: number;
  requestTimeout: number;
  clientName?: string | undefined;
  socketFactory?: SocketFactory | undefined;
  /** Background reconnect backoff bounds, in ms. */
  reconnectDelay: { min: number; max: number };
  /** How long a server that refused the credentials is left alone before one more try. @defaultValue 60000 */
  misconfiguredCoolDown?: number | undefined;
  now: () => number;
}

/** Events of a {@link ServerLink}. */
export interface ServerLinkEvents {
  up: [info: { server: string; session: HelloResult; reconnected: boolean }];
  down: [info: { server: string; error: LicenseError }];
  push: [push: Push, server: string];
  retry: [info: { server: string; attempt: number; error: LicenseError }];
}

/** Options of one request through a link. */
export interface LinkRequestOptions {
  signal?: AbortSignal | undefined;
  /** The answer's deadline; defaults to the request timeout. */
  timeout?: number | undefined;
  /** Called when the request was sent and ended without the server's answer (see `Connection.request`). */
  onUnsettled?: (() => void) | undefined;
}

/** A connection that lived less than this counts as a flap: the next redial waits a backoff delay. */
const STABLE_AFTER_MS = 2_000;
/** How long a server that refused the credentials (or is incompatible) is not dialed again. */
const MISCONFIGURED_COOL_DOWN_MS = 60_000;

/** One server: its connection, its health, and the loop that brings it back. */
export class ServerLink extends EventEmitter<ServerLinkEvents> {
  readonly server: string;
  readonly health: ServerHealth;
  readonly #options: ServerLinkOptions;
  readonly #closing = new AbortController();
  #connection: Connection | undefined;
  #session: HelloResult | undefined;
  #dialing: Promise<Connection> | undefined;
  #recovering = false;
  #everUp = false;
  #upSince = 0;
  #flaps = 0;
  /** Do not redial before this time (a shutdown notice's `retryAfter`). */
  #notBefore = 0;
  /** A handshake error that will not heal by retrying (credentials, incompatibility), and until when it holds. */
  #misconfigured: { error: LicenseError; until: number } | undefined;
  #probe: NodeJS.Timeout | undefined;

  constructor(options: ServerLinkOptions) {
    super();
    this.#options = options;
    this.server = options.label;
    this.health = new ServerHealth(options.label, options.priority, options.now);
  }

  /** What the server said in `hello` on the current connection. */
  get session(): HelloResult | undefined {
    return this.#session;
  }

  /** Whether an authenticated connection is open now. */
  get isUp(): boolean {
    return this.#connection?.state === 'open';
  }

  /** Credentials for connections opened from now on (hot reload); the open one keeps its own. */
  setCredentials(credentials: ConnectionCredentials | undefined): void {
    this.#options.credentials = credentials;
    this.#misconfigured = undefined;
    if (this.health.state === 'down') this.#recover();
  }

  /**
   * An open, authenticated connection: the current one, the dial in progress, or a new dial. A server
   * that rejected the credentials is not dialed again for a while: each try would cost a failed login,
   * and the server locks out addresses that fail too often.
   *
   * @throws {LicenseError} why the server cannot be reached or talked to.
   */
  connection(signal?: AbortSignal): Promise<Connection> {
    if (this.#closing.signal.aborted) return Promise.reject(this.#closedError());
    if (this.#connection?.state === 'open') return Promise.resolve(this.#connection);
    const misconfigured = this.#misconfigured;
    if (misconfigured !== undefined && this.#options.now() < misconfigured.until) {
      return Promise.reject(misconfigured.error);
    }
    if (this.#options.now() < this.#notBefore) {
      return Promise.reject(
        new SocketsError(`${this.server} announced a shutdown and asked clients to come back later.`, {
          server: this.server,
        }),
      );
    }
    this.#dialing ??= this.#dial().finally(() => {
      this.#dialing = undefined;
    });
    return signal === undefined ? this.#dialing : raceAbort(this.#dialing, signal, this.server);
  }

  /**
   * Sends one request, connecting first if needed. A request that gets no answer in time takes the
   * connection down: a server that cannot answer a small request within the deadline is treated as dead,
   * which is how a black hole is noticed without waiting for TCP's own timeouts. (A server's own
   * LV_TIME_OUT answer, such as a wait that ran out, is an answer, and leaves the connection alone.)
   */
  async request<Op extends RequestOp>(
    op: Op,
    params: ParamsOf<Op>,
    options: LinkRequestOptions = {},
  ): Promise<ResultOf<Op>> {
    const connection = await this.connection(options.signal);
    const started = this.#options.now();
    try {
      const result = await connection.request(op, params, {
        signal: options.signal,
        timeout: options.timeout ?? this.#options.requestTimeout,
        onUnsettled: options.onUnsettled,
      });
      if (op !== 'acquire') this.health.measured(this.#options.now() - started);
      return result;
    } catch (err) {
      if (isNoAnswer(err)) {
        connection.destroy(err as LicenseError);
      } else if (isLicenseError(err) && !err.retryable) {
        this.health.noteError(err);
      }
      throw err;
    }
  }

  /** Closes the connection and stops reconnecting. Idempotent. */
  async close(): Promise<void> {
    this.#closing.abort();
    clearTimeout(this.#probe);
    this.health.closed();
    const connection = this.#connection;
    this.#connection = undefined;
    await connection?.close();
  }

  async #dial(): Promise<Connection> {
    this.health.connecting();
    try {
      const opened = await openConnection({
        host: this.#options.host,
        port: this.#options.port,
        tls: this.#options.tls,
        credentials: this.#options.credentials,
        connectTimeout: this.#options.connectTimeout,
        requestTimeout: this.#options.requestTimeout,
        clientName: this.#options.clientName,
        socketFactory: this.#options.socketFactory,
        signal: this.#closing.signal,
      });
      const { connection } = opened;
      if (this.#closing.signal.aborted) {
        await connection.close();
        throw this.#closedError();
      }
      this.#connection = connection;
      this.#session = opened.session;
      this.#misconfigured = undefined;
      connection.on('push', (push) => this.#onPush(push));
      connection.once('close', ({ error }) => this.#lost(connection, error));
      const reconnected = this.#everUp;
      this.#everUp = true;
      this.#upSince = this.#options.now();
      this.health.up();
      this.emit('up', { server: this.server, session: opened.session, reconnected });
      return connection;
    } catch (err) {
      const error = asLicenseError(err, this.server);
      if (!this.#closing.signal.aborted) {
        if (!error.retryable) {
          this.#misconfigured = { error, until: this.#options.now() + this.#coolDown };
          this.#probeLater();
        }
        this.#markDown(error);
      }
      throw error;
    }
  }

  #onPush(push: Push): void {
    if (push.push === 'shutdown') {
      // The server is going away: new work goes elsewhere now, and redials wait as long as it asked.
      this.#notBefore = this.#options.now() + (push.retryAfter ?? 0);
      this.health.down(
        new SocketsError(`${this.server} announced that it is shutting down: ${push.message}`, {
          server: this.server,
        }),
      );
    }
    this.emit('push', push, this.server);
  }

  #lost(connection: Connection, error: LicenseError | undefined): void {
    if (this.#connection !== connection) return;
    this.#connection = undefined;
    if (this.#closing.signal.aborted) return;
    this.#flaps = this.#options.now() - this.#upSince < STABLE_AFTER_MS ? this.#flaps + 1 : 0;
    this.#markDown(
      error ?? new SocketsError(`The connection to ${this.server} closed.`, { server: this.server }),
      true,
    );
  }

  /**
   * One dial after the cool-down of a configuration problem, so that a server fixed on its side (an
   * account reset) gets work again without waiting for every other server to fail: one failed login per
   * cool-down at most, far below any lockout.
   */
  #probeLater(): void {
    clearTimeout(this.#probe);
    this.#probe = setTimeout(() => {
      if (this.#closing.signal.aborted || this.isUp) return;
      this.connection().catch(() => {
        // Still refused: the dial's own error handling arms the next probe.
      });
    }, this.#coolDown + 1);
    this.#probe.unref();
  }

  get #coolDown(): number {
    return this.#options.misconfiguredCoolDown ?? MISCONFIGURED_COOL_DOWN_MS;
  }

  /** `lost`: an open connection went away (a disconnect), rather than a dial that failed. */
  #markDown(error: LicenseError, lost = false): void {
    this.health.down(error);
    if (lost) this.emit('down', { server: this.server, error });
    this.#recover();
  }

  /**
   * Re-dials in the background until the server is back, so that it can serve again (fail back). The
   * first redial after a loss is immediate (to reclaim seats fast), unless the server flaps (accepts,
   * then drops us again at once) or asked us to wait: then it waits a backoff delay first.
   */
  #recover(): void {
    if (this.#recovering || this.#closing.signal.aborted || this.#misconfigured !== undefined) return;
    this.#recovering = true;
    const { min, max } = this.#options.reconnectDelay;
    const firstDelay = Math.max(
      this.#flaps > 0 ? backoffDelay(this.#flaps, min, max) : 0,
      this.#notBefore - this.#options.now(),
    );
    const signal = this.#closing.signal;
    delay(firstDelay, signal)
      .then(() =>
        pRetry(
          async () => {
            if (this.#connection?.state === 'open') return;
            await this.connection();
          },
          {
            retries: Number.POSITIVE_INFINITY,
            minTimeout: min,
            maxTimeout: max,
            factor: 2,
            randomize: true,
            unref: true,
            signal,
            // Wrong credentials or an incompatible server do not heal by themselves, and retrying them
            // would only lock this address out at the server: wait for a configuration change instead.
            shouldRetry: ({ error }) => !signal.aborted && isLicenseError(error) && error.retryable,
            onFailedAttempt: ({ error, attemptNumber }) => {
              if (isLicenseError(error) && error.retryable) {
                this.emit('retry', { server: this.server, attempt: attemptNumber, error });
              }
            },
          },
        ),
      )
      .catch(() => {
        // Closing the client, or a configuration problem, ends the loop; the error is in the health record.
      })
      .finally(() => {
        this.#recovering = false;
      });
  }

  #closedError(): LicenseError {
    return new SocketsError(`The client is closed; ${this.server} is no longer used.`, {
      server: this.server,
      retryable: false,
    });
  }
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal, server: string): Promise<T> {
  if (signal.aborted) return Promise.reject(abortError(signal, `Connecting to ${server}`, server));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal, `Connecting to ${server}`, server));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
