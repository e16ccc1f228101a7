/**
 * Opens one TCP or TLS socket to a license server, within a deadline, and nothing more.
 */

import * as net from 'node:net';
import { isIP, type Socket } from 'node:net';
import * as tls from 'node:tls';
import { abortError, asLicenseError, type LicenseError, TimeoutError, UnexpectedError } from '../errors.js';
import { formatServer } from '../protocol/address.js';
import { onAbort, timerDelay } from '../timing.js';
import { connectError } from './socket-errors.js';

/** TLS settings for one connection. The certificate is verified unless `rejectUnauthorized` is false. */
export interface TransportTlsOptions {
  /** PEM CA certificate(s) to trust instead of Node's bundled roots. */
  ca?: string | Buffer | undefined;
  /** PEM client certificate, for servers that ask for one. */
  cert?: string | Buffer | undefined;
  /** PEM private key of {@link TransportTlsOptions.cert}. */
  key?: string | Buffer | undefined;
  /** The name the certificate must carry; defaults to the host when it is a name, not an address. */
  serverName?: string | undefined;
  /** Verify the certificate. @defaultValue true */
  rejectUnauthorized?: boolean | undefined;
}

/** What {@link SocketFactory} is asked to open. */
export interface DialTarget {
  /** Host name or IP address of the server. */
  host: string;
  /** TCP port of the server. */
  port: number;
  /** TLS settings, for a TLS connection; `undefined` for plain TCP. */
  tls?: TransportTlsOptions | undefined;
}

/**
 * Makes a socket; tests inject their own. It must return a socket that is connecting, and emit
 * `connect` (or `secureConnect` for TLS) when ready, `error` on failure.
 */
export type SocketFactory = (target: DialTarget) => Socket;

/** The default factory: `node:net`, or `node:tls` when the target asks for TLS. */
export const defaultSocketFactory: SocketFactory = (target) => {
  if (target.tls === undefined) return net.connect({ host: target.host, port: target.port });
  const { ca, cert, key, serverName, rejectUnauthorized = true } = target.tls;
  const servername = serverName ?? (isIP(target.host) === 0 ? target.host : undefined);
  return tls.connect({
    host: target.host,
    port: target.port,
    ...(servername === undefined ? {} : { servername }),
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
    rejectUnauthorized,
  });
};

/** Options of {@link dial}. */
export interface DialOptions extends DialTarget {
  /** Give up connecting after this many ms. */
  connectTimeout: number;
  socketFactory?: SocketFactory | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * A socket from `factory`, or the error of a factory that throws or returns something else: what it
 * throws is its own failure (an operating-system error stays a network error; anything else is a bug,
 * LV_EXCEPTION), and a Promise or a non-socket is a bug. A socket a Promise brings later is destroyed.
 *
 * @throws {LicenseError} as said above.
 */
export function makeSocket(factory: SocketFactory, target: DialTarget): Socket {
  const server = formatServer(target.host, target.port);
  let made: unknown;
  try {
    made = factory(target);
  } catch (err) {
    throw asLicenseError(err, server);
  }
  const socket = made as Partial<Socket> | null | undefined;
  const isSocket =
    typeof socket === 'object' &&
    socket !== null &&
    ['on', 'once', 'off', 'destroy'].every(
      (m) => typeof (socket as Record<string, unknown>)[m] === 'function',
    );
  if (isSocket) return made as Socket;
  if (typeof (made as PromiseLike<unknown> | null)?.then === 'function') {
    (made as PromiseLike<{ destroy?: () => void } | undefined>).then(
      (late) => late?.destroy?.(),
      () => {},
    );
  }
  throw new UnexpectedError(
    `The socketFactory for ${server} returned ${made === null ? 'null' : typeof made === 'object' && typeof (made as PromiseLike<unknown>).then === 'function' ? 'a Promise' : typeof made}, not a connecting socket: it must return a net.Socket (or tls.TLSSocket) synchronously.`,
    { server, retryable: false },
  );
}

/**
 * Connects, rejecting with a {@link LicenseError} that says what went wrong: refused, timed out,
 * unreachable, reset, DNS, or an untrusted certificate.
 */
export function dial(options: DialOptions): Promise<Socket> {
  const server = formatServer(options.host, options.port);
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(abortError(signal, `Connecting to ${server}`, server));
  let socket: Socket;
  try {
    socket = makeSocket(options.socketFactory ?? defaultSocketFactory, {
      host: options.host,
      port: options.port,
      tls: options.tls,
    });
  } catch (err) {
    return Promise.reject(err);
  }
  const readyEvent = options.tls === undefined ? 'connect' : 'secureConnect';

  return new Promise<Socket>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const settle = (err: LicenseError | undefined) => {
      clearTimeout(timer);
      socket.off(readyEvent, onReady);
      socket.off('error', onError);
      stopAbort();
      if (err === undefined) {
        resolve(socket);
      } else {
        // A late error from the discarded socket must not become an uncaught exception.
        socket.on('error', () => {});
        socket.destroy();
        reject(err);
      }
    };
    const onReady = () => settle(undefined);
    const onError = (err: unknown) => settle(connectError(server, err));
    socket.once(readyEvent, onReady);
    socket.once('error', onError);
    const stopAbort = onAbort(signal, () =>
      settle(abortError(signal as AbortSignal, `Connecting to ${server}`, server)),
    );
    timer = setTimeout(() => {
      settle(
        new TimeoutError(
          `No answer from ${server} within ${options.connectTimeout} ms: a firewall may be dropping packets, or the host is down. Open TCP port ${options.port} to the license server.`,
          { server },
        ),
      );
    }, timerDelay(options.connectTimeout));
  });
}
