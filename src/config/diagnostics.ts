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

  constructor(
    /** The file or label messages name; none for a bare value such as a `servers` option. */
    readonly source: string | undefined,
    onWarning?: (warning: ConfigWarning) => void,
  ) {
    this.#onWarning = onWarning;
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

  /** A {@link ConfigError} whose message starts with the prefix and whose fields name the place. */
  error(message: string, place: Place = {}, cause?: unknown): ConfigError {
    return new ConfigError(`${this.prefix(place.line)}${message}`, {
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
      message: `${this.prefix(place.line)}${message}`,
      ...(place.line === undefined ? {} : { line: place.line }),
      ...(place.key === undefined ? {} : { key: place.key }),
    });
    this.#warnings.push(warning);
    this.#onWarning?.(warning);
  }
}

/** Quotes a value for a message: `"10.0.0.1:99999"`, control characters escaped, long values cut. */
export function quote(value: string, max = 80): string {
  const shown = value.length > max ? `${value.slice(0, max)}...` : value;
  return JSON.stringify(shown);
}
