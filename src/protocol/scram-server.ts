/**
 * The server side of a SCRAM-SHA-256 exchange (RFC 5802, RFC 7677). It needs only the stored verifier
 * of each account, and answers an unknown user exactly like a known one until the proof fails.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { ProtocolError, ScramError } from './protocol-error.js';
import {
  decodeBase64,
  decodeSaslName,
  expectAttribute,
  isValidNonce,
  normalizeCredential,
  parseAttributes,
  type ScramAttribute,
  scramInvalid,
} from './scram-attributes.js';
import {
  hmac,
  isAcceptedIterationCount,
  MAX_SCRAM_ITERATIONS,
  MIN_SCRAM_ITERATIONS,
  type ScramCredentials,
  sha256,
  xor,
} from './scram-crypto.js';

/** Finds the stored credentials of a (normalised) username; `undefined` when there is no such account. */
export type ScramLookup = (username: string) => ScramCredentials | undefined;

/** Options of {@link ScramServer}. */
export interface ScramServerOptions {
  /** The server's part of the nonce; default 18 random bytes in base64. Only tests should set it. */
  nonce?: string;
  /** The iteration count announced for unknown users; default 4096. Use the count of the real accounts. */
  iterations?: number;
  /**
   * The secret the fake salt of unknown users is derived from. It must stay the same for the server's
   * life, so an unknown user always gets the same salt; default: one random secret per process.
   */
  secret?: Uint8Array;
}

/** How {@link ScramServer.finish} ended: the server-final-message to send either way. */
export type ScramFinishResult =
  | { ok: true; serverFinal: string; username: string }
  | { ok: false; serverFinal: string; reason: string };

interface Started {
  readonly username: string;
  readonly known: boolean;
  readonly credentials: ScramCredentials;
  readonly nonce: string;
  readonly authMessagePrefix: string;
}

let processSecret: Buffer | undefined;

function defaultSecret(): Buffer {
  processSecret ??= randomBytes(32);
  return processSecret;
}

/**
 * One server-side SCRAM-SHA-256 exchange. Single use.
 *
 * @example
 * ```ts
 * const scram = new ScramServer((user) => accounts.get(user));
 * const serverFirst = scram.start(clientFirst);          // answer to auth-start
 * const outcome = scram.finish(clientFinal);             // answer to auth-finish
 * if (outcome.ok) reply({ message: outcome.serverFinal, account: outcome.username });
 * else replyError(-34, `Authentication failed: ${outcome.serverFinal}`);
 * ```
 */
export class ScramServer {
  readonly #lookup: ScramLookup;
  readonly #nonce: string;
  readonly #iterations: number;
  readonly #secret: Uint8Array;
  #started: Started | undefined;
  #finished = false;

  /**
   * @throws {ScramError} `invalid-argument` for a nonce that is not printable ASCII without `,`, or an
   * iteration count outside 4096..1000000.
   */
  constructor(lookup: ScramLookup, options: ScramServerOptions = {}) {
    this.#lookup = lookup;
    this.#nonce = options.nonce ?? randomBytes(18).toString('base64');
    this.#iterations = options.iterations ?? MIN_SCRAM_ITERATIONS;
    this.#secret = options.secret ?? defaultSecret();
    if (!isValidNonce(this.#nonce)) {
      throw new ScramError('invalid-argument', 'The nonce must be printable ASCII without ",".');
    }
    if (!isAcceptedIterationCount(this.#iterations)) {
      throw new ScramError(
        'invalid-argument',
        `The iteration count must be an integer from ${MIN_SCRAM_ITERATIONS} to ${MAX_SCRAM_ITERATIONS}.`,
      );
    }
  }

  /**
   * Reads the client-first-message and returns the server-first-message (`r=...,s=...,i=...`).
   *
   * @throws {ScramError} `channel-binding-unsupported` for a gs2 header other than `n,,` (`p=...` or `y,,`).
   * @throws {ProtocolError} `invalid-message` for a malformed message, an authorization identity, a
   * mandatory extension or a badly encoded username; `unexpected-message` when called twice.
   */
  start(clientFirst: string): string {
    if (this.#started !== undefined) {
      throw new ProtocolError('unexpected-message', 'SCRAM: the exchange has already started.');
    }
    const what = 'client-first-message';
    const bare = stripGs2Header(clientFirst, what);
    const attributes = parseAttributes(bare, what);
    const encodedName = expectAttribute(attributes, 0, 'n', what);
    const clientNonce = expectAttribute(attributes, 1, 'r', what);
    const decoded = decodeSaslName(encodedName);
    if (decoded === undefined) throw scramInvalid(what, 'the username has a bad =XX escape');
    const username = normalizeUsername(decoded, what);
    if (!isValidNonce(clientNonce)) throw scramInvalid(what, 'the nonce must be printable ASCII without ","');

    const stored = this.#lookup(username);
    const credentials = stored ?? this.#fakeCredentials(username);
    const nonce = `${clientNonce}${this.#nonce}`;
    const serverFirst = `r=${nonce},s=${credentials.salt.toString('base64')},i=${credentials.iterations}`;
    this.#started = {
      username,
      known: stored !== undefined,
      credentials,
      nonce,
      authMessagePrefix: `${bare},${serverFirst},`,
    };
    return serverFirst;
  }

  /**
   * Checks the client-final-message. Never throws: a failure gives the `e=...` server-final-message to
   * send and a reason for the server's log (`unknown-user` and `invalid-proof` look the same to the client).
   */
  finish(clientFinal: string): ScramFinishResult {
    const started = this.#started;
    if (started === undefined || this.#finished) {
      return { ok: false, serverFinal: 'e=other-error', reason: 'auth-finish without a matching auth-start' };
    }
    this.#finished = true;
    let attributes: ScramAttribute[];
    try {
      attributes = parseAttributes(clientFinal, 'client-final-message');
    } catch {
      return { ok: false, serverFinal: 'e=invalid-encoding', reason: 'malformed client-final-message' };
    }
    const [binding, nonce] = attributes;
    const proofAttribute = attributes.at(-1);
    if (binding?.key !== 'c' || nonce?.key !== 'r' || attributes.length < 3 || proofAttribute?.key !== 'p') {
      return { ok: false, serverFinal: 'e=invalid-encoding', reason: 'expected c=, r=, ..., p=' };
    }
    if (binding.value !== 'biws') {
      return { ok: false, serverFinal: 'e=channel-bindings-dont-match', reason: 'c= is not base64 of "n,,"' };
    }
    if (nonce.value !== started.nonce) {
      return { ok: false, serverFinal: 'e=other-error', reason: 'the nonce does not match' };
    }
    const proof = decodeBase64(proofAttribute.value);
    if (proof?.length !== started.credentials.storedKey.length) {
      return {
        ok: false,
        serverFinal: 'e=invalid-encoding',
        reason: 'the proof is not a base64 SHA-256 value',
      };
    }
    const withoutProof = clientFinal.slice(
      0,
      clientFinal.length - proofAttribute.value.length - ',p='.length,
    );
    const authMessage = `${started.authMessagePrefix}${withoutProof}`;
    const { storedKey, serverKey } = started.credentials;
    const clientKey = xor(proof, hmac(storedKey, authMessage));
    if (!timingSafeEqual(sha256(clientKey), storedKey) || !started.known) {
      return {
        ok: false,
        serverFinal: 'e=invalid-proof',
        reason: started.known ? 'invalid-proof' : 'unknown-user',
      };
    }
    return {
      ok: true,
      serverFinal: `v=${hmac(serverKey, authMessage).toString('base64')}`,
      username: started.username,
    };
  }

  /** Deterministic per username and secret, so probing cannot tell unknown users from known ones. */
  #fakeCredentials(username: string): ScramCredentials {
    return {
      salt: hmac(this.#secret, `salt\0${username}`).subarray(0, 16),
      iterations: this.#iterations,
      storedKey: hmac(this.#secret, `stored-key\0${username}`),
      serverKey: hmac(this.#secret, `server-key\0${username}`),
    };
  }
}

/** The client-first-message-bare after a `n,,` header; other headers are refused. */
function stripGs2Header(clientFirst: string, what: string): string {
  if (typeof clientFirst !== 'string') throw scramInvalid(what, 'the message must be a string');
  if (clientFirst.startsWith('n,,')) return clientFirst.slice(3);
  if (clientFirst.startsWith('p=') || clientFirst.startsWith('y,')) {
    throw new ScramError(
      'channel-binding-unsupported',
      'SCRAM channel binding is not supported: the gs2 header must be "n,,".',
    );
  }
  if (clientFirst.startsWith('n,a='))
    throw scramInvalid(what, 'an authorization identity (a=) is not supported');
  throw scramInvalid(what, 'the gs2 header must be "n,,"');
}

function normalizeUsername(name: string, what: string): string {
  try {
    return normalizeCredential(name, 'username');
  } catch {
    throw scramInvalid(what, 'the username is empty or has control characters');
  }
}
