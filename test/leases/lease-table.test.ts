import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LicensesExpiredError } from '../../src/errors.js';
import {
  LEASE_MOVES,
  type LeasePhase,
  LeaseTable,
  leaseStateOf,
  type TrackedLease,
} from '../../src/leases/lease-table.js';

function record(
  id: string,
  server: string,
  state: LeasePhase = 'held',
  count = 1,
  feature = 'FULL',
): TrackedLease {
  return { id, feature, count, server, state };
}

const ids = (list: readonly TrackedLease[]) => list.map((r) => r.id).sort();

describe('LeaseTable', () => {
  it('starts empty', () => {
    const table = new LeaseTable();
    expect(table.size).toBe(0);
    expect(table.all()).toEqual([]);
    expect(table.get('x')).toBeUndefined();
    expect(table.onServer('a:1')).toEqual([]);
    expect(table.seatsByServer()).toEqual(new Map());
  });

  it('add / get / delete', () => {
    const table = new LeaseTable();
    const a = record('a', 's1:7569');
    const b = record('b', 's2:7569', 'reconnecting', 2, 'LITE');
    table.add(a);
    table.add(b);
    expect(table.size).toBe(2);
    expect(table.get('a')).toBe(a);
    expect(table.get('b')).toBe(b);
    table.delete('a');
    expect(table.size).toBe(1);
    expect(table.get('a')).toBeUndefined();
    table.delete('a'); // idempotent
    table.delete('never-there');
    expect(table.size).toBe(1);
    expect(table.get('b')).toBe(b);
  });

  it('add() with an existing id replaces the record', () => {
    const table = new LeaseTable();
    table.add(record('a', 's1:7569'));
    const replacement = record('a', 's2:7569', 'reconnecting');
    table.add(replacement);
    expect(table.size).toBe(1);
    expect(table.get('a')).toBe(replacement);
  });

  it('holds records by reference: state changes show through, and move() re-files a lease by server', () => {
    const table = new LeaseTable();
    const a = record('a', 's1:7569');
    table.add(a);
    expect(table.transition(a, 'reconnecting')).toBe(true);
    table.move(a, 's2:7569');
    expect(table.transition(a, 'migrating')).toBe(true);
    expect(table.transition(a, 'lost', new LicensesExpiredError('lost'))).toBe(true);
    expect(table.onServer('s1:7569')).toEqual([]);
    expect(table.onServer('s2:7569', ['lost'])).toEqual([a]);
    expect(table.get('a')?.lostError).toBeInstanceOf(LicensesExpiredError);
  });

  describe('onServer', () => {
    function populated(): LeaseTable {
      const table = new LeaseTable();
      table.add(record('h1', 's1:7569', 'held'));
      table.add(record('r1', 's1:7569', 'reconnecting'));
      table.add(record('l1', 's1:7569', 'lost'));
      table.add(record('x1', 's1:7569', 'released'));
      table.add(record('h2', 's2:7569', 'held'));
      return table;
    }

    it('without states: every lease on that server, whatever its state', () => {
      expect(ids(populated().onServer('s1:7569'))).toEqual(['h1', 'l1', 'r1', 'x1']);
      expect(ids(populated().onServer('s2:7569'))).toEqual(['h2']);
    });

    it('with states: only those states', () => {
      const table = populated();
      expect(ids(table.onServer('s1:7569', ['held']))).toEqual(['h1']);
      expect(ids(table.onServer('s1:7569', ['held', 'reconnecting']))).toEqual(['h1', 'r1']);
      expect(ids(table.onServer('s1:7569', ['lost', 'released']))).toEqual(['l1', 'x1']);
      expect(ids(table.onServer('s2:7569', ['reconnecting']))).toEqual([]);
    });

    it('with an empty state list: nothing', () => {
      expect(populated().onServer('s1:7569', [])).toEqual([]);
    });

    it('an unknown server: nothing', () => {
      expect(populated().onServer('s9:7569')).toEqual([]);
    });

    it('matches the server label exactly', () => {
      const table = new LeaseTable();
      table.add(record('a', '10.0.0.1:7569'));
      expect(table.onServer('10.0.0.1')).toEqual([]);
      expect(table.onServer('10.0.0.1:75690')).toEqual([]);
    });

    it('returns a fresh array each time', () => {
      const table = populated();
      const list = table.onServer('s1:7569');
      list.length = 0;
      expect(table.onServer('s1:7569')).toHaveLength(4);
    });
  });

  describe('seatsByServer', () => {
    it('sums the counts of held and reconnecting leases per server', () => {
      const table = new LeaseTable();
      table.add(record('a', 's1:7569', 'held', 1));
      table.add(record('b', 's1:7569', 'reconnecting', 3));
      table.add(record('c', 's1:7569', 'held', 2, 'LITE'));
      table.add(record('d', 's2:7569', 'held', 5));
      expect(table.seatsByServer()).toEqual(
        new Map([
          ['s1:7569', 6],
          ['s2:7569', 5],
        ]),
      );
    });

    it('ignores lost and released leases, and omits servers with none left', () => {
      const table = new LeaseTable();
      table.add(record('a', 's1:7569', 'lost', 4));
      table.add(record('b', 's1:7569', 'released', 4));
      table.add(record('c', 's2:7569', 'held', 1));
      table.add(record('d', 's2:7569', 'released', 7));
      const seats = table.seatsByServer();
      expect(seats.has('s1:7569')).toBe(false);
      expect(seats).toEqual(new Map([['s2:7569', 1]]));
    });

    it('follows state changes and deletes', () => {
      const table = new LeaseTable();
      const a = record('a', 's1:7569', 'held', 2);
      table.add(a);
      table.add(record('b', 's1:7569', 'held', 1));
      expect(table.transition(a, 'migrating')).toBe(true);
      expect(table.transition(a, 'lost')).toBe(true);
      expect(table.seatsByServer().get('s1:7569')).toBe(1);
      table.delete('b');
      expect(table.seatsByServer().size).toBe(0);
    });

    it('property: equals the sum of counts of held/reconnecting records per server', () => {
      const states: LeasePhase[] = ['held', 'reconnecting', 'lost', 'released'];
      fc.assert(
        fc.property(
          fc.array(
            fc.record({
              server: fc.constantFrom('a:1', 'b:1', 'c:1'),
              state: fc.constantFrom(...states),
              count: fc.integer({ min: 1, max: 10 }),
            }),
            { maxLength: 30 },
          ),
          (specs) => {
            const table = new LeaseTable();
            specs.forEach((s, i) => {
              table.add(record(`L${i}`, s.server, s.state, s.count));
            });
            const expected = new Map<string, number>();
            for (const s of specs) {
              if (s.state === 'held' || s.state === 'reconnecting')
                expected.set(s.server, (expected.get(s.server) ?? 0) + s.count);
            }
            expect(table.seatsByServer()).toEqual(expected);
            for (const [, seats] of table.seatsByServer()) expect(seats).toBeGreaterThan(0);
          },
        ),
      );
    });
  });

  describe('all', () => {
    it('lists every record in insertion order, as a copy', () => {
      const table = new LeaseTable();
      const a = record('a', 's1:7569', 'held');
      const b = record('b', 's2:7569', 'lost');
      const c = record('c', 's1:7569', 'released');
      table.add(a);
      table.add(b);
      table.add(c);
      const all = table.all();
      expect(all).toEqual([a, b, c]);
      expect(all[0]).toBe(a);
      all.pop();
      expect(table.all()).toHaveLength(3);
      table.delete('b');
      expect(table.all()).toEqual([a, c]);
    });
  });
});

describe('hasOn', () => {
  it('tells whether a server holds leases in the given states', () => {
    const table = new LeaseTable();
    expect(table.hasOn('s1:7569')).toBe(false);
    table.add({
      id: 'a',
      feature: 'FULL',
      count: 1,
      server: 's1:7569',
      state: 'reconnecting',
    });
    expect(table.hasOn('s1:7569')).toBe(true);
    expect(table.hasOn('s1:7569', ['held'])).toBe(false);
    expect(table.hasOn('s1:7569', ['held', 'reconnecting'])).toBe(true);
    table.delete('a');
    expect(table.hasOn('s1:7569')).toBe(false);
  });
});

describe('transition: the lease lifecycle table', () => {
  const phases = Object.keys(LEASE_MOVES) as LeasePhase[];

  it('allows exactly the moves LEASE_MOVES lists, and leaves the lease where it was otherwise', () => {
    for (const from of phases) {
      for (const to of phases) {
        const table = new LeaseTable();
        const lease = record('a', 's1:7569', from);
        table.add(lease);
        const moved = table.transition(lease, to);
        expect(moved).toBe(LEASE_MOVES[from].includes(to));
        expect(lease.state).toBe(moved ? to : from);
      }
    }
  });

  it('released is final; a lease can be released from every other phase', () => {
    expect(LEASE_MOVES.released).toEqual([]);
    for (const phase of phases.filter((p) => p !== 'released'))
      expect(LEASE_MOVES[phase]).toContain('released');
  });

  it('a lease is lost only after a move to another server was tried', () => {
    for (const phase of phases) expect(LEASE_MOVES[phase].includes('lost')).toBe(phase === 'migrating');
  });

  it('a step that finishes after the app released the lease is refused (a reclaim, a migration)', () => {
    const table = new LeaseTable();
    const lease = record('a', 's1:7569', 'reconnecting');
    table.add(lease);
    expect(table.transition(lease, 'reclaiming')).toBe(true);
    expect(table.transition(lease, 'released')).toBe(true);
    expect(table.transition(lease, 'held')).toBe(false);
    expect(lease.state).toBe('released');
  });

  it('shows the app reclaiming and migrating as reconnecting', () => {
    expect(phases.map(leaseStateOf)).toEqual(
      phases.map((p) => (p === 'reclaiming' || p === 'migrating' ? 'reconnecting' : p)),
    );
  });
});
