/**
 * The calls the store model test (store-model.ts) generates: one store call per step, or a few in a row
 * (`crowd`), or at once (`burst`, `race`), spread over the nodes of a pool; and the calls every run starts with.
 */
import fc from 'fast-check';

/** The accounts the calls use ('' is the anonymous pool). */
export const ACCOUNTS = ['a', ''] as const;
/** The license types the calls use. */
export const FEATURES = ['FULL', 'TTS'] as const;
/** The lease ids the calls use: few, so that calls meet on them. */
const IDS = ['p1', 'p2', 'p3', 'p4', 'p5'] as const;

/** One step of a run. */
export type Op =
  | {
      op: 'acquire';
      node: number;
      account: string;
      id: string;
      feature: string;
      count: number;
      owner: number;
      wait: 'none' | 'short' | 'long';
    }
  | {
      op: 'burst';
      account: string;
      feature: string;
      ids: string[];
      release: string[];
      renew: string[];
      nodes: number[];
    }
  | { op: 'crowd'; acquires: Array<Extract<Op, { op: 'acquire' }>> }
  | { op: 'race'; calls: RaceCall[] }
  | { op: 'renew'; node: number; account: string; ids: string[]; owner: number }
  | { op: 'release'; node: number; account: string; ids: string[] }
  | { op: 'revoke'; node: number; account: string; ids: string[] | undefined }
  | { op: 'revokeAll'; node: number }
  | { op: 'cancel'; node: number; account: string; id: string }
  | { op: 'setTotal'; node: number; account: string; feature: string; total: number }
  | { op: 'dropOwner'; node: number; owner: number }
  | { op: 'drain'; node: number }
  | { op: 'expire'; node: number }
  | { op: 'sleep'; ms: 'tick' | 'quarter' | 'half' | 'ttl' };

/** A call a race may run: one store call each, answered in full by what the store returns. */
export type RaceCall = Extract<
  Op,
  {
    op:
      | 'acquire'
      | 'renew'
      | 'release'
      | 'revoke'
      | 'revokeAll'
      | 'cancel'
      | 'setTotal'
      | 'dropOwner'
      | 'drain';
  }
>;

/** Steps for a pool of `nodes` nodes. */
export function opArbitrary(nodes: number): fc.Arbitrary<Op> {
  const node = fc.nat(nodes - 1);
  const account = fc.constantFrom(...ACCOUNTS);
  const feature = fc.constantFrom(...FEATURES);
  // Mostly the pools the prelude sets up; now and then one the account does not have.
  const pool = fc.constantFrom<[string, string]>(
    ['a', 'FULL'],
    ['a', 'FULL'],
    ['a', 'TTS'],
    ['', 'FULL'],
    ['', 'FULL'],
    ['', 'TTS'],
  );
  const id = fc.constantFrom(...IDS);
  const ids = fc.uniqueArray(id, { maxLength: 3 }).chain((some) =>
    // Now and then an id twice: a store answers each id once.
    fc.boolean().map((twice) => (twice && some[0] !== undefined ? [...some, some[0]] : some)),
  );
  const owner = fc.integer({ min: 1, max: 3 });
  const count = fc.oneof(
    { weight: 12, arbitrary: fc.constant(1) },
    { weight: 3, arbitrary: fc.integer({ min: 2, max: 3 }) },
    { weight: 1, arbitrary: fc.constant(0) },
  );
  const wait = fc.constantFrom('none', 'none', 'short', 'long', 'long', 'long') as fc.Arbitrary<
    'none' | 'short' | 'long'
  >;
  const acquire = fc
    .record({ op: fc.constant('acquire'), node, pool, id, count, owner, wait })
    .map(({ pool: [account, feature], ...rest }) => ({ ...rest, account, feature }));
  const renew = fc.record({ op: fc.constant('renew'), node, account, ids, owner });
  const release = fc.record({ op: fc.constant('release'), node, account, ids });
  const revoke = fc.record({
    op: fc.constant('revoke'),
    node,
    account,
    ids: fc.option(ids, { nil: undefined }),
  });
  const revokeAll = fc.record({ op: fc.constant('revokeAll'), node });
  const cancel = fc.record({ op: fc.constant('cancel'), node, account, id });
  const setTotal = (total: fc.Arbitrary<number>) =>
    fc.record({ op: fc.constant('setTotal'), node, account, feature, total });
  const dropOwner = fc.record({ op: fc.constant('dropOwner'), node, owner });
  const drain = fc.record({ op: fc.constant('drain'), node });
  const raceCall: fc.Arbitrary<RaceCall> = fc.oneof(
    { weight: 6, arbitrary: acquire },
    { weight: 2, arbitrary: renew },
    { weight: 2, arbitrary: release },
    { weight: 1, arbitrary: revoke },
    { weight: 1, arbitrary: revokeAll },
    { weight: 1, arbitrary: cancel },
    { weight: 2, arbitrary: setTotal(fc.nat(3)) },
    { weight: 1, arbitrary: dropOwner },
    { weight: 3, arbitrary: drain },
  );
  return fc.oneof(
    {
      // Calls at once, through any nodes: the store's answers and state must be those of some order of them.
      weight: 4,
      arbitrary: fc
        .array(raceCall, { minLength: 2, maxLength: 3 })
        .map((calls) => ({ op: 'race' as const, calls })),
    },
    { weight: 16, arbitrary: acquire },
    {
      weight: 3,
      arbitrary: fc
        .record({
          op: fc.constant('burst'),
          pool,
          ids: fc.uniqueArray(id, { minLength: 2, maxLength: 4 }),
          release: fc.uniqueArray(id, { maxLength: 2 }),
          renew: fc.uniqueArray(id, { maxLength: 2 }),
          nodes: fc.array(node, { minLength: 4, maxLength: 4 }),
        })
        .map(({ pool: [account, feature], ...rest }) => ({ ...rest, account, feature })),
    },
    {
      // Several acquires in a row on one pool, most of them willing to wait: a queue builds up.
      weight: 3,
      arbitrary: fc
        .record({
          pool,
          acquires: fc.array(
            fc.record({ node, id, count, owner, wait: fc.constantFrom('none', 'long', 'long', 'short') }),
            { minLength: 2, maxLength: 5 },
          ),
        })
        .map(({ pool: [account, feature], acquires }) => ({
          op: 'crowd' as const,
          acquires: acquires.map((a) => ({ op: 'acquire' as const, account, feature, ...a })),
        })),
    },
    { weight: 4, arbitrary: renew },
    { weight: 3, arbitrary: release },
    { weight: 1, arbitrary: revoke },
    { weight: 1, arbitrary: revokeAll },
    { weight: 1, arbitrary: cancel },
    {
      weight: 3,
      arbitrary: setTotal(
        fc.oneof({ weight: 12, arbitrary: fc.nat(3) }, { weight: 1, arbitrary: fc.constant(-1) }),
      ),
    },
    { weight: 1, arbitrary: dropOwner },
    { weight: 5, arbitrary: drain },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('expire'), node }) },
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constant('sleep'),
        ms: fc.constantFrom('tick', 'quarter', 'quarter', 'half', 'ttl'),
      }),
    } as { weight: number; arbitrary: fc.Arbitrary<Op> },
  );
}

/** The calls every run starts with, so that the generated ones find pools to work on. */
export const PRELUDE: readonly Op[] = [
  { op: 'setTotal', node: 0, account: 'a', feature: 'FULL', total: 2 },
  { op: 'setTotal', node: 0, account: '', feature: 'FULL', total: 1 },
  { op: 'setTotal', node: 0, account: 'a', feature: 'TTS', total: 1 },
];
