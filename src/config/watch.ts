/**
 * Watches client_property.conf for edits (the opt-in `watch: true` of LicenseClient.fromConfigFile).
 * Polls the file's stat, which survives editors that replace the file instead of writing it in place,
 * and never keeps the process alive by itself.
 */
import { type StatsListener, unwatchFile, watchFile } from 'node:fs';
import { loadClientProperties } from './load.js';
import type { ClientProperties } from './types.js';

/** Options of {@link watchClientProperties}. */
export interface WatchOptions {
  /** How often to look at the file, in ms. @defaultValue 500 */
  interval?: number;
}

/**
 * Calls `onChange` with the new options each time the file changes and still parses, and `onError`
 * with the `ConfigError` when an edit leaves it invalid (the previous options stay in force).
 * Returns a function that stops watching.
 */
export function watchClientProperties(
  path: string,
  onChange: (properties: ClientProperties) => void,
  onError: (error: unknown) => void,
  options: WatchOptions = {},
): () => void {
  let generation = 0;
  const listener: StatsListener = (current, previous) => {
    if (
      current.mtimeMs === previous.mtimeMs &&
      current.size === previous.size &&
      current.ino === previous.ino
    )
      return;
    const mine = ++generation;
    loadClientProperties(path).then(
      (properties) => {
        if (mine === generation) onChange(properties);
      },
      (error: unknown) => {
        if (mine === generation) onError(error);
      },
    );
  };
  watchFile(path, { interval: options.interval ?? 500, persistent: false }, listener);
  return () => unwatchFile(path, listener);
}
