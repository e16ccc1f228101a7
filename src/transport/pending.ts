/**
 * The requests one connection is waiting on: their ids, deadlines and abort signals. A request that
 * times out or is aborted is dropped alone; the shared socket stays up. One timer per connection,
 * armed for the earliest deadline, serves every request (a timer per request costs more than the
 * request itself when thousands are pipelined).
 */
import { abortError, type LicenseError, RequestTimeoutError } from '../errors.js';
import { IdTable } from '../id-table.js';
import type { Signal } from '../signal.js';
import { DeadlineTimer } from '../timing.js';

/**
 * Where the outcome of one request goes: its result, or why it has none. Called once, and never from
 * inside the call that sent the request.
 */
export interface RequestSink {
  /** The server's answer was a success: its result, validated. */
  resolve(value: unknown): void;
  /**
   * The server's error answer, or a failure on this side (no answer in time, the connection gone, an
   * abort). `uncertain`: the request was sent and ended without the server's answer, so the server may or
   * may not have acted on it.
   */
  reject(err: LicenseError, uncertain: boolean): void;
}

/** The options of every abort listener, made once. */
const ONCE = Object.freeze({ once: true });

interface Entry {
  readonly op: string;
  readonly sink: RequestSink;
  /** Epoch ms after which the request times out; `Infinity` for none. */
  readonly deadline: number;
  readonly timeout: number;
  readonly signal: Signal | undefined;
  readonly onAbort: (() => void) | undefined;
  readonly onUnsettled: (() => void) | undefined;
}

/**
 * Whether `err` is this client's own deadline for an answer that never came (a sign of a dead or
 * black-holed server), as opposed to a server's LV_TIME_OUT answer such as an acquire whose wait ran out.
 */
export function isNoAnswer(err: unknown): err is RequestTimeoutError {
  return err instanceof RequestTimeoutError;
}

/**
 * The error for the other requests of a connection dropped because the request of `noAnswer` got no answer
 * in time: the same class (the server may have acted on them too), with a message that names why, and
 * `noAnswer` as its cause.
 */
export function droppedForNoAnswer(server: string, noAnswer: RequestTimeoutError): RequestTimeoutError {
  return new RequestTimeoutError(
    `${server} stopped answering, so its connection was dropped with this request on it: ${noAnswer.message}`,
    { server, cause: noAnswer },
  );
}

/** Request ids and the promises waiting on them. */
export class PendingRequests {
  readonly #entries = new IdTable<Entry>();
  readonly #server: string;
  #nextId = 1;
  readonly #deadlines = new DeadlineTimer((now) => this.#sweep(now));
  readonly #beforeSweep: (() => void) | undefined;
  readonly #unsent: ((id: number) => boolean) | undefined;
  /** Who waits for the last pending request to end (see {@link PendingRequests.empty}). */
  #whenEmpty: Array<() => void> | undefined;

  /**
   * `beforeSweep` runs when a deadline is due, before any request is timed out: the connection settles
   * the answers it has received and not handled yet (they came in time). `unsent` says whether request `id`
   * is still waiting to leave (queued for a batch at the end of the turn): aborted then, it was never sent.
   */
  constructor(server: string, beforeSweep?: () => void, unsent?: (id: number) => boolean) {
    this.#server = server;
    this.#beforeSweep = beforeSweep;
    this.#unsent = unsent;
  }

  /** How many requests are waiting for an answer. */
  get size(): number {
    return this.#entries.size;
  }

  /** Resolves once no request is pending (at once when none is): every one answered, timed out or dropped. */
  empty(): Promise<void> {
    if (this.#entries.size === 0) return Promise.resolve();
    const waiting = this.#whenEmpty ?? [];
    this.#whenEmpty = waiting;
    return new Promise<void>((resolve) => {
      waiting.push(resolve);
    });
  }

  /** A fresh request id (1, 2, 3, ...: positive safe integers, never reused by this connection). */
  nextId(): number {
    const id = this.#nextId;
    this.#nextId = id >= Number.MAX_SAFE_INTEGER ? 1 : id + 1;
    return id;
  }

  /**
   * Starts waiting for the answer to request `id`, given to `sink` (no promise: one per layer is a
   * measurable share of a request's CPU when thousands are in flight). It is rejected with a
   * {@link RequestTimeoutError} after `timeout` ms (0: never) and with the abort reason when `signal`
   * fires; `signal` must not have fired yet. `onUnsettled` is called when the request ends without an
   * answer from the server (no answer in time, the connection lost, the caller's abort): the server may or
   * may not have acted on it.
   */
  add(
    id: number,
    op: string,
    timeout: number,
    signal: Signal | undefined,
    onUnsettled: (() => void) | undefined,
    sink: RequestSink,
  ): void {
    const deadline = timeout > 0 ? Date.now() + timeout : Number.POSITIVE_INFINITY;
    const onAbort =
      signal === undefined
        ? undefined
        : () => this.#aborted(id, abortError(signal, `The ${op} request`, this.#server));
    if (onAbort !== undefined) signal?.addEventListener('abort', onAbort, ONCE);
    this.#entries.set(id, { op, sink, deadline, timeout, signal, onAbort, onUnsettled });
    this.#deadlines.schedule(deadline);
  }

  /** The operation request `id` was for, if it is still pending. */
  opOf(id: number): string | undefined {
    return this.#entries.get(id)?.op;
  }

  /** Settles request `id` with its result. Returns false if nobody waits for it any more. */
  resolve(id: number, value: unknown): boolean {
    const entry = this.#take(id);
    entry?.sink.resolve(value);
    return entry !== undefined;
  }

  /**
   * Settles request `id` with an error: the server's own answer when `answered`, otherwise a failure on
   * this side (no answer in time, the connection gone, an abort), whose outcome at the server is unknown.
   * Returns false if nobody waits for it any more.
   */
  reject(id: number, err: LicenseError, answered = false): boolean {
    const entry = this.#take(id);
    if (entry === undefined) return false;
    if (!answered) entry.onUnsettled?.();
    entry.sink.reject(err, !answered);
    return true;
  }

  /**
   * Request `id` was aborted by its signal: if it had not left yet, the server never heard of it, so it is
   * not unsettled (no `onUnsettled`, not `uncertain`), as a request refused before it was sent.
   */
  #aborted(id: number, err: LicenseError): void {
    const unsent = this.#unsent?.(id) === true;
    const entry = this.#take(id);
    if (entry === undefined) return;
    if (!unsent) entry.onUnsettled?.();
    entry.sink.reject(err, !unsent);
  }

  /** Rejects every pending request, for a connection that is gone. */
  rejectAll(err: LicenseError): void {
    for (const id of this.#entries.ids()) this.reject(id, err);
  }

  #take(id: number): Entry | undefined {
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    this.#entries.delete(id);
    if (entry.onAbort !== undefined) entry.signal?.removeEventListener('abort', entry.onAbort);
    if (this.#entries.size === 0) {
      this.#deadlines.clear();
      const waiting = this.#whenEmpty;
      if (waiting !== undefined) {
        this.#whenEmpty = undefined;
        for (const resolve of waiting) resolve();
      }
    }
    return entry;
  }

  /** Times out every request past its deadline; returns the earliest deadline left. */
  #sweep(now: number): number {
    this.#beforeSweep?.();
    let next = Number.POSITIVE_INFINITY;
    for (const id of this.#entries.ids()) {
      const entry = this.#entries.get(id);
      if (entry === undefined) continue; // ended by the rejection of another
      if (entry.deadline <= now) {
        const err = new RequestTimeoutError(
          `${this.#server} did not answer the ${entry.op} request within ${entry.timeout} ms: the server is overloaded, or the network drops its packets.`,
          { server: this.#server },
        );
        this.reject(id, err);
      } else if (entry.deadline < next) {
        next = entry.deadline;
      }
    }
    return next;
  }
}
