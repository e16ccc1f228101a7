/**
 * What the client knows about each server's health, and the order in which servers get new work.
 * Pure: the clock is injected, nothing here touches a socket.
 */
import type { LicenseError } from '../errors.js';

/** The health of one server, as the client sees it. */
export type ServerState = 'idle' | 'connecting' | 'up' | 'down' | 'closed';

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

/** Mutable health record of one server. */
export class ServerHealth {
  readonly server: string;
  /** Its place in `LICENSE_SERVERS`, 0 first (changes when a reload reorders the list). */
  priority: number;
  readonly #now: () => number;
  #state: ServerState = 'idle';
  #lastError: LicenseError | undefined;
  #rtt: number | undefined;
  #downSince: number | undefined;
  #failures = 0;

  constructor(server: string, priority: number, now: () => number) {
    this.server = server;
    this.priority = priority;
    this.#now = now;
  }

  get state(): ServerState {
    return this.#state;
  }

  get lastError(): LicenseError | undefined {
    return this.#lastError;
  }

  /** A first dial started; a server that is down stays down while it is re-dialed. */
  connecting(): void {
    if (this.#state === 'idle') this.#state = 'connecting';
  }

  up(): void {
    if (this.#state === 'closed') return;
    this.#state = 'up';
    this.#downSince = undefined;
    this.#failures = 0;
  }

  down(error: LicenseError): void {
    if (this.#state === 'closed') return;
    if (this.#state !== 'down') this.#downSince = this.#now();
    this.#state = 'down';
    this.#lastError = error;
    this.#failures += 1;
  }

  /** Records an error that does not take the server down (a refusal such as -26). */
  noteError(error: LicenseError): void {
    this.#lastError = error;
  }

  measured(rtt: number): void {
    this.#rtt = rtt;
  }

  closed(): void {
    this.#state = 'closed';
  }

  snapshot(): ServerHealthSnapshot {
    return {
      server: this.server,
      priority: this.priority,
      state: this.#state,
      lastError: this.#lastError,
      rtt: this.#rtt,
      downSince: this.#downSince,
      consecutiveFailures: this.#failures,
    };
  }
}

/**
 * The order in which servers are asked for new work: those believed healthy (up, connecting, never
 * tried) in priority order, then the ones that are down, as a last resort, also in priority order.
 * So a recovered higher-priority server gets new work again at once (fail back), and a dead one costs
 * nothing while another can serve.
 */
export function orderForNewWork<T extends { readonly health: ServerHealth }>(
  servers: readonly T[],
  exclude: ReadonlySet<string> = new Set(),
): T[] {
  const usable = servers.filter((s) => s.health.state !== 'closed' && !exclude.has(s.health.server));
  const byPriority = (a: T, b: T) => a.health.priority - b.health.priority;
  const healthy = usable.filter((s) => s.health.state !== 'down').sort(byPriority);
  const down = usable.filter((s) => s.health.state === 'down').sort(byPriority);
  return [...healthy, ...down];
}

/**
 * The delay before reconnect attempt `attempt` (1-based): exponential from `min` to `max`, with
 * full jitter in [50%, 100%] so that many clients do not reconnect in lock step.
 */
export function backoffDelay(
  attempt: number,
  min: number,
  max: number,
  random: () => number = Math.random,
): number {
  const base = Math.min(max, min * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.5 + random() * 0.5));
}
