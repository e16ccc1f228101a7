import { format, inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Credentials, parseClientProperties } from '../../src/config/index.js';
import { conf, configError, SECRET } from './support.js';

describe('Credentials', () => {
  const credentials = new Credentials('ivr-prod-01', SECRET);

  it('gives the password through its getter only', () => {
    expect(credentials.password).toBe(SECRET);
    expect(credentials.username).toBe('ivr-prod-01');
    expect(Object.keys(credentials)).toEqual(['username']);
    expect({ ...credentials }).toEqual({ username: 'ivr-prod-01' });
    expect(Object.getOwnPropertyNames(credentials)).toEqual(['username']);
  });

  it('redacts the password in util.inspect, console formatting, JSON and String()', () => {
    const shown = [
      inspect(credentials),
      inspect(credentials, { depth: 0, showHidden: true }),
      inspect({ nested: { deeper: credentials } }, { depth: 10 }),
      format('%o %O %s %j', credentials, credentials, credentials, credentials),
      JSON.stringify(credentials),
      JSON.stringify({ credentials }),
      String(credentials),
      `${credentials}`,
    ];
    for (const text of shown) {
      expect(text).not.toContain(SECRET);
      expect(text).toContain('[redacted]');
    }
    expect(inspect(credentials)).toBe("Credentials { username: 'ivr-prod-01', password: '[redacted]' }");
    expect(JSON.stringify(credentials)).toBe('{"username":"ivr-prod-01","password":"[redacted]"}');
    expect(String(credentials)).toBe("Credentials { username: 'ivr-prod-01', password: '[redacted]' }");
  });

  it('is frozen', () => {
    expect(Object.isFrozen(credentials)).toBe(true);
    expect(() => {
      (credentials as { username: string }).username = 'other';
    }).toThrow(TypeError);
  });

  it.each([
    ['', 'x', 'username'],
    ['u', '', 'password'],
  ])('rejects an empty username or password (%j, %j)', (username, password, key) => {
    const error = configError(() => new Credentials(username, password));
    expect(error.key).toBe(key);
  });

  it('never leaks the password through the parsed options', () => {
    const options = parseClientProperties(
      conf('[AUTHENTICATION]', 'AUTHENTICATION_USERNAME = ivr', `AUTHENTICATION_PASSWORD = ${SECRET}`),
    );
    for (const text of [
      inspect(options, { depth: Number.POSITIVE_INFINITY }),
      JSON.stringify(options),
      String(options),
      format('%o', options),
      options.warnings.map((warning) => warning.message).join('\n'),
    ]) {
      expect(text).not.toContain(SECRET);
    }
    expect(JSON.parse(JSON.stringify(options)).authentication).toEqual({
      username: 'ivr',
      password: '[redacted]',
    });
  });
});
