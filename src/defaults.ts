/**
 * Every built-in default of the client, written once. The options, the transport and the CLI read them
 * from here, so that the documentation, the TSDoc `@defaultValue`s and the code cannot disagree.
 */

/** The client's defaults (milliseconds unless said otherwise). */
export const DEFAULTS = Object.freeze({
  /** Give up a TCP/TLS connect after this long. */
  connectTimeout: 3_000,
  /** A server that does not answer a request within this long is treated as dead. */
  requestTimeout: 3_000,
  /** The longest `openPort()` / `acquire()` may take, retries included, not counting `wait`. */
  operationTimeout: 15_000,
  /** How long seats wait for their lost server to come back before they migrate. */
  gracePeriod: 10_000,
  /** The longest `close()` waits for servers to take seats back. */
  closeTimeout: 2_000,
  /** Voice channels per port. */
  maxVoiceChannels: 64,
  /** Backoff bounds of the background redials of a lost server. */
  reconnectDelay: Object.freeze({ min: 100, max: 5_000 }),
  /** Backoff bounds between passes over all servers while none answers. */
  retryDelay: Object.freeze({ min: 50, max: 1_000 }),
  /** How long a server that refused the credentials is left alone before one more try. */
  misconfiguredCoolDown: 60_000,
  /** TCP keep-alive initial delay of a connection. */
  keepAliveDelay: 15_000,
  /** The lease TTL assumed for a server that has not said its own (the protocol's default). */
  leaseTtl: 30_000,
  /** The deadline of each network step of `lv-license doctor` and `status`. */
  doctorStepTimeout: 3_000,
});
