/**
 * How a server's address is written in messages, logs and `LICENSE_SERVERS`.
 */
import { isIPv6 } from 'node:net';

/** `host:port`, `[v6]:port`, with `tls://` in front when `tls`: how an entry is written. */
export function formatServer(host: string, port: number, tls = false): string {
  const address = isIPv6(host) ? `[${host}]` : host;
  return `${tls ? 'tls://' : ''}${address}:${port}`;
}
