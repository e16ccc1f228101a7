/**
 * The states of a client's link to one server, the legal moves between them, and what each means for new
 * work. Pure: no sockets, no timers. (What the server said at its last handshake is a measurement, in
 * health.ts, kept across losses.) `ServerLink` (server-link.ts) is the only one that moves a link, and
 * only through {@link nextLinkState}.
 */
import type { LicenseError } from '../errors.js';
import type { Connection } from '../transport/connection.js';

/** The health of one server, as the client shows it (`status().servers[].state`). */
export type ServerState = 'idle' | 'connecting' | 'up' | 'down' | 'closed';

/** Where a link stands. Everything else a link knows about its server is a measurement (health.ts). */
export type LinkState =
  /** Never dialed: nothing asked for this server yet. */
  | { readonly kind: 'idle' }
  /** A connection is being opened; every caller shares `attempt`. `redial` after a loss or a failure. */
  | { readonly kind: 'dialing'; readonly attempt: Promise<Connection>; readonly redial: boolean }
  /** An authenticated connection is open. */
  | {
      readonly kind: 'up';
      readonly connection: Connection;
      /** Epoch ms since when it has been up. */
      readonly since: number;
    }
  /**
   * The server announced that it is shutting down: its connection still serves the seats held there, new
   * work goes elsewhere, and no redial before `notBefore` (its `retryAfter`).
   */
  | {
      readonly kind: 'draining';
      readonly connection: Connection;
      readonly since: number;
      readonly notBefore: number;
    }
  /** Lost or unreachable: the redial loop brings it back, not before `notBefore`. */
  | { readonly kind: 'backing-off'; readonly error: LicenseError; readonly notBefore: number }
  /**
   * It refused this client in a way retrying will not heal (credentials, another protocol): not dialed
   * again before `until`, then once (a probe), or at once after new credentials.
   */
  | { readonly kind: 'refused'; readonly error: LicenseError; readonly until: number }
  /** The client closed it. Final. */
  | { readonly kind: 'closed' };

/** The kind of a {@link LinkState}. */
export type LinkStateKind = LinkState['kind'];

/** Every legal move: a link changes state only along these. */
export const LINK_MOVES: Readonly<Record<LinkStateKind, readonly LinkStateKind[]>> = Object.freeze({
  idle: ['dialing', 'closed'],
  dialing: ['up', 'backing-off', 'refused', 'closed'],
  up: ['draining', 'backing-off', 'closed'],
  draining: ['draining', 'backing-off', 'closed'],
  'backing-off': ['dialing', 'closed'],
  refused: ['dialing', 'backing-off', 'closed'],
  closed: [],
});

/** An illegal move: a bug in the link, never a network condition. */
export class IllegalLinkMove extends Error {
  constructor(from: LinkStateKind, to: LinkStateKind, server: string) {
    super(`Server link ${server}: illegal move from ${from} to ${to}.`);
    this.name = 'IllegalLinkMove';
  }
}

/**
 * The state after moving from `from` to `to`.
 *
 * @throws {IllegalLinkMove} when {@link LINK_MOVES} does not allow the move.
 */
export function nextLinkState(from: LinkState, to: LinkState, server: string): LinkState {
  if (!LINK_MOVES[from.kind].includes(to.kind)) throw new IllegalLinkMove(from.kind, to.kind, server);
  return to;
}

/**
 * What a link state means to users and to server selection: `up` serves new work; `down` (lost,
 * refused, draining, or being redialed after any of these) comes last; a first dial is `connecting`.
 */
export function serverStateOf(state: LinkState): ServerState {
  switch (state.kind) {
    case 'idle':
      return 'idle';
    case 'dialing':
      return state.redial ? 'down' : 'connecting';
    case 'up':
      return 'up';
    case 'closed':
      return 'closed';
    default:
      return 'down';
  }
}
