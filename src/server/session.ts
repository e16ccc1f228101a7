/**
 * One client connection to the license server: greeting, hello, authentication, then licensing requests.
 * The license bookkeeping itself is the server's {@link LicenseStore}; this file only speaks the protocol.
 * The store answers asynchronously, so a connection's requests wait in an inbox and are handled one after
 * the other, in the order they arrived: a pipelined acquire and release of one lease never swap.
 */
import type { Socket } from 'node:net';
import { encodeFrameText, FrameDecoder } from '../protocol/codec.js';
import {
  type AuthMode,
  BATCHABLE_OPS,
  type Greeting,
  type ParamsOf,
  type Push,
  type Request,
  type RequestOp,
  type ResultOf,
} from '../protocol/messages.js';
import { ProtocolError } from '../protocol/protocol-error.js';
import { ReturnCode } from '../protocol/return-codes.js';
import type { ScramServer } from '../protocol/scram.js';
import { errorResponse, okResponse, parseRequest } from '../protocol/validate.js';
import { checkVersion, parseProtocolVersion } from '../protocol/versioning.js';
import { atEndOfTurn } from '../timing.js';
import { grantAnswerText, releaseAnswerText } from './answer-text.js';
import { compactBatchResult, inRequestOrder, WHOLE_RESPONSES } from './batch-answer.js';
import { errorText } from './error-text.js';
import type { DenialReason, LoginFailureReason, ServerEvent } from './events.js';
import type { AuthFailureGuard } from './guard.js';
import { LeaseRun } from './lease-run.js';
import type { AcquireOutcome, AcquireRequest, LeaseRecord } from './pool-types.js';
import { ANONYMOUS_ACCOUNT } from './pools.js';
import { type LicenseStore, type ReleaseResult, type StoreNow, StoreUnavailableError } from './store.js';

/** What a session needs from its server. */
export interface SessionHost {
  readonly auth: AuthMode;
  readonly greeting: Greeting;
  readonly store: LicenseStore;
  /** The store's decisions without a promise, when it makes them at once (a MemoryStore). */
  readonly storeNow: StoreNow | undefined;
  readonly guard: AuthFailureGuard;
  readonly maxFrameBytes: number;
  /** Requests per `batch` frame, announced in `hello`; 0: no batching (a 1.1 server). */
  readonly maxBatch: number;
  readonly maxAuthFailures: number;
  /** Is the server paused (a black hole)? */
  paused(): boolean;
  /** Milliseconds to hold every response (fault injection). */
  responseDelay(): number;
  newScramServer(): ScramServer;
  /** An injected failure for this operation, if one is armed (consumes it). */
  takeFault(op: RequestOp): number | undefined;
  record(session: Session, request: Request): void;
  log(line: string): void;
  /** Whether anyone listens to events: when nobody does, requests are not timed. */
  observed(): boolean;
  /** Whether anyone listens to events or reads the log: when nobody does, no event is built. */
  reporting(): boolean;
  /** Reports an event (and logs its line). */
  emit(event: ServerEvent): void;
  /**
   * Called after anything that can free seats or change the queue; `deadline` is the expiry of a lease
   * or waiter just added (epoch ms), so the server's timer can fire in time.
   */
  afterChange(deadline?: number): void;
  /**
   * A lease was granted: nothing was freed, so only its expiry (epoch ms) can matter, and only when the
   * server's timer is not already armed for an earlier moment.
   */
  leaseGranted(expiresAt: number): void;
  /** The session of connection `id`, while it is open. */
  sessionFor(id: number): Session | undefined;
  /**
   * When the subscription of `account` ends or ended (epoch ms), if it was cancelled; its end is enforced
   * (seats revoked) first when it has passed.
   */
  subscriptionEnd(account: string): number | undefined;
  /** Whether the subscription of `account` has ended; resolves once its seats were taken back. */
  subscriptionEnded(account: string): Promise<boolean>;
  /** Whether the server is draining: it grants nothing more. */
  draining(): boolean;
}

/** Requests waiting for the store per connection before the server stops reading from it. */
const INBOX_LIMIT = 256;

type Answer<Op extends RequestOp> = ResultOf<Op> | undefined;
type AcquireParams = ParamsOf<'acquire'> & { id: number };
type Handler<Op extends RequestOp> = (
  request: ParamsOf<Op> & { id: number },
) => Answer<Op> | Promise<Answer<Op>>;

/** The protocol state machine of one connection. */
export class Session {
  readonly id: number;
  /** `ip:port` of the client. */
  readonly remote: string;
  /** The client's IP address. */
  readonly ip: string;
  readonly #socket: Socket;
  readonly #host: SessionHost;
  readonly #decoder: FrameDecoder;
  #account: string | undefined;
  #helloDone = false;
  #greeted = false;
  #scram: ScramServer | undefined;
  #authFailures = 0;
  #closing = false;
  #heldInput: Buffer[] = [];
  #heldOutput: string[] = [];
  #idleTimer: NodeJS.Timeout | undefined;
  /** Frames written in this tick, not yet handed to the socket (see #write). */
  #unsent = '';
  /** Whether a chunk read from the socket is being handled (see #write). */
  #reading = false;
  /**
   * Requests received and not yet handled, oldest first; a function is an answer decided on arrival (a
   * request that does not parse, a malformed frame), kept in line so that answers leave in request order.
   */
  readonly #inbox: Array<Request | (() => void)> = [];
  /** Whether the client said `hello` with 1.1 or later (it knows -69 and lease epochs). */
  #minor1 = true;
  /** The client said 1.3 or later in `hello`: a batch's answer lists what was done as asked by id. */
  #compactBatches = false;
  /** Whether a request is being handled (the store has not answered yet). */
  #busy = false;
  /** The acquires (or releases) with the store together, while there are any (see #work). */
  #run: LeaseRun | undefined;
  /** Whether reading is paused because the inbox is full (a client sending faster than the store answers). */
  #throttled = false;
  /** A malformed frame was read: nothing after it is decoded. */
  #garbled = false;
  /**
   * While a `batch` is handled: the ids of its requests not answered yet, and the answers given so far,
   * which leave together in the batch's answer instead of a frame each.
   */
  #batch: { readonly ids: Set<number>; readonly responses: object[] } | undefined;

  constructor(id: number, socket: Socket, host: SessionHost, idleTimeout: number) {
    this.id = id;
    this.#socket = socket;
    this.#host = host;
    this.ip = socket.remoteAddress ?? '?';
    this.remote = `${this.ip}:${socket.remotePort ?? '?'}`;
    this.#decoder = new FrameDecoder({ maxFrameBytes: host.maxFrameBytes });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', () => socket.destroy());
    if (idleTimeout > 0) {
      this.#idleTimer = setTimeout(() => {
        if (this.#helloDone && host.auth !== 'none') this.#loginFailed('timeout');
        this.#refuse(
          ReturnCode.LV_TIME_OUT,
          `Authentication was not completed within ${idleTimeout} ms; closing the connection.`,
        );
      }, idleTimeout);
      this.#idleTimer.unref();
    }
    if (!host.paused()) this.#sendGreeting();
  }

  /** The authenticated account (`''` in unauthenticated mode), once known. */
  get account(): string | undefined {
    return this.#account;
  }

  /** Sends a push frame, unless the connection is on its way out. */
  push(push: Push): void {
    this.#send(push);
  }

  /** The `acquire` result for a lease granted to this connection (with its epoch, for a 1.1 client). */
  grantResult(lease: LeaseRecord, reclaimed: boolean): ResultOf<'acquire'> {
    const result = {
      lease: lease.id,
      feature: lease.feature,
      count: lease.count,
      ttl: this.#host.store.leaseTtl,
      reclaimed,
    };
    return this.#minor1 && lease.epoch !== undefined ? { ...result, epoch: lease.epoch } : result;
  }

  /** Answers a request that waited in the queue. */
  answer(requestId: number, result: object): void {
    this.#send(okResponse(requestId, result));
  }

  /** Answers a request with an error. */
  fail(requestId: number | null, code: number, message: string): void {
    this.#send(errorResponse(requestId, code, message));
  }

  /** The server was resumed: greet, then handle what arrived while paused. */
  resume(): void {
    if (!this.#greeted) this.#sendGreeting();
    for (const frame of this.#heldOutput.splice(0)) this.#write(frame);
    for (const chunk of this.#heldInput.splice(0)) this.#onData(chunk);
  }

  /** Ends the connection after what was already sent. */
  end(): void {
    this.#flush();
    this.#closing = true;
    clearTimeout(this.#idleTimer);
    this.#socket.end();
  }

  /** Drops the connection at once; `reset` sends a TCP RST instead of a FIN. */
  destroy(reset = false): void {
    this.#closing = true;
    clearTimeout(this.#idleTimer);
    if (reset && typeof this.#socket.resetAndDestroy === 'function' && !this.#socket.destroyed) {
      this.#socket.resetAndDestroy();
    } else {
      this.#socket.destroy();
    }
  }

  /** Called by the server when the socket closed. */
  dispose(): void {
    const left = this.#inbox.splice(0);
    this.#closing = true;
    clearTimeout(this.#idleTimer);
    this.#heldInput = [];
    this.#heldOutput = [];
    this.#releaseLeft(left);
  }

  /**
   * The releases a client sent and did not wait for (it ended the connection behind them) are still done:
   * nobody hears the answer, but the seats would otherwise stay taken until their TTL. Nothing else left is:
   * an acquire's seat would belong to nobody.
   */
  #releaseLeft(left: ReadonlyArray<Request | (() => void)>): void {
    if (this.#gate('release') !== undefined) return;
    for (const item of left) {
      if (typeof item === 'function') continue;
      if (item.op === 'release') this.#releaseUnheard(item);
      else if (item.op === 'batch' && this.#host.maxBatch > 0) {
        for (const value of item.requests.slice(0, this.#host.maxBatch)) {
          const request = parseRequest(value);
          if (!(request instanceof ProtocolError) && request.op === 'release') this.#releaseUnheard(request);
        }
      }
    }
  }

  #releaseUnheard(request: ParamsOf<'release'> & { id: number }): void {
    this.#host.store
      .release(this.#accountName, request.leases, request.epochs, this.id)
      .then((result) => this.#released(result))
      .catch((err: unknown) => this.#unanswered(request as Request, err));
  }

  #sendGreeting(): void {
    this.#greeted = true;
    this.#send(this.#host.greeting);
  }

  /** Sends `message`; `text` is its JSON when already made (see answer-text.ts). */
  #send(message: object, text?: string): void {
    if (this.#closing || this.#socket.destroyed) return;
    const batch = this.#batch;
    if (batch !== undefined) {
      const id = (message as { id?: unknown }).id;
      if (typeof id === 'number' && batch.ids.delete(id)) {
        batch.responses.push(message);
        return;
      }
    }
    let frame: string;
    if (text !== undefined && text.length * 3 <= this.#host.maxFrameBytes) {
      frame = `${text}\n`;
    } else {
      try {
        frame = encodeFrameText(message, this.#host.maxFrameBytes);
      } catch (err) {
        this.#tooLarge(message, err);
        return;
      }
    }
    if (this.#host.paused()) {
      this.#heldOutput.push(frame);
      return;
    }
    const delay = this.#host.responseDelay();
    if (delay > 0 && 'id' in message) {
      setTimeout(() => {
        if (!this.#closing && !this.#socket.destroyed) this.#socket.write(frame);
      }, delay).unref();
    } else {
      this.#write(frame);
    }
  }

  /**
   * Answers produced together (a pipelined burst) leave in one system call: they are joined here and handed
   * to the socket as one string at the end of the chunk read (#onData), or else at the end of the tick
   * (cheaper than corking the socket).
   */
  #write(frame: string): void {
    if (this.#unsent === '') {
      this.#unsent = frame;
      if (!this.#reading) process.nextTick(this.#flush);
    } else {
      this.#unsent += frame;
    }
  }

  /** Hands the frames of this tick to the socket (see #write). */
  readonly #flush = (): void => {
    const unsent = this.#unsent;
    if (unsent === '') return;
    this.#unsent = '';
    if (!this.#socket.destroyed) this.#socket.write(unsent, 'utf8');
  };

  /**
   * A message that does not fit in a frame: a `lease-revoked` push goes out in smaller pushes (the client
   * must hear of every lease), an answer becomes an error that says why; anything else is logged.
   */
  #tooLarge(message: object, err: unknown): void {
    const result = (message as { result?: { responses?: unknown; [WHOLE_RESPONSES]?: unknown } }).result;
    const responses = result?.[WHOLE_RESPONSES] ?? result?.responses;
    if (Array.isArray(responses)) {
      // A batch's answer too large for one frame: each answer goes in a frame of its own, and the batch's
      // own id is still answered once (with no answers left in it).
      for (const response of responses as object[]) this.#send(response);
      const id = (message as { id?: unknown }).id;
      if (typeof id === 'number') this.#send(okResponse(id, { responses: [] }));
      return;
    }
    const push = message as Partial<Push> & { leases?: unknown };
    if (push.push === 'lease-revoked' && Array.isArray(push.leases) && push.leases.length > 1) {
      const half = Math.ceil(push.leases.length / 2);
      this.#send({ ...push, leases: push.leases.slice(0, half) });
      this.#send({ ...push, leases: push.leases.slice(half) });
      return;
    }
    const id = (message as { id?: unknown }).id;
    if (typeof id === 'number') {
      this.#send(
        errorResponse(
          id,
          ReturnCode.LV_INVALID_API_PARAMETER,
          `The answer would be larger than the ${this.#host.maxFrameBytes}-byte frame limit: send fewer lease ids per request.`,
        ),
      );
      return;
    }
    this.#host.log(`connection ${this.id}: a message was not sent: ${(err as Error).message}`);
  }

  /** Answers with an error, then closes: for clients that cannot go on. */
  #refuse(code: number, message: string, id: number | null = null): void {
    this.fail(id, code, message);
    this.end();
  }

  /** What a chunk read from the socket makes leaves at the end of it (see #write). */
  #onData(chunk: Buffer): void {
    this.#reading = true;
    try {
      this.#read(chunk);
    } finally {
      this.#reading = false;
    }
    this.#flush();
  }

  #read(chunk: Buffer): void {
    if (this.#closing || this.#garbled) return;
    if (this.#host.paused()) {
      this.#heldInput.push(chunk);
      return;
    }
    for (const item of this.#decoder.push(chunk)) {
      if (item.kind === 'error') {
        // Garbage means a broken or hostile client: close this one connection, nobody else's, once the
        // requests before it are answered.
        const { code, reason, message } = item.error;
        this.#inbox.push(() => this.#refuse(code, `Malformed frame (${reason}): ${message}`));
        this.#garbled = true;
        break;
      }
      const request = parseRequest(item.value);
      this.#inbox.push(
        request instanceof ProtocolError
          ? () => this.fail(request.id, request.code, request.message)
          : request,
      );
    }
    if (this.#inbox.length >= INBOX_LIMIT && !this.#throttled) {
      // The client sends faster than the store answers: stop reading until the inbox has room.
      this.#throttled = true;
      this.#socket.pause();
    }
    this.#work();
  }

  /**
   * Handles the inbox in order. A request the store answers later holds the ones behind it until then,
   * except that consecutive acquires (or releases) naming different leases go to the store together, as a
   * run (lease-run.ts): what would not join the run waits for all of it.
   */
  #work(): void {
    while (!this.#busy && !this.#closing) {
      const item = this.#inbox[0];
      if (item === undefined) break;
      const run = this.#run;
      if (run !== undefined && (typeof item === 'function' || !run.admits(item))) break;
      this.#inbox.shift();
      if (typeof item === 'function') {
        item();
        continue;
      }
      const answered = this.#handle(item);
      if (answered === undefined) continue;
      const joined = run ?? LeaseRun.startedBy(item);
      if (joined !== undefined) {
        joined.add(item, answered);
        if (run === undefined) {
          this.#run = joined;
          joined.onIdle(() => {
            this.#run = undefined;
            this.#work();
          });
        }
        continue;
      }
      this.#busy = true;
      void answered.finally(() => {
        this.#busy = false;
        // After a batch, the next frame waits for the next turn of the event loop: this batch's answer
        // leaves first, so the client works on it while this server works on the next.
        if (item.op === 'batch' && this.#inbox.length > 0) atEndOfTurn(() => this.#work());
        else this.#work();
      });
      return;
    }
    if (this.#throttled && this.#inbox.length < INBOX_LIMIT / 2 && !this.#closing) {
      this.#throttled = false;
      this.#socket.resume();
    }
  }

  /** A request whose answer could not be given: logged, never thrown. */
  #unanswered(request: Request, err: unknown): void {
    this.#host.log(`connection ${this.id}: ${request.op} was not answered: ${(err as Error).message}`);
  }

  /**
   * Handles one request; returns a promise when the answer waits for the store. The promise never
   * rejects: a failure to answer is logged.
   */
  #handle(request: Request): Promise<void> | undefined {
    this.#host.record(this, request);
    const injected = this.#host.takeFault(request.op);
    if (injected !== undefined) {
      this.fail(request.id, injected, `Injected failure of ${request.op} (failNext).`);
      return;
    }
    const refusal = this.#gate(request.op);
    if (refusal !== undefined) {
      this.fail(request.id, refusal[0], refusal[1]);
      return;
    }
    const handler = this.#handlers[request.op] as Handler<RequestOp>;
    const started = this.#host.observed() ? performance.now() : undefined;
    try {
      const result = handler(request as never);
      if (!(result instanceof Promise)) return void this.#done(request, result, started);
      return result.then(
        (value) => {
          try {
            this.#done(request, value, started);
          } catch (err) {
            this.#unanswered(request, err);
          }
        },
        (err: unknown) => {
          try {
            this.#failed(request, err, started);
          } catch (failure) {
            this.#unanswered(request, failure);
          }
        },
      );
    } catch (err) {
      this.#failed(request, err, started);
      return undefined;
    }
  }

  /** Reports a request's time, when someone listens to events. */
  #timed(request: Request, started: number | undefined): void {
    if (started === undefined) return;
    const seconds = (performance.now() - started) / 1000;
    this.#host.emit({ type: 'request', time: Date.now(), op: request.op, seconds });
  }

  #done(request: Request, result: object | undefined, started: number | undefined): void {
    if (result !== undefined) {
      // The two answers a busy server sends most are written field by field (answer-text.ts), unless the
      // answer goes in the answer of the batch being handled.
      const text =
        this.#batch?.ids.has(request.id) === true
          ? undefined
          : request.op === 'acquire'
            ? grantAnswerText(request.id, result as ResultOf<'acquire'>)
            : request.op === 'release'
              ? releaseAnswerText(request.id, result as ResultOf<'release'>)
              : undefined;
      this.#send(okResponse(request.id, result), text);
    }
    this.#timed(request, started);
  }

  #failed(request: Request, err: unknown, started: number | undefined): void {
    this.#timed(request, started);
    if (err instanceof StoreUnavailableError) {
      if (request.op === 'acquire') {
        const { lease, feature, count } = request;
        this.#denied({ lease, feature, count }, 'store-unavailable', ReturnCode.LV_NO_SERVER_AVAILABLE);
      }
      this.#host.log(
        `connection ${this.id}: ${request.op} failed, the license store is unavailable: ${err.message}`,
      );
      this.fail(
        request.id,
        ReturnCode.LV_NO_SERVER_AVAILABLE,
        'This license server cannot reach its license store just now: ask another server, or retry shortly.',
      );
      return;
    }
    const code = err instanceof ProtocolError ? err.code : ReturnCode.LV_EXCEPTION;
    this.fail(request.id, code, errorText(err));
  }

  /** Which operations are allowed in the connection's current state. */
  #gate(op: RequestOp): [number, string] | undefined {
    if (op === 'ping') return undefined;
    if (op === 'batch' && this.#host.maxBatch === 0) {
      return [ReturnCode.LV_NOT_IMPLEMENTED, 'request: "op" names an unknown operation "batch".'];
    }
    if (op === 'hello') {
      return this.#helloDone ? [ReturnCode.LV_INVALID_API_PARAMETER, 'hello was already sent.'] : undefined;
    }
    if (!this.#helloDone) return [ReturnCode.LV_INVALID_API_PARAMETER, 'Send hello first.'];
    if (op === 'auth-start' || op === 'auth-finish') {
      if (this.#host.auth === 'none') {
        return [
          ReturnCode.LV_OPEN_PORT_FAILED__PRIMARY_SERVER_NOT_COMPATIBLE,
          'This server does not use authentication: remove the client credentials.',
        ];
      }
      if (this.#account !== undefined) {
        return [ReturnCode.LV_INVALID_API_PARAMETER, 'This connection is already authenticated.'];
      }
      return undefined;
    }
    if (this.#account === undefined) {
      return [
        ReturnCode.LV_INVALID_LICENSE,
        'Authentication required: this server grants licenses only to accounts.',
      ];
    }
    return undefined;
  }

  readonly #handlers: { [Op in RequestOp]: Handler<Op> } = {
    hello: (req) => {
      const version = checkVersion(req.version);
      if (!version.compatible) {
        this.#refuse(
          ReturnCode.LV_OPEN_PORT_FAILED__PRIMARY_SERVER_NOT_COMPATIBLE,
          `Protocol version ${req.version} is not supported by this server (${this.#host.greeting.version}): ${version.reason ?? 'different major version'}.`,
          req.id,
        );
        return undefined;
      }
      this.#helloDone = true;
      // A 1.0 client knows -26 for "no licenses of that type" (and tries its next type on it): it keeps
      // getting -26; a 1.1 client gets -69, "not licensed", told apart from "busy".
      const minor = parseProtocolVersion(req.version)?.minor ?? 0;
      this.#minor1 = minor >= 1;
      this.#compactBatches = minor >= 3;
      if (this.#host.auth === 'none') this.#authenticated(ANONYMOUS_ACCOUNT);
      return {
        version: this.#host.greeting.version,
        server: this.#host.greeting.server,
        auth: this.#host.auth,
        leaseTtl: this.#host.store.leaseTtl,
        maxFrameBytes: this.#host.maxFrameBytes,
        ...(this.#host.maxBatch > 0 ? { batch: this.#host.maxBatch } : {}),
        ...(this.#host.store.cluster === undefined ? {} : { cluster: this.#host.store.cluster }),
      };
    },
    'auth-start': (req) => {
      const address = this.#socket.remoteAddress ?? '?';
      if (this.#host.guard.blocked(address)) {
        this.#loginFailed('address-blocked');
        this.#refuse(
          ReturnCode.LV_INVALID_LICENSE,
          'Too many failed authentications from this address; try again later.',
          req.id,
        );
        return undefined;
      }
      this.#scram = this.#host.newScramServer();
      return { message: this.#scram.start(req.message) };
    },
    'auth-finish': (req) => {
      const scram = this.#scram;
      this.#scram = undefined;
      if (scram === undefined) {
        this.fail(req.id, ReturnCode.LV_INVALID_API_PARAMETER, 'Send auth-start before auth-finish.');
        return undefined;
      }
      const outcome = scram.finish(req.message);
      if (!outcome.ok) {
        this.#authFailed(req.id);
        return undefined;
      }
      this.#authenticated(outcome.username);
      this.#host.log(`connection ${this.id} from ${this.remote} authenticated as "${outcome.username}"`);
      return { message: outcome.serverFinal, account: outcome.username };
    },
    acquire: (req) => this.#acquire(req),
    cancel: async (req) => {
      const waiter = await this.#host.store.cancel(this.#accountName, req.lease);
      if (waiter !== undefined) {
        this.#host
          .sessionFor(waiter.owner)
          ?.fail(waiter.requestId, ReturnCode.LV_RESET, `The wait for lease ${req.lease} was cancelled.`);
        this.#host.afterChange();
      }
      return { lease: req.lease, cancelled: waiter !== undefined };
    },
    renew: async (req) => {
      const { store } = this.#host;
      // An ended subscription's seats were taken back: the client learns it from the push and "unknown".
      if (await this.#host.subscriptionEnded(this.#accountName)) {
        return { renewed: [], unknown: [...new Set(req.leases)], ttl: store.leaseTtl };
      }
      const { renewed, unknown, moved } = await store.renew(this.#accountName, req.leases, this.id);
      // A 1.1 client learns the new epoch of a lease that moved here, for its release.
      return this.#minor1 && moved !== undefined && moved.size > 0
        ? { renewed, unknown, ttl: store.leaseTtl, epochs: Object.fromEntries(moved) }
        : { renewed, unknown, ttl: store.leaseTtl };
    },
    release: (req) => {
      const now = this.#host.storeNow;
      if (now !== undefined) return this.#released(now.release(this.#accountName, req.leases));
      return this.#host.store
        .release(this.#accountName, req.leases, req.epochs, this.id)
        .then((result) => this.#released(result));
    },
    status: async (req) => {
      const account = this.#accountName;
      const pools = await this.#host.store.counts(account);
      const features = req.feature === undefined ? pools.map((pool) => pool.feature) : [req.feature];
      const end = this.#host.subscriptionEnd(account);
      const endsAt = end === undefined ? {} : { endsAt: new Date(end).toISOString() };
      return {
        features: Object.fromEntries(
          features.map((feature) => {
            const pool = pools.find((p) => p.feature === feature);
            return [
              feature,
              { total: pool?.total ?? 0, inUse: pool?.inUse ?? 0, queued: pool?.queued ?? 0, ...endsAt },
            ];
          }),
        ),
      };
    },
    ping: () => ({ time: Date.now() }),
    batch: (req) => this.#handleBatch(req),
  };

  /**
   * A `batch`: its requests are handled in order, exactly as if each had come in a frame of its own (runs
   * of acquires or releases go to the store together, as between frames: see #work); the answers decided
   * meanwhile leave together in the batch's answer. A request answered later (an acquire that waits in a
   * queue) is answered in its own frame.
   */
  async #handleBatch(req: ParamsOf<'batch'> & { id: number }): Promise<Answer<'batch'>> {
    if (req.requests.length > this.#host.maxBatch) {
      this.fail(
        req.id,
        ReturnCode.LV_INVALID_API_PARAMETER,
        `batch request: "requests" must have at most ${this.#host.maxBatch} items (this server's "batch" in hello).`,
      );
      return undefined;
    }
    const parsed = req.requests.map((value) => parseRequest(value));
    const ids = new Set<number>();
    for (const [index, request] of parsed.entries()) {
      const { id } = request;
      if (id === null || id === req.id || ids.has(id)) {
        this.fail(
          req.id,
          ReturnCode.LV_INVALID_API_PARAMETER,
          `batch request: "requests[${index}].id" must be a request id of its own, not the batch's nor another request's.`,
        );
        return undefined;
      }
      ids.add(id);
    }
    const batch = { ids, responses: [] as object[] };
    this.#batch = batch;
    try {
      let run: LeaseRun | undefined;
      for (const request of parsed) {
        if (this.#closing) break;
        if (request instanceof ProtocolError) {
          this.fail(request.id, request.code, request.message);
          continue;
        }
        if (!BATCHABLE_OPS.includes(request.op)) {
          this.fail(
            request.id,
            ReturnCode.LV_INVALID_API_PARAMETER,
            `batch request: ${request.op} cannot be batched; only ${BATCHABLE_OPS.join(' and ')} can.`,
          );
          continue;
        }
        if (run !== undefined && !run.admits(request)) {
          await run.whenIdle();
          run = undefined;
          if (this.#closing) break;
        }
        const pending = this.#handle(request);
        if (pending === undefined) continue;
        run ??= LeaseRun.startedBy(request);
        run?.add(request, pending);
      }
      await run?.whenIdle();
    } finally {
      this.#batch = undefined;
    }
    const responses = inRequestOrder(parsed, batch.responses as Array<Record<string, unknown>>);
    return this.#compactBatches ? compactBatchResult(parsed, responses) : { responses };
  }

  /** The answer to a release the store did, and what it tells meanwhile. */
  #released({ released, unknown, leases }: ReleaseResult): ResultOf<'release'> {
    if (this.#host.reporting()) {
      for (const lease of leases) this.#host.emit({ type: 'release', ...this.#about(lease.id, lease) });
    }
    if (released.length > 0) this.#host.afterChange();
    return { released, unknown };
  }

  get #accountName(): string {
    return this.#account ?? ANONYMOUS_ACCOUNT;
  }

  /**
   * An acquire: answered at once when nothing waits for a promise (a store that decides at once, an
   * account whose subscription was never cancelled), otherwise once the store has decided.
   */
  #acquire(req: AcquireParams): Answer<'acquire'> | Promise<Answer<'acquire'>> {
    const account = this.#accountName;
    const refused = this.#refusedNow(req, account);
    if (refused === true) return undefined;
    if (refused !== false) {
      return refused.then((no) => (no ? undefined : this.#acquireFromStore(req, account)));
    }
    return this.#acquireFromStore(req, account);
  }

  #acquireFromStore(req: AcquireParams, account: string): Answer<'acquire'> | Promise<Answer<'acquire'>> {
    const { lease: id, feature, count, wait } = req;
    const owner = this.id;
    const requestId = req.id;
    const request: AcquireRequest =
      wait === undefined
        ? { account, id, feature, count, owner, requestId }
        : { account, id, feature, count, owner, requestId, wait };
    const now = this.#host.storeNow;
    if (now !== undefined) return this.#acquired(req, account, now.acquire(request));
    return this.#host.store.acquire(request).then((outcome) => this.#acquired(req, account, outcome));
  }

  /** What the store decided for an acquire: the answer (or a promise of it, when it must be undone). */
  #acquired(
    req: AcquireParams,
    account: string,
    outcome: AcquireOutcome,
  ): Answer<'acquire'> | Promise<Answer<'acquire'>> {
    // A re-sent acquire for a lease that is already waiting takes over its place in the queue; the
    // earlier request is answered now so that nobody waits on it for ever.
    const previous = outcome.replaced;
    if (previous !== undefined) {
      this.#host
        .sessionFor(previous.owner)
        ?.fail(
          previous.requestId,
          ReturnCode.LV_RESET,
          `The wait for lease ${req.lease} was taken over by a newer acquire.`,
        );
    }
    if (outcome.kind === 'granted' || outcome.kind === 'queued') {
      // While the store decided, the connection may have closed, the server begun to drain, or the
      // subscription ended: what was just granted or queued is undone.
      const closed = this.#closing;
      const ended = closed || this.#host.draining() || this.#ended(account);
      if (ended === true) return this.#undo(req, account, outcome, closed);
      if (ended !== false) {
        return ended.then((yes) =>
          yes ? this.#undo(req, account, outcome, closed) : this.#decided(req, account, outcome),
        );
      }
    }
    return this.#decided(req, account, outcome);
  }

  /** Undoes a grant or a place in a queue that came too late (see #acquired); answers with the refusal. */
  async #undo(
    req: AcquireParams,
    account: string,
    outcome: AcquireOutcome & { kind: 'granted' | 'queued' },
    closed: boolean,
  ): Promise<undefined> {
    const { store } = this.#host;
    if (outcome.kind === 'queued') {
      if (closed) await store.dropOwner(this.id);
      else await store.cancel(account, req.lease);
    }
    // A reclaim on a closed connection stays held: it was held before, and its TTL runs as it did.
    else if (!(closed && outcome.reclaimed)) await store.release(account, [outcome.lease.id]);
    this.#host.afterChange();
    if (!closed) await this.#refusedNow(req, account);
    return undefined;
  }

  /** The answer to an acquire the store decided, and what it tells meanwhile (events, a queue position). */
  #decided(req: AcquireParams, account: string, outcome: AcquireOutcome): Answer<'acquire'> {
    const { store } = this.#host;
    const who = account === ANONYMOUS_ACCOUNT ? '' : ` for account "${account}"`;
    switch (outcome.kind) {
      case 'granted':
        if (this.#host.reporting())
          this.#host.emit({
            type: 'grant',
            ...this.#about(outcome.lease.id, outcome.lease),
            kind: outcome.reclaimed ? 'reclaimed' : 'new',
            waited: false,
          });
        this.#host.leaseGranted(Date.now() + store.leaseTtl);
        return this.grantResult(outcome.lease, outcome.reclaimed);
      case 'queued':
        if (this.#host.reporting()) {
          this.#host.emit({ type: 'queued', ...this.#about(req.lease, req), position: outcome.position });
        }
        this.push({ push: 'queue-position', lease: req.lease, position: outcome.position });
        this.#host.afterChange(Date.now() + (req.wait ?? 0));
        return undefined;
      case 'exhausted':
        this.#denied(req, 'exhausted', ReturnCode.LV_OPEN_PORT_FAILED__LICENSES_EXCEEDED);
        this.fail(
          req.id,
          ReturnCode.LV_OPEN_PORT_FAILED__LICENSES_EXCEEDED,
          `No ${req.feature} license free${who}: ${outcome.inUse} of ${outcome.total} in use.`,
        );
        return undefined;
      case 'unknown-feature':
        this.#denied(req, 'not-licensed', this.#notLicensedCode());
        this.fail(
          req.id,
          this.#notLicensedCode(),
          `This server has no ${req.feature} licenses${who}: the license does not include that type.`,
        );
        return undefined;
      case 'conflict':
        this.#denied(req, 'invalid', ReturnCode.LV_INVALID_API_PARAMETER);
        this.fail(req.id, ReturnCode.LV_INVALID_API_PARAMETER, outcome.message);
        return undefined;
    }
  }

  /**
   * Whether the subscription of `account` has ended: at once (no promise) for an account whose
   * subscription was never cancelled, the common case on the hot path.
   */
  #ended(account: string): boolean | Promise<boolean> {
    if (this.#host.subscriptionEnd(account) === undefined) return false;
    return this.#host.subscriptionEnded(account);
  }

  /**
   * Refuses an acquire, and says so, when the server drains or the subscription has ended; answers
   * without a promise when neither can be the case.
   */
  #refusedNow(req: ParamsOf<'acquire'> & { id: number }, account: string): boolean | Promise<boolean> {
    if (this.#host.draining()) {
      this.#denied(req, 'draining', ReturnCode.LV_NO_SERVER_AVAILABLE);
      this.fail(
        req.id,
        ReturnCode.LV_NO_SERVER_AVAILABLE,
        'This license server is shutting down and grants nothing more: ask another one.',
      );
      return true;
    }
    const ended = this.#ended(account);
    if (ended === false) return false;
    return this.#refuseEnded(req, account, ended);
  }

  async #refuseEnded(
    req: ParamsOf<'acquire'> & { id: number },
    account: string,
    ended: true | Promise<boolean>,
  ): Promise<boolean> {
    if (await ended) {
      const end = new Date(this.#host.subscriptionEnd(account) ?? 0).toISOString().slice(0, 10);
      this.#denied(req, 'expired', ReturnCode.LV_EXPIRED_LICENSE);
      this.fail(
        req.id,
        ReturnCode.LV_EXPIRED_LICENSE,
        `The subscription of account "${account}" ended on ${end}: no license is granted until it is renewed.`,
      );
      return true;
    }
    return false;
  }

  #authenticated(account: string): void {
    this.#account = account;
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  /** The fields of a lease event about `lease` on this connection. */
  #about(leaseId: string, { feature, count }: { feature: string; count: number }) {
    return {
      time: Date.now(),
      account: this.#accountName,
      feature,
      count,
      lease: leaseId,
      client: this.ip,
      connection: this.id,
    };
  }

  #denied(req: { lease: string; feature: string; count: number }, reason: DenialReason, code: number): void {
    if (this.#host.reporting())
      this.#host.emit({ type: 'denial', ...this.#about(req.lease, req), reason, code });
  }

  /** The code for a type the account has no seats of: -69 for a 1.1 client, -26 (as in 1.0) otherwise. */
  #notLicensedCode(): number {
    return this.#minor1 ? ReturnCode.LV_FUNCTION_DISABLED : ReturnCode.LV_OPEN_PORT_FAILED__LICENSES_EXCEEDED;
  }

  #loginFailed(reason: LoginFailureReason): void {
    this.#host.emit({
      type: 'login-failure',
      time: Date.now(),
      reason,
      client: this.ip,
      connection: this.id,
    });
  }

  #authFailed(id: number): void {
    this.#authFailures += 1;
    this.#host.guard.record(this.#socket.remoteAddress ?? '?');
    this.#loginFailed('bad-credentials');
    const message = 'Authentication failed: the username and password must match an account on this server.';
    if (this.#authFailures >= this.#host.maxAuthFailures) {
      this.#refuse(
        ReturnCode.LV_INVALID_LICENSE,
        `${message} Too many attempts; closing the connection.`,
        id,
      );
    } else {
      this.fail(id, ReturnCode.LV_INVALID_LICENSE, message);
    }
  }
}
