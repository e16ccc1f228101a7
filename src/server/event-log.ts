/**
 * The event log of `lv-license serve --events FILE`: one NDJSON line per grant, denial, queued request,
 * release, expiry, revocation, failed login and operator action. Written through a buffered stream, so the
 * event loop never waits on the disk; reopened on SIGHUP, so logrotate can move the file away (no
 * `copytruncate`). Lines it could not write (a full disk, a disk slower than the events) are counted, told,
 * and marked in the file by a `gap` line once writing works again.
 */
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { LOGGED_EVENT_TYPES, type ServerEvent } from './events.js';

/** Options of {@link EventLog.open}. */
export interface EventLogOptions {
  /**
   * The most bytes held in memory while the disk is slower than the events: past it, lines are dropped
   * (and counted) rather than let the server's memory grow. @defaultValue 16 MiB
   */
  maxBufferedBytes?: number;
  /** Told when lines start being lost, every 10,000 lost, and when writing works again. */
  warn?: (line: string) => void;
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
 * const server = await LicenseServer.start({ accounts: '/etc/lumenvox/license_authentication.conf' });
 * events.start('memory');
 * server.onEvent((event) => events.write(event));
 * process.on('SIGHUP', () => void events.reopen());
 * ```
 */
export class EventLog {
  /** The file it appends to. */
  readonly path: string;
  readonly #maxBuffered: number;
  readonly #warn: (line: string) => void;
  #stream: WriteStream;
  /** Lines lost since the last `gap` line. */
  #lost = 0;
  #lostInAll = 0;
  /** The stream failed (a full disk): lines are counted, not written, until it is reopened. */
  #broken = false;
  #retry: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(path: string, stream: WriteStream, options: EventLogOptions) {
    this.path = path;
    this.#stream = stream;
    this.#maxBuffered = options.maxBufferedBytes ?? 16 * 1024 * 1024;
    this.#warn = options.warn ?? (() => {});
    this.#watch(stream);
  }

  /**
   * Opens (or creates, mode 0640) the file for appending. A file whose last line was cut (a crash, a full
   * disk) gets a line end first, so that the next line stays whole.
   *
   * @throws Error (from `fs`) when the file cannot be opened: a missing directory, no permission.
   */
  static async open(path: string, options: EventLogOptions = {}): Promise<EventLog> {
    return new EventLog(path, await openStream(path), options);
  }

  /** Lines lost so far (not written: the disk was full or could not keep up). */
  get dropped(): number {
    return this.#lostInAll;
  }

  /**
   * Writes a `start` line, naming the kind of store the server keeps its pools in: with `memory`,
   * `lv-license report` takes every seat held before it as given back (the pools did not survive). Call it
   * once the server has started.
   */
  start(store: string): void {
    this.#append(`${JSON.stringify({ time: new Date().toISOString(), type: 'start', store })}\n`);
  }

  /** Appends the event's line (nothing for a `request` event). Never blocks, never throws. */
  write(event: ServerEvent): void {
    const line = eventLine(event);
    if (line !== undefined) this.#append(line);
  }

  /**
   * Opens the path again (after logrotate moved the file) and closes the old file once what was written to it
   * is on disk. When the path cannot be opened, the old file stays in use and this rejects.
   */
  async reopen(): Promise<void> {
    if (this.#closed) return;
    const fresh = await openStream(this.path);
    if (this.#closed) {
      // Closed while the new file opened (a SIGHUP during shutdown): the new one is not kept open.
      await endStream(fresh);
      return;
    }
    const old = this.#stream;
    this.#stream = fresh;
    this.#broken = false;
    clearTimeout(this.#retry);
    this.#watch(fresh);
    await endStream(old);
  }

  /** Writes what is buffered and closes the file. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#retry);
    await endStream(this.#stream);
  }

  #append(line: string): void {
    if (this.#closed) return;
    if (this.#broken || this.#stream.writableLength > this.#maxBuffered) {
      if (this.#lost === 0)
        this.#warn(`event log ${this.path}: lines are being lost (the disk is full or too slow)`);
      this.#lost += 1;
      this.#lostInAll += 1;
      if (this.#lost % 10_000 === 0) this.#warn(`event log ${this.path}: ${this.#lost} line(s) lost so far`);
      return;
    }
    if (this.#lost > 0) {
      // The report and a reader see where lines are missing, and how many.
      const gap = { time: new Date().toISOString(), type: 'gap', lost: this.#lost };
      this.#warn(`event log ${this.path}: writing again; ${this.#lost} line(s) were lost`);
      this.#lost = 0;
      this.#stream.write(`${JSON.stringify(gap)}\n`);
    }
    this.#stream.write(line);
  }

  /** A stream that fails stops taking lines; the file is reopened a second later, then up to every 30 s. */
  #watch(stream: WriteStream): void {
    stream.once('error', (err) => {
      if (stream !== this.#stream || this.#closed) return;
      this.#broken = true;
      this.#warn(`event log ${this.path}: ${err.message}; reopening it`);
      this.#reopenLater(stream, 1_000);
    });
  }

  #reopenLater(stream: WriteStream, delay: number): void {
    this.#retry = setTimeout(() => {
      this.reopen().catch(() => {
        if (this.#stream === stream && !this.#closed) this.#reopenLater(stream, Math.min(delay * 2, 30_000));
      });
    }, delay);
    this.#retry.unref();
  }
}

async function openStream(path: string): Promise<WriteStream> {
  const stream = createWriteStream(path, { flags: 'a', mode: 0o640 });
  await once(stream, 'open');
  try {
    if (!(await endsWithNewline(path))) stream.write('\n');
  } catch (err) {
    stream.destroy();
    throw err;
  }
  return stream;
}

/** Whether the file is empty or ends with a line end. */
async function endsWithNewline(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    if (size === 0) return true;
    const last = Buffer.alloc(1);
    await handle.read(last, 0, 1, size - 1);
    return last[0] === 0x0a;
  } finally {
    await handle.close();
  }
}

function endStream(stream: WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed) {
      resolve();
      return;
    }
    stream.once('error', () => resolve());
    stream.end(() => resolve());
  });
}
