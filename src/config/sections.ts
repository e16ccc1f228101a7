/**
 * Entries grouped by section, with the checks that need the whole file: repeated keys, and known keys
 * under the wrong header.
 */
import type { Diagnostics } from './diagnostics.js';
import { CREDENTIAL_KEYS, HOME_SECTION } from './keys.js';
import { type ConfEntry, GLOBAL_SECTION } from './lines.js';

/** Each section's keys, the last entry of a repeated key kept. */
export class SectionTable {
  readonly #sections = new Map<string, Map<string, ConfEntry>>();

  /**
   * Groups the entries. A key repeated in one section gives a `duplicate-key` warning; the last value wins,
   * as with the vendor's INI reader (a later line overrides an earlier one), so that appending a corrected
   * line at the bottom of a section behaves as the vendor's client would.
   */
  constructor(entries: readonly ConfEntry[], diagnostics: Diagnostics) {
    for (const entry of entries) {
      let keys = this.#sections.get(entry.section);
      if (keys === undefined) {
        keys = new Map();
        this.#sections.set(entry.section, keys);
      }
      const earlier = keys.get(entry.key);
      if (earlier !== undefined) {
        diagnostics.warn(
          'duplicate-key',
          `${entry.key} is set twice in ${sectionLabel(entry)} (lines ${earlier.line} and ${entry.line}); ` +
            `the value on line ${entry.line} wins. Delete the line you do not want.`,
          { line: entry.line, key: entry.key },
        );
      }
      keys.set(entry.key, entry);
    }
  }

  /** The entry of `key` in `section` (both upper-case), if any. */
  get(section: string, key: string): ConfEntry | undefined {
    return this.#sections.get(section)?.get(key);
  }
}

/**
 * Checks that each known key sits in its own section. Elsewhere it is ignored, like the vendor's client
 * does, with a `misplaced-key` warning; for the credentials that silent fall-back to no authentication is
 * the classic support case, so it is an error.
 *
 * @throws {@link ConfigError} when `AUTHENTICATION_USERNAME` or `AUTHENTICATION_PASSWORD` is outside `[AUTHENTICATION]`.
 */
export function checkPlacement(entries: readonly ConfEntry[], diagnostics: Diagnostics): void {
  const misplaced = entries.filter((entry) => {
    const home = HOME_SECTION.get(entry.key);
    return home !== undefined && home !== entry.section;
  });
  const credential = misplaced.find((entry) => CREDENTIAL_KEYS.has(entry.key));
  if (credential !== undefined) throw credentialsError(credential, misplaced, diagnostics);
  for (const entry of misplaced) {
    const home = HOME_SECTION.get(entry.key) ?? GLOBAL_SECTION;
    diagnostics.warn(
      'misplaced-key',
      `${entry.key} is in ${sectionLabel(entry)}, where it is ignored; it belongs in [${home}]. ` +
        (misspelled(entry, home) ?? `Move it under the [${home}] header.`),
      { line: entry.line, key: entry.key },
    );
  }
}

function credentialsError(
  first: ConfEntry,
  misplaced: readonly ConfEntry[],
  diagnostics: Diagnostics,
): ReturnType<Diagnostics['error']> {
  const keys = [
    ...new Set(
      misplaced
        .filter((entry) => CREDENTIAL_KEYS.has(entry.key) && entry.section === first.section)
        .map((entry) => entry.key),
    ),
  ];
  const both = keys.length > 1;
  const fix =
    misspelled(first, 'AUTHENTICATION') ??
    `Put an [AUTHENTICATION] header on the line above ${both ? 'them' : 'it'} (above line ${first.line}).`;
  return diagnostics.error(
    `${keys.join(' and ')} ${both ? 'are' : 'is'} in ${sectionLabel(first)}, not in [AUTHENTICATION], so the ` +
      `client would ignore ${both ? 'them' : 'it'} and not authenticate (INI scoping puts a key under the last ` +
      `header above it). ${fix}`,
    { line: first.line, key: first.key },
  );
}

/**
 * "Did you mean [AUTHENTICATION]?" when the entry's header is a typo of `home` (two edits or fewer),
 * naming the header's line when it is known.
 */
function misspelled(entry: ConfEntry, home: string): string | undefined {
  const written = entry.sectionAsWritten;
  if (written === undefined || editDistance(written.toUpperCase(), home) > 2) return undefined;
  const where = entry.sectionLine === undefined ? '' : ` (line ${entry.sectionLine})`;
  return `Did you mean [${home}]? Fix the header [${written}]${where}.`;
}

/** Levenshtein distance, for short names. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** `[GRAMMAR]`, or a phrase for keys written before any header. */
export function sectionLabel(entry: ConfEntry): string {
  return entry.sectionAsWritten === undefined
    ? `the ${GLOBAL_SECTION} part before any [SECTION] header`
    : `the [${entry.sectionAsWritten}] section`;
}
