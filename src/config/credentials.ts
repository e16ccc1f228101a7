/**
 * A username and password that never show the password: not in `util.inspect`, `console.log`,
 * `JSON.stringify`, `String()`, object spread nor `Object.keys`.
 */
import { type InspectOptions, inspect } from 'node:util';
import { ConfigError } from '../errors.js';
import { hasForbiddenCredentialCharacters } from '../protocol/scram-attributes.js';

/** What {@link Credentials} shows of itself: the username and a placeholder. */
export interface RedactedCredentials {
  /** The account name. */
  readonly username: string;
  /** Always the placeholder, never the password. */
  readonly password: '[redacted]';
}

const REDACTED = '[redacted]';

/**
 * The account the client authenticates with (`[AUTHENTICATION]` in `client_property.conf`).
 *
 * The password lives in a private field: read it with {@link Credentials.password}; every other way of
 * looking at the object shows `'[redacted]'`.
 *
 * @example
 * ```ts
 * const credentials = new Credentials('ivr-app', 's3cret');
 * credentials.password;            // 's3cret'
 * JSON.stringify(credentials);     // '{"username":"ivr-app","password":"[redacted]"}'
 * console.log(credentials);        // Credentials { username: 'ivr-app', password: '[redacted]' }
 * ```
 */
export class Credentials {
  /** The account name; not a secret. */
  readonly username: string;
  readonly #password: string;

  /**
   * @throws {@link ConfigError} (code -11) when the username or the password is empty.
   */
  constructor(username: string, password: string) {
    if (typeof username !== 'string' || username === '') {
      throw new ConfigError('Credentials need a username; it is empty. Pass the account name.', {
        key: 'username',
      });
    }
    if (typeof password !== 'string' || password === '') {
      throw new ConfigError(
        `Credentials for "${username}" need a password; it is empty. Pass the password.`,
        {
          key: 'password',
        },
      );
    }
    for (const [which, value] of [
      ['username', username],
      ['password', password],
    ] as const) {
      if (hasForbiddenCredentialCharacters(value)) {
        throw new ConfigError(
          `The ${which} holds a control character (a tab, a newline...) or a broken Unicode character, which the license server refuses in credentials. Use printable characters only.`,
          { key: which },
        );
      }
    }
    this.username = username;
    this.#password = password;
    Object.freeze(this);
  }

  /** The password. The only way to read it. */
  get password(): string {
    return this.#password;
  }

  /** The JSON form: the password replaced by `'[redacted]'`. */
  toJSON(): RedactedCredentials {
    return { username: this.username, password: REDACTED };
  }

  /** `Credentials { username: 'ivr-app', password: '[redacted]' }`. */
  toString(): string {
    return `Credentials ${inspect(this.toJSON())}`;
  }

  /** What `util.inspect` and `console.log` show. */
  [inspect.custom](_depth: number, options: InspectOptions): string {
    return `Credentials ${inspect(this.toJSON(), options)}`;
  }
}
