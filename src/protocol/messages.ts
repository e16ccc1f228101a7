/**
 * The messages of the lv-license protocol, as TypeScript types. Field meanings and examples are in
 * docs/protocol.md; the runtime checks are in validate.ts and results.ts.
 */
import type { PROTOCOL_NAME, SCRAM_MECHANISM } from './constants.js';

/** How a server authenticates clients: SCRAM-SHA-256, or not at all (unauthenticated mode). */
export type AuthMode = 'scram-sha-256' | 'none';

/** Every authentication mode, in the order they are documented. */
export const AUTH_MODES: readonly AuthMode[] = Object.freeze(['scram-sha-256', 'none']);

/** The line a server sends first on every connection, readable on `telnet host 7569`. */
export interface Greeting {
  type: 'greeting';
  protocol: typeof PROTOCOL_NAME;
  /** The server's protocol version, `MAJOR.MINOR`. */
  version: string;
  /** The server software, `name/version`. */
  server: string;
  auth: AuthMode;
  /** A note for a human who connected by hand. */
  message: string;
}

/** `hello`: the first request on a connection; agrees on the version. */
export interface HelloParams {
  version: string;
  /** The client software, `name/version`. */
  client?: string;
}
/** The result of `hello`. */
export interface HelloResult {
  version: string;
  server: string;
  auth: AuthMode;
  /** How long a lease lives without a renewal, in milliseconds. */
  leaseTtl: number;
  /** The largest frame the server accepts, in bytes. */
  maxFrameBytes: number;
  /**
   * Protocol 1.1: the id of the pool this server shares with others (several nodes on one store). Servers
   * that announce the same cluster hold the same leases: a lease is reclaimed on any of them by its id.
   */
  cluster?: string;
  /**
   * Since 1.2: the server takes `batch` requests of at most this many requests each. Absent: send one
   * frame per request.
   */
  batch?: number;
}

/** `auth-start`: carries the SCRAM client-first-message. */
export interface AuthStartParams {
  mechanism: typeof SCRAM_MECHANISM;
  message: string;
}
/** The result of `auth-start`: the SCRAM server-first-message. */
export interface AuthStartResult {
  message: string;
}

/** `auth-finish`: carries the SCRAM client-final-message. */
export interface AuthFinishParams {
  message: string;
}
/** The result of `auth-finish`: the server-final-message (`v=...`) and the account now authenticated. */
export interface AuthFinishResult {
  message: string;
  account: string;
}

/** `acquire`: takes `count` seats of `feature` under a lease id the client chose. */
export interface AcquireParams {
  lease: string;
  feature: string;
  /** Seats, an integer >= 1. */
  count: number;
  /** How long to wait in the queue for free seats, in milliseconds; absent or 0 = fail at once. */
  wait?: number;
}
/** The result of `acquire`. */
export interface AcquireResult {
  lease: string;
  feature: string;
  count: number;
  /** Milliseconds until the lease expires unless renewed. */
  ttl: number;
  /** `true` when this account already held this lease id: nothing new was taken. */
  reclaimed: boolean;
  /**
   * Since 1.1, from a server whose nodes share one pool: the lease's fencing token. It grows whenever the
   * lease moves to another connection or node; a `release` that names an older epoch is ignored.
   */
  epoch?: number;
}

/** `cancel`: leaves the wait queue of a pending `acquire`. */
export interface CancelParams {
  lease: string;
}
/** The result of `cancel`: `cancelled` is `false` when that lease was not waiting. */
export interface CancelResult {
  lease: string;
  cancelled: boolean;
}

/** `renew`: extends a batch of leases by the lease TTL. */
export interface RenewParams {
  leases: string[];
}
/** The result of `renew`: `unknown` lists the ids the server does not hold (expired or never taken). */
export interface RenewResult {
  renewed: string[];
  unknown: string[];
  ttl: number;
  /** Since 1.1: the new epoch of each renewed lease that moved to this connection (see `AcquireResult.epoch`). */
  epochs?: Record<string, number>;
}

/** `release`: gives a batch of leases back. */
export interface ReleaseParams {
  leases: string[];
  /**
   * Since 1.1: the epoch the client knows of each lease, in the order of `leases` (`null`: not known). A lease
   * whose epoch is newer (it moved since) is not released, and is listed in `unknown`.
   */
  epochs?: Array<number | null>;
}
/** The result of `release`. */
export interface ReleaseResult {
  released: string[];
  unknown: string[];
}

/** `status`: the pool counts, of one feature or all. */
export interface StatusParams {
  feature?: string;
}
/** The seat counts of one feature. */
export interface FeatureStatus {
  total: number;
  inUse: number;
  queued: number;
  /** When the account's cancelled subscription ends (ISO 8601); absent while it renews (protocol 1.0, additive). */
  endsAt?: string;
}
/** The result of `status`. */
export interface StatusResult {
  features: Record<string, FeatureStatus>;
}

/** `ping`: no fields. */
export type PingParams = Record<never, never>;
/** The result of `ping`: the server's clock, epoch milliseconds. */
export interface PingResult {
  time: number;
}

/**
 * `batch` (since 1.2, to a server whose `hello` result has `batch`): several requests in one frame, each a
 * whole request object with its own `id` and `op` (one of {@link BATCHABLE_OPS}).
 */
export interface BatchParams {
  requests: Array<Record<string, unknown>>;
}
/**
 * The result of `batch`: the responses decided while the server handled the batch, each as it would have
 * been framed alone. A request answered later (an acquire that waits in a queue) is answered in a frame of
 * its own.
 *
 * Since 1.3, to a client whose `hello` said 1.3 or later, the answers that say no more than "done as
 * asked" come as request ids instead (`granted`, `released`), and `responses` holds the others.
 */
export interface BatchResult {
  responses: Array<Record<string, unknown>>;
  /**
   * Since 1.3: the ids of the batch's `acquire` requests granted exactly as asked (the request's lease,
   * feature and count, `reclaimed: false`, TTL {@link BatchResult.ttl}), in the order of the requests.
   */
  granted?: number[];
  /** Since 1.3, with `granted`: the TTL of each of its leases, in milliseconds. */
  ttl?: number;
  /** Since 1.3, with `granted`, from a server whose leases have epochs: the epoch of each, index by index. */
  epochs?: number[];
  /**
   * Since 1.3: the ids of the batch's `release` requests whose leases were all released (`released`: the
   * request's leases, `unknown`: none), in the order of the requests.
   */
  released?: number[];
}

/** The operations a `batch` request may carry. */
export const BATCHABLE_OPS: readonly RequestOp[] = Object.freeze(['acquire', 'release']);

/** The fields of each request, by operation. */
export interface ParamsByOp {
  hello: HelloParams;
  'auth-start': AuthStartParams;
  'auth-finish': AuthFinishParams;
  acquire: AcquireParams;
  cancel: CancelParams;
  renew: RenewParams;
  release: ReleaseParams;
  status: StatusParams;
  ping: PingParams;
  batch: BatchParams;
}

/** The result of each request, by operation. */
export interface ResultByOp {
  hello: HelloResult;
  'auth-start': AuthStartResult;
  'auth-finish': AuthFinishResult;
  acquire: AcquireResult;
  cancel: CancelResult;
  renew: RenewResult;
  release: ReleaseResult;
  status: StatusResult;
  ping: PingResult;
  batch: BatchResult;
}

/** The name of an operation. */
export type RequestOp = keyof ParamsByOp;

/** Every operation of this protocol version. */
export const REQUEST_OPS: readonly RequestOp[] = Object.freeze([
  'hello',
  'auth-start',
  'auth-finish',
  'acquire',
  'cancel',
  'renew',
  'release',
  'status',
  'ping',
  'batch',
]);

/** The fields of a request of operation `Op`. */
export type ParamsOf<Op extends RequestOp> = ParamsByOp[Op];

/** The result of a request of operation `Op`. */
export type ResultOf<Op extends RequestOp> = ResultByOp[Op];

/** A request of operation `Op`: `{ id, op, ...fields }`. */
export type RequestOf<Op extends RequestOp> = { id: number; op: Op } & ParamsByOp[Op];

/** Any request (client to server), discriminated by `op`. */
export type Request = { [Op in RequestOp]: RequestOf<Op> }[RequestOp];

/** The error a failure response carries. */
export interface WireError {
  /** An LV_* return code, such as -26. */
  code: number;
  /** Its vendor name, such as `LV_OPEN_PORT_FAILED__LICENSES_EXCEEDED`. */
  name: string;
  message: string;
}

/** A success response. */
export interface OkResponse<R = unknown> {
  id: number;
  ok: true;
  result: R;
}

/** A failure response; `id` is `null` when the request's id could not be read. */
export interface ErrorResponse {
  id: number | null;
  ok: false;
  error: WireError;
}

/** Any response (server to client), discriminated by `ok`. */
export type Response<R = unknown> = OkResponse<R> | ErrorResponse;

/** The server took leases away (an operator, an expired license file...). */
export interface LeaseRevokedPush {
  push: 'lease-revoked';
  leases: string[];
  /** Why, as an LV_* code (usually -41, LV_LICENSES_EXPIRED). */
  code: number;
  message: string;
}

/** The server is going away; reconnect (to it after `retryAfter` ms, or to another server). */
export interface ShutdownPush {
  push: 'shutdown';
  message: string;
  retryAfter?: number;
}

/** Where a waiting `acquire` stands in the queue, 1-based. */
export interface QueuePositionPush {
  push: 'queue-position';
  lease: string;
  position: number;
}

/** Any push (server to client, unasked, without an id), discriminated by `push`. */
export type Push = LeaseRevokedPush | ShutdownPush | QueuePositionPush;

/** The name of a push. */
export type PushKind = Push['push'];

/** A frame the client can receive, as classified by `parseServerFrame`. */
export type ServerFrame =
  | { kind: 'greeting'; greeting: Greeting }
  | { kind: 'response'; response: Response }
  | { kind: 'push'; push: Push };
