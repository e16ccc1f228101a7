/**
 * Builders of outgoing messages, with their fields in the documented order (the golden fixtures rely
 * on that order).
 */
import { PROTOCOL_NAME, PROTOCOL_VERSION } from './constants.js';
import type { AuthMode, ErrorResponse, Greeting, OkResponse } from './messages.js';
import { returnCodeName } from './return-codes.js';

/** The human-readable note of the greeting. */
export const GREETING_MESSAGE =
  'LumenVox-style license server. Send newline-delimited JSON; see docs/protocol.md';

/** What {@link buildGreeting} needs. */
export interface GreetingOptions {
  /** The server software, `name/version`. */
  server: string;
  auth: AuthMode;
  /** Default: {@link PROTOCOL_VERSION}. */
  version?: string;
}

/**
 * The greeting a server sends first.
 *
 * @example
 * ```ts
 * socket.write(encodeFrame(buildGreeting({ server: 'my-server/1.0.0', auth: 'none' })));
 * ```
 */
export function buildGreeting(options: GreetingOptions): Greeting {
  return {
    type: 'greeting',
    protocol: PROTOCOL_NAME,
    version: options.version ?? PROTOCOL_VERSION,
    server: options.server,
    auth: options.auth,
    message: GREETING_MESSAGE,
  };
}

/**
 * A success response.
 *
 * @example
 * ```ts
 * okResponse(3, { time: Date.now() });
 * ```
 */
export function okResponse<R>(id: number, result: R): OkResponse<R> {
  return { id, ok: true, result };
}

/**
 * A failure response; `name` comes from the LV_* table (`UNKNOWN` for a code outside it). Use `id: null`
 * when the request's id could not be read.
 *
 * @example
 * ```ts
 * errorResponse(4, -26, 'No FULL license free (4 of 4 in use).');
 * ```
 */
export function errorResponse(id: number | null, code: number, message: string): ErrorResponse {
  return { id, ok: false, error: { code, name: returnCodeName(code) ?? 'UNKNOWN', message } };
}
