/**
 * The SCRAM-SHA-256 arithmetic (RFC 5802 section 3, RFC 7677) and the stored verifier a server keeps
 * instead of the password.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { ScramError } from './protocol-error.js';
import { decodeBase64, normalizeCredential } from './scram-attributes.js';

/** The fewest PBKDF2 iterations accepted (RFC 7677 asks for at least 4096). */
export const MIN_SCRAM_ITERATIONS = 4096;

/**
 * The most PBKDF2 iterations accepted: a client refuses a server-first-message that asks for more, so a
 * hostile server cannot make it spin for minutes.
 */
export const MAX_SCRAM_ITERATIONS = 1_000_000;

const KEY_BYTES = 32;

/** What a server stores for an account: enough to check a client's proof, not enough to log in. */
export interface ScramCredentials {
  salt: Buffer;
  iterations: number;
  /** `H(ClientKey)`. */
  storedKey: Buffer;
  /** `HMAC(SaltedPassword, "Server Key")`. */
  serverKey: Buffer;
}

/** `HMAC-SHA-256(key, data)`. */
export function hmac(key: Uint8Array, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** `SHA-256(data)`. */
export function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

/** Byte-wise XOR of two buffers of the same length. */
export function xor(a: Uint8Array, b: Uint8Array): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (a[i] ?? 0) ^ (b[i] ?? 0);
  return out;
}

/** Whether `iterations` is an integer within the accepted range. */
export function isAcceptedIterationCount(iterations: number): boolean {
  return (
    Number.isSafeInteger(iterations) &&
    iterations >= MIN_SCRAM_ITERATIONS &&
    iterations <= MAX_SCRAM_ITERATIONS
  );
}

/**
 * The last few derivations, so that reconnecting to the same server (same salt and iteration count) does
 * not run PBKDF2 again: it blocks the event loop for milliseconds at 4096 iterations, and for a second at
 * the 1,000,000 a server may ask for. Keyed by a hash, never by the password itself.
 */
const DERIVED = new Map<string, { clientKey: Buffer; serverKey: Buffer }>();
const DERIVED_LIMIT = 16;

/** The keys of a password: `SaltedPassword = Hi(Normalize(password), salt, i)`, then ClientKey and ServerKey. */
export function derivePasswordKeys(
  password: string,
  salt: Uint8Array,
  iterations: number,
): { clientKey: Buffer; serverKey: Buffer } {
  const normalized = normalizeCredential(password, 'password');
  const key = createHash('sha256')
    .update(normalized)
    .update('\0')
    .update(salt)
    .update(`\0${iterations}`)
    .digest('base64');
  const cached = DERIVED.get(key);
  if (cached !== undefined)
    return { clientKey: Buffer.from(cached.clientKey), serverKey: Buffer.from(cached.serverKey) };
  const salted = pbkdf2Sync(normalized, salt, iterations, KEY_BYTES, 'sha256');
  const keys = { clientKey: hmac(salted, 'Client Key'), serverKey: hmac(salted, 'Server Key') };
  if (DERIVED.size >= DERIVED_LIMIT) DERIVED.delete(DERIVED.keys().next().value as string);
  DERIVED.set(key, { clientKey: Buffer.from(keys.clientKey), serverKey: Buffer.from(keys.serverKey) });
  return keys;
}

/** Options of {@link deriveScramCredentials}. */
export interface DeriveScramCredentialsOptions {
  /** Default: 16 random bytes. */
  salt?: Buffer;
  /** Default: 4096. */
  iterations?: number;
}

/**
 * The stored verifier of a password, for a server's account table.
 *
 * @throws {ScramError} `invalid-credentials` for an empty password or one with control characters;
 * `invalid-argument` for an empty salt or an iteration count outside 4096..1000000.
 *
 * @example
 * ```ts
 * const verifier = formatScramVerifier(deriveScramCredentials('pencil'));
 * ```
 */
export function deriveScramCredentials(
  password: string,
  options: DeriveScramCredentialsOptions = {},
): ScramCredentials {
  const salt = options.salt ?? randomBytes(16);
  const iterations = options.iterations ?? MIN_SCRAM_ITERATIONS;
  if (salt.length === 0) throw new ScramError('invalid-argument', 'The salt is empty.');
  if (!isAcceptedIterationCount(iterations)) {
    throw new ScramError(
      'invalid-argument',
      `The iteration count must be an integer from ${MIN_SCRAM_ITERATIONS} to ${MAX_SCRAM_ITERATIONS}.`,
    );
  }
  const { clientKey, serverKey } = derivePasswordKeys(password, salt, iterations);
  return { salt: Buffer.from(salt), iterations, storedKey: sha256(clientKey), serverKey };
}

/**
 * Writes credentials in the PostgreSQL text form:
 * `SCRAM-SHA-256$<iterations>:<salt b64>$<StoredKey b64>:<ServerKey b64>`.
 */
export function formatScramVerifier(credentials: ScramCredentials): string {
  const { iterations, salt, storedKey, serverKey } = credentials;
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

const VERIFIER = /^SCRAM-SHA-256\$([0-9]{1,10}):([^$:]+)\$([^$:]+):([^$:]+)$/;

/**
 * Reads credentials written by {@link formatScramVerifier}.
 *
 * @throws {ScramError} `invalid-argument` when the text is not such a verifier (its text is not repeated
 * in the message: it is a secret).
 */
export function parseScramVerifier(text: string): ScramCredentials {
  const match = typeof text === 'string' ? VERIFIER.exec(text) : null;
  const iterations = Number(match?.[1]);
  const salt = decodeBase64(match?.[2] ?? '');
  const storedKey = decodeBase64(match?.[3] ?? '');
  const serverKey = decodeBase64(match?.[4] ?? '');
  if (
    !isAcceptedIterationCount(iterations) ||
    salt === undefined ||
    storedKey?.length !== KEY_BYTES ||
    serverKey?.length !== KEY_BYTES
  ) {
    throw new ScramError(
      'invalid-argument',
      'Not a SCRAM-SHA-256 verifier: expected SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey> (base64, 32-byte keys, 4096 to 1000000 iterations).',
    );
  }
  return { salt, iterations, storedKey, serverKey };
}
