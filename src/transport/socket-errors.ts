/**
 * Turns what `node:net` and `node:tls` throw into the library's errors, with a message that says what
 * the failure means for a license server and what to check next.
 */
import {
  AuthenticationError,
  IncompatibleServerError,
  type LicenseError,
  SocketsError,
  TimeoutError,
} from '../errors.js';

/** How a TCP connection attempt failed, as far as the operating system tells. */
export type ConnectFailureKind =
  | 'refused'
  | 'timed-out'
  | 'unreachable'
  | 'reset'
  | 'dns'
  | 'tls-certificate'
  | 'tls-mismatch'
  | 'closed'
  | 'other';

const KIND_BY_ERRNO: Readonly<Record<string, ConnectFailureKind>> = {
  ECONNREFUSED: 'refused',
  ETIMEDOUT: 'timed-out',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
  EHOSTDOWN: 'unreachable',
  ENETDOWN: 'unreachable',
  EADDRNOTAVAIL: 'unreachable',
  ECONNRESET: 'reset',
  ECONNABORTED: 'reset',
  EPIPE: 'reset',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  EAI_FAIL: 'dns',
  EAI_NONAME: 'dns',
};

const TLS_CERT_CODES = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
]);

/** What OpenSSL says when the peer's bytes are not TLS records: the server does not speak TLS. */
const TLS_MISMATCH_CODES = new Set([
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_PACKET_LENGTH_TOO_LONG',
  'ERR_SSL_HTTP_REQUEST',
  'ERR_SSL_RECORD_LENGTH_MISMATCH',
  'ERR_SSL_UNKNOWN_PROTOCOL',
]);

/** The errno-style code of a Node.js system error, if it has one. */
export function errnoOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Classifies a socket error for messages and for `lv-license doctor`. */
export function classifySocketError(err: unknown): ConnectFailureKind {
  const code = errnoOf(err);
  if (code === undefined) return 'other';
  if (TLS_CERT_CODES.has(code)) return 'tls-certificate';
  if (TLS_MISMATCH_CODES.has(code)) return 'tls-mismatch';
  return KIND_BY_ERRNO[code] ?? 'other';
}

/**
 * The error for a failed connection attempt to `server` (`host:port`).
 *
 * A certificate the client cannot trust is an {@link AuthenticationError}: the server could not prove
 * who it is, and trying again will not change that.
 */
export function connectError(server: string, err: unknown): LicenseError {
  const kind = classifySocketError(err);
  const reason = errnoOf(err) ?? (err instanceof Error ? err.message : String(err));
  const port = server.slice(server.lastIndexOf(':') + 1);
  switch (kind) {
    case 'refused':
      return new SocketsError(
        `Connection refused by ${server}: nothing is listening on port ${port} there. Check LICENSE_SERVERS (host and port) and that the license server is running.`,
        { server, cause: err },
      );
    case 'timed-out':
      return new TimeoutError(
        `No answer from ${server}: a firewall may be dropping packets. Open TCP port ${port} between this machine and the license server.`,
        { server, cause: err },
      );
    case 'unreachable':
      return new SocketsError(
        `${server} is unreachable from this machine (${reason}): check the address in LICENSE_SERVERS and the network route.`,
        { server, cause: err },
      );
    case 'reset':
      return new SocketsError(
        `The connection to ${server} was reset (${reason}): the server closed it or something in between dropped it.`,
        { server, cause: err },
      );
    case 'dns':
      return new SocketsError(
        `The host name of ${server} could not be resolved (${reason}): check the spelling in LICENSE_SERVERS and this machine's DNS.`,
        { server, cause: err },
      );
    case 'tls-certificate':
      return new AuthenticationError(
        `The TLS certificate of ${server} is not trusted (${reason}). Set [TLS] CA_FILE to the CA that signed it, or SERVER_NAME to the name on the certificate.`,
        { server, cause: err },
      );
    case 'tls-mismatch':
      return new IncompatibleServerError(
        `${server} does not speak TLS, but its entry in LICENSE_SERVERS asks for TLS (tls://) (${reason}): one side uses TLS and the other does not. Remove tls:// from the entry, or turn TLS on at the server.`,
        { server, cause: err },
      );
    default:
      // What a socket reports through its 'error' event is a network failure whatever its shape (a proxy
      // library's plain Error included). A bug in a socketFactory is told apart where it is called (dial.ts).
      return new SocketsError(`Could not talk to ${server}: ${reason}.`, { server, cause: err });
  }
}
