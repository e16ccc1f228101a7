/**
 * What the client has measured of each server (last error, round trip, since when it is down, how often
 * it failed or flapped, what it said at the last handshake), and the order in which servers get new
 * work. Pure: the clock is injected. Whether a server is up is not stored here: it is derived from its
 * link's state (link-state.ts).
 */
import type { LicenseError } from '../errors.js';
import type { HelloResult } from '../protocol/messages.js';
import type { ServerState } from './link-state.js';

export type { ServerState } from './link-state.js';

/** A snapshot of one server's health. */
export interface ServerHealthSnapshot {
  /** `host:port`. */
  readonly server: string;
  /** Its place in `LICENSE_SERVERS`, 0 first. */
  readonly priority: number;
  /** `idle` (not used yet), `connecting`, `up`, `down` (being reconnected) or `closed`. */
  readonly state: ServerState;
  /** The last error seen from it, if any. */
  readonly lastError: LicenseError | undefined;
  /** The round-trip time of the last small request, in ms. */
  readonly rtt: number | undefined;
  /** Since when it has been down (epoch ms). */
  readonly downSince: number | undefined;
  /** Failures in a row since it was last up. */
  readonly consecutiveFailures: number;
}

/** A connection that lived less than this counts as a flap: the next redial waits a backoff delay. */
export const STABLE_AFTER_MS = 2_000;

/** The measurements of one server. */
export class ServerHealth {
  readonly server: string;
  readonly #now: () => number;
  #lastError: LicenseError | undefined;
  #rtt: number | undefined;
  #downSince: number | undefined;
  #failures = 0;
  #flaps = 0;
  #session: HelloResult | undefined;

  constructor(server: string, now: () => number) {
    this.server = server;
    this.#now = now;
  }

  get lastError(): LicenseError | undefined {
    return this.#lastError;
  }

  /** Whether a connection to it was ever up (a later one is a reconnection). */
  get everUp(): boolean {
    return this.#session !== undefined;
  }

  /** Connections in a row that were lost within {@link STABLE_AFTER_MS} of opening. */
  get flaps(): number {
    return this.#flaps;
  }

  /** What the server said in `hello` on the last connection that came up. */
  get session(): HelloResult | undefined {
    return this.#session;
  }

  /** A connection came up. */
  up(session: HelloResult): void {
    this.#session = session;
    this.#downSince = undefined;
    this.#failures = 0;
  }

  /** A dial failed, or the server announced it is going away. */
  down(error: LicenseError): void {
    this.#downSince ??= this.#now();
    this.#lastError = error;
    this.#failures += 1;
  }

  /** An open connection was lost after `lived` ms: a flap if it lived only a moment. */
  lost(error: LicenseError, lived: number): void {
    this.#flaps = lived < STABLE_AFTER_MS ? this.#flaps + 1 : 0;
    this.down(error);
  }

  /** Records an error that does not take the server down (a refusal such as -26). */
  noteError(error: LicenseError): void {
    this.#lastError = error;
  }

  measured(rtt: number): void {
    this.#rtt = rtt;
  }

  snapshot(state: ServerState, priority: number): ServerHealthSnapshot {
    return {
      server: this.server,
      priority,
      state,
      lastError: this.#lastError,
      rtt: this.#rtt,
      downSince: this.#downSince,
      consecutiveFailures: this.#failures,
    };
  }
}

/** What {@link orderForNewWork} needs of a server. */
export interface Candidate {
  readonly server: string;
  readonly priority: number;
  readonly state: ServerState;
}

/**
 * The order in which servers are asked for new work: those believed healthy (up, connecting, never
 * tried) in priority order, then the ones that are down, as a last resort, also in priority order.
 * So a recovered higher-priority server gets new work again at once (fail back), and a dead one costs
 * nothing while another can serve.
 */
export function orderForNewWork<T extends Candidate>(
  servers: readonly T[],
  exclude?: ReadonlySet<string>,
): T[] {
  const only = servers.length === 1 ? servers[0] : undefined;
  // One server (the common case, on every acquire): no sorting, no intermediate arrays.
  if (only !== undefined) return only.state === 'closed' || exclude?.has(only.server) === true ? [] : [only];
  const usable = servers.filter((s) => s.state !== 'closed' && exclude?.has(s.server) !== true);
  const byPriority = (a: T, b: T) => a.priority - b.priority;
  const healthy = usable.filter((s) => s.state !== 'down').sort(byPriority);
  const down = usable.filter((s) => s.state === 'down').sort(byPriority);
  return [...healthy, ...down];
}
