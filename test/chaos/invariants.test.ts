/**
 * The chaos test is only as good as its checks: each invariant must catch the fault it is named after.
 */
import { describe, expect, it } from 'vitest';
import type { ClientStatus } from '../../src/index.js';
import {
  type ClientSnapshot,
  clientViolations,
  holdingViolations,
  leftovers,
  poolViolations,
  type ServerSnapshot,
} from './invariants.js';
import { chaosSeed, makeRng } from './prng.js';

function server(leases: Array<[string, string, number]>, inUse?: Record<string, number>): ServerSnapshot {
  const list = leases.map(([id, feature, count]) => ({ id, feature, count }));
  const used = (feature: string) =>
    inUse?.[feature] ?? list.filter((l) => l.feature === feature).reduce((sum, l) => sum + l.count, 0);
  return { name: 's0', address: '127.0.0.1:1', pool: { FULL: 2, TTS: 2 }, inUse: used, leases: list };
}

function client(
  leases: Array<[string, number, string]>,
  extra: Partial<Omit<ClientSnapshot, 'status'>> = {},
): ClientSnapshot {
  const status: ClientStatus = {
    closed: false,
    servers: [],
    cache: [],
    leases: leases.map(([id, count, state]) => ({
      id,
      feature: 'FULL',
      count,
      server: '127.0.0.1:1',
      state: state as 'held',
      port: undefined,
    })),
  };
  return { name: 'c0', status, portLeases: [], acquired: [], ...extra };
}

describe('chaos invariants', () => {
  it('accept a consistent world', () => {
    const s = server([
      ['a', 'FULL', 1],
      ['b', 'TTS', 2],
    ]);
    const c = client(
      [
        ['a', 1, 'held'],
        ['b', 2, 'held'],
      ],
      { portLeases: ['a'], acquired: ['b'] },
    );
    expect(poolViolations([s])).toEqual([]);
    expect(clientViolations([c])).toEqual([]);
    expect(holdingViolations([s], [c])).toEqual([]);
  });

  it('catch a grant beyond the pool', () => {
    const s = server([
      ['a', 'FULL', 2],
      ['b', 'FULL', 1],
    ]);
    expect(poolViolations([s])).toEqual([
      expect.stringContaining('3 FULL seats in use, beyond its pool of 2'),
    ]);
  });

  it('catch a seat counted twice', () => {
    expect(poolViolations([server([['a', 'FULL', 1]], { FULL: 2 })])).toEqual([
      expect.stringContaining('inUse(FULL) is 2 but its distinct leases hold 1'),
    ]);
    expect(
      poolViolations([
        server([
          ['a', 'FULL', 1],
          ['a', 'FULL', 1],
        ]),
      ]),
    ).toEqual([expect.stringContaining('listed twice')]);
  });

  it('catch one lease serving two ports', () => {
    expect(clientViolations([client([], { portLeases: ['a', 'a'] })])).toEqual([
      expect.stringContaining('lease a is used by a port of c0 and by a port of c0'),
    ]);
  });

  it('catch a server and its clients that disagree at the end', () => {
    const s = server([['a', 'FULL', 1]]);
    expect(holdingViolations([s], [client([])])).toEqual([
      expect.stringContaining('holds a x1, which no client believes'),
      expect.stringContaining('1 seats in use, clients hold 0'),
    ]);
    expect(holdingViolations([s], [client([['x', 1, 'held']])])).toEqual([
      expect.stringContaining('believes it holds x'),
      expect.stringContaining('holds a x1, which no client believes'),
    ]);
    expect(holdingViolations([s], [client([['a', 1, 'reconnecting']])])).toContainEqual(
      expect.stringContaining('still has leases reconnecting'),
    );
  });

  it('report handles left past their baseline', () => {
    expect(leftovers({ Timeout: 1 }, { Timeout: 2, TCPSocketWrap: 0 })).toEqual(['Timeout: 2 (baseline 1)']);
  });

  it('replay the same choices from the same seed', () => {
    const a = makeRng(42);
    const b = makeRng(42);
    const draws = Array.from({ length: 50 }, () => a.int(0, 1_000));
    expect(Array.from({ length: 50 }, () => b.int(0, 1_000))).toEqual(draws);
    expect(new Set(draws).size).toBeGreaterThan(40);
    expect(chaosSeed({ CHAOS_SEED: '123' })).toBe(123);
    expect(() => chaosSeed({ CHAOS_SEED: 'x' })).toThrow(RangeError);
  });
});
