/**
 * One connection to one license server: frames in and out, request ids, per-request deadlines and
 * aborts, write backpressure, pushes, and a clean close. The opening sequence (greeting, version,
 * authentication) is in handshake.ts.
 */
import type { Socket } from 'node:net';
import { EventEmitter } from 'eventemitter3';
import { DEFAULTS } from '../defaults.js';
import {
  abortError,
  errorFromReturnCode,
  IncompatibleServerError,
  InvalidParameterError,
  LicenseError,
  SocketsError,
} from '../errors.js';
import { IdTable } from '../id-table.js';
import { type DecodedItem, encodeFrameText, FrameDecoder } from '../protocol/codec.js';
import { DEFAULT_MAX_FRAME_BYTES, MAX_BATCH_REQUESTS } from '../protocol/constants.js';
import type { Greeting, ParamsOf, Push, RequestOp, Response, ResultOf } from '../protocol/messages.js';
import { ProtocolError } from '../protocol/protocol-error.js';
import { ReturnCode } from '../protocol/return-codes.js';
import { parseGreeting, parseResult, parseServerFrame } from '../protocol/validate.js';
import type { Signal } from '../signal.js';
import { atEndOfTurn } from '../timing.js';
import { InboundFrames } from './inbound.js';
import { PendingRequests, type RequestSink } from './pending.js';
import { connectError } from './socket-errors.js';

/** Events of a {@link Connection}. */
export interface ConnectionEvents {
  /** The server sent a push (lease revoked, shutdown notice, queue position). */
  push: [push: Push];
  /** The connection is gone; `error` says why, `undefined` after a clean `close()`. */
  close: [info: { error: LicenseError | undefined }];
}

/** Options of one request. */
export interface RequestOptions {
  /** Milliseconds to wait for the answer; defaults to the connection's request timeout. 0 = no limit. */
  timeout?: number | undefined;
  /** Drops this request (not the connection) when it fires. */
  signal?: Signal | undefined;
  /**
   * Called when the request ends without the server's answer (no answer in time, the connection lost,
   * an abort after it was sent): the server may have acted on it. Not called for an answer, good or bad.
   */
  onUnsettled?: (() => void) | undefined;
}

/** Settings the connection keeps after the handshake. */
export interface ConnectionSettings {
  /** `host:port` of the server, for messages. */
  server: string;
  /** Default per-request deadline in ms. */
  requestTimeout: number;
  /** The largest frame accepted or sent. */
  maxFrameBytes?: number | undefined;
  /** TCP keep-alive initial delay in ms. @defaultValue 15000 */
  keepAliveDelay?: number | undefined;
}

/**
 * A request waiting for its turn of the event loop to end, or carried by a `batch` frame in flight: the
 * request itself.
 */
type QueuedRequest = { id: number; op: RequestOp } & Record<string, unknown>;

/** Requests in a `batch` frame, at least, when a tick's requests are split into two frames. */
const FRAME_MIN = 4;

/**
 * Whether the `granted` and `released` of a batch answer name acquires and releases of the batch, each in
 * the order of the requests, and none that also has a whole answer in `responses`.
 */
function namesOwnRequests(
  carried: readonly QueuedRequest[],
  granted: readonly number[],
  released: readonly number[],
  responses: ReadonlyArray<Record<string, unknown>>,
): boolean {
  let g = 0;
  let r = 0;
  for (const request of carried) {
    if (granted[g] === request.id && request.op === 'acquire') g++;
    else if (released[r] === request.id && request.op === 'release') r++;
  }
  if (g < granted.length || r < released.length) return false;
  if (responses.length === 0) return true;
  const named = new Set<unknown>(granted);
  for (const id of released) named.add(id);
  return responses.every((response) => !named.has(response.id));
}

/** No ids: a batch answer without `granted` or `released`. */
const NO_IDS: readonly number[] = Object.freeze([]);

/** How long `close()` waits for the server to acknowledge the end of the stream. */
const CLOSE_GRACE_MS = 2_000;

/** Lifecycle of a {@link Connection}. */
export type ConnectionState = 'open' | 'closing' | 'closed';

/**
 * A framed, multiplexed connection over one socket. Many requests share it; each has its own id,
 * deadline and abort signal.
 */
export class Connection extends EventEmitter<ConnectionEvents> {
  /** `host:port` of the server. */
  readonly server: string;
  readonly #socket: Socket;
  readonly #decoder: FrameDecoder;
  readonly #pending: PendingRequests;
  readonly #requestTimeout: number;
  readonly #maxFrameBytes: number;
  readonly #writeQueue: string[] = [];
  #state: ConnectionState = 'open';
  #closeError: LicenseError | undefined;
  #closed: Promise<void>;
  #greeting: Greeting | LicenseError | undefined;
  #greetingWaiters: Array<(item: Greeting | LicenseError) => void> = [];
  #firstBytes = '';
  #corked = false;
  /** Requests per `batch` frame the server takes (its `hello` said so); 0: one frame per request. */
  #maxBatch = 0;
  /**
   * The largest `batch` frame sent: the smaller of this side's frame limit and the server's (its `hello`
   * said so). A larger frame would make the server drop the connection, and the requests it carried.
   */
  #batchFrameBytes: number;
  /** Acquires and releases made in this turn of the event loop, sent together at its end (setImmediate). */
  #batchQueue: QueuedRequest[] = [];
  /** The `batch` frames in flight: their id, and the requests they carry. */
  readonly #batches = new IdTable<readonly QueuedRequest[]>();
  /** Frames received and not handled yet, handled a share per turn of the event loop. */
  readonly #inbound = new InboundFrames({
    handle: (item) => this.#onItem(item),
    pending: () => this.#pending.size,
    open: () => this.#state === 'open',
  });

  constructor(socket: Socket, settings: ConnectionSettings) {
    super();
    this.server = settings.server;
    this.#socket = socket;
    this.#requestTimeout = settings.requestTimeout;
    this.#maxFrameBytes = settings.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.#batchFrameBytes = this.#maxFrameBytes;
    this.#decoder = new FrameDecoder({ maxFrameBytes: this.#maxFrameBytes });
    // An answer that came before its request's deadline, and waits for its turn, is an answer.
    this.#pending = new PendingRequests(
      this.server,
      () => {
        if (this.#state === 'open') this.#inbound.handleAll();
      },
      // Aborted while queued for the end of the turn: it never leaves, so the server never heard of it.
      (id) => this.#batchQueue.length > 0 && this.#batchQueue.some((request) => request.id === id),
    );
    socket.setNoDelay(true);
    socket.setKeepAlive(true, settings.keepAliveDelay ?? DEFAULTS.keepAliveDelay);
    this.#closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('drain', () => this.#flush());
    socket.on('end', () => this.#onEnd());
    socket.on('error', (err) => {
      this.#inbound.handleAll();
      this.#fail(connectError(this.server, err));
    });
    socket.once('close', () => this.#onClose());
  }

  /** `open` until the socket goes away. */
  get state(): ConnectionState {
    return this.#state;
  }

  /** Requests sent and not yet answered. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /**
   * Resolves once no request of this connection waits for its answer (at once when none does): each was
   * answered, timed out, or dropped with the connection.
   */
  idle(): Promise<void> {
    return this.#pending.empty();
  }

  /** Why the connection closed, if it closed on an error. */
  get closeError(): LicenseError | undefined {
    return this.#closeError;
  }

  /** Local `host:port` of the socket, for logs. */
  get localAddress(): string {
    return `${this.#socket.localAddress ?? '?'}:${this.#socket.localPort ?? '?'}`;
  }

  /**
   * Waits for the server's greeting, the first frame on every connection.
   *
   * It has no deadline of its own: the handshake bounds the wait (see `openConnection`).
   *
   * @throws {LicenseError} `IncompatibleServerError` when what comes is not a license server's greeting;
   * the connection's error when it closes first.
   */
  greeting(): Promise<Greeting> {
    return new Promise<Greeting>((resolve, reject) => {
      const settle = (item: Greeting | LicenseError) =>
        item instanceof Error ? reject(item) : resolve(item);
      if (this.#greeting !== undefined) settle(this.#greeting);
      else this.#greetingWaiters.push(settle);
    });
  }

  #settleGreeting(item: Greeting | LicenseError): void {
    if (this.#greeting !== undefined) return;
    this.#greeting = item;
    for (const waiter of this.#greetingWaiters.splice(0)) waiter(item);
  }

  /**
   * Sends the acquires (without `wait`) and releases made in the same turn of the event loop together, in
   * `batch` frames of at most `max` requests: for a server whose `hello` result announced `batch` (protocol
   * 1.2). They leave at the end of the turn (`setImmediate`, after the turn's I/O callbacks): the requests
   * that the answers read in one turn set off leave together. Eight or more leave in two frames at least, so
   * that the server answers the first while it works on the second. A request made alone in its turn still
   * leaves at its end in a frame of its own: nothing waits for company or for a timer.
   */
  useBatches(max: number, serverMaxFrameBytes?: number): void {
    this.#maxBatch = max >= 2 ? Math.min(max, MAX_BATCH_REQUESTS) : 0;
    if (serverMaxFrameBytes !== undefined) {
      this.#batchFrameBytes = Math.min(this.#maxFrameBytes, serverMaxFrameBytes);
    }
  }

  /**
   * Sends one request and waits for its answer.
   *
   * @throws {LicenseError} the server's error as its class (`LicensesExceededError` for -26...),
   * `TimeoutError` after the deadline, `SocketsError` if the connection goes away first.
   */
  request<Op extends RequestOp>(
    op: Op,
    params: ParamsOf<Op>,
    options: RequestOptions = {},
  ): Promise<ResultOf<Op>> {
    return new Promise<ResultOf<Op>>((resolve, reject) => {
      const refused = this.send(op, params, options, {
        resolve: resolve as (value: unknown) => void,
        reject,
      });
      if (refused !== undefined) reject(refused);
    });
  }

  /**
   * {@link Connection.request}, with the answer given to `sink` (never from inside this call) instead of a
   * promise: for the layers above, whose hot paths make no promise of their own.
   *
   * @returns the error of a request that was not sent (the connection is closed, `options.signal` has
   * fired, the request is too large), in which case `sink` is never called; `undefined` once it is on its
   * way.
   */
  send<Op extends RequestOp>(
    op: Op,
    params: ParamsOf<Op>,
    options: RequestOptions,
    sink: RequestSink,
  ): LicenseError | undefined {
    if (this.#state !== 'open') {
      return (
        this.#closeError ??
        new SocketsError(`The connection to ${this.server} is closed.`, { server: this.server })
      );
    }
    if (options.signal?.aborted) return abortError(options.signal, `The ${op} request`, this.server);
    const id = this.#pending.nextId();
    if (this.#maxBatch > 0 && isBatchable(op, params)) {
      this.#add(id, op, options, sink);
      // At the end of the turn, not of the tick: the answers of one turn (many clients' in one process, or
      // a burst on this connection) set off requests that then leave together, and the server, woken once,
      // finds them all. Sent at the end of each tick, they woke a server that slept between them.
      if (this.#batchQueue.length === 0) atEndOfTurn(() => this.#sendBatched());
      this.#batchQueue.push({ id, op, ...params });
      return undefined;
    }
    // What was queued for a batch goes first: requests leave in the order they were made.
    if (this.#batchQueue.length > 0) this.#sendBatched();
    let frame: string;
    try {
      frame = encodeFrameText({ id, op, ...params }, this.#maxFrameBytes);
    } catch (err) {
      return new InvalidParameterError(`The ${op} request is too large to send to ${this.server}.`, {
        server: this.server,
        cause: err,
      });
    }
    this.#add(id, op, options, sink);
    this.#write(frame);
    return undefined;
  }

  /** Waits for the answer to request `id`, with the request's deadline, signal and `onUnsettled`. */
  #add(id: number, op: RequestOp, options: RequestOptions, sink: RequestSink): void {
    this.#pending.add(
      id,
      op,
      options.timeout ?? this.#requestTimeout,
      options.signal,
      options.onUnsettled,
      sink,
    );
  }

  /**
   * Ends the connection cleanly: pending requests are rejected, the stream is ended, and the socket is
   * destroyed if the server does not close its side within a short grace period. Idempotent.
   */
  close(): Promise<void> {
    // Answers already received are answers, not casualties of the close (handling one may end it).
    if (this.#state === 'open') this.#inbound.handleAll();
    if (this.#state === 'open') {
      // Requests made in this tick (releases, say) leave before the end of the stream, as all others do.
      this.#sendBatched();
      this.#state = 'closing';
      const reason = new SocketsError(`The connection to ${this.server} was closed by this client.`, {
        server: this.server,
      });
      this.#settleGreeting(reason);
      this.#pending.rejectAll(reason);
      // Frames held back by backpressure (releases, say) still go out before the end of the stream.
      for (const frame of this.#writeQueue.splice(0)) this.#socket.write(frame, 'utf8');
      this.#socket.end();
      const timer = setTimeout(() => this.#socket.destroy(), CLOSE_GRACE_MS);
      timer.unref();
      void this.#closed.then(() => clearTimeout(timer));
    }
    return this.#closed;
  }

  /**
   * Handles at once the answers received and still waiting for their turn (see transport/inbound.ts): for a
   * deadline that is due, which must not take an answer that came in time for no answer. Returns whether
   * any were waiting.
   */
  settleReceived(): boolean {
    return this.#state === 'open' && this.#inbound.handleAll();
  }

  /**
   * Drops the connection at once, with `error` as why it closed and the reason given to pending requests,
   * or `pendingError` for those when given (their own account of why they end).
   */
  destroy(error?: LicenseError, pendingError?: LicenseError): void {
    // Answers already received are answers (a request that timed out does not make them unanswered).
    if (this.#state === 'open') this.#inbound.handleAll();
    if (error !== undefined) this.#fail(error, pendingError);
    else this.#socket.destroy();
  }

  /** Writes a frame's text (encoded once, by the socket). */
  #write(frame: string): void {
    if (this.#writeQueue.length > 0 || this.#socket.writableNeedDrain) {
      this.#writeQueue.push(frame);
      return;
    }
    // Frames written in the same tick (pipelined requests) leave in one system call.
    if (!this.#corked) {
      this.#corked = true;
      this.#socket.cork();
      process.nextTick(() => {
        this.#corked = false;
        this.#socket.uncork();
      });
    }
    this.#socket.write(frame, 'utf8');
  }

  /** Sends the requests queued in this turn: alone, or in `batch` frames. */
  #sendBatched(): void {
    const queued = this.#batchQueue;
    if (queued.length === 0) return;
    this.#batchQueue = [];
    if (this.#state !== 'open') return; // their promises were rejected with the connection's error
    // A request aborted or timed out before it left is not sent at all.
    const live = queued.filter((request) => this.#pending.opOf(request.id) !== undefined);
    // Two frames at least (of FRAME_MIN requests or more): the server answers the first while it works on
    // the second, and this side works on that answer meanwhile. In one frame, each side waits for the other.
    const size = Math.min(this.#maxBatch, Math.max(FRAME_MIN, Math.ceil(live.length / 2)));
    for (let i = 0; i < live.length; i += size) this.#sendGroup(live.slice(i, i + size));
  }

  /** One frame for `group`: the request itself when alone, else a `batch`, halved until it fits. */
  #sendGroup(group: readonly QueuedRequest[]): void {
    const [first] = group;
    if (first === undefined) return;
    if (group.length === 1) {
      try {
        this.#write(encodeFrameText(first, this.#maxFrameBytes));
      } catch (err) {
        this.#pending.reject(
          first.id,
          new InvalidParameterError(`The ${first.op} request is too large to send to ${this.server}.`, {
            server: this.server,
            cause: err,
          }),
          true,
        );
      }
      return;
    }
    const id = this.#pending.nextId();
    let frame: string;
    try {
      frame = encodeFrameText({ id, op: 'batch', requests: group }, this.#batchFrameBytes);
    } catch {
      const half = Math.ceil(group.length / 2);
      this.#sendGroup(group.slice(0, half));
      this.#sendGroup(group.slice(half));
      return;
    }
    this.#batches.set(id, group);
    this.#write(frame);
  }

  #flush(): void {
    while (this.#writeQueue.length > 0 && !this.#socket.writableNeedDrain) {
      this.#socket.write(this.#writeQueue.shift() as string, 'utf8');
    }
  }

  #onData(chunk: Buffer): void {
    if (this.#firstBytes.length < 80) {
      this.#firstBytes += chunk.subarray(0, 80 - this.#firstBytes.length).toString('latin1');
    }
    this.#inbound.receive(this.#decoder.push(chunk));
  }

  #onItem(item: DecodedItem): void {
    if (item.kind === 'error') {
      this.#malformed(item.error);
      return;
    }
    if (this.#greeting === undefined) {
      const greeting = parseGreeting(item.value);
      if (!(greeting instanceof ProtocolError)) {
        this.#settleGreeting(greeting);
        return;
      }
      // A license server may turn a connection away before greeting it (-22: no room for another
      // connection): that is a refusal with a code, not a sign of another protocol.
      const frame = parseServerFrame(item.value);
      if (frame instanceof ProtocolError || frame.kind !== 'response' || frame.response.ok) {
        this.#malformed(greeting);
      } else {
        this.#fail(this.#refusal(frame.response.error.code, frame.response.error.message));
      }
      return;
    }
    const frame = parseServerFrame(item.value);
    if (frame instanceof ProtocolError) {
      // A newer 1.x server may add pushes; the versioning rule says to ignore what we do not know.
      if (frame.reason === 'unexpected-message' && frame.field === 'push') return;
      if (frame.id !== null && this.#pending.reject(frame.id, this.#wireError(frame))) return;
      this.#malformed(frame);
      return;
    }
    if (frame.kind === 'push') {
      this.emit('push', frame.push);
      return;
    }
    if (frame.kind === 'greeting') {
      this.#malformed(new ProtocolError('unexpected-message', 'a second greeting arrived'));
      return;
    }
    this.#onResponse(frame.response);
  }

  /** A response: a request's answer, or a batch's answers, each handled as if it had come alone. */
  #onResponse(response: Response): void {
    if (response.id === null) {
      if (!response.ok) this.#fail(this.#refusal(response.error.code, response.error.message));
      return;
    }
    const carried = this.#batches.get(response.id);
    if (carried !== undefined) {
      this.#batches.delete(response.id);
      this.#onBatchAnswer(response, carried);
      return;
    }
    const op = this.#pending.opOf(response.id);
    if (op === undefined) return; // the answer to a request that timed out or was aborted
    if (!response.ok) {
      this.#pending.reject(
        response.id,
        errorFromReturnCode(response.error.code, this.#serverSays(response.error.message), {
          server: this.server,
        }),
        true,
      );
      return;
    }
    const result = parseResult(op as RequestOp, response.result);
    if (result instanceof ProtocolError) this.#pending.reject(response.id, this.#wireError(result));
    else this.#pending.resolve(response.id, result);
  }

  /**
   * The answer to a `batch`: each of its answers is handled as a frame of its own would be, in the order of
   * the requests. Since 1.3 an answer that says "done as asked" is the request's id alone (in `granted` or
   * `released`), and its result is the request's own fields. A request it does not answer is answered later
   * in a frame of its own (an acquire waiting in a queue). A refused batch refuses every request it carried.
   */
  #onBatchAnswer(response: Response, carried: readonly QueuedRequest[]): void {
    if (!response.ok) {
      const { code, message } = response.error;
      for (const request of carried) {
        this.#pending.reject(
          request.id,
          errorFromReturnCode(code, this.#serverSays(message), { server: this.server }),
          true,
        );
      }
      return;
    }
    const result = parseResult('batch', response.result);
    if (result instanceof ProtocolError) {
      this.#malformed(result);
      return;
    }
    const { responses, granted = NO_IDS, released = NO_IDS } = result;
    if (granted.length + released.length > 0 && !namesOwnRequests(carried, granted, released, responses)) {
      // Nothing of a malformed answer is taken as granted.
      this.#malformed(
        new ProtocolError(
          'invalid-message',
          'batch result: "granted" and "released" must name acquire and release requests of the batch, in their order, and none answered in "responses" too.',
        ),
      );
      return;
    }
    let g = 0;
    let r = 0;
    let w = 0;
    for (let i = 0; i < carried.length && this.#state === 'open'; i++) {
      const request = carried[i] as QueuedRequest;
      const { id } = request;
      if (granted[g] === id && request.op === 'acquire') {
        const epoch = result.epochs?.[g];
        const { lease, feature, count } = request as QueuedRequest & ParamsOf<'acquire'>;
        const grant: ResultOf<'acquire'> = {
          lease,
          feature,
          count,
          ttl: result.ttl as number,
          reclaimed: false,
        };
        if (epoch !== undefined) grant.epoch = epoch;
        this.#pending.resolve(id, grant);
        g++;
      } else if (released[r] === id && request.op === 'release') {
        const { leases } = request as QueuedRequest & ParamsOf<'release'>;
        this.#pending.resolve(id, { released: leases, unknown: [] });
        r++;
      } else if ((responses[w] as { id?: unknown } | undefined)?.id === id) {
        if (!this.#onBatchResponse(responses[w])) return;
        w++;
      }
    }
    // Whole answers out of the order of the requests are still answers.
    for (; w < responses.length && this.#state === 'open'; w++) {
      if (!this.#onBatchResponse(responses[w])) return;
    }
  }

  /** One whole answer of a `batch`'s `responses`; false (the connection failed) when it is not one. */
  #onBatchResponse(item: Record<string, unknown> | undefined): boolean {
    const inner = parseServerFrame(item);
    if (inner instanceof ProtocolError || inner.kind !== 'response' || inner.response.id === null) {
      this.#malformed(
        inner instanceof ProtocolError
          ? inner
          : new ProtocolError('invalid-message', 'batch result: "responses" must hold responses with an id.'),
      );
      return false;
    }
    this.#onResponse(inner.response);
    return true;
  }

  #serverSays(message: string): string {
    return `${this.server}: ${message}`;
  }

  /** The error for a server that ends the whole connection with an error frame (`"id": null`). */
  #refusal(code: number, message: string): LicenseError {
    if (code === ReturnCode.LV_NO_SERVER_AVAILABLE) {
      return new LicenseError(
        `${this.server} is full: it has as many connections as its limit allows and turned this one away (LV_NO_SERVER_AVAILABLE; it said "${message}"). The client tries again with backoff and uses the other servers meanwhile. If this lasts, raise the license server's connection limit (maxConnections) or find what holds its connections.`,
        { code, server: this.server },
      );
    }
    return errorFromReturnCode(code, this.#serverSays(message), { server: this.server });
  }

  #wireError(err: ProtocolError): LicenseError {
    return errorFromReturnCode(err.code, `${this.server} sent a malformed message: ${err.message}.`, {
      server: this.server,
      cause: err,
    });
  }

  /** A server that sends what this protocol cannot read is not one we can keep talking to. */
  #malformed(err: ProtocolError): void {
    const said = this.#firstBytes.replace(/[^\x20-\x7e]+/g, ' ').trim();
    const error =
      this.#greeting === undefined
        ? new IncompatibleServerError(
            `${this.server} answered, but it is not an lv-license server${said === '' ? '' : ` (it said "${said.slice(0, 60)}")`}. Check the port in LICENSE_SERVERS (license servers listen on 7569 by default).`,
            { server: this.server, cause: err },
          )
        : this.#wireError(err);
    this.#fail(error);
  }

  #onEnd(): void {
    this.#inbound.handleAll();
    if (this.#state === 'open') {
      this.#fail(
        new SocketsError(`${this.server} closed the connection.`, {
          server: this.server,
        }),
      );
    }
  }

  #fail(error: LicenseError, pendingError: LicenseError = error): void {
    if (this.#state === 'closed') return;
    this.#closeError ??= error;
    this.#state = 'closing';
    this.#settleGreeting(error);
    this.#pending.rejectAll(pendingError);
    this.#socket.destroy();
  }

  #onClose(): void {
    if (this.#state === 'open') this.#inbound.handleAll();
    const error =
      this.#state === 'open'
        ? new SocketsError(`The connection to ${this.server} was lost.`, { server: this.server })
        : this.#closeError;
    this.#state = 'closed';
    this.#closeError ??= error;
    const reason =
      this.#closeError ??
      new SocketsError(`The connection to ${this.server} is closed.`, { server: this.server });
    this.#settleGreeting(reason);
    this.#pending.rejectAll(reason);
    this.#writeQueue.length = 0;
    this.#batchQueue = [];
    this.#batches.clear();
    this.emit('close', { error: this.#closeError });
  }
}

/**
 * What goes in a `batch`: releases, and acquires that do not wait in a queue (a waiting acquire is
 * answered late and alone anyway, and its cancel must never overtake it).
 */
function isBatchable(op: RequestOp, params: object): boolean {
  return op === 'release' || (op === 'acquire' && (params as { wait?: unknown }).wait === undefined);
}
