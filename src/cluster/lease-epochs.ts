/**
 * The fencing epochs (protocol 1.1) of this client's leases, by lease id, shared by all its server links: a
 * lease's epoch comes with its grant (`acquire`) and with a renewal that moved it to another connection or
 * node (`renew`), and goes back with its release, so that a server sharing one pool with others can tell
 * this client's release from a stale one. A server that sends no epochs (1.0, or one store per server)
 * leaves this empty.
 */
import type { AcquireResult, RenewResult } from '../protocol/messages.js';

/** Lease id to its latest epoch. */
export class LeaseEpochs {
  readonly #epochs = new Map<string, number>();

  /** Notes the epoch an `acquire` answer carries. */
  granted(result: AcquireResult): void {
    if (result.epoch !== undefined) this.#epochs.set(result.lease, result.epoch);
  }

  /** Notes the epochs of leases a `renew` moved, and forgets the ones the server no longer holds. */
  renewed(result: RenewResult): void {
    for (const [id, epoch] of Object.entries(result.epochs ?? {})) this.#epochs.set(id, epoch);
    for (const id of result.unknown) this.#epochs.delete(id);
  }

  /** The `epochs` of a `release` of `ids`, or `undefined` when none is known (a 1.0 release). */
  forRelease(ids: readonly string[]): Array<number | null> | undefined {
    // A server that sends no epochs (every release to it): nothing to look up.
    if (this.#epochs.size === 0) return undefined;
    const epochs = ids.map((id) => this.#epochs.get(id) ?? null);
    return epochs.some((epoch) => epoch !== null) ? epochs : undefined;
  }

  /** Forgets released leases. */
  released(ids: readonly string[]): void {
    if (this.#epochs.size === 0) return;
    for (const id of ids) this.#epochs.delete(id);
  }

  /** How many leases have an epoch noted. */
  get size(): number {
    return this.#epochs.size;
  }
}
