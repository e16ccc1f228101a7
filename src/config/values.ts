/**
 * Scalar values of `client_property.conf`: the literal `default`, numbers, booleans and the license type.
 */
import { DEFAULT_LICENSE_CACHE_PERIOD, MAX_LICENSE_CACHE_PERIOD } from './defaults.js';
import { type Diagnostics, quote } from './diagnostics.js';
import type { ConfEntry } from './lines.js';
import { LICENSE_TYPES, type LicenseType } from './types.js';

/** Whether a value is the vendor's literal `default` (any case): "use the built-in default". */
export function isDefault(value: string): boolean {
  return value.toLowerCase() === 'default';
}

/**
 * The entry's value, or `undefined` when the built-in default applies: key absent, `default`, or empty
 * (an empty value gives an `empty-value` warning).
 */
export function explicitValue(
  entry: ConfEntry | undefined,
  diagnostics: Diagnostics,
  defaultText: string,
): string | undefined {
  if (entry === undefined || isDefault(entry.value)) return undefined;
  if (entry.value === '') {
    diagnostics.warn(
      'empty-value',
      `${entry.key} has no value, so its default (${defaultText}) is used. Write a value, or write default.`,
      { line: entry.line, key: entry.key },
    );
    return undefined;
  }
  return entry.value;
}

/**
 * `LICENSE_CACHE_PERIOD`: a whole number of seconds from 0 to 3600.
 *
 * @throws {@link ConfigError} for anything else.
 */
export function readCachePeriod(entry: ConfEntry | undefined, diagnostics: Diagnostics): number {
  const value = explicitValue(entry, diagnostics, String(DEFAULT_LICENSE_CACHE_PERIOD));
  if (entry === undefined || value === undefined) return DEFAULT_LICENSE_CACHE_PERIOD;
  const seconds = /^[0-9]+$/.test(value) ? Number(value) : Number.NaN;
  if (!(seconds <= MAX_LICENSE_CACHE_PERIOD)) {
    throw diagnostics.error(
      `${entry.key} is ${quote(value)}; it must be a whole number of seconds from 0 to ${MAX_LICENSE_CACHE_PERIOD} ` +
        `(0 turns the cache off). Fix it, e.g. ${entry.key} = ${DEFAULT_LICENSE_CACHE_PERIOD}, or write default.`,
      { line: entry.line, key: entry.key },
    );
  }
  return seconds;
}

/**
 * `LICENSE_TYPE`: Auto, SpeechPort or VoxLite in any case, returned in the canonical spelling.
 *
 * @throws {@link ConfigError} for anything else.
 */
export function readLicenseType(entry: ConfEntry | undefined, diagnostics: Diagnostics): LicenseType {
  const value = explicitValue(entry, diagnostics, 'Auto');
  if (entry === undefined || value === undefined) return 'Auto';
  const match = LICENSE_TYPES.find((type) => type.toLowerCase() === value.toLowerCase());
  if (match === undefined) {
    throw diagnostics.error(
      `${entry.key} is ${quote(value)}; it must be Auto, SpeechPort or VoxLite. ` +
        `Fix it, e.g. ${entry.key} = Auto (Full licenses first, then Lite), or write default.`,
      { line: entry.line, key: entry.key },
    );
  }
  return match;
}

const TRUE = new Set(['1', 'true', 'yes']);
const FALSE = new Set(['0', 'false', 'no']);

/**
 * A 0/1 switch such as `DELAYED_LICENSE_ACQUISITION`; `true`/`false` and `yes`/`no` (any case) are accepted too.
 *
 * @throws {@link ConfigError} for anything else.
 */
export function readSwitch(
  entry: ConfEntry | undefined,
  diagnostics: Diagnostics,
  fallback: boolean,
): boolean {
  const value = explicitValue(entry, diagnostics, fallback ? '1' : '0');
  if (entry === undefined || value === undefined) return fallback;
  const lower = value.toLowerCase();
  if (TRUE.has(lower)) return true;
  if (FALSE.has(lower)) return false;
  throw diagnostics.error(
    `${entry.key} is ${quote(value)}; it must be 0 (off) or 1 (on). Fix it, e.g. ${entry.key} = ${fallback ? 1 : 0}, ` +
      'or write default.',
    { line: entry.line, key: entry.key },
  );
}
