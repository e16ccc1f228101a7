/**
 * Lease: one grant of `count` seats of a feature, held until released.
 */
import type { LeaseRecord, LeaseState } from '../leases/lease-table.js';

/** How a Lease gives itself back (provided by the client). */
export type ReleaseFn = (lease: Lease) => Promise<void>;

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
  readonly #record: LeaseRecord;
  readonly #release: ReleaseFn;
  #releasing: Promise<void> | undefined;
  #retired = false;

  /** @internal Made by the client; not for construction by applications. */
  constructor(record: LeaseRecord, release: ReleaseFn) {
    this.#record = record;
    this.#release = release;
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
    return this.#retired ? 'released' : this.#record.state;
  }

  /** Why the lease was lost, when it was. */
  get lostError(): LeaseRecord['lostError'] {
    return this.#record.lostError;
  }

  /** Gives the seats back. Idempotent; never rejects for a server that is gone (the TTL frees them). */
  release(): Promise<void> {
    if (this.#retired) return Promise.resolve();
    this.#releasing ??= this.#release(this);
    return this.#releasing;
  }

  /**
   * @internal This handle no longer stands for the seat (its port closed and the license went to the
   * cache, where a new handle will carry it): releasing it does nothing, its state reads `released`.
   */
  retire(): void {
    this.#retired = true;
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
