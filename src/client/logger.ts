/**
 * The logger option: any object with `debug`, `info`, `warn` and `error` (console, pino, winston...).
 * Silent by default; a logger that throws never breaks the client.
 */
import type { LogFn } from '../log.js';

export type { LogFn } from '../log.js';

/** What the client logs to. Each call gets a message and an object of fields (never a secret). */
export interface Logger {
  /** Details: retries, cache hits, releases. */
  debug(message: string, fields?: object): void;
  /** Connections, grants, reclaims, reloads. */
  info(message: string, fields?: object): void;
  /** Disconnects, failovers, migrations, configuration warnings. */
  warn(message: string, fields?: object): void;
  /** Failed `openPort()` calls, lost leases, rejected reloads. */
  error(message: string, fields?: object): void;
}

/** Wraps a logger (or none) into a log function that never throws. */
export function makeLog(logger: Logger | undefined): LogFn {
  if (logger === undefined) return () => {};
  return (level, message, fields) => {
    try {
      const method = logger[level];
      if (typeof method === 'function') method.call(logger, `lv-license-client: ${message}`, fields ?? {});
    } catch {
      // A broken logger must not break licensing.
    }
  };
}
