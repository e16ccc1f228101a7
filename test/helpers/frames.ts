/**
 * Request frames as a client sends them, for protocol tests.
 */
import type { ParamsOf, Request, RequestOf, RequestOp } from '../../src/protocol/messages.js';

/** `{ id, op, ...params }`: one request frame. */
export function buildRequest<Op extends RequestOp>(id: number, op: Op, params: ParamsOf<Op>): RequestOf<Op> {
  return { id, op, ...params } as RequestOf<Op>;
}

/** An acquire of one FULL seat under lease `lease`. */
export function acquireRequest(id: number, lease: string): Request {
  return { id, op: 'acquire', lease, feature: 'FULL', count: 1 };
}

/** A release of `leases`. */
export function releaseRequest(id: number, ...leases: string[]): Request {
  return { id, op: 'release', leases };
}
