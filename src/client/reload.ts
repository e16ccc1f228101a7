/**
 * Hot reload (`watch: true`): an edited client_property.conf is read again and handed to the client;
 * an edit that does not load is reported and the options in force stay.
 */
import { watchClientProperties } from '../config/index.js';
import { isLicenseError, LicenseError } from '../errors.js';
import {
  type LicenseClientOptions,
  optionsFromProperties,
  type ResolvedOptions,
  resolveOptions,
} from './options.js';

/** What the client does with a reload. */
export interface ReloadHooks {
  /** Applies options that loaded and validated. */
  apply(next: ResolvedOptions, source: string): void;
  /** Reports an edit that was not applied. */
  fail(error: LicenseError): void;
}

/**
 * Watches `path` and calls `hooks.apply` with the new options (the file's, then `overrides`) after each
 * edit that loads. Returns a function that stops watching.
 */
export function watchAndReload(
  path: string,
  overrides: LicenseClientOptions,
  hooks: ReloadHooks,
): () => void {
  const failed = (err: unknown, source: string) =>
    hooks.fail(
      isLicenseError(err)
        ? err
        : new LicenseError(`Reloading ${source} failed: ${String(err)}`, { cause: err }),
    );
  return watchClientProperties(
    path,
    (props) => {
      optionsFromProperties(props, overrides).then(
        (options) => {
          try {
            hooks.apply(resolveOptions(options), props.source);
          } catch (err) {
            failed(err, props.source);
          }
        },
        (err: unknown) => failed(err, props.source),
      );
    },
    (err) => failed(err, path),
  );
}
