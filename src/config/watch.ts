/**
 * Watches client_property.conf for edits (the opt-in `watch: true` of LicenseClient.fromConfigFile).
 * Polls the file's stat, which survives editors that replace the file instead of writing it in place;
 * the first stat is taken at once, so an edit right after the start is not missed; the timer never keeps
 * the process alive by itself.
 */
import { type Stats, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { loadClientProperties } from './load.js';
import type { ClientProperties } from './types.js';

/** Options of {@link watchClientProperties}. */
export interface WatchOptions {
  /** How often to look at the file, in ms. @defaultValue 500 */
  interval?: number;
}

type Fingerprint = string;

function fingerprint(stats: Stats | undefined): Fingerprint {
  return stats === undefined ? 'missing' : `${stats.ino}:${stats.size}:${stats.mtimeMs}`;
}

/**
 * Calls `onChange` each time the file at `path` changes (its inode, size or modification time), by
 * polling its stat every `interval` ms. Returns a function that stops watching. The timer never keeps the
 * process alive by itself.
 */
export function watchFile(path: string, onChange: () => void, options: WatchOptions = {}): () => void {
  let last = fingerprint(statOrUndefined(path));
  let stopped = false;
  const timer = setInterval(() => {
    void stat(path)
      .catch(() => undefined)
      .then((stats) => {
        const current = fingerprint(stats);
        if (stopped || current === last) return;
        last = current;
        onChange();
      });
  }, options.interval ?? 500);
  timer.unref();
  return () => {
    stopped = true;
    clearInterval(timer);
  };
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
  let stopped = false;
  const stop = watchFile(
    path,
    () => {
      const mine = ++generation;
      loadClientProperties(path).then(
        (properties) => {
          if (mine === generation && !stopped) onChange(properties);
        },
        (error: unknown) => {
          if (mine === generation && !stopped) onError(error);
        },
      );
    },
    options,
  );
  return () => {
    stopped = true;
    stop();
  };
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}
