import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { ConfigError } from '../../src/errors.js';

/** The distinctive password every fixture and test uses, so a leak is easy to spot. */
export const SECRET = 'Xyzzy-Fixture-Secret-7r4q';

/** The path of a file under test/fixtures/conf/. */
export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`../fixtures/conf/${name}`, import.meta.url));
}

/** The text of a file under test/fixtures/conf/, byte for byte (BOM and CRLF kept). */
export function fixture(name: string): string {
  return readFileSync(fixturePath(name), 'utf8');
}

/** The 1-based line of the first line of `text` that contains `needle`. */
export function lineOf(text: string, needle: string): number {
  const index = text.split(/\r\n|\r|\n/).findIndex((line) => line.includes(needle));
  if (index < 0) throw new Error(`${JSON.stringify(needle)} is not in the text`);
  return index + 1;
}

/** Runs `fn`, expects it to throw a ConfigError (code -11) and returns it. */
export function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const configErr = error as ConfigError;
    expect(configErr.code).toBe(-11);
    expect(configErr.codeName).toBe('LV_INVALID_PROPERTY_VALUE');
    return configErr;
  }
  throw new Error('expected a ConfigError, but nothing was thrown');
}

/** Awaits `promise`, expects it to reject with a ConfigError (code -11) and returns it. */
export async function rejectsConfigError(promise: Promise<unknown>): Promise<ConfigError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as ConfigError).code).toBe(-11);
  return error as ConfigError;
}

/** `[GLOBAL]` + the given lines, joined with LF. */
export function conf(...lines: string[]): string {
  return `${lines.join('\n')}\n`;
}
