/**
 * The tables by id that replace busy `Map`s on the hot path: against a `Map` as the model, under any
 * sequence of adds and removes (ids in increasing order with stragglers that outlive their slot, ids
 * that repeat, ids without a number, two ids with one number), and with every slot cleared on removal.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IdTable, LeaseIdTable } from '../src/id-table.js';

describe('IdTable', () => {
  it('holds what a Map holds, under any sequence of adds and removes', () => {
    const step = fc.oneof(
      fc.record({ op: fc.constant('next' as const) }),
      fc.record({ op: fc.constant('set' as const), id: fc.integer({ min: 1, max: 5_000 }) }),
      fc.record({ op: fc.constant('delete' as const), back: fc.integer({ min: 0, max: 3_000 }) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 400 }), (steps) => {
        const table = new IdTable<string>();
        const model = new Map<number, string>();
        let next = 1;
        for (const s of steps) {
          if (s.op === 'next') {
            // Mostly ids in order, in runs longer than the ring, so that stragglers move out of the way.
            for (let i = 0; i < 300; i++, next++) {
              table.set(next, `v${next}`);
              model.set(next, `v${next}`);
              if (next % 7 !== 0) {
                table.delete(next - 3);
                model.delete(next - 3);
              }
            }
          } else if (s.op === 'set') {
            table.set(s.id, `w${s.id}`);
            model.set(s.id, `w${s.id}`);
          } else {
            const id = Math.max(1, next - s.back);
            expect(table.delete(id)).toBe(model.delete(id));
          }
          expect(table.size).toBe(model.size);
        }
        const ids = [...model.keys()].sort((a, b) => a - b);
        expect(table.ids()).toEqual(ids);
        expect(table.values()).toEqual(ids.map((id) => model.get(id)));
        for (let id = 1; id < next + 5; id++) expect(table.get(id)).toBe(model.get(id));
      }),
      { numRuns: 60 },
    );
  });

  it('forgets a value once it is removed or cleared (nothing left to keep alive)', () => {
    const table = new IdTable<object>();
    for (let id = 1; id <= 3_000; id++) {
      table.set(id, { id });
      if (id > 10) table.delete(id - 10);
    }
    expect(table.size).toBe(10);
    table.clear();
    expect(table.size).toBe(0);
    expect(table.ids()).toEqual([]);
    expect(table.get(2_995)).toBeUndefined();
  });
});

describe('LeaseIdTable', () => {
  const lease = (id: string, n = 0) => ({ id, n });

  it('finds each value by its own id only, numbered or not, and when two ids share a number', () => {
    const table = new LeaseIdTable<{ id: string; n: number }>();
    const ids = [
      'app-1',
      'app-2',
      'other-2',
      'app-02',
      'app-',
      'plain',
      '-5',
      'x-0',
      'app-2a',
      'z-9007199254740993',
    ];
    for (const [i, id] of ids.entries()) table.set(lease(id, i));
    expect(table.size).toBe(ids.length);
    for (const [i, id] of ids.entries()) expect(table.get(id)).toEqual({ id, n: i });
    expect(table.get('app-3')).toBeUndefined();
    expect(table.get('other-1')).toBeUndefined();
    // Replacing a value keeps one entry per id, wherever it is kept.
    table.set(lease('other-2', 99));
    table.set(lease('app-2', 98));
    expect(table.size).toBe(ids.length);
    expect(table.get('other-2')?.n).toBe(99);
    expect(table.get('app-2')?.n).toBe(98);
    expect(table.delete('app-2')).toBe(true);
    expect(table.delete('app-2')).toBe(false);
    expect(table.get('other-2')?.n).toBe(99);
    // Its number is free again: a new id with it is numbered, the older one stays found.
    table.set(lease('new-2', 7));
    expect(table.get('new-2')?.n).toBe(7);
    expect(table.get('other-2')?.n).toBe(99);
    expect(
      table
        .values()
        .map((v) => v.id)
        .sort(),
    ).toEqual([...ids.filter((id) => id !== 'app-2'), 'new-2'].sort());
  });

  it('holds what a Map holds, under any sequence of adds and removes of ids with and without numbers', () => {
    const id = fc.oneof(
      fc.integer({ min: 1, max: 2_500 }).map((n) => `a-${n}`),
      fc.integer({ min: 1, max: 2_500 }).map((n) => `b-${n}`),
      fc.constantFrom('a', 'a-', 'a-0', 'a-01'),
    );
    const step = fc.record({ add: fc.boolean(), id });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 300 }), (steps) => {
        const table = new LeaseIdTable<{ id: string; n: number }>();
        const model = new Map<string, { id: string; n: number }>();
        steps.forEach((s, n) => {
          if (s.add) {
            table.set({ id: s.id, n });
            model.set(s.id, { id: s.id, n });
          } else {
            expect(table.delete(s.id)).toBe(model.delete(s.id));
          }
          expect(table.size).toBe(model.size);
        });
        for (const key of model.keys()) expect(table.get(key)).toEqual(model.get(key));
        expect(table.values().length).toBe(model.size);
      }),
      { numRuns: 200 },
    );
  });
});
