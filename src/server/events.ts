/**
 * What a license server reports as it works: one typed event per grant, denial, release, expiry,
 * revocation, failed login and operator action (the event log, the metrics and the logs all read these),
 * plus a `request` event per answered request for the latency histogram. No event carries a secret.
 */

/** Why a license was not granted. */
export type DenialReason =
  /** Every seat of the pool is taken (or others queue first), and the request did not wait. -26 */
  | 'exhausted'
  /** The account has no seat of this license type. -26 */
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

/** One thing a license server did, as {@link LicenseServer.onEvent} reports it. */
export type ServerEvent =
  /** Seats granted: `new`, or `reclaimed` (a held lease acquired again, no new seat); `waited` after a queue. */
  | (LeaseEventBase & {
      readonly type: 'grant';
      readonly kind: 'new' | 'reclaimed';
      readonly waited: boolean;
    })
  /** An acquire refused, with the LV_* code the client got. */
  | (LeaseEventBase & { readonly type: 'denial'; readonly reason: DenialReason; readonly code: number })
  /** Seats given back by their holder. */
  | (LeaseEventBase & { readonly type: 'release' })
  /** A lease not renewed within its TTL. */
  | (LeaseEventBase & { readonly type: 'expiry' })
  /** A lease taken back by the server (the holder got the `lease-revoked` push, -41). */
  | (LeaseEventBase & { readonly type: 'revocation'; readonly reason: RevocationReason })
  /** A failed login. No account name: SCRAM does not tell whether the name exists, and neither does this. */
  | {
      readonly type: 'login-failure';
      readonly time: number;
      readonly reason: LoginFailureReason;
      readonly client: string;
      readonly connection: number;
    }
  /** An operator's change through the admin API: who (a token's role and fingerprint), what, the outcome. */
  | {
      readonly type: 'admin';
      readonly time: number;
      readonly who: string;
      readonly action: string;
      readonly status: number;
    }
  /** One request answered (or queued), for latency: not written to the event log. */
  | { readonly type: 'request'; readonly time: number; readonly op: string; readonly seconds: number };

/** The event types written to the event log (all but `request`). */
export const LOGGED_EVENT_TYPES: ReadonlySet<ServerEvent['type']> = new Set([
  'grant',
  'denial',
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
