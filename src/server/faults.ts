/**
 * The knobs the engine consults that only tests turn: a black hole, slow answers, injected error codes,
 * and a log of what arrived. A production server's plan is inert (nothing paused, no delay, no fault,
 * nothing recorded); FakeLicenseServer (lv-license-client/testing) turns them.
 */
import type { Request, RequestOp } from '../protocol/messages.js';

/** One received request, as `FakeLicenseServer.requests()` returns it. Secrets are never recorded. */
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

/** How many requests {@link FaultPlan.requests} keeps. */
export const REQUEST_LOG_LIMIT = 10_000;

/** One request as recorded, before it is read. */
interface RawRequest {
  readonly at: number;
  readonly connection: number;
  readonly account: string | undefined;
  readonly request: Request;
}

/** A recorded request as a test reads it: no id, SCRAM messages redacted, a batch by its size. */
function received({ at, connection, account, request }: RawRequest): ReceivedRequest {
  const { id: _id, op, ...params } = request;
  const safe: Record<string, unknown> = { ...params };
  // Its requests are recorded one by one as they are handled; anything in it never reaches the log.
  if (op === 'batch') safe.requests = request.requests.length;
  return Object.freeze({ at, connection, account, op, params: Object.freeze(safe) });
}

/** Fault injection and request recording for one server. */
export class FaultPlan {
  /** A black hole: connections are accepted and read, nothing is answered, no lease expires. */
  paused = false;
  /** Milliseconds to hold every response. */
  delay = 0;
  readonly #faults = new Map<RequestOp, { code: number; times: number }>();
  /** What arrived, as it arrived: the redacted, frozen copies are made only when a test reads them. */
  readonly #requests: RawRequest[] | undefined;

  /** @param record - keep a log of the requests received (tests read it; a production server does not). */
  constructor(record = false) {
    this.#requests = record ? [] : undefined;
  }

  /** Fails the next `times` requests of `op` with `code` (0 or fewer `times` disarms it). */
  failNext(op: RequestOp, code: number, times: number): void {
    if (times <= 0) this.#faults.delete(op);
    else this.#faults.set(op, { code, times });
  }

  /** The code to fail a request of `op` with, if one is armed (consumes it). */
  take(op: RequestOp): number | undefined {
    const fault = this.#faults.get(op);
    if (fault === undefined) return undefined;
    fault.times -= 1;
    if (fault.times <= 0) this.#faults.delete(op);
    return fault.code;
  }

  /** Whether requests are recorded. */
  get recording(): boolean {
    return this.#requests !== undefined;
  }

  /** Records a request (when recording), with the SCRAM messages redacted. */
  record(connection: number, account: string | undefined, request: Request): void {
    const requests = this.#requests;
    if (requests === undefined) return;
    // Kept as it came (requests are never changed after parsing): this runs for every request. SCRAM
    // messages (rare) are redacted at once, so that they are never held.
    const kept =
      request.op === 'auth-start' || request.op === 'auth-finish'
        ? { ...request, message: '[redacted]' }
        : request;
    requests.push({ at: Date.now(), connection, account, request: kept });
    // Trimmed in chunks, not one shift() per request (which would copy 10,000 entries each time).
    if (requests.length >= 2 * REQUEST_LOG_LIMIT) requests.splice(0, REQUEST_LOG_LIMIT);
  }

  /** The requests recorded so far, oldest first (at most the last {@link REQUEST_LOG_LIMIT}). */
  requests(): ReceivedRequest[] {
    return (this.#requests ?? []).slice(-REQUEST_LOG_LIMIT).map(received);
  }
}

/**
 * What a test double may do to a running server beyond its public API: drop its listener and
 * connections, bring them back, black-hole it. Reached through {@link kServerControl}, which only
 * lv-license-client/testing imports.
 */
export interface ServerControl {
  /** Stops listening and resets every connection; leases stay. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  restart(): Promise<void>;
  /** Resets every connection; leases stay until their TTL. */
  dropConnections(): void;
  /** Becomes a black hole (see {@link FaultPlan.paused}), or answers again. */
  setPaused(paused: boolean): void;
  /**
   * Sets a pool's size at once, not after the changes under way: with a MemoryStore, it is done when this
   * returns (the pushes follow). Throws a RangeError at once for a bad count.
   */
  setLicenses(feature: string, count: number, account?: string): Promise<void>;
}

/** The module-private key of a server's {@link ServerControl}. */
export const kServerControl: unique symbol = Symbol('lv-license-client.server.control');

/** The module-private key of `LicenseServer.start` with a {@link FaultPlan}. */
export const kStartWithFaults: unique symbol = Symbol('lv-license-client.server.start-with-faults');
