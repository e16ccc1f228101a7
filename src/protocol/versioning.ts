/**
 * The versioning rule: peers with the same MAJOR version talk; a newer MINOR only adds optional fields,
 * operations and pushes (receivers ignore unknown fields and pushes; an unknown operation is answered
 * with LV_NOT_IMPLEMENTED, -13). A different MAJOR, or a malformed version, is incompatible (-28).
 */
import { SUPPORTED_MAJOR } from './constants.js';

/** A parsed `MAJOR.MINOR` protocol version. */
export interface ProtocolVersion {
  major: number;
  minor: number;
}

const VERSION_PATTERN = /^(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})$/;

/**
 * Parses `MAJOR.MINOR` (decimal, no leading zeros, no sign); anything else gives `undefined`.
 *
 * @example
 * ```ts
 * parseProtocolVersion('1.2'); // { major: 1, minor: 2 }
 * ```
 */
export function parseProtocolVersion(version: unknown): ProtocolVersion | undefined {
  if (typeof version !== 'string') return undefined;
  const match = VERSION_PATTERN.exec(version);
  if (match === null) return undefined;
  return { major: Number(match[1]), minor: Number(match[2]) };
}

/** The verdict of {@link checkVersion}. */
export interface VersionCheck {
  compatible: boolean;
  /** Why not, when not compatible. */
  reason?: string;
}

/**
 * Whether this library can talk to a peer speaking protocol version `peer`.
 *
 * @example
 * ```ts
 * checkVersion('1.4'); // { compatible: true }
 * checkVersion('2.0'); // { compatible: false, reason: 'The peer speaks protocol 2.0; this library speaks 1.x.' }
 * ```
 */
export function checkVersion(peer: string): VersionCheck {
  const version = parseProtocolVersion(peer);
  if (version === undefined) {
    return {
      compatible: false,
      reason: `The peer's protocol version ${JSON.stringify(peer)} is not of the form MAJOR.MINOR.`,
    };
  }
  if (version.major !== SUPPORTED_MAJOR) {
    return {
      compatible: false,
      reason: `The peer speaks protocol ${peer}; this library speaks ${SUPPORTED_MAJOR}.x.`,
    };
  }
  return { compatible: true };
}

/**
 * How an authentication mode mismatch shows, if there is one: the client has credentials and the server
 * does not authenticate, or the server requires authentication and the client has none. One side alone
 * cannot talk to the other.
 */
export function authModeMismatch(
  serverAuth: string,
  clientHasCredentials: boolean,
): 'client-has-credentials' | 'server-requires-auth' | undefined {
  if (clientHasCredentials && serverAuth === 'none') return 'client-has-credentials';
  if (!clientHasCredentials && serverAuth !== 'none') return 'server-requires-auth';
  return undefined;
}
