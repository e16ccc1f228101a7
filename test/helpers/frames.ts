/**
 * Request frames as a client sends them, for protocol tests.
 */
import type { ParamsOf, RequestOf, RequestOp } from '../../src/protocol/messages.js';

/** `{ id, op, ...params }`: one request frame. */
export function buildRequest<Op extends RequestOp>(id: number, op: Op, params: ParamsOf<Op>): RequestOf<Op> {
  return { id, op, ...params } as RequestOf<Op>;
}
