/**
 * `client.metrics()`: counters a dashboard needs (grants, refusals by code, failovers, reclaims,
 * migrations, losses, reconnects) and the latency of each server's grants, kept as a small histogram of
 * fixed buckets: cheap to keep on every call and to read every second.
 */
import type { LicenseClientEvents } from './events.js';

/** Latency figures of one server's grants, in milliseconds. */
export interface LatencySummary {
  /** Grants measured. */
  readonly count: number;
  /** The median (the upper edge of its bucket: within 19 % above the true value). */
  readonly p50: number;
  /** The 99th percentile (the same way). */
  readonly p99: number;
  /** The slowest. */
  readonly max: number;
}

/** What {@link LicenseClient.metrics} returns: counts since the client was made, and seats held now. */
export interface ClientMetrics {
  /** `openPort()` and `acquire()` calls that got their license. */
  readonly grants: number;
  /** Calls that failed, by LV_* code (an `OpenPortError`'s status: -26, -30, -34...). */
  readonly refusals: Readonly<Record<string, number>>;
  /** Calls that went to another server because one failed or was full. */
  readonly failovers: number;
  /** Leases taken again on their server by id after a reconnect. */
  readonly reclaims: number;
  /** Leases moved to another server. */
  readonly migrations: number;
  /** Leases no server could keep. */
  readonly losses: number;
  /** Connections that came back after a loss. */
  readonly reconnects: number;
  /** Per server (`host:port`): its grants and how long they took, queue waits included. */
  readonly servers: Readonly<Record<string, LatencySummary>>;
  /** Seats held now (held or being kept through a reconnect), per license type. */
  readonly seatsHeld: Readonly<Record<string, number>>;
  /**
   * Acquires waiting in a server's queue now (the server said so with a `queue-position` push), per license
   * type. A call with `wait` that the server granted or refused at once is never queued.
   */
  readonly queued: Readonly<Record<string, number>>;
  /** Acquires that have waited in a server's queue since the client was made (granted, refused or aborted since, or waiting still). */
  readonly queueWaits: number;
}

/** Bucket upper edges: 0.05 ms to about 2.7 hours, 2^(1/4) apart (19 %). */
const EDGES: readonly number[] = Array.from({ length: 112 }, (_, i) => 0.05 * 2 ** (i / 4));

class Histogram {
  readonly #counts = new Array<number>(EDGES.length + 1).fill(0);
  #count = 0;
  #max = 0;

  add(ms: number): void {
    let low = 0;
    let high = EDGES.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (ms <= (EDGES[mid] as number)) high = mid;
      else low = mid + 1;
    }
    this.#counts[low] = (this.#counts[low] ?? 0) + 1;
    this.#count += 1;
    this.#max = Math.max(this.#max, ms);
  }

  summary(): LatencySummary {
    return { count: this.#count, p50: this.#quantile(0.5), p99: this.#quantile(0.99), max: round(this.#max) };
  }

  #quantile(q: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.ceil(q * this.#count);
    let seen = 0;
    for (let i = 0; i < this.#counts.length; i += 1) {
      seen += this.#counts[i] ?? 0;
      if (seen >= rank) return round(Math.min(EDGES[i] ?? this.#max, this.#max));
    }
    return round(this.#max);
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** The counters behind {@link ClientMetrics}. */
export class MetricsRecorder {
  #grants = 0;
  #failovers = 0;
  #reclaims = 0;
  #migrations = 0;
  #losses = 0;
  #reconnects = 0;
  readonly #refusals = new Map<number, number>();
  readonly #latency = new Map<string, Histogram>();

  granted(server: string | undefined, ms: number): void {
    this.#grants += 1;
    if (server === undefined) return;
    let histogram = this.#latency.get(server);
    if (histogram === undefined) {
      histogram = new Histogram();
      this.#latency.set(server, histogram);
    }
    histogram.add(ms);
  }

  refused(code: number): void {
    this.#refusals.set(code, (this.#refusals.get(code) ?? 0) + 1);
  }

  /** Counts what the client's events say. */
  event<K extends keyof LicenseClientEvents>(event: K, args: LicenseClientEvents[K]): void {
    switch (event) {
      case 'failover':
        this.#failovers += 1;
        return;
      case 'lease-reclaimed':
        this.#reclaims += 1;
        return;
      case 'lease-migrated':
        this.#migrations += 1;
        return;
      case 'lease-lost':
        this.#losses += 1;
        return;
      case 'connect':
        if ((args[0] as { reconnected?: boolean }).reconnected === true) this.#reconnects += 1;
        return;
    }
  }

  snapshot(
    seatsHeld: Record<string, number>,
    queue: { queued: Record<string, number>; queueWaits: number },
  ): ClientMetrics {
    return Object.freeze({
      grants: this.#grants,
      refusals: Object.freeze(Object.fromEntries([...this.#refusals].map(([code, n]) => [String(code), n]))),
      failovers: this.#failovers,
      reclaims: this.#reclaims,
      migrations: this.#migrations,
      losses: this.#losses,
      reconnects: this.#reconnects,
      servers: Object.freeze(
        Object.fromEntries([...this.#latency].map(([server, histogram]) => [server, histogram.summary()])),
      ),
      seatsHeld: Object.freeze(seatsHeld),
      queued: Object.freeze(queue.queued),
      queueWaits: queue.queueWaits,
    });
  }
}
