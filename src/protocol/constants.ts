/**
 * The fixed values of the lv-license wire protocol (see docs/protocol.md).
 */

/** The protocol's name, as the server's greeting announces it. */
export const PROTOCOL_NAME = 'lv-license';

/** The protocol version this library speaks, `MAJOR.MINOR`. */
export const PROTOCOL_VERSION = '1.3';

/** The MAJOR version this library can talk to: peers with another MAJOR are incompatible. */
export const SUPPORTED_MAJOR = 1;

/** The TCP port a license server listens on unless configured otherwise (the vendor's default). */
export const DEFAULT_LICENSE_PORT = 7569;

/** The largest frame (UTF-8 bytes of one JSON line, without its line terminator) either side accepts by default. */
export const DEFAULT_MAX_FRAME_BYTES = 65_536;

/**
 * The most requests one `batch` request may carry (protocol 1.2); a server announces its own limit, at most
 * this, in the `batch` field of its `hello` result.
 */
export const MAX_BATCH_REQUESTS = 256;

/** The SASL mechanism name the `auth-start` request carries. */
export const SCRAM_MECHANISM = 'SCRAM-SHA-256';

/** What a lease id (chosen by the client) looks like: 1 to 64 of `A-Z a-z 0-9 . _ : -`. */
export const LEASE_ID_PATTERN: RegExp = /^[A-Za-z0-9._:-]{1,64}$/;

/** What a feature (license type) name looks like: upper case, such as `FULL`, `LITE`, `TTS`, `AMD`. */
export const FEATURE_PATTERN: RegExp = /^[A-Z][A-Z0-9_]{0,31}$/;
