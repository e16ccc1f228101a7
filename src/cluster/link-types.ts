/**
 * The shapes a server link is made from and talks in: its settings, its address, its events, the options
 * of one request.
 */
import type { LicenseError } from '../errors.js';
import type { HelloResult, Push } from '../protocol/messages.js';
import type { Signal } from '../signal.js';
import type { SocketFactory, TransportTlsOptions } from '../transport/dial.js';

/** How every link of a client connects: built once, frozen, shared. */
export interface ConnectionSettings {
  readonly connectTimeout: number;
  readonly requestTimeout: number;
  readonly clientName?: string | undefined;
  /** Send same-tick calls in `batch` frames to servers that take them. @defaultValue true */
  readonly batching?: boolean | undefined;
  readonly socketFactory?: SocketFactory | undefined;
  /** TLS material for `tls://` servers. */
  readonly tls?: TransportTlsOptions | undefined;
  /** Background reconnect backoff bounds, in ms. */
  readonly reconnectDelay: { readonly min: number; readonly max: number };
  /** How long a server that refused the credentials is left alone before one more try. */
  readonly misconfiguredCoolDown: number;
  readonly now: () => number;
}

/** Where one server is. */
export interface ServerAddressOptions {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  /** `host:port` as shown to users. */
  readonly label: string;
}

/** Events of a {@link ServerLink}. */
export interface ServerLinkEvents {
  up: [info: { server: string; session: HelloResult; reconnected: boolean }];
  down: [info: { server: string; error: LicenseError }];
  push: [push: Push, server: string];
  retry: [info: { server: string; attempt: number; error: LicenseError }];
}

/** Options of one request through a link. */
export interface LinkRequestOptions {
  signal?: Signal | undefined;
  /** The answer's deadline; defaults to the request timeout. */
  timeout?: number | undefined;
  /** Called when the request was sent and ended without the server's answer (see `Connection.request`). */
  onUnsettled?: (() => void) | undefined;
}
