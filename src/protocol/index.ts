/**
 * The wire protocol layer: constants, message types, frame codec, message checks, versioning and
 * SCRAM-SHA-256. Pure (no sockets, timers or files). Internal: the package root does not re-export it;
 * the transport and the fake server import it from here.
 */
export {
  buildGreeting,
  buildRequest,
  errorResponse,
  GREETING_MESSAGE,
  type GreetingOptions,
  okResponse,
} from './builders.js';
export { type DecodedItem, encodeFrame, FrameDecoder, type FrameDecoderOptions } from './codec.js';
export {
  DEFAULT_LICENSE_PORT,
  DEFAULT_MAX_FRAME_BYTES,
  FEATURE_PATTERN,
  LEASE_ID_PATTERN,
  PROTOCOL_NAME,
  PROTOCOL_VERSION,
  SCRAM_MECHANISM,
  SUPPORTED_MAJOR,
} from './constants.js';
export * from './messages.js';
export { ProtocolError, type ProtocolErrorOptions, type ProtocolErrorReason } from './protocol-error.js';
export { parseResult } from './results.js';
export * from './scram.js';
export { parseGreeting, parseRequest, parseServerFrame } from './validate.js';
export { checkVersion, type ProtocolVersion, parseProtocolVersion, type VersionCheck } from './versioning.js';
