/**
 * The shapes of the pool of servers: what it is made from, the links it holds, its events, and what one
 * acquire asks.
 */
import type { LicenseError } from '../errors.js';
import type { AcquireResult, Push } from '../protocol/messages.js';
import type { Signal } from '../signal.js';
import type { Backoff } from '../timing.js';
import type { ConnectionCredentials } from '../transport/handshake.js';
import type { LeaseEpochs } from './lease-epochs.js';
import type { ConnectionSettings, ServerAddressOptions } from './link-types.js';
import type { ServerLink } from './server-link.js';

/** A server to use: the parsed form of one `LICENSE_SERVERS` entry. */
export interface PoolServer {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
}

/** What the pool needs of one server's link: a {@link ServerLink}, or a stub in unit tests. */
export type PoolLink = Pick<
  ServerLink,
  | 'server'
  | 'priority'
  | 'state'
  | 'isUp'
  | 'session'
  | 'snapshot'
  | 'connection'
  | 'request'
  | 'send'
  | 'renew'
  | 'release'
  | 'reacquire'
  | 'setCredentials'
  | 'close'
  | 'idle'
  | 'leaveIfDraining'
  | 'settleReceived'
  | 'on'
>;

/** Makes the link of one server. */
export type LinkFactory = (
  address: ServerAddressOptions,
  priority: number,
  settings: ConnectionSettings,
  credentials: ConnectionCredentials | undefined,
  epochs: LeaseEpochs,
) => PoolLink;

/** Options of a {@link ServerPool}. */
export interface ServerPoolOptions {
  readonly servers: readonly PoolServer[];
  readonly credentials?: ConnectionCredentials | undefined;
  readonly settings: ConnectionSettings;
  /** Bounds of the backoff between passes over all servers. */
  readonly retryDelay: Backoff;
  /** Makes each server's link; a {@link ServerLink} unless a unit test gives its own. */
  readonly makeLink?: LinkFactory | undefined;
}

/** Events of a {@link ServerPool}. */
export interface ServerPoolEvents {
  connect: [info: { server: string; reconnected: boolean }];
  disconnect: [info: { server: string; error: LicenseError }];
  retry: [info: { server?: string | undefined; attempt: number; error: LicenseError; operation: string }];
  failover: [info: { from: string; to: string; operation: string; error: LicenseError }];
  push: [push: Push, server: string];
  /** An acquire whose answer never came: the server may hold a seat under that id. */
  uncertain: [info: { server: string; lease: string }];
}

/** What to acquire, and where not to. */
export interface AcquireRequest {
  lease: string;
  feature: string;
  count: number;
  /** Queue at the first server that answered "exhausted" for up to this many ms. */
  wait?: number | undefined;
  /** Aborts the whole call (the caller's signal combined with the call's deadline). */
  signal: Signal;
  /** Servers not to ask (the one a lease is migrating away from). */
  exclude?: ReadonlySet<string> | undefined;
  /** For events and messages: `openPort`, `acquire`, `migrate`... */
  operation: string;
  /** Retry passes when no server answers; false makes one pass only. @defaultValue true */
  retry?: boolean;
}

/** Where an acquire was granted. */
export interface Granted {
  readonly link: PoolLink;
  readonly result: AcquireResult;
}
