/**
 * Opening a connection: dial, read the greeting, agree on the version and the authentication mode,
 * and prove both sides know the account (SCRAM-SHA-256). Any failure destroys the socket and rejects
 * with one clear error; nothing here retries.
 */

import { DEFAULTS } from '../defaults.js';
import {
  AuthenticationError,
  IncompatibleServerError,
  isLicenseError,
  type LicenseError,
} from '../errors.js';
import { formatServer } from '../protocol/address.js';
import { PROTOCOL_VERSION, SCRAM_MECHANISM } from '../protocol/constants.js';
import type { Greeting, HelloResult } from '../protocol/messages.js';
import { ScramError } from '../protocol/protocol-error.js';
import { ScramClient } from '../protocol/scram.js';
import { authModeMismatch, checkVersion } from '../protocol/versioning.js';
import { delay, onAbort, StepTimeoutError, withDeadline } from '../timing.js';
import { Connection } from './connection.js';
import { type DialTarget, defaultSocketFactory, dial, type SocketFactory } from './dial.js';
import { speaksTls } from './tls-probe.js';

/** The account a client authenticates as. The password is only used to compute SCRAM proofs. */
export interface ConnectionCredentials {
  readonly username: string;
  readonly password: string;
}

/** Options of {@link openConnection}. */
export interface OpenConnectionOptions extends DialTarget {
  /** The account; without it the connection is unauthenticated, and a server that requires one refuses. */
  credentials?: ConnectionCredentials | undefined;
  /** Give up the TCP (and TLS) connect after this many ms. @defaultValue 3000 */
  connectTimeout?: number | undefined;
  /** Per-request deadline, also for each handshake step. @defaultValue 3000 */
  requestTimeout?: number | undefined;
  /** The largest frame accepted or sent. @defaultValue 65536 */
  maxFrameBytes?: number | undefined;
  /** TCP keep-alive initial delay. @defaultValue 15000 */
  keepAliveDelay?: number | undefined;
  /** Sent in `hello`, for the server's logs. */
  clientName?: string | undefined;
  /** Use `batch` frames when the server takes them (protocol 1.2). @defaultValue true */
  batching?: boolean | undefined;
  /** Makes the socket; tests inject their own. */
  socketFactory?: SocketFactory | undefined;
  /** Aborts the whole opening sequence. */
  signal?: AbortSignal | undefined;
}

/** A connection that is ready for licensing requests, and what the server told about itself. */
export interface OpenedConnection {
  readonly connection: Connection;
  readonly greeting: Greeting;
  readonly session: HelloResult;
  /** The round trip of `hello`, in ms. */
  readonly rtt: number;
  /** The authenticated account, or `undefined` in unauthenticated mode. */
  readonly account: string | undefined;
}

/**
 * Connects to one license server and completes the handshake.
 *
 * @throws {LicenseError} `SocketsError` / `TimeoutError` when the server cannot be reached;
 * `IncompatibleServerError` for a server that is not a license server, speaks another major version,
 * or uses the other authentication mode; `AuthenticationError` when the credentials are rejected or the
 * server cannot prove it knows the account.
 */
export async function openConnection(options: OpenConnectionOptions): Promise<OpenedConnection> {
  const server = formatServer(options.host, options.port);
  const requestTimeout = options.requestTimeout ?? DEFAULTS.requestTimeout;
  const socket = await dial({
    host: options.host,
    port: options.port,
    tls: options.tls,
    connectTimeout: options.connectTimeout ?? DEFAULTS.connectTimeout,
    socketFactory: options.socketFactory,
    signal: options.signal,
  });
  let connection: Connection;
  try {
    connection = new Connection(socket, {
      server,
      requestTimeout,
      maxFrameBytes: options.maxFrameBytes,
      keepAliveDelay: options.keepAliveDelay,
    });
  } catch (err) {
    // A socket that cannot even be set up (a broken injected factory) must not stay open.
    socket.destroy();
    throw err;
  }
  try {
    const greeting = await awaitGreeting(connection, options, server, requestTimeout);
    checkCompatible(server, greeting, options.credentials !== undefined);
    const request = { signal: options.signal };
    const helloSent = performance.now();
    const session = await connection.request(
      'hello',
      {
        version: PROTOCOL_VERSION,
        ...(options.clientName === undefined ? {} : { client: options.clientName }),
      },
      request,
    );
    // The hello round trip is the first measure of the server's latency (status() shows it from the start).
    const rtt = performance.now() - helloSent;
    const account =
      options.credentials === undefined
        ? undefined
        : await authenticate(connection, server, options.credentials, options.signal);
    // A 1.2 server takes batches: requests made in the same turn of the event loop then share frames, each
    // within its frame limit.
    if (session.batch !== undefined && options.batching !== false)
      connection.useBatches(session.batch, session.maxFrameBytes);
    return { connection, greeting, session, account, rtt };
  } catch (err) {
    connection.destroy();
    throw err;
  }
}

/** A license server greets within milliseconds; one silent after this long may be a TLS server. */
const TLS_PROBE_AFTER_MS = 200;

/**
 * The server's greeting, within the request timeout. A plain connection that hears nothing for a moment
 * may be talking to a TLS server that waits for the client's hello: a TLS handshake on a second
 * connection, in parallel with the wait and within its deadline, tells, and such a server is refused at
 * once with an error that says so (rather than "no greeting" at the deadline).
 */
async function awaitGreeting(
  connection: Connection,
  options: OpenConnectionOptions,
  server: string,
  requestTimeout: number,
): Promise<Greeting> {
  const greeting = withDeadline(connection.greeting(), requestTimeout, {
    what: 'The handshake',
    signal: options.signal,
    onTimeout: () =>
      new StepTimeoutError(
        `Connected to ${server}, but it sent no greeting within ${requestTimeout} ms: it is not an lv-license server (check the port in LICENSE_SERVERS), or it is overloaded.`,
        { server },
      ),
  });
  if (options.tls !== undefined) return greeting;
  const probing = new AbortController();
  const stopProbing = onAbort(options.signal, () => probing.abort());
  const after = Math.min(TLS_PROBE_AFTER_MS, requestTimeout / 2);
  const factory = options.socketFactory ?? defaultSocketFactory;
  const verdict = delay(after, probing.signal)
    .then(
      () => speaksTls(options, factory, requestTimeout - after, probing.signal),
      () => false,
    )
    .then((tls) => {
      if (!tls) return greeting;
      throw new IncompatibleServerError(
        `${server} speaks TLS, but its entry in LICENSE_SERVERS is plain TCP: one side uses TLS and the other does not. Write the entry as tls://${server}, or turn TLS off at the server.`,
        { server },
      );
    });
  try {
    return await Promise.race([greeting, verdict]);
  } finally {
    stopProbing();
    probing.abort();
  }
}

function checkCompatible(server: string, greeting: Greeting, hasCredentials: boolean): void {
  const version = checkVersion(greeting.version);
  if (!version.compatible) {
    throw new IncompatibleServerError(
      `${server} speaks lv-license protocol ${greeting.version}, which this client (${PROTOCOL_VERSION}) cannot talk to: ${version.reason ?? 'different major version'}. Upgrade the client or the server so their major versions match.`,
      { server },
    );
  }
  const mismatch = authModeMismatch(greeting.auth, hasCredentials);
  if (mismatch === 'client-has-credentials') {
    throw new IncompatibleServerError(
      `${server} does not use authentication, but this client has credentials (AUTHENTICATION_USERNAME / AUTHENTICATION_PASSWORD). Remove them from [AUTHENTICATION], or turn authentication on at the server: one side alone cannot talk to the other.`,
      { server },
    );
  }
  if (mismatch === 'server-requires-auth') {
    throw new IncompatibleServerError(
      `${server} requires authentication, but this client has no credentials. Set AUTHENTICATION_USERNAME and AUTHENTICATION_PASSWORD under an [AUTHENTICATION] header in client_property.conf.`,
      { server },
    );
  }
}

async function authenticate(
  connection: Connection,
  server: string,
  credentials: ConnectionCredentials,
  signal: AbortSignal | undefined,
): Promise<string> {
  const { username } = credentials;
  try {
    const scram = new ScramClient(username, credentials.password);
    const first = await connection.request(
      'auth-start',
      { mechanism: SCRAM_MECHANISM, message: scram.firstMessage() },
      { signal },
    );
    const final = scram.finalMessage(first.message);
    const done = await connection.request('auth-finish', { message: final }, { signal });
    scram.verifyServer(done.message);
    return done.account;
  } catch (err) {
    throw authError(server, username, err);
  }
}

function authError(server: string, username: string, err: unknown): LicenseError {
  if (err instanceof ScramError && err.kind === 'server-signature-mismatch') {
    return new AuthenticationError(
      `${server} could not prove that it knows the password of account "${username}": it is not the server this client was configured for, or its account database differs. The client refused it.`,
      { server, cause: err },
    );
  }
  if (err instanceof ScramError || (isLicenseError(err) && err.code === -34)) {
    return new AuthenticationError(
      `${server} rejected the credentials of account "${username}": the username and password must match the account on the server (AUTHENTICATION_USERNAME / AUTHENTICATION_PASSWORD under [AUTHENTICATION]).`,
      { server, cause: err },
    );
  }
  if (isLicenseError(err)) return err;
  return new AuthenticationError(`Authentication with ${server} failed: ${String(err)}.`, {
    server,
    cause: err,
  });
}
