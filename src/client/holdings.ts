/**
 * What the application holds of one client, kept together so that their invariants are kept in one
 * place: its open ports, the lease handles it was given, which port holds which lease, and the acquires
 * waiting in a server's queue. (The leases' own state is the lease table's, in leases/.)
 *
 * Invariants: a lease attached to a port is the handle the application was given for that id; a handle
 * stands for its seats only while it is the one registered for its id (a port's handle stops standing
 * when its license goes to the cache, where a new handle will carry it).
 */
import { LeaseIdTable } from '../id-table.js';
import type { Lease } from './lease.js';
import type { Port } from './port.js';

/** One open port: its license, or the delayed acquisition of it. */
interface PortEntry {
  readonly port: Port;
  lease: Lease | undefined;
  loading: Promise<Lease> | undefined;
}

/** The ports, lease handles and waiting acquires of one client. */
export class Holdings {
  readonly #ports = new Map<number, PortEntry>();
  /** By lease id (a {@link LeaseIdTable}: a busy `Map` kept released handles alive into the old generation). */
  readonly #handles = new LeaseIdTable<Lease>();
  readonly #portByLease = new Map<string, PortEntry>();
  readonly #waiting = new Map<string, string>();
  /** The waiting acquires a server has put in its queue (each told by a `queue-position` push). */
  readonly #queued = new Set<string>();
  #queueWaits = 0;

  /** Registers a port that was just opened (without its license yet). */
  addPort(port: Port): void {
    this.#ports.set(port.id, { port, lease: undefined, loading: undefined });
  }

  /** Whether `port` is an open port of this client. */
  isOpen(port: Port): boolean {
    return this.#ports.get(port.id)?.port === port;
  }

  /** The license an open port holds. */
  leaseOf(port: Port): Lease | undefined {
    const entry = this.#ports.get(port.id);
    return entry?.port === port ? entry.lease : undefined;
  }

  /** Gives an open port its license. */
  attach(port: Port, lease: Lease): void {
    const entry = this.#ports.get(port.id);
    if (entry?.port !== port) return;
    entry.lease = lease;
    this.#portByLease.set(lease.id, entry);
  }

  /**
   * The delayed acquisition of an open port's license: the one in progress, or a new one from `start`.
   * A failed one is forgotten, so that the next call tries again.
   */
  loading(port: Port, start: () => Promise<Lease>): Promise<Lease> {
    const entry = this.#ports.get(port.id) as PortEntry;
    if (entry.loading === undefined) {
      const loading = start();
      entry.loading = loading;
      loading.catch(() => {
        if (entry.loading === loading) entry.loading = undefined;
      });
    }
    return entry.loading;
  }

  /**
   * Forgets a port that is closing, once its delayed acquisition (if any) has settled; resolves with the
   * license it held, which now belongs to the caller (the cache or a release).
   */
  async removePort(port: Port): Promise<Lease | undefined> {
    const entry = this.#ports.get(port.id);
    if (entry?.port !== port) return undefined;
    this.#ports.delete(port.id);
    await entry.loading?.catch(() => undefined);
    const { lease } = entry;
    entry.lease = undefined;
    if (lease !== undefined && this.#portByLease.get(lease.id) === entry) this.#portByLease.delete(lease.id);
    return lease;
  }

  /** Every open port (for close()). */
  ports(): Port[] {
    return [...this.#ports.values()].map((entry) => entry.port);
  }

  /** The port that holds lease `id`, if one does. */
  portOf(id: string): Port | undefined {
    return this.#portByLease.get(id)?.port;
  }

  /** Registers the handle the application gets for a lease. */
  addHandle(lease: Lease): void {
    this.#handles.set(lease);
  }

  /** The application's handle of lease `id`, if it has one. */
  handle(id: string): Lease | undefined {
    return this.#handles.get(id);
  }

  /** Whether `lease` is the handle that stands for its seats. */
  stands(lease: Lease): boolean {
    return this.#handles.get(lease.id) === lease;
  }

  /** The handle of lease `id` no longer stands for its seats (they went to the cache). */
  retireHandle(id: string): void {
    this.#handles.delete(id);
  }

  /** Lease `id` is given back: its handle, and the port that held it, go. */
  forget(id: string): void {
    this.#handles.delete(id);
    const entry = this.#portByLease.get(id);
    this.#portByLease.delete(id);
    if (entry !== undefined && this.#ports.get(entry.port.id) === entry) this.#ports.delete(entry.port.id);
  }

  /** An acquire of `feature` under lease `id` started; it may wait in a queue. */
  startWaiting(id: string, feature: string): void {
    this.#waiting.set(id, feature);
  }

  /** The acquire under lease `id` ended. */
  stopWaiting(id: string): void {
    this.#waiting.delete(id);
    this.#queued.delete(id);
  }

  /**
   * A server says the acquire under lease `id` is in its queue (a `queue-position` push, at every move):
   * its feature while it still waits, `undefined` once it has ended. The first push of an acquire counts
   * it as one queue wait.
   */
  queued(id: string): string | undefined {
    const feature = this.#waiting.get(id);
    if (feature !== undefined && !this.#queued.has(id)) {
      this.#queued.add(id);
      this.#queueWaits += 1;
    }
    return feature;
  }

  /** The acquires in a server's queue now, per feature, and how many have waited in one since the start. */
  queueStats(): { queued: Record<string, number>; queueWaits: number } {
    const queued: Record<string, number> = {};
    for (const id of this.#queued) {
      const feature = this.#waiting.get(id);
      if (feature !== undefined) queued[feature] = (queued[feature] ?? 0) + 1;
    }
    return { queued, queueWaits: this.#queueWaits };
  }
}
