/**
 * Port: what the vendor's `OpenPort` returns: a handle that holds one license for its lifetime.
 */
import type { Lease } from './lease.js';
import type { PortLicenseType } from './license-types.js';

/** What a {@link Port} asks of the client that made it. */
export interface PortHost {
  /** Closes the port: its license goes to the cache or back to the server. */
  close(port: Port): Promise<void>;
  /** The license the port holds now, if any. */
  leaseOf(port: Port): Lease | undefined;
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
  readonly #host: PortHost;
  #closed = false;
  #closing: Promise<void> | undefined;

  /** @internal Made by the client. */
  constructor(id: number, licenseType: PortLicenseType, host: PortHost) {
    this.id = id;
    this.licenseType = licenseType;
    this.#host = host;
  }

  /** `open` until `close()`. */
  get state(): 'open' | 'closed' {
    return this.#closed ? 'closed' : 'open';
  }

  /** The license this port holds; `undefined` before a delayed acquisition has happened, and after close. */
  get lease(): Lease | undefined {
    return this.#host.leaseOf(this);
  }

  /** The license feature held (`FULL`, `LITE`...), once known. */
  get feature(): string | undefined {
    return this.lease?.feature;
  }

  /** Closes the port: its license goes to the license cache or back to the server. Idempotent. */
  close(): Promise<void> {
    if (this.#closing === undefined) {
      this.#closed = true;
      this.#closing = this.#host.close(this);
    }
    return this.#closing;
  }

  /** Same as {@link Port.close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** @internal */
  toJSON(): object {
    return { id: this.id, licenseType: this.licenseType, state: this.state, lease: this.lease?.toJSON() };
  }
}
