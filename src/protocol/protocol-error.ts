/**
 * The errors of the protocol layer. They stay inside the library: the transport turns them into
 * `LicenseError`s, and a server turns a {@link ProtocolError} into an error response.
 */
import { ReturnCode } from './return-codes.js';

/** Why a frame or a message was refused. */
export type ProtocolErrorReason =
  | 'invalid-utf8'
  | 'invalid-json'
  | 'not-an-object'
  | 'frame-too-large'
  | 'truncated-frame'
  | 'invalid-message'
  | 'unexpected-message';

/** Options of {@link ProtocolError}. */
export interface ProtocolErrorOptions {
  /** Whether the connection can no longer be used; default `false`. */
  fatal?: boolean;
  /** The LV_* code to report; default LV_UNKNOWN_SERVER_ERROR (-50). */
  code?: number;
  /** The request id the faulty message carried, when it could be read. */
  id?: number | null;
  /** The message field at fault, such as `count` or `result.ttl`. */
  field?: string;
  /** The underlying error. */
  cause?: unknown;
}

/**
 * Malformed or unexpected data from the peer (or a message too large to send).
 *
 * A server answers one with `errorResponse(err.id, err.code, err.message)`; after a `fatal` one it
 * closes the connection.
 */
export class ProtocolError extends Error {
  /** What was wrong. */
  readonly reason: ProtocolErrorReason;
  /** Whether the connection can no longer be used (the byte stream cannot be resynchronised). */
  readonly fatal: boolean;
  /** The LV_* code that stands for this error on the wire and in the `LicenseError` it becomes. */
  readonly code: number;
  /** The request id of the faulty message, or `null` when it has none or it could not be read. */
  readonly id: number | null;
  /** The message field at fault, when one field is. */
  readonly field: string | undefined;

  constructor(reason: ProtocolErrorReason, message: string, options: ProtocolErrorOptions = {}) {
    super(message, 'cause' in options ? { cause: options.cause } : undefined);
    this.name = 'ProtocolError';
    this.reason = reason;
    this.fatal = options.fatal ?? false;
    this.code = options.code ?? ReturnCode.LV_UNKNOWN_SERVER_ERROR;
    this.id = options.id ?? null;
    this.field = options.field;
  }
}

/** What went wrong in a SCRAM exchange, beyond a malformed message. */
export type ScramErrorKind =
  | 'invalid-credentials'
  | 'invalid-argument'
  | 'channel-binding-unsupported'
  | 'server-signature-mismatch'
  | 'server-error';

const CODE_BY_KIND: Readonly<Record<ScramErrorKind, number>> = {
  'invalid-credentials': ReturnCode.LV_INVALID_API_PARAMETER,
  'invalid-argument': ReturnCode.LV_INVALID_API_PARAMETER,
  'channel-binding-unsupported': ReturnCode.LV_OPEN_PORT_FAILED__PRIMARY_SERVER_NOT_COMPATIBLE,
  'server-signature-mismatch': ReturnCode.LV_INVALID_LICENSE,
  'server-error': ReturnCode.LV_INVALID_LICENSE,
};

/**
 * A SCRAM-SHA-256 failure that is not a malformed message: unusable credentials or options, channel
 * binding asked for, a server that cannot prove it knows the account, or a server's `e=` answer.
 * Its message never contains a password or a key.
 */
export class ScramError extends Error {
  /** What went wrong. */
  readonly kind: ScramErrorKind;
  /** The LV_* code that stands for it: -34 for authentication failures, -28 for channel binding, -54 otherwise. */
  readonly code: number;
  /** The server's `e=` value (such as `invalid-proof`), for kind `server-error`. */
  readonly serverError: string | undefined;

  constructor(kind: ScramErrorKind, message: string, serverError?: string) {
    super(message);
    this.name = 'ScramError';
    this.kind = kind;
    this.code = CODE_BY_KIND[kind];
    this.serverError = serverError;
  }
}
