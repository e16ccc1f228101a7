/**
 * `lv-license report`: usage per account and license type from an event log (event-log.ts), streamed in
 * constant memory (it grows with accounts, license types and periods, never with the number of lines):
 * the peak of concurrent seats, seat-hours, grants, denials, and the denials that really turned a caller
 * away (not followed by a grant for the same client within a minute).
 */
import { createReadStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import type { DenialReason } from './events.js';

/** How a report cuts time. `all`: one period from the first event (or `from`) to the last (or `to`). */
export type ReportPeriod = 'hour' | 'day' | 'all';

/** Options of a {@link UsageReport}. */
export interface UsageReportOptions {
  /** Count from this time on (epoch ms); earlier events still set how many seats are held. */
  readonly from?: number | undefined;
  /** Count until this time (epoch ms, exclusive). */
  readonly to?: number | undefined;
  /** @defaultValue 'all' */
  readonly by?: ReportPeriod | undefined;
  /** How long after a denial a grant to the same client still counts as served (ms). @defaultValue 60000 */
  readonly servedWithin?: number | undefined;
}

/** One line of a report: one account, license type and period. */
export interface UsageRow {
  /** Start of the period (ISO 8601, UTC), or `'all'`. */
  readonly period: string;
  /** The account (`''` in unauthenticated mode). */
  readonly account: string;
  /** The license type. */
  readonly feature: string;
  /** The most seats held at once. */
  readonly peak: number;
  /** Seats held, integrated over time, in hours. */
  readonly seatHours: number;
  /** New grants (reclaims of a held lease are not counted). */
  readonly grants: number;
  /** Acquires refused, whatever the reason. */
  readonly denials: number;
  /**
   * Denials not followed by a grant to the same client (address, account, license type) within a minute:
   * callers really turned away. Refusals that send a client to another server (`draining`,
   * `store-unavailable`) and `invalid` requests are not counted.
   */
  readonly turnedAway: number;
}

/** The fields of an event-log line the report reads (any other field is ignored). */
export interface EventLogLine {
  /** ISO 8601 time. */
  time?: unknown;
  /** `grant`, `denial`, `release`, `expiry`, `revocation`, `start`... */
  type?: unknown;
  /** The account. */
  account?: unknown;
  /** The license type. */
  feature?: unknown;
  /** Seats. */
  count?: unknown;
  /** The client's address. */
  client?: unknown;
  /** A grant's kind: `new` or `reclaimed`. */
  kind?: unknown;
  /** A denial's or revocation's reason. */
  reason?: unknown;
  /** A `start` line's store: `memory` means the pools started empty. */
  store?: unknown;
}

interface Cell {
  peak: number;
  seatMs: number;
  grants: number;
  denials: number;
  turnedAway: number;
}

interface Pool {
  account: string;
  feature: string;
  inUse: number;
  /** Until when the seats held are accounted for (epoch ms). */
  since: number;
}

interface Pending {
  readonly time: number;
  readonly key: string;
  readonly pool: Pool;
  served: boolean;
}

const NOT_TURNED_AWAY: ReadonlySet<DenialReason> = new Set(['draining', 'store-unavailable', 'invalid']);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * Folds event-log lines, oldest first, into usage rows.
 *
 * @example
 * ```ts
 * const report = new UsageReport({ by: 'day' });
 * for await (const lines of readLineBatches('/var/log/lv-license/events.ndjson'))
 *   for (const line of lines) report.addLine(line);
 * console.table(report.rows());
 * ```
 */
export class UsageReport {
  readonly #from: number;
  readonly #to: number;
  readonly #by: ReportPeriod;
  readonly #servedWithin: number;
  readonly #pools = new Map<string, Pool>();
  readonly #cells = new Map<Pool, Map<number, Cell>>();
  /** Denials waiting to see whether a grant follows, oldest first. */
  readonly #pending: Pending[] = [];
  #pendingHead = 0;
  /** The latest denial of each client and pool still pending (a grant serves all before it). */
  readonly #pendingByKey = new Map<string, Pending[]>();
  #first: number | undefined;
  /** Whether a line at or after `to` was seen: the log covers the whole window. */
  #reachedTo = false;
  #last: number | undefined;
  /** Lines that were not events (blank, cut, or another program's). */
  skipped = 0;
  /** Lines older than the line before them (files concatenated out of order): read as if at that line's time. */
  outOfOrder = 0;

  constructor(options: UsageReportOptions = {}) {
    this.#from = options.from ?? Number.NEGATIVE_INFINITY;
    this.#to = options.to ?? Number.POSITIVE_INFINITY;
    this.#by = options.by ?? 'all';
    this.#servedWithin = options.servedWithin ?? 60_000;
  }

  /** Adds one line of the log (a line that is not an event is counted in {@link UsageReport.skipped}). */
  addLine(line: string): void {
    if (line.length === 0) return;
    let value: EventLogLine;
    try {
      value = JSON.parse(line) as EventLogLine;
    } catch {
      this.skipped += 1;
      return;
    }
    const time = typeof value.time === 'string' ? Date.parse(value.time) : Number.NaN;
    if (!Number.isFinite(time) || typeof value.type !== 'string') {
      this.skipped += 1;
      return;
    }
    this.add(time, value);
  }

  /** Adds one parsed event at `time` (epoch ms). */
  add(time: number, event: EventLogLine): void {
    if (time >= this.#to) {
      this.#reachedTo = true;
      return;
    }
    if (this.#last !== undefined && time < this.#last) {
      // Lines out of order (rotated files concatenated in the wrong order): counted, and read as if now.
      this.outOfOrder += 1;
      time = this.#last;
    }
    this.#flush(time);
    this.#first ??= time;
    this.#last = time;
    if (event.type === 'start') {
      // A server with its pools in memory started: whatever was held before is gone.
      if (event.store === 'memory') for (const pool of this.#pools.values()) this.#set(pool, time, 0);
      return;
    }
    if (typeof event.account !== 'string' || typeof event.feature !== 'string') return;
    const pool = this.#pool(event.account, event.feature, time);
    const count = typeof event.count === 'number' && event.count > 0 ? event.count : 1;
    const counted = time >= this.#from;
    switch (event.type) {
      case 'grant': {
        if (event.kind !== 'reclaimed') {
          this.#set(pool, time, pool.inUse + count);
          if (counted) this.#cell(pool, time).grants += 1;
        }
        this.#serve(`${clientOf(event)}\u0000${pool.account}\u0000${pool.feature}`);
        return;
      }
      case 'queued':
        // The caller waits (a client that asks each server without waiting first was refused a moment
        // ago): not turned away, unless the wait times out, which is a denial of its own.
        this.#serve(`${clientOf(event)}\u0000${pool.account}\u0000${pool.feature}`);
        return;
      case 'release':
      case 'expiry':
      case 'revocation':
        this.#set(pool, time, Math.max(0, pool.inUse - count));
        return;
      case 'denial': {
        if (!counted) return;
        this.#cell(pool, time).denials += 1;
        if (NOT_TURNED_AWAY.has(event.reason as DenialReason)) return;
        const key = `${clientOf(event)}\u0000${pool.account}\u0000${pool.feature}`;
        const pending: Pending = { time, key, pool, served: false };
        this.#pending.push(pending);
        const list = this.#pendingByKey.get(key);
        if (list === undefined) this.#pendingByKey.set(key, [pending]);
        else list.push(pending);
        return;
      }
    }
  }

  /** The rows, sorted by period, account and license type. Call once every line is in. */
  rows(): UsageRow[] {
    // Seats still held at the end are counted until `to` when the log goes on past it, else until the last
    // event: never into the future.
    const end = this.#reachedTo ? this.#to : Math.min(this.#to, this.#last ?? 0);
    this.#flush(Number.POSITIVE_INFINITY);
    for (const pool of this.#pools.values()) this.#accrue(pool, end);
    const rows: UsageRow[] = [];
    for (const [pool, cells] of this.#cells) {
      for (const [start, cell] of cells) {
        rows.push({
          period: this.#by === 'all' ? 'all' : new Date(start).toISOString(),
          account: pool.account,
          feature: pool.feature,
          peak: cell.peak,
          seatHours: Math.round((cell.seatMs / HOUR) * 1000) / 1000,
          grants: cell.grants,
          denials: cell.denials,
          turnedAway: cell.turnedAway,
        });
      }
    }
    return rows.sort(
      (a, b) => compare(a.period, b.period) || compare(a.account, b.account) || compare(a.feature, b.feature),
    );
  }

  #pool(account: string, feature: string, time: number): Pool {
    const key = `${account}\u0000${feature}`;
    let pool = this.#pools.get(key);
    if (pool === undefined) {
      pool = { account, feature, inUse: 0, since: time };
      this.#pools.set(key, pool);
    }
    return pool;
  }

  /** The seats of `pool` become `inUse` at `time`: what was held until then is accounted first. */
  #set(pool: Pool, time: number, inUse: number): void {
    this.#accrue(pool, time);
    pool.inUse = inUse;
    if (time >= this.#from && inUse > 0) {
      const cell = this.#cell(pool, time);
      cell.peak = Math.max(cell.peak, inUse);
    }
  }

  /** Adds the seat-time of `pool` from its `since` to `time`, period by period, within [from, to). */
  #accrue(pool: Pool, time: number): void {
    const start = Math.max(pool.since, this.#from);
    const end = Math.min(time, this.#to);
    pool.since = Math.max(pool.since, time);
    if (pool.inUse === 0 || end <= start) return;
    for (let at = start; at < end; ) {
      const next = Math.min(end, this.#periodStart(at) + this.#periodLength(at));
      const cell = this.#cell(pool, at);
      cell.seatMs += pool.inUse * (next - at);
      cell.peak = Math.max(cell.peak, pool.inUse);
      at = next;
    }
  }

  #cell(pool: Pool, time: number): Cell {
    let cells = this.#cells.get(pool);
    if (cells === undefined) {
      cells = new Map();
      this.#cells.set(pool, cells);
    }
    const start = this.#periodStart(time);
    let cell = cells.get(start);
    if (cell === undefined) {
      cell = { peak: 0, seatMs: 0, grants: 0, denials: 0, turnedAway: 0 };
      cells.set(start, cell);
    }
    return cell;
  }

  #periodStart(time: number): number {
    if (this.#by === 'hour') return Math.floor(time / HOUR) * HOUR;
    if (this.#by === 'day') return Math.floor(time / DAY) * DAY;
    return 0;
  }

  #periodLength(time: number): number {
    if (this.#by === 'hour') return HOUR;
    if (this.#by === 'day') return DAY;
    return Number.POSITIVE_INFINITY - time;
  }

  /** A grant reached this client: its pending denials were served. */
  #serve(key: string): void {
    const list = this.#pendingByKey.get(key);
    if (list === undefined) return;
    for (const pending of list) pending.served = true;
    this.#pendingByKey.delete(key);
  }

  /** Denials older than the served-within window at `time` are settled: turned away unless served. */
  #flush(time: number): void {
    const pending = this.#pending;
    while (this.#pendingHead < pending.length) {
      const oldest = pending[this.#pendingHead] as Pending;
      if (oldest.time + this.#servedWithin > time) break;
      this.#pendingHead += 1;
      if (oldest.served) continue;
      this.#cell(oldest.pool, oldest.time).turnedAway += 1;
      const list = this.#pendingByKey.get(oldest.key);
      if (list !== undefined) {
        list.shift();
        if (list.length === 0) this.#pendingByKey.delete(oldest.key);
      }
    }
    // Settled entries are dropped in chunks, so the queue stays as long as one window of denials.
    if (this.#pendingHead > 4_096 && this.#pendingHead * 2 > pending.length) {
      pending.splice(0, this.#pendingHead);
      this.#pendingHead = 0;
    }
  }
}

function clientOf(event: EventLogLine): string {
  return typeof event.client === 'string' ? event.client : '';
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The lines of a file, streamed a 64 KiB chunk at a time, without their line ends: each chunk's complete
 * lines come as one array (one await per chunk, not per line).
 *
 * @throws Error (from `fs`) when the file cannot be read.
 */
export async function* readLineBatches(path: string): AsyncGenerator<string[]> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  for await (const chunk of createReadStream(path, { highWaterMark: 64 * 1024 })) {
    const lines = (rest + decoder.write(chunk as Buffer)).split('\n');
    rest = lines.pop() ?? '';
    yield lines;
  }
  rest += decoder.end();
  if (rest.length > 0) yield [rest];
}

/**
 * Reads an event log whole into a report.
 *
 * @throws Error (from `fs`) when the file cannot be read.
 */
export async function reportFromFile(path: string, options: UsageReportOptions = {}): Promise<UsageReport> {
  const report = new UsageReport(options);
  for await (const lines of readLineBatches(path)) for (const line of lines) report.addLine(line);
  return report;
}
