/**
 * Lease: one grant of `count` seats of a feature, held until released.
 */
import { type LeaseState, leaseStateOf, type TrackedLease } from '../leases/lease-table.js';

/** What a {@link Lease} asks of the client that made it. */
export interface LeaseHost {
  /** Gives the lease's seats back. */
  release(lease: Lease): Promise<void>;
  /** Whether this handle still stands for the seats (a port's handle stops when the license is cached). */
  stands(lease: Lease): boolean;
}

/**
 * Seats of one feature held from a license server, renewed in the background until released.
 *
 * @example
 * ```ts
 * await using tts = await client.acquire('TTS', { count: 2 });
 * // ... synthesize; the seats go back when the block ends
 * ```
 */
export class Lease implements AsyncDisposable {
  readonly #record: TrackedLease;
  readonly #host: LeaseHost;
  #releasing: Promise<void> | undefined;

  /** @internal Made by the client; not for construction by applications. */
  constructor(record: TrackedLease, host: LeaseHost) {
    this.#record = record;
    this.#host = host;
  }

  /** The lease id, chosen by this client (unique per client process). */
  get id(): string {
    return this.#record.id;
  }

  /** The license feature (pool): `FULL`, `LITE`, `TTS`, `AMD`... */
  get feature(): string {
    return this.#record.feature;
  }

  /** Seats held. */
  get count(): number {
    return this.#record.count;
  }

  /** `host:port` of the server that holds it now (it changes when the lease migrates). */
  get server(): string {
    return this.#record.server;
  }

  /** `held`, `reconnecting` (its server is being reconnected), `lost`, or `released`. */
  get state(): LeaseState {
    return this.#host.stands(this) ? leaseStateOf(this.#record.state) : 'released';
  }

  /** Why the lease was lost, when it was. */
  get lostError(): TrackedLease['lostError'] {
    return this.#record.lostError;
  }

  /**
   * Gives the seats back, and resolves once the server has them (see docs/errors.md, "When release()
   * resolves"). Idempotent; never rejects for a server that is gone (the TTL frees them).
   */
  release(): Promise<void> {
    if (this.#releasing === undefined && this.#host.stands(this)) this.#releasing = this.#host.release(this);
    return this.#releasing ?? Promise.resolve();
  }

  /** Same as {@link Lease.release}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }

  /** @internal */
  toJSON(): object {
    return { id: this.id, feature: this.feature, count: this.count, server: this.server, state: this.state };
  }
}
