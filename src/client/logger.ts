/**
 * The logger option: any object with `debug`, `info`, `warn` and `error` (console, pino, winston, bunyan...).
 * Loggers that take the fields first (pino, bunyan) get them first; those that take the message first
 * (console, winston) get the message first. Silent by default, but for `NODE_DEBUG=lv-license`; a logger
 * that throws never breaks the client.
 */
import { debuglog } from 'node:util';
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

/** The component name the client logs under (`logger.child({ component })`, and the message prefix). */
const COMPONENT = 'lv-license-client';

/** What `NODE_DEBUG=lv-license` turns on (as `NODE_DEBUG=net` does for Node itself). */
const nodeDebug = debuglog('lv-license');

/**
 * Whether the logger takes its fields first, `logger.info(fields, message)`: pino (it has `bindings()`) and
 * bunyan (it has a `fields` object). console and winston take the message first.
 */
function fieldsFirst(logger: object): boolean {
  const candidate = logger as { bindings?: unknown; fields?: unknown; child?: unknown };
  return (
    typeof candidate.bindings === 'function' ||
    (typeof candidate.child === 'function' &&
      typeof candidate.fields === 'object' &&
      candidate.fields !== null)
  );
}

/**
 * The log function of a client with no logger and no `NODE_DEBUG=lv-license`: hot paths compare against it
 * to skip building the fields of a line nobody reads.
 */
export const SILENT_LOG: LogFn = () => {};

/** Wraps a logger (or none) into a log function that never throws. */
export function makeLog(logger: Logger | undefined): LogFn {
  if (logger === undefined) {
    if (!nodeDebug.enabled) return SILENT_LOG;
    return (level, message, fields) => nodeDebug('%s %s %j', level, message, fields ?? {});
  }
  let sink: Logger = logger;
  let prefix = `${COMPONENT}: `;
  const child = (logger as { child?: unknown }).child;
  if (typeof child === 'function') {
    try {
      const made: unknown = child.call(logger, { component: COMPONENT });
      if (typeof made === 'object' && made !== null && typeof (made as Logger).info === 'function') {
        sink = made as Logger;
        prefix = '';
      }
    } catch {
      // A child() that throws: log through the logger itself.
    }
  }
  const objectFirst = fieldsFirst(sink);
  return (level, message, fields) => {
    try {
      const method = sink[level] as unknown;
      if (typeof method !== 'function') return;
      if (objectFirst) method.call(sink, fields ?? {}, `${prefix}${message}`);
      else method.call(sink, `${prefix}${message}`, fields ?? {});
    } catch {
      // A broken logger must not break licensing.
    }
  };
}
