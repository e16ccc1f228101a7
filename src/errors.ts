/**
 * The library's errors: one base class, a few subclasses, all built from the LV_* return-code table.
 *
 * Every class is branded with a `Symbol.for` key, so `instanceof` and {@link isLicenseError} hold for an
 * error made by the ESM build and checked by the CJS build (or by another copy of the package).
 */
import {
  describeReturnCode,
  isReturnCode,
  ReturnCode,
  type ReturnCodeName,
  type ReturnCodeValue,
} from './protocol/return-codes.js';

const KINDS = Symbol.for('lv-license-client.error.kinds');

type AnyConstructor<T> = abstract new (...args: never[]) => T;

/** Options every {@link LicenseError} takes. */
export interface LicenseErrorOptions {
  /** The LV_* code; each class has its own default. */
  code?: number;
  /** The server (`host:port`) the error concerns, when it concerns one. */
  server?: string | undefined;
  /** The error that caused this one; always kept. */
  cause?: unknown;
  /** Overrides the table's retry flag for this code. */
  retryable?: boolean;
}

/**
 * The base of every error the library rejects with.
 *
 * @example
 * ```ts
 * try {
 *   await client.openPort();
 * } catch (err) {
 *   if (isLicenseError(err)) console.error(err.code, err.codeName, err.message);
 * }
 * ```
 */
export class LicenseError extends Error {
  /** The brand this class is recognised by across builds. */
  static readonly kind: string = 'LicenseError';
  /** The LV_* code a plain instance of this class carries. */
  static readonly defaultCode: number = ReturnCode.LV_FAILURE;

  /** Brand-aware `instanceof`: holds across the ESM and CJS builds. */
  static override [Symbol.hasInstance]<T>(
    this: AnyConstructor<T> & { kind: string },
    value: unknown,
  ): value is T {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    return kindsOf(value)?.includes(this.kind) === true;
  }

  /**
   * The LV_* return code, such as `-12`: always one of the vendor's table, so a `switch` over it is checked
   * for exhaustiveness. A code outside the table (from a newer or foreign server) becomes -50
   * (`LV_UNKNOWN_SERVER_ERROR`), with the code as received in {@link LicenseError.receivedCode}.
   */
  readonly code: ReturnCodeValue;
  /** The code as received when it was not one of the vendor's table (then {@link LicenseError.code} is -50). */
  readonly receivedCode: number | undefined;
  /** The vendor name of {@link LicenseError.code}, such as `'LV_INVALID_HPORT'`. */
  readonly codeName: ReturnCodeName | 'UNKNOWN';
  /** Whether trying again (perhaps on another server) can succeed. */
  readonly retryable: boolean;
  /** The server (`host:port`) this error concerns, if it concerns one. */
  readonly server: string | undefined;

  constructor(message: string, options: LicenseErrorOptions = {}) {
    super(message, 'cause' in options ? { cause: options.cause } : undefined);
    const ctor = new.target as unknown as typeof LicenseError;
    this.name = ctor.kind;
    const given = options.code ?? ctor.defaultCode;
    this.code = isReturnCode(given) ? given : ReturnCode.LV_UNKNOWN_SERVER_ERROR;
    this.receivedCode = isReturnCode(given) ? undefined : given;
    const description = describeReturnCode(this.code);
    this.codeName = description.name;
    this.retryable = options.retryable ?? description.retryable;
    this.server = options.server;
    Object.defineProperty(this, KINDS, { value: brandChain(ctor), enumerable: false });
  }
}

function brandChain(ctor: typeof LicenseError): readonly string[] {
  const kinds: string[] = [];
  let current: unknown = ctor;
  while (typeof current === 'function' && 'kind' in current) {
    const kind = (current as typeof LicenseError).kind;
    if (!kinds.includes(kind)) kinds.push(kind);
    current = Object.getPrototypeOf(current);
  }
  return Object.freeze(kinds);
}

function kindsOf(value: unknown): readonly string[] | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const kinds = (value as { [KINDS]?: unknown })[KINDS];
  return Array.isArray(kinds) ? kinds : undefined;
}

/** What {@link ConfigError} says about where the problem is. */
export interface ConfigErrorOptions extends LicenseErrorOptions {
  /** The configuration file, when the problem is in one. */
  file?: string | undefined;
  /** The 1-based line of {@link ConfigErrorOptions.file}. */
  line?: number | undefined;
  /** The key (or section) at fault. */
  key?: string | undefined;
  /** Every path that was tried, when no file was found. */
  pathsTried?: readonly string[] | undefined;
}

/**
 * A configuration problem (LV_INVALID_PROPERTY_VALUE, -11): a bad `client_property.conf` or a bad option.
 * Never retried. The message names the file, line and key, and says how to fix it.
 */
export class ConfigError extends LicenseError {
  static override readonly kind: string = 'ConfigError';
  static override readonly defaultCode: number = ReturnCode.LV_INVALID_PROPERTY_VALUE;
  /** The configuration file, when the problem is in one. */
  readonly file: string | undefined;
  /** The 1-based line in {@link ConfigError.file}. */
  readonly line: number | undefined;
  /** The key (or section) at fault. */
  readonly key: string | undefined;
  /** Every path that was tried, when no file was found. */
  readonly pathsTried: readonly string[] | undefined;

  constructor(message: string, options: ConfigErrorOptions = {}) {
    super(message, options);
    this.file = options.file;
    this.line = options.line;
    this.key = options.key;
    this.pathsTried = options.pathsTried;
  }
}

/** A step did not finish within its deadline (LV_TIME_OUT, -6). */
export class TimeoutError extends LicenseError {
  static override readonly kind: string = 'TimeoutError';
  static override readonly defaultCode: number = ReturnCode.LV_TIME_OUT;
}

/**
 * The license has no seat of this type at all (LV_FUNCTION_DISABLED, -69): a feature the account was never
 * sold (a typo such as `TSS`, or a pool of 0), as opposed to a pool whose seats are all taken (-26,
 * {@link LicensesExceededError}). An IVR plays its busy prompt for -26 and raises an alarm for this one.
 * -69 is the vendor's nearest code: the function (the license type) is not enabled for this license. Other
 * servers are still asked; not retried.
 */
export class NotLicensedError extends LicenseError {
  static override readonly kind: string = 'NotLicensedError';
  static override readonly defaultCode: number = ReturnCode.LV_FUNCTION_DISABLED;
}

/**
 * The caller aborted the call through its `AbortSignal` (LV_RESET, -3). Its `name` is `'AbortError'`, so
 * the usual check (`err.name === 'AbortError'`) recognises it, and `toReturnCode` still gives -3; the
 * signal's reason is its `cause`. A deadline (`AbortSignal.timeout()`) is a {@link TimeoutError} (-6)
 * instead, as the platform's own timeout is a `TimeoutError`.
 *
 * @example
 * ```ts
 * const controller = new AbortController();
 * const call = client.acquire('TTS', { wait: 60_000, signal: controller.signal });
 * controller.abort();
 * await call.catch((err) => err.name === 'AbortError'); // true, and err.code === -3
 * ```
 */
export class AbortError extends LicenseError {
  static override readonly kind: string = 'AbortError';
  static override readonly defaultCode: number = ReturnCode.LV_RESET;
}

/**
 * A request to one server got no answer within `requestTimeout` (LV_TIME_OUT, -6): the server is hung,
 * overloaded, or the network drops its packets. The client takes that connection down and asks the next
 * server. Unlike a server's own LV_TIME_OUT answer (a `wait` that ran out), the server may have acted on
 * the request.
 */
export class RequestTimeoutError extends TimeoutError {
  static override readonly kind: string = 'RequestTimeoutError';
}

/** A network failure talking to one server: refused, reset, unreachable (LV_SOCKETS_ERROR, -14). */
export class SocketsError extends LicenseError {
  static override readonly kind: string = 'SocketsError';
  static override readonly defaultCode: number = ReturnCode.LV_SOCKETS_ERROR;
}

/** Options of {@link NoServerRespondingError}. */
export interface NoServerRespondingErrorOptions extends LicenseErrorOptions {
  /** Each server's own error, in the order the servers were tried. */
  errors?: readonly LicenseError[];
}

/**
 * No configured server could be reached (LV_NO_SERVER_RESPONDING, -30). Keeps each server's own error in
 * {@link NoServerRespondingError.errors}.
 */
export class NoServerRespondingError extends LicenseError {
  static override readonly kind: string = 'NoServerRespondingError';
  static override readonly defaultCode: number = ReturnCode.LV_NO_SERVER_RESPONDING;
  /** Each server's own error, in the order the servers were tried. */
  readonly errors: readonly LicenseError[];

  constructor(message: string, options: NoServerRespondingErrorOptions = {}) {
    super(message, options);
    this.errors = Object.freeze([...(options.errors ?? [])]);
  }
}

/**
 * The server speaks an incompatible protocol version, or one side authenticates and the other does not
 * (LV_OPEN_PORT_FAILED__PRIMARY_SERVER_NOT_COMPATIBLE, -28). Never retried.
 */
export class IncompatibleServerError extends LicenseError {
  static override readonly kind: string = 'IncompatibleServerError';
  static override readonly defaultCode: number =
    ReturnCode.LV_OPEN_PORT_FAILED__PRIMARY_SERVER_NOT_COMPATIBLE;
}

/** The server rejected the credentials, or could not prove it knows them (LV_INVALID_LICENSE, -34). Never retried. */
export class AuthenticationError extends LicenseError {
  static override readonly kind: string = 'AuthenticationError';
  static override readonly defaultCode: number = ReturnCode.LV_INVALID_LICENSE;
}

/** Every license of the requested type is in use (LV_OPEN_PORT_FAILED__LICENSES_EXCEEDED, -26). */
export class LicensesExceededError extends LicenseError {
  static override readonly kind: string = 'LicensesExceededError';
  static override readonly defaultCode: number = ReturnCode.LV_OPEN_PORT_FAILED__LICENSES_EXCEEDED;
}

/** A port's license was lost while in use (LV_LICENSES_EXPIRED, -41): close the port and open a new one. */
export class LicensesExpiredError extends LicenseError {
  static override readonly kind: string = 'LicensesExpiredError';
  static override readonly defaultCode: number = ReturnCode.LV_LICENSES_EXPIRED;
}

/** The port was never opened, failed to open, or is already closed (LV_INVALID_HPORT, -12). */
export class InvalidPortError extends LicenseError {
  static override readonly kind: string = 'InvalidPortError';
  static override readonly defaultCode: number = ReturnCode.LV_INVALID_HPORT;
}

/**
 * An argument of a call is not valid (LV_INVALID_API_PARAMETER, -54, or a more precise code such as
 * LV_SOUND_CHANNEL_OUT_OF_RANGE, -8, or LV_INVALID_BUFFER, -47). Never retried.
 */
export class InvalidParameterError extends LicenseError {
  static override readonly kind: string = 'InvalidParameterError';
  static override readonly defaultCode: number = ReturnCode.LV_INVALID_API_PARAMETER;
}

/** Options of {@link OpenPortError}. */
export interface OpenPortErrorOptions extends LicenseErrorOptions {
  /** The detailed code, as the vendor's `GetOpenPortStatus` gives it (-26, -27, -28, -30, -34, -41...). */
  status: number;
}

/**
 * `openPort()` could not get a license. `code` is always LV_FAILURE (-1), what the vendor's `OpenPort()`
 * returns; {@link OpenPortError.status} is the detail and `cause` the specific error.
 *
 * @example
 * ```ts
 * try {
 *   await client.openPort();
 * } catch (err) {
 *   if (err instanceof OpenPortError && err.status === ReturnCode.LV_OPEN_PORT_FAILED__LICENSES_EXCEEDED) {
 *     playBusyPrompt();
 *   }
 * }
 * ```
 */
export class OpenPortError extends LicenseError {
  static override readonly kind: string = 'OpenPortError';
  static override readonly defaultCode: number = ReturnCode.LV_FAILURE;
  /** The detailed code, as the vendor's `GetOpenPortStatus` gives it (-50 for a code outside the table). */
  readonly status: ReturnCodeValue;

  constructor(message: string, options: OpenPortErrorOptions) {
    super(message, {
      ...options,
      code: ReturnCode.LV_FAILURE,
      retryable: options.retryable ?? isRetryable(options.cause),
    });
    this.status = isReturnCode(options.status) ? options.status : ReturnCode.LV_UNKNOWN_SERVER_ERROR;
  }

  /**
   * Wraps the error that stopped a port from opening, with a message in the vendor's words
   * (`License failure. No license server responding at address: a;b`).
   */
  static fromCause(cause: unknown, servers: readonly string[] = []): OpenPortError {
    const status = toReturnCode(cause);
    const detail =
      status === ReturnCode.LV_NO_SERVER_RESPONDING ||
      status === ReturnCode.LV_OPEN_PORT_FAILED__PRIMARY_SERVER_NOT_RESPONDING
        ? `No license server responding at address: ${servers.join(';')}`
        : cause instanceof Error
          ? cause.message
          : describeReturnCode(status).meaning;
    return new OpenPortError(`License failure. ${detail}`, {
      status,
      cause,
      server: isLicenseError(cause) ? cause.server : undefined,
    });
  }
}

function isRetryable(cause: unknown): boolean {
  return isLicenseError(cause) ? cause.retryable : false;
}

/**
 * Whether `value` is a {@link LicenseError} from any copy of this library (ESM or CJS build).
 *
 * @example
 * ```ts
 * if (isLicenseError(err) && err.retryable) scheduleRetry();
 * ```
 */
export function isLicenseError(value: unknown): value is LicenseError {
  return kindsOf(value)?.includes(LicenseError.kind) === true;
}

/**
 * The LV_* code for anything thrown: a {@link LicenseError}'s own code, LV_TIME_OUT (-6) for a
 * `TimeoutError` from `AbortSignal.timeout()`, and LV_EXCEPTION (-68) for anything else.
 *
 * @example
 * ```ts
 * const rc = toReturnCode(err); // what the vendor's C API would have returned
 * ```
 */
export function toReturnCode(err: unknown): number {
  if (isLicenseError(err)) return err.code;
  if (err instanceof Error && err.name === 'TimeoutError') return ReturnCode.LV_TIME_OUT;
  return ReturnCode.LV_EXCEPTION;
}

const CLASS_BY_CODE: ReadonlyMap<
  number,
  new (
    message: string,
    options: LicenseErrorOptions,
  ) => LicenseError
> = new Map<number, new (message: string, options: LicenseErrorOptions) => LicenseError>([
  [ReturnCode.LV_INVALID_PROPERTY_VALUE, ConfigError],
  [ReturnCode.LV_TIME_OUT, TimeoutError],
  [ReturnCode.LV_SOCKETS_ERROR, SocketsError],
  [ReturnCode.LV_NO_SERVER_RESPONDING, NoServerRespondingError],
  [ReturnCode.LV_OPEN_PORT_FAILED__PRIMARY_SERVER_NOT_COMPATIBLE, IncompatibleServerError],
  [ReturnCode.LV_INVALID_LICENSE, AuthenticationError],
  [ReturnCode.LV_OPEN_PORT_FAILED__LICENSES_EXCEEDED, LicensesExceededError],
  [ReturnCode.LV_FUNCTION_DISABLED, NotLicensedError],
  [ReturnCode.LV_LICENSES_EXPIRED, LicensesExpiredError],
  [ReturnCode.LV_INVALID_HPORT, InvalidPortError],
  [ReturnCode.LV_INVALID_API_PARAMETER, InvalidParameterError],
  [ReturnCode.LV_SOUND_CHANNEL_OUT_OF_RANGE, InvalidParameterError],
  [ReturnCode.LV_INVALID_BUFFER, InvalidParameterError],
]);

/**
 * The error a return code stands for, as the most specific class: a code that arrives over the wire
 * (or from any API) becomes the same error a local failure would be.
 *
 * @example
 * ```ts
 * errorFromReturnCode(-26, 'FULL pool exhausted', { server: 'ls1:7569' }) instanceof LicensesExceededError; // true
 * ```
 */
export function errorFromReturnCode(
  code: ReturnCodeValue | number,
  message: string,
  options: Omit<LicenseErrorOptions, 'code'> = {},
): LicenseError {
  const Class = CLASS_BY_CODE.get(code) ?? LicenseError;
  return new Class(message, { ...options, code });
}

/**
 * The error a call rejects with when its `AbortSignal` fires: the signal's own reason when that is a
 * {@link LicenseError}, a {@link TimeoutError} for `AbortSignal.timeout()`, and otherwise a
 * {@link LicenseError} with LV_RESET (-3) whose `cause` is the signal's reason.
 *
 * @example
 * ```ts
 * if (signal.aborted) throw abortError(signal, 'acquire TTS');
 * ```
 */
export function abortError(
  signal: { readonly reason: unknown },
  what: string,
  server?: string,
): LicenseError {
  const reason: unknown = signal.reason;
  if (isLicenseError(reason)) return reason;
  if (reason instanceof Error && reason.name === 'TimeoutError') {
    return new TimeoutError(`${what} did not finish before the caller's deadline.`, {
      server,
      cause: reason,
    });
  }
  return new AbortError(`${what} was aborted by the caller.`, { server, cause: reason, retryable: false });
}

/**
 * Whether `err` is a failure of the network or the operating system: an errno-style code such as
 * `ECONNRESET` or `EAI_AGAIN`, a `syscall` that failed, or a TLS, socket or stream error of Node.js
 * (`ERR_SSL_*`, `ERR_TLS_*`, `ERR_SOCKET_*`, `ERR_STREAM_*`). A bug (`TypeError`, `ERR_INVALID_ARG_TYPE`...)
 * is not.
 */
export function isSystemError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, syscall } = err as { code?: unknown; syscall?: unknown };
  if (typeof code !== 'string') return false;
  if (typeof syscall === 'string') return true;
  if (/^ERR_(SSL|TLS|SOCKET|STREAM)_/.test(code)) return true;
  return /^E[A-Z0-9_]+$/.test(code) && !code.startsWith('ERR_');
}

/**
 * A bug, not a failure of the network or of a server (LV_EXCEPTION, -68): something threw that is
 * neither a {@link LicenseError} nor an operating-system error, inside this library or in code it calls
 * (a `socketFactory`, a logger). Never retried, never a reason to ask another server; the original is
 * `cause`. (A server's own -68 answer is a plain {@link LicenseError}: that server failed, the next may
 * not.)
 */
export class UnexpectedError extends LicenseError {
  static override readonly kind: string = 'UnexpectedError';
  static override readonly defaultCode: number = ReturnCode.LV_EXCEPTION;
}

/**
 * Anything thrown, as a {@link LicenseError}: a LicenseError as it is; an operating-system error as a
 * retryable {@link SocketsError} that names the server; anything else (a `TypeError` from a bug, a broken
 * injected socket) as an {@link UnexpectedError} (-68): retrying a bug only hides it behind a time-out.
 * The original is always kept as `cause`.
 */
export function asLicenseError(err: unknown, server: string | undefined): LicenseError {
  if (isLicenseError(err)) return err;
  const where = server === undefined ? '' : ` talking to ${server}`;
  if (isSystemError(err)) {
    return new SocketsError(`Unexpected network failure${where}: ${String(err)}`, { server, cause: err });
  }
  return new UnexpectedError(
    `Unexpected error${where} (LV_EXCEPTION): ${String(err)}. This is a bug in lv-license-client or in code it calls (a socketFactory, a logger); the original error is the cause. Please report it with the stack trace.`,
    { server, cause: err, retryable: false },
  );
}
