/**
 * `client.status()`: a snapshot of the servers, the leases and the license cache.
 */
import type { PoolLink } from '../cluster/pool-types.js';
import { type LeaseTable, leaseStateOf } from '../leases/lease-table.js';
import type { LicenseCache } from '../leases/license-cache.js';
import type { ClientStatus } from './call-options.js';
import type { Holdings } from './holdings.js';

/** What a status snapshot is made of. */
export interface StatusParts {
  readonly closed: boolean;
  readonly links: readonly PoolLink[];
  /** Servers a reload removed, still holding seats of this client. */
  readonly retired: readonly PoolLink[];
  readonly table: LeaseTable;
  readonly holdings: Holdings;
  readonly cache: LicenseCache;
}

/** The snapshot {@link LicenseClient.status} returns. */
export function clientStatus(parts: StatusParts): ClientStatus {
  const seats = parts.table.seatsByServer();
  return {
    closed: parts.closed,
    servers: [
      ...parts.links.map((link) => ({ ...link.snapshot(), seats: seats.get(link.server) ?? 0 })),
      // A server a reload removed stays listed while seats are held there (they move away on their own).
      ...parts.retired
        .filter((link) => (seats.get(link.server) ?? 0) > 0)
        .map((link) => ({ ...link.snapshot(), seats: seats.get(link.server) ?? 0, removed: true })),
    ],
    leases: parts.table.all().map((r) => ({
      id: r.id,
      feature: r.feature,
      count: r.count,
      server: r.server,
      state: leaseStateOf(r.state),
      port: parts.holdings.portOf(r.id)?.id,
    })),
    cache: parts.cache
      .entries()
      .map((e) => ({ lease: e.leaseId, feature: e.feature, expiresAt: e.expiresAt })),
  };
}
