/**
 * The 1.3 form of a batch's answer, as a pure function: only what was done exactly as asked becomes an id;
 * anything else (another TTL, a reclaimed lease, epochs for some only, a release not done in full, an
 * error) stays whole, and the whole answers are kept for a frame too small for the compact one.
 */
import { describe, expect, it } from 'vitest';
import type { Request } from '../../src/protocol/messages.js';
import { compactBatchResult, inRequestOrder, WHOLE_RESPONSES } from '../../src/server/batch-answer.js';
import { acquireRequest, releaseRequest } from '../helpers/frames.js';

/** What goes on the wire. */
const wire = (value: unknown) => JSON.parse(JSON.stringify(value)) as unknown;

const acquire = acquireRequest;
const release = releaseRequest;
const grant = (id: number, lease: string, extra: Record<string, unknown> = {}) => ({
  id,
  ok: true,
  result: { lease, feature: 'FULL', count: 1, ttl: 30_000, reclaimed: false, ...extra },
});
const byId = (...requests: Request[]) => requests;

describe('compactBatchResult', () => {
  it('lists grants and releases done as asked by id, in order, and keeps the rest whole', () => {
    const refused = { id: 3, ok: false, error: { code: -26, name: 'X', message: 'no' } };
    const partial = { id: 5, ok: true, result: { released: ['a'], unknown: ['b'] } };
    const responses = [
      grant(1, 'L1'),
      grant(2, 'L2'),
      refused,
      { id: 4, ok: true, result: { released: ['x', 'y'], unknown: [] } },
      partial,
    ];
    const result = compactBatchResult(
      byId(acquire(1, 'L1'), acquire(2, 'L2'), acquire(3, 'L3'), release(4, 'x', 'y'), release(5, 'a', 'b')),
      responses,
    );
    expect(wire(result)).toEqual({
      granted: [1, 2],
      ttl: 30_000,
      released: [4],
      responses: [refused, partial],
    });
    expect(result[WHOLE_RESPONSES]).toBe(responses);
  });

  it('keeps whole a grant that says more than "as asked"', () => {
    const requests = byId(acquire(1, 'L1'), acquire(2, 'L2'), acquire(3, 'L3'), acquire(4, 'L4'));
    const reclaimed = grant(2, 'L2', { reclaimed: true });
    const otherTtl = grant(3, 'L3', { ttl: 5_000 });
    const otherLease = grant(4, 'L5');
    const result = compactBatchResult(requests, [grant(1, 'L1'), reclaimed, otherTtl, otherLease]);
    expect(result).toMatchObject({ granted: [1], ttl: 30_000, responses: [reclaimed, otherTtl, otherLease] });
  });

  it('gives epochs for all the grants it lists, or none', () => {
    const requests = byId(acquire(1, 'L1'), acquire(2, 'L2'), acquire(3, 'L3'));
    const unfenced = grant(3, 'L3');
    const result = compactBatchResult(requests, [
      grant(1, 'L1', { epoch: 7 }),
      grant(2, 'L2', { epoch: 8 }),
      unfenced,
    ]);
    expect(result).toMatchObject({ granted: [1, 2], epochs: [7, 8], responses: [unfenced] });
    expect(compactBatchResult(requests, [grant(1, 'L1')])).not.toHaveProperty('epochs');
  });

  it('keeps whole a release done in another order, and answers that are not for a request of the batch', () => {
    const swapped = { id: 1, ok: true, result: { released: ['b', 'a'], unknown: [] } };
    const stranger = grant(9, 'L9');
    const result = compactBatchResult(byId(release(1, 'a', 'b')), [swapped, stranger]);
    expect(wire(result)).toEqual({ responses: [swapped, stranger] });
  });

  it('puts answers in the order of the requests: one pass when they are, a sort when not', () => {
    const requests = byId(acquire(1, 'L1'), release(2, 'x'), acquire(3, 'L3'));
    const inOrder = [grant(1, 'L1'), grant(3, 'L3')];
    expect(inRequestOrder(requests, inOrder)).toBe(inOrder);
    expect(inRequestOrder(requests, [grant(3, 'L3'), grant(1, 'L1')]).map((r) => r.id)).toEqual([1, 3]);
  });
});
