/**
 * Whether a server that stays silent on a plain connection speaks TLS: a license server greets at once on
 * plain TCP, while a TLS server waits for the client's hello, so a plain client and a TLS server wait on
 * each other until a deadline. One TLS handshake on a second connection tells the two cases apart.
 */
import type { Socket } from 'node:net';
import { onAbort, timerDelay } from '../timing.js';
import { type DialTarget, makeSocket, type SocketFactory } from './dial.js';

/**
 * Tries one TLS handshake with `host:port` within `ms`, and says whether the server answered in TLS: the
 * handshake completed, or the server sent a TLS alert (such as "certificate required"). Anything else (a
 * plain answer, an echo, silence, a closed connection) is not TLS. The certificate is not checked: nothing
 * is sent over the connection, which is closed at once. Never rejects.
 */
export function speaksTls(
  target: Pick<DialTarget, 'host' | 'port'>,
  factory: SocketFactory,
  ms: number,
  signal?: AbortSignal,
): Promise<boolean> {
  let socket: Socket;
  try {
    socket = makeSocket(factory, {
      host: target.host,
      port: target.port,
      tls: { rejectUnauthorized: false },
    });
  } catch {
    return Promise.resolve(false);
  }
  return new Promise<boolean>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const done = (answer: boolean) => {
      clearTimeout(timer);
      stopAbort();
      socket.removeAllListeners();
      socket.on('error', () => {});
      socket.destroy();
      resolve(answer);
    };
    socket.once('secureConnect', () => done(true));
    socket.once('error', (err: NodeJS.ErrnoException) => done(/^ERR_SSL_.*ALERT/.test(err.code ?? '')));
    socket.once('close', () => done(false));
    const stopAbort = onAbort(signal, () => done(false));
    if (signal?.aborted) {
      done(false);
      return;
    }
    timer = setTimeout(() => done(false), timerDelay(ms));
  });
}
