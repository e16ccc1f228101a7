/**
 * The server's Prometheus metrics, through prom-client (loaded only by server code): counters fed by the
 * server's events, gauges read from its store when scraped, the request latency histogram, and Node.js's
 * default process metrics. No lease id or address is ever a label.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { LIBRARY_VERSION } from '../version.js';
import type { ServerEvent } from './events.js';
import type { LicenseServer } from './license-server.js';
import type { PoolStatus } from './options.js';

/** Options of {@link ServerMetrics}. */
export interface ServerMetricsOptions {
  /**
   * Label series by account. Off, every series has `account="*"` (the sum over accounts): for hosts with
   * many accounts, where one series per account and license type would be too many. @defaultValue true
   */
  perAccount?: boolean;
  /** Also export Node.js's default process metrics (event-loop lag, heap, GC, CPU). @defaultValue true */
  defaultMetrics?: boolean;
}

/** The account label of every series when accounts are folded. */
export const ALL_ACCOUNTS = '*';

/**
 * The feature label of denials whose license type need not be a pool's (all but `exhausted`,
 * `queue-timeout` and `pool-shrunk`): the client chose the name freely.
 */
export const OTHER_FEATURE = 'other';

/** The refusals that only an existing pool of the type gives: their feature label is the pool's. */
const POOL_REASONS: ReadonlySet<string> = new Set(['exhausted', 'queue-timeout', 'pool-shrunk']);

/** How long one read of the store serves the gauges of a scrape, in ms. */
const SNAPSHOT_MS = 250;

/**
 * The metrics of one {@link LicenseServer}, in the Prometheus text format. `lv-license serve --admin`
 * serves them at `GET /metrics`; an embedding application can serve {@link ServerMetrics.metrics} itself.
 *
 * @example
 * ```ts
 * const metrics = new ServerMetrics(server);
 * http.createServer(async (_req, res) => {
 *   res.setHeader('content-type', metrics.contentType);
 *   res.end(await metrics.metrics());
 * }).listen(9464, '127.0.0.1');
 * ```
 */
export class ServerMetrics {
  /** The registry holding every metric (its own, not prom-client's global one). */
  readonly registry = new Registry();
  readonly #server: LicenseServer;
  readonly #perAccount: boolean;
  readonly #stop: () => void;
  #snapshot: { at: number; pools: Promise<PoolStatus[]> } | undefined;
  readonly #grants: Counter<'account' | 'feature' | 'kind'>;
  readonly #denials: Counter<'account' | 'feature' | 'reason'>;
  readonly #revocations: Counter<'account' | 'feature' | 'reason'>;
  readonly #expirations: Counter<'account' | 'feature'>;
  readonly #releases: Counter<'account' | 'feature'>;
  readonly #authFailures: Counter<'reason'>;
  readonly #duration: Histogram<'op'>;

  constructor(server: LicenseServer, options: ServerMetricsOptions = {}) {
    this.#server = server;
    this.#perAccount = options.perAccount ?? true;
    const registers = [this.registry];
    const pool = ['account', 'feature'] as const;
    this.#grants = new Counter({
      name: 'lv_license_grants_total',
      help: 'Leases granted: kind="new" took seats, kind="reclaimed" was a held lease acquired again.',
      labelNames: [...pool, 'kind'],
      registers,
    });
    this.#denials = new Counter({
      name: 'lv_license_denials_total',
      help: 'Acquires refused, by reason (exhausted, not-licensed, expired, invalid, queue-timeout, pool-shrunk, draining, store-unavailable).',
      labelNames: [...pool, 'reason'],
      registers,
    });
    this.#revocations = new Counter({
      name: 'lv_license_revocations_total',
      help: 'Leases the server took back, by reason (pool-shrunk, operator, subscription-ended, drain).',
      labelNames: [...pool, 'reason'],
      registers,
    });
    this.#expirations = new Counter({
      name: 'lv_license_expirations_total',
      help: 'Leases that lapsed because their holder stopped renewing them.',
      labelNames: pool,
      registers,
    });
    this.#releases = new Counter({
      name: 'lv_license_releases_total',
      help: 'Leases given back by their holder.',
      labelNames: pool,
      registers,
    });
    this.#authFailures = new Counter({
      name: 'lv_license_auth_failures_total',
      help: 'Failed logins, by reason (bad-credentials, address-blocked, timeout).',
      labelNames: ['reason'],
      registers,
    });
    this.#duration = new Histogram({
      name: 'lv_license_request_duration_seconds',
      help: 'Time from reading a request to answering it (a queued acquire: to queueing it), by operation.',
      labelNames: ['op'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
    this.#poolGauge('lv_license_seats_total', 'Seats in the pool.', (p) => p.total);
    this.#poolGauge('lv_license_seats_in_use', 'Seats held by leases.', (p) => p.inUse);
    this.#poolGauge('lv_license_queue_depth', 'Acquires waiting in the pool queue.', (p) => p.queued);
    new Gauge({
      name: 'lv_license_connections',
      help: 'Client connections open.',
      registers,
      collect() {
        this.set(server.connectionCount);
      },
    });
    new Gauge({
      name: 'lv_license_draining',
      help: '1 while the server drains (it grants nothing more), else 0.',
      registers,
      collect() {
        this.set(server.draining ? 1 : 0);
      },
    });
    const perAccount = this.#perAccount;
    new Gauge({
      name: 'lv_license_subscription_end_timestamp_seconds',
      help: 'When a cancelled subscription ends (Unix time): its seats are revoked then.',
      labelNames: ['account'],
      registers,
      collect() {
        this.reset();
        const ends = server.subscriptionEnds();
        if (perAccount) {
          for (const [account, end] of ends) this.set({ account }, end / 1000);
        } else if (ends.size > 0) {
          // Folded: the earliest end, so that an alert on "ends within 3 days" still fires.
          this.set({ account: ALL_ACCOUNTS }, Math.min(...ends.values()) / 1000);
        }
      },
    });
    new Gauge({
      name: 'lv_license_build_info',
      help: 'The version of lv-license-client serving; always 1.',
      labelNames: ['version'],
      registers,
    }).set({ version: LIBRARY_VERSION }, 1);
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    this.#stop = server.onEvent((event) => this.#observe(event));
  }

  /** The content type of {@link ServerMetrics.metrics}. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Every metric in the Prometheus text format (reads the store once). */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  /**
   * Stops counting the server's events and empties the registry, so that neither the registry nor the
   * process metrics' collectors keep the server alive.
   */
  close(): void {
    this.#stop();
    this.registry.clear();
  }

  #account(account: string): string {
    return this.#perAccount ? account : ALL_ACCOUNTS;
  }

  #observe(event: ServerEvent): void {
    switch (event.type) {
      case 'request':
        this.#duration.observe({ op: event.op }, event.seconds);
        return;
      case 'login-failure':
        this.#authFailures.inc({ reason: event.reason });
        return;
      case 'admin':
      case 'queued':
        return;
    }
    const labels = { account: this.#account(event.account), feature: event.feature };
    switch (event.type) {
      case 'grant':
        this.#grants.inc({ ...labels, kind: event.kind });
        return;
      case 'denial':
        // The feature of a refusal is the client's choice, but for the reasons that only a pool of that
        // type gives (busy, a wait that ran out, a pool that shrank): one series per name would let any
        // client grow /metrics without bound, so the others share one.
        this.#denials.inc({
          ...labels,
          ...(POOL_REASONS.has(event.reason) ? {} : { feature: OTHER_FEATURE }),
          reason: event.reason,
        });
        return;
      case 'revocation':
        this.#revocations.inc({ ...labels, reason: event.reason });
        return;
      case 'expiry':
        this.#expirations.inc(labels);
        return;
      case 'release':
        this.#releases.inc(labels);
        return;
    }
  }

  /** The pools, read from the store once per scrape (the three pool gauges share it). */
  #pools(): Promise<PoolStatus[]> {
    const now = Date.now();
    if (this.#snapshot === undefined || now - this.#snapshot.at > SNAPSHOT_MS) {
      this.#snapshot = { at: now, pools: this.#server.pools() };
    }
    return this.#snapshot.pools;
  }

  #poolGauge(name: string, help: string, value: (pool: PoolStatus) => number): void {
    const metrics = this;
    new Gauge({
      name,
      help,
      labelNames: ['account', 'feature'],
      registers: [this.registry],
      async collect() {
        const pools = await metrics.#pools();
        this.reset();
        const sums = new Map<string, { account: string; feature: string; value: number }>();
        for (const pool of pools) {
          const account = metrics.#account(pool.account);
          const key = `${account}\u0000${pool.feature}`;
          const sum = sums.get(key) ?? { account, feature: pool.feature, value: 0 };
          sum.value += value(pool);
          sums.set(key, sum);
        }
        for (const { account, feature, value: v } of sums.values()) this.set({ account, feature }, v);
      },
    });
  }
}
