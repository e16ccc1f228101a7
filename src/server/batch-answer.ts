/**
 * The answer to a `batch` for a 1.3 client (docs/protocol.md, "batch"): the grants and releases done
 * exactly as asked become request ids (`granted`, `released`), the rest stay whole in `responses`. A client
 * then reads a number where it read a whole answer, and the server writes one. Pure.
 */
import type { BatchResult, Request, RequestOf } from '../protocol/messages.js';
import { ProtocolError } from '../protocol/protocol-error.js';

/**
 * The whole answers a compact batch answer stands for, in the order of the requests: what goes out
 * instead, each in a frame of its own, when even the compact answer does not fit in a frame.
 */
export const WHOLE_RESPONSES: unique symbol = Symbol('whole batch responses');

/** A batch result that remembers the whole answers it was made of. */
export type CompactBatchResult = BatchResult & { [WHOLE_RESPONSES]: Array<Record<string, unknown>> };

interface GrantShape {
  lease?: unknown;
  feature?: unknown;
  count?: unknown;
  ttl?: unknown;
  reclaimed?: unknown;
  epoch?: unknown;
}

interface ReleaseShape {
  released?: unknown;
  unknown?: unknown;
}

/**
 * Puts a batch's answers in the order of its requests, in place: one pass when they already are (the
 * common case), a sort otherwise (a run's answers are decided in whatever order the store settles them).
 */
export function inRequestOrder(
  requests: ReadonlyArray<{ readonly id: number | null }>,
  responses: Array<Record<string, unknown>>,
): Array<Record<string, unknown>> {
  let at = 0;
  for (const response of responses) {
    while (at < requests.length && requests[at]?.id !== response.id) at++;
    if (at === requests.length) {
      const place = new Map(requests.map((request, index) => [request.id, index]));
      return responses.sort((a, b) => (place.get(a.id as number) ?? 0) - (place.get(b.id as number) ?? 0));
    }
    at++;
  }
  return responses;
}

/**
 * Makes the 1.3 form of a batch's answer.
 *
 * @param requests - the batch's requests, in order (a request that did not validate is its error)
 * @param responses - the answers decided while the batch was handled, in the order of the requests
 * @example
 * ```ts
 * const result = compactBatchResult(requests, inRequestOrder(requests, responses));
 * // { granted: [2, 3], ttl: 30000, released: [6], responses: [{ id: 4, ok: false, error: {...} }] }
 * ```
 */
export function compactBatchResult(
  requests: ReadonlyArray<Request | ProtocolError>,
  responses: Array<Record<string, unknown>>,
): CompactBatchResult {
  const granted: number[] = [];
  const epochs: number[] = [];
  const released: number[] = [];
  const whole: Array<Record<string, unknown>> = [];
  let ttl: number | undefined;
  let fenced: boolean | undefined;
  let at = 0;
  for (const response of responses) {
    const id = response.id as number;
    // Both in the order of the requests: the request a response answers is found walking forward.
    let request: Request | ProtocolError | undefined;
    for (let look = at; look < requests.length; look++) {
      if (requests[look]?.id === id) {
        request = requests[look];
        at = look + 1;
        break;
      }
    }
    const result = response.ok === true ? response.result : undefined;
    if (request instanceof ProtocolError) request = undefined;
    if (request?.op === 'acquire' && isGrantAsAsked(request, result as GrantShape | undefined)) {
      const grant = result as GrantShape;
      const epoch = grant.epoch;
      // One TTL for all, and epochs for all or none: a grant that differs is answered whole.
      if (
        (ttl === undefined || grant.ttl === ttl) &&
        (fenced ?? epoch !== undefined) === (epoch !== undefined)
      ) {
        ttl = grant.ttl as number;
        fenced = epoch !== undefined;
        granted.push(id);
        if (fenced) epochs.push(epoch as number);
        continue;
      }
    } else if (request?.op === 'release' && isReleaseAsAsked(request, result as ReleaseShape | undefined)) {
      released.push(id);
      continue;
    }
    whole.push(response);
  }
  const compact: CompactBatchResult = { responses: whole, [WHOLE_RESPONSES]: responses };
  if (ttl !== undefined) {
    compact.granted = granted;
    compact.ttl = ttl;
    if (fenced === true) compact.epochs = epochs;
  }
  if (released.length > 0) compact.released = released;
  return compact;
}

function isGrantAsAsked(request: RequestOf<'acquire'>, result: GrantShape | undefined): boolean {
  return (
    result !== undefined &&
    result.lease === request.lease &&
    result.feature === request.feature &&
    result.count === request.count &&
    result.reclaimed === false &&
    Number.isSafeInteger(result.ttl) &&
    (result.ttl as number) >= 1 &&
    (result.epoch === undefined || (Number.isSafeInteger(result.epoch) && (result.epoch as number) >= 1))
  );
}

function isReleaseAsAsked(request: RequestOf<'release'>, result: ReleaseShape | undefined): boolean {
  if (result === undefined || !Array.isArray(result.unknown) || result.unknown.length > 0) return false;
  const done = result.released;
  const asked = request.leases;
  if (!Array.isArray(done) || done.length !== asked.length) return false;
  for (let i = 0; i < asked.length; i++) if (done[i] !== asked[i]) return false;
  return true;
}
