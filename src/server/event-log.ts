/**
 * The event log of `lv-license serve --events FILE`: one NDJSON line per grant, denial, release, expiry,
 * revocation, failed login and operator action. Written through a buffered stream, so the event loop
 * never waits on the disk; reopened on SIGHUP, so logrotate can move the file away (no `copytruncate`).
 */

import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { LOGGED_EVENT_TYPES, type ServerEvent } from './events.js';

/** Options of {@link EventLog.open}. */
export interface EventLogOptions {
  /**
   * The most bytes held in memory while the disk is slower than the events: past it, lines are dropped
   * (and counted) rather than let the server's memory grow. @defaultValue 16 MiB
   */
  maxBufferedBytes?: number;
  /** Told (once per burst) when lines are dropped, and when the file cannot be written. */
  warn?: (line: string) => void;
  /**
   * Write a `start` line first, naming the kind of store the server keeps its pools in. With `memory`,
   * `lv-license report` takes every seat held before it as given back (the pools did not survive).
   */
  startStore?: string;
}

/**
 * The NDJSON line of an event: `time` as an ISO 8601 string first, then the event's fields. `request` events
 * are not logged: this returns `undefined` for them.
 */
export function eventLine(event: ServerEvent): string | undefined {
  if (!LOGGED_EVENT_TYPES.has(event.type)) return undefined;
  const { time, ...fields } = event;
  return `${JSON.stringify({ time: new Date(time).toISOString(), ...fields })}\n`;
}

/**
 * An append-only NDJSON event log.
 *
 * @example
 * ```ts
 * const events = await EventLog.open('/var/log/lv-license/events.ndjson');
 * const stop = server.onEvent((event) => events.write(event));
 * process.on('SIGHUP', () => void events.reopen());
 * ```
 */
export class EventLog {
  /** The file it appends to. */
  readonly path: string;
  readonly #maxBuffered: number;
  readonly #warn: (line: string) => void;
  #stream: WriteStream;
  #dropped = 0;
  #closed = false;

  private constructor(path: string, stream: WriteStream, options: EventLogOptions) {
    this.path = path;
    this.#stream = stream;
    this.#maxBuffered = options.maxBufferedBytes ?? 16 * 1024 * 1024;
    this.#warn = options.warn ?? (() => {});
  }

  /**
   * Opens (or creates, mode 0640) the file for appending.
   *
   * @throws Error (from `fs`) when the file cannot be opened: a missing directory, no permission.
   */
  static async open(path: string, options: EventLogOptions = {}): Promise<EventLog> {
    const log = new EventLog(path, await openStream(path, options.warn), options);
    if (options.startStore !== undefined) {
      const line = { time: new Date().toISOString(), type: 'start', store: options.startStore };
      log.#stream.write(`${JSON.stringify(line)}\n`);
    }
    return log;
  }

  /** Lines dropped so far because the disk could not keep up. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Appends the event's line (nothing for a `request` event). Never blocks, never throws. */
  write(event: ServerEvent): void {
    if (this.#closed) return;
    const line = eventLine(event);
    if (line === undefined) return;
    if (this.#stream.writableLength > this.#maxBuffered) {
      if (this.#dropped === 0 || this.#dropped % 10_000 === 0) {
        this.#warn(
          `event log ${this.path}: the disk is not keeping up, ${this.#dropped + 1} line(s) dropped`,
        );
      }
      this.#dropped += 1;
      return;
    }
    this.#stream.write(line);
  }

  /**
   * Opens the path again (after logrotate moved the file) and closes the old file once what was written to it
   * is on disk. When the path cannot be opened, the old file stays in use and this rejects.
   */
  async reopen(): Promise<void> {
    if (this.#closed) return;
    const fresh = await openStream(this.path, this.#warn);
    const old = this.#stream;
    this.#stream = fresh;
    await endStream(old);
  }

  /** Writes what is buffered and closes the file. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await endStream(this.#stream);
  }
}

async function openStream(path: string, warn: ((line: string) => void) | undefined): Promise<WriteStream> {
  const stream = createWriteStream(path, { flags: 'a', mode: 0o640 });
  await once(stream, 'open');
  stream.on('error', (err) => warn?.(`event log ${path}: ${err.message}`));
  return stream;
}

function endStream(stream: WriteStream): Promise<void> {
  return new Promise((resolve) => {
    stream.end(() => resolve());
    stream.once('error', () => resolve());
  });
}
