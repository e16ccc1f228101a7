/**
 * What a license server reports as it works: one typed event per grant, denial, release, expiry,
 * revocation, failed login and operator action (the event log, the metrics and the logs all read these),
 * plus a `request` event per answered request for the latency histogram. No event carries a secret.
 */

/** Why a license was not granted. */
export type DenialReason =
  /** Every seat of the pool is taken (or others queue first), and the request did not wait. -26 */
  | 'exhausted'
  /** The account has no seat of this license type (no pool of it, or a pool of 0). -69 */
  | 'not-licensed'
  /** The account's subscription has ended. -59 */
  | 'expired'
  /** The request can never be granted as asked (more seats than the pool, a lease id in use). -54 */
  | 'invalid'
  /** The request waited its whole `wait` in the queue. -6 */
  | 'queue-timeout'
  /** The pool shrank below what the waiting request asks for. -12 */
  | 'pool-shrunk'
  /** The server is draining and grants nothing more. -22 */
  | 'draining'
  /** The server could not reach its store. -22 */
  | 'store-unavailable';

/** Why the server took a lease back. */
export type RevocationReason =
  /** Its pool shrank (a reload, `setLicenses`, the admin API). */
  | 'pool-shrunk'
  /** An operator revoked it (the admin API, `revoke()`). */
  | 'operator'
  /** Its account's subscription ended. */
  | 'subscription-ended'
  /** The server is draining: the seats move to the client's other servers. */
  | 'drain';

/** Why a login failed. */
export type LoginFailureReason =
  /** The username and password did not match an account. */
  | 'bad-credentials'
  /** The address had too many failed logins in the last minute. */
  | 'address-blocked'
  /** The connection did not authenticate within the server's `authTimeout`. */
  | 'timeout';

/** The fields every lease event has. */
export interface LeaseEventBase {
  /** Epoch ms. */
  readonly time: number;
  /** The account (`''` in unauthenticated mode). */
  readonly account: string;
  /** The license type. */
  readonly feature: string;
  /** Seats. */
  readonly count: number;
  /** The client-chosen lease id. */
  readonly lease: string;
  /** The client's IP address, when the connection is still there. */
  readonly client?: string | undefined;
  /** The server's number for the client's connection, when there is one. */
  readonly connection?: number | undefined;
}

/** Seats granted. */
export interface GrantEvent extends LeaseEventBase {
  /** `'grant'` */
  readonly type: 'grant';
  /** `new` took seats; `reclaimed` was a held lease acquired again (a reconnect): no new seat. */
  readonly kind: 'new' | 'reclaimed';
  /** Whether the request waited in the queue first. */
  readonly waited: boolean;
}

/** An acquire refused. */
export interface DenialEvent extends LeaseEventBase {
  /** `'denial'` */
  readonly type: 'denial';
  /** Why. */
  readonly reason: DenialReason;
  /** The LV_* code the client got. */
  readonly code: number;
}

/** An acquire put in its pool's queue (it will be a `grant`, or a `queue-timeout` denial). */
export interface QueuedEvent extends LeaseEventBase {
  /** `'queued'` */
  readonly type: 'queued';
  /** Its place in the queue, 1 next. */
  readonly position: number;
}

/** Seats given back by their holder. */
export interface ReleaseEvent extends LeaseEventBase {
  /** `'release'` */
  readonly type: 'release';
}

/** A lease not renewed within its TTL. */
export interface ExpiryEvent extends LeaseEventBase {
  /** `'expiry'` */
  readonly type: 'expiry';
}

/** A lease taken back by the server (the holder got the `lease-revoked` push, -41). */
export interface RevocationEvent extends LeaseEventBase {
  /** `'revocation'` */
  readonly type: 'revocation';
  /** Why. */
  readonly reason: RevocationReason;
}

/** A failed login. No account name: SCRAM does not tell whether the name exists, and neither does this. */
export interface LoginFailureEvent {
  /** `'login-failure'` */
  readonly type: 'login-failure';
  /** Epoch ms. */
  readonly time: number;
  /** Why. */
  readonly reason: LoginFailureReason;
  /** The client's IP address. */
  readonly client: string;
  /** The server's number for the connection. */
  readonly connection: number;
}

/** An operator's change through the admin API. */
export interface AdminEvent {
  /** `'admin'` */
  readonly type: 'admin';
  /** Epoch ms. */
  readonly time: number;
  /** Who: the token's role and an 8-character fingerprint, never the token. */
  readonly who: string;
  /** What was asked: method, path and body. */
  readonly action: string;
  /** The HTTP status of the outcome. */
  readonly status: number;
}

/** One request answered (or queued), for latency: not written to the event log. */
export interface RequestEvent {
  /** `'request'` */
  readonly type: 'request';
  /** Epoch ms. */
  readonly time: number;
  /** The operation, such as `acquire`. */
  readonly op: string;
  /** From reading the request to answering it. */
  readonly seconds: number;
}

/** One thing a license server did, as {@link LicenseServer.onEvent} reports it. */
export type ServerEvent =
  | GrantEvent
  | DenialEvent
  | QueuedEvent
  | ReleaseEvent
  | ExpiryEvent
  | RevocationEvent
  | LoginFailureEvent
  | AdminEvent
  | RequestEvent;

/** The event types written to the event log (all but `request`). */
export const LOGGED_EVENT_TYPES: ReadonlySet<ServerEvent['type']> = new Set([
  'grant',
  'denial',
  'queued',
  'release',
  'expiry',
  'revocation',
  'login-failure',
  'admin',
]);

/** A readable one-line account of an event, as `lv-license serve` prints it on a terminal. */
export function describeEvent(event: ServerEvent): string {
  switch (event.type) {
    case 'login-failure':
      return `login failed from ${event.client} (connection ${event.connection}): ${event.reason}`;
    case 'admin':
      return `admin: ${event.who} ${event.action} (${event.status})`;
    case 'request':
      return `${event.op} answered in ${(event.seconds * 1000).toFixed(2)} ms`;
    default: {
      const who = event.account === '' ? '' : ` of account "${event.account}"`;
      const on = event.connection === undefined ? '' : ` on connection ${event.connection}`;
      const what = `${event.feature} x${event.count} lease ${event.lease}${who}${on}`;
      switch (event.type) {
        case 'grant':
          return `${event.kind === 'reclaimed' ? 'reclaimed' : 'granted'} ${what}${event.waited ? ' after waiting' : ''}`;
        case 'denial':
          return `denied ${what}: ${event.reason} (${event.code})`;
        case 'queued':
          return `queued ${what} at position ${event.position}`;
        case 'release':
          return `released ${what}`;
        case 'expiry':
          return `expired ${what}`;
        case 'revocation':
          return `revoked ${what}: ${event.reason}`;
      }
    }
  }
}
