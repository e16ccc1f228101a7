import { describe, expect, it } from 'vitest';
import { LeaseEpochs } from '../../src/cluster/lease-epochs.js';
import { ProtocolError } from '../../src/protocol/protocol-error.js';
import { parseRequest, parseResult } from '../../src/protocol/validate.js';

describe('LeaseEpochs', () => {
  it('notes grants and moves, sends them with a release, and forgets released and unknown leases', () => {
    const epochs = new LeaseEpochs();
    expect(epochs.forRelease(['a'])).toBeUndefined(); // a 1.0 server: a 1.0 release
    epochs.granted({ lease: 'a', feature: 'FULL', count: 1, ttl: 30_000, reclaimed: false, epoch: 1 });
    epochs.granted({ lease: 'b', feature: 'FULL', count: 1, ttl: 30_000, reclaimed: false });
    epochs.granted({ lease: 'c', feature: 'FULL', count: 1, ttl: 30_000, reclaimed: false, epoch: 4 });
    epochs.renewed({ renewed: ['a'], unknown: ['c'], ttl: 30_000, epochs: { a: 2 } });
    expect(epochs.forRelease(['a', 'b', 'c'])).toEqual([2, null, null]);
    epochs.released(['a']);
    expect(epochs.forRelease(['a', 'b'])).toBeUndefined();
    expect(epochs.size).toBe(0);
  });
});

describe('epochs on the wire (protocol 1.1)', () => {
  it('reads a release with one epoch (or null) per lease, and refuses anything else with -54', () => {
    expect(parseRequest({ id: 1, op: 'release', leases: ['a', 'b'], epochs: [3, null] })).toEqual({
      id: 1,
      op: 'release',
      leases: ['a', 'b'],
      epochs: [3, null],
    });
    for (const epochs of [[1], [0, 1], ['1', 2], {}, [1.5, 1]]) {
      const parsed = parseRequest({ id: 2, op: 'release', leases: ['a', 'b'], epochs });
      expect(parsed).toBeInstanceOf(ProtocolError);
      expect((parsed as ProtocolError).code).toBe(-54);
    }
  });

  it("reads an acquire's epoch and a renewal's moved epochs, without prototype keys", () => {
    expect(
      parseResult('acquire', { lease: 'a', feature: 'FULL', count: 1, ttl: 1, reclaimed: true, epoch: 7 }),
    ).toMatchObject({
      epoch: 7,
    });
    const renewed = parseResult(
      'renew',
      JSON.parse('{"renewed":["__proto__"],"unknown":[],"ttl":1,"epochs":{"__proto__":2}}'),
    );
    expect(renewed).not.toBeInstanceOf(ProtocolError);
    expect(Object.entries((renewed as { epochs: object }).epochs)).toEqual([['__proto__', 2]]);
    expect(parseResult('renew', { renewed: [], unknown: [], ttl: 1, epochs: { a: 0 } })).toBeInstanceOf(
      ProtocolError,
    );
  });
});
