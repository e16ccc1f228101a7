/**
 * One PostgreSQL notification channel, watched: `LISTEN` on a connection of its own (not a pool's),
 * reconnected a second after it drops, and the watchers told once per turn of the event loop however many
 * notifications came. The store (grants other nodes made possible) and the accounts source (accounts
 * changed) each watch their channel through one.
 */
import type { Client } from 'pg';
import { loadPg } from './connection.js';

/** Options of a {@link ChannelWatch}. */
export interface ChannelWatchOptions {
  /**
   * Tell the watchers each time the connection is (re)made: what changed while nobody listened is then
   * not missed. @defaultValue false
   */
  readonly catchUp?: boolean;
}

/** The watchers of one channel, and the connection that listens for them. */
export class ChannelWatch {
  readonly #connectionString: string;
  readonly #channel: string;
  readonly #catchUp: boolean;
  readonly #watchers = new Set<() => void>();
  #client: Client | undefined;
  #started = false;
  #scheduled = false;
  #closed = false;

  /** `channel` must be a plain SQL identifier (it is written into `LISTEN` as it is). */
  constructor(connectionString: string, channel: string, options: ChannelWatchOptions = {}) {
    this.#connectionString = connectionString;
    this.#channel = channel;
    this.#catchUp = options.catchUp ?? false;
  }

  /** Calls `listener` on each notification (and on {@link ChannelWatch.changed}); returns what stops it. */
  watch(listener: () => void): () => void {
    this.#watchers.add(listener);
    if (!this.#started && !this.#closed) {
      this.#started = true;
      void this.#listen();
    }
    return () => this.#watchers.delete(listener);
  }

  /** Tells the watchers, once per turn of the event loop however often it is called. */
  changed(): void {
    if (this.#scheduled || this.#watchers.size === 0) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      for (const watcher of this.#watchers) {
        try {
          watcher();
        } catch {
          // A watcher that throws must not stop the others.
        }
      }
    });
  }

  /** Stops listening and forgets the watchers. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#watchers.clear();
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => {});
  }

  async #listen(): Promise<void> {
    const pg = await loadPg().catch(() => undefined);
    // Closed while the driver loaded: no connection is made that nobody would end.
    if (pg === undefined || this.#closed) return;
    const client = new pg.Client({ connectionString: this.#connectionString });
    this.#client = client;
    const retry = () => {
      if (this.#client !== client || this.#closed) return;
      this.#client = undefined;
      client.end().catch(() => {});
      setTimeout(() => void this.#listen(), 1_000).unref();
    };
    client.on('error', retry);
    client.on('end', retry);
    client.on('notification', () => this.changed());
    try {
      await client.connect();
      await client.query(`LISTEN ${this.#channel}`);
      if (this.#catchUp) this.changed();
    } catch {
      retry();
    }
  }
}
