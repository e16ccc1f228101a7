/**
 * What the lease keeper needs of the license servers, and nothing more: per-server renew, release and
 * re-acquire by id, a move to another server, and four events. The pool of servers
 * (cluster/server-pool.ts) provides it; the keeper's unit tests provide a stub.
 */
import type { LicenseError } from '../errors.js';
import type { Push } from '../protocol/messages.js';

/** A lease as the servers see it: an id chosen by the client, seats of one feature. */
export interface LeaseRef {
  readonly id: string;
  readonly feature: string;
  readonly count: number;
}

/** The events the keeper follows. */
export interface LeaseServerEvents {
  /** A server's connection came up (first time or again). */
  connect: [info: { server: string; reconnected: boolean }];
  /** A server's open connection was lost. */
  disconnect: [info: { server: string; error: LicenseError }];
  /** A server pushed something (`lease-revoked` is the keeper's). */
  push: [push: Push, server: string];
  /** An acquire was sent to `server` and never answered: it may hold a seat under `lease`. */
  uncertain: [info: { server: string; lease: string }];
}

/** The servers, as the lease keeper uses them. */
export interface LeaseServers {
  /** Subscribes to one of {@link LeaseServerEvents}. */
  on<K extends keyof LeaseServerEvents>(event: K, listener: (...args: LeaseServerEvents[K]) => void): unknown;
  /** Whether `server` is connected now. */
  isUp(server: string): boolean;
  /** The lease TTL `server` announced, once it was connected. */
  leaseTtl(server: string): number | undefined;
  /**
   * Whether `a` and `b` announced the same cluster (protocol 1.1): one pool, the same leases, so a lease of
   * one is reclaimed on the other by its id, and what one holds the other holds too.
   */
  samePool(a: string, b: string): boolean;
  /** Another server of `server`'s cluster that is connected now, if there is one. */
  clusterPeerUp(server: string): string | undefined;
  /** Renews leases on `server` (never dials); resolves with the ids it no longer knows. */
  renew(server: string, leases: readonly string[]): Promise<Set<string>>;
  /** Gives leases back on `server`, redialing it briefly if needed; rejects when it cannot be reached. */
  release(server: string, leases: readonly string[]): Promise<void>;
  /** Takes a lease again on `server` under its id (never dials, never a second seat). */
  reacquire(server: string, lease: LeaseRef): Promise<void>;
  /** Takes a lease under its id on the first other server that can grant it; resolves with that server. */
  acquireElsewhere(lease: LeaseRef, from: string, timeout: number): Promise<string>;
}
