/**
 * The server's listening socket: plain TCP or TLS, opened on a host and port, closed on demand.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import { ConfigError } from '../errors.js';
import type { ServerTlsOptions } from './options.js';

/**
 * Listens on `host:port` (0 picks a free port) and resolves with the listener and the port it got.
 *
 * @throws {ConfigError} when the port cannot be had (in use, not allowed).
 */
export function listen(
  host: string,
  port: number,
  tlsOptions: ServerTlsOptions | undefined,
  onConnection: (socket: net.Socket) => void,
): Promise<{ listener: net.Server; port: number }> {
  const listener =
    tlsOptions === undefined
      ? net.createServer(onConnection)
      : tls.createServer(
          {
            cert: tlsOptions.cert,
            key: tlsOptions.key,
            ...(tlsOptions.ca === undefined ? {} : { ca: tlsOptions.ca }),
            requestCert: tlsOptions.requestCert ?? false,
            rejectUnauthorized: tlsOptions.requestCert ?? false,
          },
          onConnection,
        );
  // A client that fails the TLS handshake must not take the server down.
  listener.on('tlsClientError', () => {});
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      reject(
        new ConfigError(
          `The license server could not listen on ${host}:${port} (${err.code ?? err.message}): pick another port, or 0 for a free one.`,
          { cause: err },
        ),
      );
    };
    listener.once('error', onError);
    listener.listen(port, host, () => {
      listener.off('error', onError);
      listener.on('error', () => {});
      const address = listener.address();
      resolve({ listener, port: address !== null && typeof address === 'object' ? address.port : port });
    });
  });
}

/** Stops accepting; resolves when the last connection it accepted has closed too. */
export function closeListener(listener: net.Server | undefined): Promise<void> {
  if (listener === undefined || !listener.listening) return Promise.resolve();
  return new Promise<void>((resolve) => listener.close(() => resolve()));
}
