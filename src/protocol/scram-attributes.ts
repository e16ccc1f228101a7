/**
 * The text side of SCRAM (RFC 5802 section 5): attribute lists, usernames as `saslname`, nonces and
 * base64, all parsed strictly. Garbage gives a ProtocolError (`invalid-message`), nothing else.
 */
import { ProtocolError, ScramError } from './protocol-error.js';

/** One `key=value` attribute of a SCRAM message. */
export interface ScramAttribute {
  readonly key: string;
  readonly value: string;
}

/** The `invalid-message` error for a SCRAM message. */
export function scramInvalid(what: string, problem: string): ProtocolError {
  return new ProtocolError('invalid-message', `SCRAM ${what}: ${problem}.`);
}

const ATTRIBUTE = /^([A-Za-z])=(.*)$/s;

/**
 * Splits `a=1,b=2` into attributes. Every part must be one ASCII letter, `=`, and a value without
 * control characters or lone surrogates.
 */
export function parseAttributes(message: string, what: string): ScramAttribute[] {
  if (message.length === 0) throw scramInvalid(what, 'the message is empty');
  if (/[\p{Cc}\p{Cs}]/u.test(message)) throw scramInvalid(what, 'control characters are not allowed');
  return message.split(',').map((part, index) => {
    const match = ATTRIBUTE.exec(part);
    if (match === null) throw scramInvalid(what, `attribute ${index + 1} is not of the form x=value`);
    return { key: match[1]!, value: match[2]! };
  });
}

/**
 * The value of attribute `index`, which must have key `key` and a non-empty value. A leading `m=`
 * (a mandatory extension) is refused: this implementation supports none.
 */
export function expectAttribute(
  attributes: readonly ScramAttribute[],
  index: number,
  key: string,
  what: string,
): string {
  const attribute = attributes[index];
  if (index === 0 && attribute?.key === 'm')
    throw scramInvalid(what, 'mandatory extensions (m=) are not supported');
  if (attribute === undefined || attribute.key !== key)
    throw scramInvalid(what, `attribute ${index + 1} must be ${key}=`);
  if (attribute.value === '') throw scramInvalid(what, `${key}= must not be empty`);
  return attribute.value;
}

/** Encodes a username as a SCRAM `saslname`: `=` becomes `=3D` and `,` becomes `=2C`. */
export function encodeSaslName(name: string): string {
  return name.replaceAll('=', '=3D').replaceAll(',', '=2C');
}

/** Decodes a `saslname`; `undefined` if it holds a `=` that is not `=3D` or `=2C`, or a `,`. */
export function decodeSaslName(value: string): string | undefined {
  if (value.includes(',') || /=(?!3D|2C)/.test(value)) return undefined;
  return value.replaceAll('=2C', ',').replaceAll('=3D', '=');
}

/**
 * Whether a username or password holds what SCRAM refuses in one: a control character (C0, DEL or C1) or
 * a lone surrogate, after NFKC normalisation.
 */
export function hasForbiddenCredentialCharacters(value: string): boolean {
  return /[\p{Cc}\p{Cs}]/u.test(value.normalize('NFKC'));
}

/**
 * Normalises a username or password with NFKC, an approximation of SASLprep (RFC 4013, which is NFKC
 * plus mapping and prohibition tables), and refuses an empty value, control characters and lone
 * surrogates.
 */
export function normalizeCredential(value: string, what: 'username' | 'password'): string {
  if (typeof value !== 'string') throw new ScramError('invalid-credentials', `The ${what} must be a string.`);
  const normalized = value.normalize('NFKC');
  if (normalized.length === 0) throw new ScramError('invalid-credentials', `The ${what} is empty.`);
  if (hasForbiddenCredentialCharacters(normalized)) {
    throw new ScramError('invalid-credentials', `The ${what} contains a control character.`);
  }
  return normalized;
}

/** Whether `nonce` is a valid SCRAM nonce: printable ASCII except `,`, at least one character. */
export function isValidNonce(nonce: string): boolean {
  return /^[\x21-\x2B\x2D-\x7E]+$/.test(nonce);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decodes strict (padded, canonical) non-empty base64; `undefined` otherwise. */
export function decodeBase64(value: string): Buffer | undefined {
  if (value.length === 0 || !BASE64.test(value)) return undefined;
  const bytes = Buffer.from(value, 'base64');
  return bytes.toString('base64') === value ? bytes : undefined;
}
