/**
 * How `lv-license serve` reports: readable lines on a terminal, one JSON object per line through pino
 * elsewhere (or with `--log-format json`), with the fields that could hold a secret redacted by pino's
 * configuration as a second guard (the server never hands it one).
 */
import { pino } from 'pino';
import { describeEvent, type ServerEvent } from '../server/index.js';
import type { CliIo } from './io.js';

/** How `lv-license serve` logs. */
export type LogFormat = 'text' | 'json';

/** What `lv-license serve` logs through: a line, and the event it reports when it reports one. */
export type ServeLog = (line: string, event?: ServerEvent) => void;

/** Paths pino censors in every JSON line, whatever logs them. */
export const REDACTED_PATHS: readonly string[] = [
  'password',
  '*.password',
  'verifier',
  '*.verifier',
  'token',
  '*.token',
  'scram',
  '*.scram',
  'proof',
  '*.proof',
  '*.message',
];

const WARN_EVENTS: ReadonlySet<ServerEvent['type']> = new Set([
  'denial',
  'revocation',
  'expiry',
  'login-failure',
]);

/** The log of `lv-license serve` in `format`, written to `io.stdout`. */
export function serveLog(format: LogFormat, io: CliIo): ServeLog {
  if (format === 'text') {
    return (line) => io.stdout(`${new Date().toISOString()} ${line}\n`);
  }
  const logger = pino(
    {
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    { write: (text: string) => io.stdout(text) },
  );
  return (line, event) => {
    if (event === undefined) {
      logger.info(line);
      return;
    }
    const { time: _time, ...fields } = event;
    const level = WARN_EVENTS.has(event.type) ? 'warn' : 'info';
    logger[level]({ event: fields }, line ?? describeEvent(event));
  };
}
