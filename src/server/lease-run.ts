/**
 * A run: consecutive acquires (or consecutive releases) of one connection that name different leases, given
 * to the store together instead of one after the other. A PostgreSQL store then decides them in one
 * transaction and one commit (one round trip and one fsync for the lot, not one each), and a store that
 * answers at once (`MemoryStore`) decides them in the order they came, as before.
 *
 * The outcome is the one "one after the other" gives: an acquire never waits on another acquire of the same
 * connection except through the pool (the store keeps their order within a pool), nor a release on another
 * release. Anything else waits for the run to end: a release after acquires (it may free a seat a later
 * acquire counts on, or release one of them), an acquire after releases, any other operation, and a request
 * naming a lease the run already names (its answer depends on the earlier one's). A store must decide the
 * acquires of one pool in the order it was given them (PostgresStore never runs two batches that share a
 * pool at once).
 */
import type { Request } from '../protocol/messages.js';

/** Requests of one run with the store at once, at most (as many as a connection's inbox holds). */
export const MAX_RUN = 256;

/** One connection's run (see above): the lease ids it names, and how many of its requests are unanswered. */
export class LeaseRun {
  /** The operation of every request in the run. */
  readonly op: 'acquire' | 'release';
  readonly #leases = new Set<string>();
  #pending = 0;
  readonly #onIdle: Array<() => void> = [];

  private constructor(op: 'acquire' | 'release') {
    this.op = op;
  }

  /** A run started by `request`, or `undefined` when the request cannot be part of one. */
  static startedBy(request: Request): LeaseRun | undefined {
    return request.op === 'acquire' || request.op === 'release' ? new LeaseRun(request.op) : undefined;
  }

  /**
   * Whether `request` may go to the store while the run's requests are still there. Not beyond
   * {@link MAX_RUN} unanswered: the rest wait in the connection's inbox, whose limit pauses the socket.
   */
  admits(request: Request): boolean {
    if (request.op !== this.op || this.#pending >= MAX_RUN) return false;
    if (request.op === 'acquire') return !this.#leases.has(request.lease);
    return request.op === 'release' && !request.leases.some((lease) => this.#leases.has(lease));
  }

  /** Counts `request` in the run until `answered` settles (whichever way). */
  add(request: Request, answered: Promise<unknown>): void {
    if (request.op === 'acquire') this.#leases.add(request.lease);
    else if (request.op === 'release') for (const lease of request.leases) this.#leases.add(lease);
    this.#pending += 1;
    answered.then(this.#settled, this.#settled);
  }

  /** One of the run's requests was answered (one function for all of them, not one per request). */
  readonly #settled = (): void => {
    this.#pending -= 1;
    if (this.#pending === 0) for (const listener of this.#onIdle.splice(0)) listener();
  };

  /** Whether every request of the run has been answered. */
  get idle(): boolean {
    return this.#pending === 0;
  }

  /**
   * Calls `listener` once, at the moment the last request of the run is answered (at once when none is
   * left): synchronously, so that nothing joins the run between its end and the listener.
   */
  onIdle(listener: () => void): void {
    if (this.#pending === 0) listener();
    else this.#onIdle.push(listener);
  }

  /** Resolves once every request of the run has been answered. */
  whenIdle(): Promise<void> {
    return new Promise((resolve) => this.onIdle(resolve));
  }
}
