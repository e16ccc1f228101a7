/**
 * Where messages about a configuration are made: each one starts with `file:line:` so an editor or a
 * terminal can jump to it, and each ends by saying how to fix the problem.
 */
import { ConfigError } from '../errors.js';
import type { ConfigWarning, ConfigWarningCode } from './types.js';

/** Where in the configuration a message points. */
export interface Place {
  readonly line?: number | undefined;
  readonly key?: string | undefined;
}

/** Builds the errors and collects the warnings of one parse. */
export class Diagnostics {
  readonly #warnings: ConfigWarning[] = [];
  readonly #onWarning: ((warning: ConfigWarning) => void) | undefined;
  readonly #secrets = new Set<string>();

  constructor(
    /** The file or label messages name; none for a bare value such as a `servers` option. */
    readonly source: string | undefined,
    onWarning?: (warning: ConfigWarning) => void,
    secrets: readonly string[] = [],
  ) {
    this.#onWarning = onWarning;
    for (const secret of secrets) this.addSecret(secret);
  }

  /** A value (a password) that no message of this parse may hold, wherever in the file it sits. */
  addSecret(secret: string): void {
    if (secret !== '') this.#secrets.add(secret);
  }

  /** The warnings so far, frozen. */
  get warnings(): readonly ConfigWarning[] {
    return Object.freeze([...this.#warnings]);
  }

  /** `file:12: ` (or `file: `, or nothing), the prefix of every message. */
  prefix(line?: number): string {
    if (this.source === undefined) return '';
    return line === undefined ? `${this.source}: ` : `${this.source}:${line}: `;
  }

  /** Whether `text` holds one of the secrets (by the same rule that redacts them from messages). */
  holdsSecret(text: string): boolean {
    return [...this.#secrets].some((secret) => replaceSecret(text, secret) !== text);
  }

  /** The error for a server list with the password in it (pasted there by mistake); the value is not shown. */
  pastedPassword(place: Place & { key: string }): ConfigError {
    return this.error(
      `${place.key} has an entry that is the value of AUTHENTICATION_PASSWORD: the password was pasted into ` +
        `the server list by mistake. Remove it from ${place.key}, and change the password if this file was shared.`,
      place,
    );
  }

  /** A {@link ConfigError} whose message starts with the prefix and whose fields name the place. */
  error(message: string, place: Place = {}, cause?: unknown): ConfigError {
    return new ConfigError(`${this.prefix(place.line)}${this.#redact(message)}`, {
      file: this.source,
      line: place.line,
      key: place.key,
      ...(cause === undefined ? {} : { cause }),
    });
  }

  /** Records a warning. */
  warn(code: ConfigWarningCode, message: string, place: Place = {}): void {
    const warning: ConfigWarning = Object.freeze({
      code,
      message: `${this.prefix(place.line)}${this.#redact(message)}`,
      ...(place.line === undefined ? {} : { line: place.line }),
      ...(place.key === undefined ? {} : { key: place.key }),
    });
    this.#warnings.push(warning);
    this.#onWarning?.(warning);
  }

  /** Replaces every secret in `message`, as written or as {@link quote} escapes it. */
  #redact(message: string): string {
    let out = message;
    for (const secret of this.#secrets) {
      for (const form of new Set([secret, JSON.stringify(secret).slice(1, -1)])) {
        out = replaceSecret(out, form);
      }
    }
    return out;
  }
}

const REDACTED = '[redacted]';
const WORD = /[\p{L}\p{N}]/u;

/**
 * Replaces `secret` in `text`. A secret of four characters or more is replaced wherever it stands; a
 * shorter one only where it stands alone (not inside a longer word), so that a two-letter password does
 * not eat the letters of every message.
 */
function replaceSecret(text: string, secret: string): string {
  if (secret.length >= 4) return text.split(secret).join(REDACTED);
  let out = '';
  let from = 0;
  for (let at = text.indexOf(secret); at >= 0; at = text.indexOf(secret, at + secret.length)) {
    const before = text.slice(Math.max(0, at - 1), at);
    const after = text.slice(at + secret.length, at + secret.length + 1);
    if (WORD.test(before) || WORD.test(after)) continue;
    out += text.slice(from, at) + REDACTED;
    from = at + secret.length;
  }
  return out + text.slice(from);
}

/** Quotes a value for a message: `"10.0.0.1:99999"`, control characters escaped, long values cut. */
export function quote(value: string, max = 80): string {
  const shown = value.length > max ? `${value.slice(0, max)}...` : value;
  return JSON.stringify(shown);
}
