/**
 * The client side of a SCRAM-SHA-256 exchange (RFC 5802, RFC 7677): proves it knows the password
 * without sending it, then checks that the server knows the account too.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { ProtocolError, ScramError } from './protocol-error.js';
import {
  decodeBase64,
  encodeSaslName,
  expectAttribute,
  isValidNonce,
  normalizeCredential,
  parseAttributes,
  scramInvalid,
} from './scram-attributes.js';
import {
  derivePasswordKeys,
  hmac,
  isAcceptedIterationCount,
  MAX_SCRAM_ITERATIONS,
  MIN_SCRAM_ITERATIONS,
  sha256,
  xor,
} from './scram-crypto.js';

/** The gs2 header: no channel binding, no authorization identity. */
const GS2_HEADER = 'n,,';
/** `c=` of the client-final-message: base64 of the gs2 header. */
const CHANNEL_BINDING = Buffer.from(GS2_HEADER).toString('base64');

/** Options of {@link ScramClient}. */
export interface ScramClientOptions {
  /** The client nonce; default 18 random bytes in base64. Only tests should set it. */
  nonce?: string;
}

/**
 * One client-side SCRAM-SHA-256 exchange. Single use. The password is kept in a private field (never
 * shown by `util.inspect`) and never appears in an error.
 *
 * @example
 * ```ts
 * const scram = new ScramClient(username, password);
 * const { message: serverFirst } = await request('auth-start', { mechanism: 'SCRAM-SHA-256', message: scram.firstMessage() });
 * const { message: serverFinal } = await request('auth-finish', { message: scram.finalMessage(serverFirst) });
 * scram.verifyServer(serverFinal); // throws ScramError if the server does not know the account
 * ```
 */
export class ScramClient {
  readonly #password: string;
  readonly #nonce: string;
  readonly #clientFirstBare: string;
  #expectedServerSignature: Buffer | undefined;
  #state: 'start' | 'final-sent' | 'done' = 'start';

  /**
   * @throws {ScramError} `invalid-credentials` for an empty username or password, or one with control
   * characters; `invalid-argument` for a nonce that is not printable ASCII without `,`.
   */
  constructor(username: string, password: string, options: ScramClientOptions = {}) {
    const user = normalizeCredential(username, 'username');
    this.#password = normalizeCredential(password, 'password');
    this.#nonce = options.nonce ?? randomBytes(18).toString('base64');
    if (!isValidNonce(this.#nonce)) {
      throw new ScramError('invalid-argument', 'The nonce must be printable ASCII without ",".');
    }
    this.#clientFirstBare = `n=${encodeSaslName(user)},r=${this.#nonce}`;
  }

  /** The client-first-message, such as `n,,n=user,r=rOprNGfwEbeRWgbNEkqO`. */
  firstMessage(): string {
    return `${GS2_HEADER}${this.#clientFirstBare}`;
  }

  /**
   * The client-final-message (with the proof) answering the server-first-message.
   *
   * @throws {ProtocolError} `invalid-message` when the server-first-message is malformed, its nonce does
   * not extend ours, its salt is not base64, or its iteration count is outside 4096..1000000;
   * `unexpected-message` when called twice.
   */
  finalMessage(serverFirst: string): string {
    if (this.#state !== 'start') {
      throw new ProtocolError('unexpected-message', 'SCRAM: the client-final-message was already made.');
    }
    const what = 'server-first-message';
    const attributes = parseAttributes(serverFirst, what);
    const nonce = expectAttribute(attributes, 0, 'r', what);
    const saltText = expectAttribute(attributes, 1, 's', what);
    const iterationText = expectAttribute(attributes, 2, 'i', what);
    if (!isValidNonce(nonce)) throw scramInvalid(what, 'the nonce must be printable ASCII without ","');
    if (!nonce.startsWith(this.#nonce) || nonce.length === this.#nonce.length) {
      throw scramInvalid(what, "the nonce does not extend the client's nonce");
    }
    const salt = decodeBase64(saltText);
    if (salt === undefined) throw scramInvalid(what, 'the salt is not base64');
    const iterations = /^[1-9][0-9]{0,9}$/.test(iterationText) ? Number(iterationText) : Number.NaN;
    if (!isAcceptedIterationCount(iterations)) {
      throw scramInvalid(
        what,
        `the iteration count must be an integer from ${MIN_SCRAM_ITERATIONS} to ${MAX_SCRAM_ITERATIONS}`,
      );
    }

    const { clientKey, serverKey } = derivePasswordKeys(this.#password, salt, iterations);
    const withoutProof = `c=${CHANNEL_BINDING},r=${nonce}`;
    const authMessage = `${this.#clientFirstBare},${serverFirst},${withoutProof}`;
    const clientSignature = hmac(sha256(clientKey), authMessage);
    const proof = xor(clientKey, clientSignature);
    this.#expectedServerSignature = hmac(serverKey, authMessage);
    this.#state = 'final-sent';
    return `${withoutProof},p=${proof.toString('base64')}`;
  }

  /**
   * Checks the server-final-message: the server proves it knows the account's verifier.
   *
   * @throws {ScramError} `server-signature-mismatch` when `v=` is wrong (the server does not know the
   * account: maybe not the server you meant); `server-error` for `e=...` (such as `e=invalid-proof`:
   * wrong username or password).
   * @throws {ProtocolError} `invalid-message` for a malformed message, `unexpected-message` when called
   * before {@link ScramClient.finalMessage} or twice.
   */
  verifyServer(serverFinal: string): void {
    const expected = this.#expectedServerSignature;
    if (this.#state !== 'final-sent' || expected === undefined) {
      throw new ProtocolError('unexpected-message', 'SCRAM: no server-final-message is expected now.');
    }
    const what = 'server-final-message';
    const first = parseAttributes(serverFinal, what)[0];
    if (first?.key === 'e') {
      this.#state = 'done';
      throw new ScramError(
        'server-error',
        `The server refused the authentication: ${first.value}.`,
        first.value,
      );
    }
    if (first?.key !== 'v') throw scramInvalid(what, 'attribute 1 must be v= or e=');
    const signature = decodeBase64(first.value);
    if (signature === undefined) throw scramInvalid(what, 'the server signature is not base64');
    this.#state = 'done';
    if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) {
      throw new ScramError(
        'server-signature-mismatch',
        'The server could not prove that it knows this account (wrong server, or its account table differs).',
      );
    }
  }
}
