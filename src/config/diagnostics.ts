/**
 * Where messages about a configuration are made: each one starts with `file:line:` so an editor or a
 * terminal can jump to it, and each ends by saying how to fix the problem.
 */
import { ConfigError } from '../errors.js';
import { isPastedSecret, redactSecrets } from './redact.js';
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

  /** Whether a server list entry's host is one of the secrets (a password pasted into the list). */
  isSecretHost(host: string): boolean {
    return isPastedSecret(host, this.#secrets);
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

  #redact(message: string): string {
    return redactSecrets(message, this.#secrets);
  }
}

/** Quotes a value for a message: `"10.0.0.1:99999"`, control characters escaped, long values cut. */
export function quote(value: string, max = 80): string {
  const shown = value.length > max ? `${value.slice(0, max)}...` : value;
  return JSON.stringify(shown);
}
