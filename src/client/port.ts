/**
 * Port: what the vendor's `OpenPort` returns: a handle that holds one license for its lifetime.
 */
import type { Lease } from './lease.js';
import type { PortLicenseType } from './license-types.js';

/** The client side of a port (provided by the client). */
export interface PortOwner {
  closePort(port: Port): Promise<void>;
}

/**
 * One speech port and its license. Close it to give the license back (or to the license cache).
 *
 * @example
 * ```ts
 * await using port = await client.openPort({ licenseType: 'SpeechPort' });
 * await client.loadVoiceChannel(port, 1, audio);
 * ```
 */
export class Port implements AsyncDisposable {
  /** The port number, 1, 2, 3... per client, like the vendor's port handle. */
  readonly id: number;
  /** What the port asked for. */
  readonly licenseType: PortLicenseType;
  readonly #owner: PortOwner;
  #lease: Lease | undefined;
  #state: 'open' | 'closed' = 'open';
  #closing: Promise<void> | undefined;

  /** @internal Made by the client. */
  constructor(id: number, licenseType: PortLicenseType, owner: PortOwner, lease: Lease | undefined) {
    this.id = id;
    this.licenseType = licenseType;
    this.#owner = owner;
    this.#lease = lease;
  }

  /** `open` until `close()`. */
  get state(): 'open' | 'closed' {
    return this.#state;
  }

  /** The license this port holds; `undefined` before a delayed acquisition has happened. */
  get lease(): Lease | undefined {
    return this.#lease;
  }

  /** The license feature held (`FULL`, `LITE`...), once known. */
  get feature(): string | undefined {
    return this.#lease?.feature;
  }

  /** @internal Set by a delayed acquisition. */
  attach(lease: Lease): void {
    this.#lease = lease;
  }

  /** @internal The port closed: its license now belongs to the cache or is gone, not to this handle. */
  detach(): Lease | undefined {
    const lease = this.#lease;
    this.#lease = undefined;
    return lease;
  }

  /** Closes the port: its license goes to the license cache or back to the server. Idempotent. */
  close(): Promise<void> {
    if (this.#closing === undefined) {
      this.#state = 'closed';
      this.#closing = this.#owner.closePort(this);
    }
    return this.#closing;
  }

  /** Same as {@link Port.close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** @internal */
  toJSON(): object {
    return { id: this.id, licenseType: this.licenseType, state: this.state, lease: this.#lease?.toJSON() };
  }
}
