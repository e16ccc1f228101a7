/**
 * Whether a server that stays silent on a plain connection speaks TLS: a license server greets at once on
 * plain TCP, while a TLS server waits for the client's hello, so a plain client and a TLS server wait on
 * each other until a deadline. One TLS handshake on a second connection tells the two cases apart.
 */
import type { Socket } from 'node:net';
import type { DialTarget, SocketFactory } from './dial.js';

/** OpenSSL's words for bytes that are not TLS: the peer speaks something else. */
const NOT_TLS = /^ERR_SSL_(WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|HTTP_REQUEST|UNKNOWN_PROTOCOL)/;

/**
 * Tries one TLS handshake with `host:port` within `ms`, and says whether the server answered in TLS. The
 * certificate is not checked (nothing is sent over the connection; it is closed at once): a TLS alert
 * such as "certificate required" also counts as speaking TLS. Never rejects.
 */
export function speaksTls(
  target: Pick<DialTarget, 'host' | 'port'>,
  factory: SocketFactory,
  ms: number,
  signal?: AbortSignal,
): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    let socket: Socket;
    try {
      socket = factory({ host: target.host, port: target.port, tls: { rejectUnauthorized: false } });
    } catch {
      resolve(false);
      return;
    }
    const done = (answer: boolean) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.removeAllListeners();
      socket.on('error', () => {});
      socket.destroy();
      resolve(answer);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(false), ms);
    socket.once('secureConnect', () => done(true));
    socket.once('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? '';
      done(code.startsWith('ERR_SSL_') && !NOT_TLS.test(code));
    });
    socket.once('close', () => done(false));
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}
