/**
 * SCRAM-SHA-256 (RFC 5802 with RFC 7677), mutual authentication without channel binding: the module
 * the transport (client side) and the fake server (server side) use.
 */
export { ScramError, type ScramErrorKind } from './protocol-error.js';
export { decodeSaslName, encodeSaslName } from './scram-attributes.js';
export { ScramClient, type ScramClientOptions } from './scram-client.js';
export {
  type DeriveScramCredentialsOptions,
  deriveScramCredentials,
  formatScramVerifier,
  MAX_SCRAM_ITERATIONS,
  MIN_SCRAM_ITERATIONS,
  parseScramVerifier,
  type ScramCredentials,
} from './scram-crypto.js';
export {
  type ScramFinishResult,
  type ScramLookup,
  ScramServer,
  type ScramServerOptions,
} from './scram-server.js';
