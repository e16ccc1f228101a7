/**
 * The LicenseStore rules as a model, checked against a real store by fast-check: a generated sequence of
 * calls (spread over one or several nodes of one pool) runs against the store and against a small reference
 * model of the rules in the LicenseStore doc comment, and after every step the outcomes and what the store
 * shows (counts, leases, waiters, nextDeadline) must be what the model says.
 *
 * Time. A store on a database keeps the database's clock, so time passes for real. The model never guesses
 * which side of a deadline a call fell on: it knows each deadline only as an interval (the clock read just
 * before and just after the call that set it), keeps every lease and waiter well away from its deadline while
 * a step runs (before each step it sleeps past whatever would fall due within GUARD ms, then sweeps with
 * `expire()` on every node), and when a step took so long that a deadline may have passed in the middle of it,
 * the run stops there, counted as inconclusive, never as passed or failed on a guess. With a hand-moved clock
 * (MemoryStore) a step takes no time and no run is ever inconclusive. A store may tie a lease's life to its
 * connection's session (PostgresStore does), so that renewing one lease extends the others of that connection:
 * the model checks each lease's end against the rules as a lower bound and then takes it from what the store
 * shows.
 *
 * Concurrency. `burst` and `race` steps make calls at once; a race's answers and the state after it must be
 * those of some order of its calls (the model replays every order on a copy, with the store's answers).
 */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import type {
  AcquireRequest,
  DrainResult,
  LicenseStore,
  PoolStatus,
  RenewResult,
  Waiter,
} from '../../src/server/index.js';
import { ACCOUNTS, FEATURES, type Op, opArbitrary, PRELUDE, type RaceCall } from './store-model-ops.js';

/** One pool of stores under test: one store, or several nodes of one shared pool. */
export interface StoreNodesUnderTest {
  /** The nodes; every one sees the same pools. */
  readonly nodes: readonly LicenseStore[];
  /** The clock the stores go by (epoch ms). */
  now(): number;
  /** Lets at least `ms` pass on that clock. */
  advance(ms: number): Promise<void> | void;
  /** Lets go of the stores (and whatever they run on). */
  dispose(): Promise<void>;
}

/** How the model test runs. */
export interface StoreModelOptions {
  /** How many nodes `make` gives. @defaultValue 1 */
  readonly nodes?: number;
  /** Runs (generated call sequences). */
  readonly runs: number;
  /** Calls per run, at most. */
  readonly steps: number;
  /** The lease TTL (ms) the stores are made with. */
  readonly leaseTtl: number;
  /** How long (ms) a step may take before a deadline near it makes the run inconclusive. */
  readonly guard: number;
  /** The test's own time limit (ms). */
  readonly timeout?: number;
}

/** Slack (ms) around every clock reading: timestamps are whole ms, the database's are microseconds. */
const SLACK = 3;
/** How often each kind of step and outcome came up, printed with LV_STORE_MODEL_STATS=1 (to judge coverage). */
const STATS = new Map<string, number>();
const tally = (tag: string, n = 1): void => {
  STATS.set(tag, (STATS.get(tag) ?? 0) + n);
};
const pair = (a: string, b: string): string => JSON.stringify([a, b]);
/** Code-point order, as the stores sort account and feature names. */
const byCodePoint = (x: string, y: string): number => (x < y ? -1 : x > y ? 1 : 0);

/** Every order of `items`. */
/** One step of a race's schedule: a whole call, or the first or second part of a drain split after `k` pools. */
interface ScheduleStep {
  readonly i: number;
  readonly part?: 'first' | 'second';
  readonly k: number;
}

/**
 * The schedules of a race where one drain is split in two (after 1 to 3 of its pools) with at least one
 * other call between its parts: every order of the other calls, every place of the two parts.
 */
function drainSplits(calls: readonly RaceCall[]): ScheduleStep[][] {
  const schedules: ScheduleStep[][] = [];
  calls.forEach((call, d) => {
    if (call.op !== 'drain') return;
    const others = calls.map((_, i) => i).filter((i) => i !== d);
    for (const order of permutations(others)) {
      const slots = order.length + 2;
      for (let first = 0; first < slots; first += 1) {
        for (let second = first + 2; second < slots; second += 1) {
          for (let k = 1; k <= 3; k += 1) {
            const rest = order.map((i): ScheduleStep => ({ i, k: 0 }));
            const schedule: ScheduleStep[] = [];
            for (let slot = 0; slot < slots; slot += 1) {
              if (slot === first) schedule.push({ i: d, part: 'first', k });
              else if (slot === second) schedule.push({ i: d, part: 'second', k });
              else schedule.push(rest.shift() as ScheduleStep);
            }
            schedules.push(schedule);
          }
        }
      }
    }
  });
  return schedules;
}

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}

/** A number in [lo, hi], as an asymmetric matcher for toEqual. */
function within(lo: number, hi: number) {
  return {
    asymmetricMatch: (value: unknown) => typeof value === 'number' && value >= lo && value <= hi,
    toString: () => `a number within [${lo}, ${hi}]`,
    toAsymmetricMatcher: () => `within(${lo}, ${hi})`,
  };
}

/** A step's outcome may hang on a deadline that passed while it ran: the run stops, neither passed nor failed. */
class Inconclusive extends Error {}

interface ModelLease {
  readonly account: string;
  readonly id: string;
  readonly feature: string;
  readonly count: number;
  owner: number;
  /** The node that last granted, reclaimed or renewed it. */
  node: number;
  /** Grant order (a drain or a burst fixes it from what the store reports). */
  seq: number;
  readonly grantedLo: number;
  readonly grantedHi: number;
  /** Its expiry lies in [expLo, expHi]. */
  expLo: number;
  expHi: number;
  /** The last fencing epoch a shared store showed for it. */
  epoch?: number;
}

interface ModelWaiter {
  readonly account: string;
  readonly id: string;
  readonly feature: string;
  readonly count: number;
  owner: number;
  node: number;
  requestId: number;
  deadlineLo: number;
  deadlineHi: number;
  /** The last position the store told. */
  reported: number;
}

/** A drain the model is deciding, pool by pool (see {@link Harness.startDrain}). */
interface DrainRun {
  readonly node: number;
  /** The pools where the node had waiters when the drain began, in the order it decides them. */
  readonly pools: readonly string[];
  /** The index in `pools` of the next pool to decide. */
  next: number;
  readonly expected: { granted: object[]; positions: object[]; refused: object[] };
  readonly granted: ModelLease[];
}

/** What the stores must hold: the reference model of the rules. */
class Model {
  /** pair(account, feature) -> total, for every pool ever set. */
  readonly totals = new Map<string, number>();
  /** pair(account, id) -> lease. */
  readonly leases = new Map<string, ModelLease>();
  /** pair(account, feature) -> FIFO queue. */
  readonly queues = new Map<string, ModelWaiter[]>();
  #seq = 0;

  /** A copy to try one order of concurrent calls on. */
  clone(): Model {
    const copy = new Model();
    for (const [key, total] of this.totals) copy.totals.set(key, total);
    for (const [key, lease] of this.leases) copy.leases.set(key, { ...lease });
    for (const [key, queue] of this.queues)
      copy.queues.set(
        key,
        queue.map((w) => ({ ...w })),
      );
    copy.#seq = this.#seq;
    return copy;
  }

  nextSeq(): number {
    this.#seq += 1;
    return this.#seq;
  }

  used(account: string, feature: string): number {
    let sum = 0;
    for (const lease of this.leases.values()) {
      if (lease.account === account && lease.feature === feature) sum += lease.count;
    }
    return sum;
  }

  queue(account: string, feature: string): ModelWaiter[] {
    return this.queues.get(pair(account, feature)) ?? [];
  }

  waiter(account: string, id: string): ModelWaiter | undefined {
    for (const queue of this.queues.values()) {
      const found = queue.find((w) => w.account === account && w.id === id);
      if (found !== undefined) return found;
    }
    return undefined;
  }

  removeWaiter(waiter: ModelWaiter): void {
    const key = pair(waiter.account, waiter.feature);
    const queue = this.queues.get(key) ?? [];
    queue.splice(queue.indexOf(waiter), 1);
    if (queue.length === 0) this.queues.delete(key);
  }

  addWaiter(waiter: ModelWaiter): void {
    const key = pair(waiter.account, waiter.feature);
    const queue = this.queues.get(key);
    if (queue === undefined) this.queues.set(key, [waiter]);
    else queue.push(waiter);
  }

  allWaiters(): ModelWaiter[] {
    return [...this.queues.values()].flat();
  }

  /** Leases in grant order. */
  leasesInOrder(): ModelLease[] {
    return [...this.leases.values()].sort((x, y) => x.seq - y.seq);
  }

  /** Every deadline the model knows, as intervals. */
  deadlines(): Array<{ lo: number; hi: number; node: number }> {
    return [
      ...[...this.leases.values()].map((l) => ({ lo: l.expLo, hi: l.expHi, node: l.node })),
      ...this.allWaiters().map((w) => ({ lo: w.deadlineLo, hi: w.deadlineHi, node: w.node })),
    ];
  }
}

/**
 * A lease as node `viewer` shows it: another node's lease has owner -1. Its expiry is at least what the model
 * knows and at most `latest` (now + the TTL): a store may tie a lease's life to its connection's (a session),
 * so that a renewal or grant of another lease of that connection extends it too. A shared store adds the
 * lease's fencing `epoch` (never smaller than the last seen) and its `node`.
 */
function leaseView(lease: ModelLease, viewer: number, latest: number, shared: boolean) {
  return {
    id: lease.id,
    account: lease.account,
    feature: lease.feature,
    count: lease.count,
    grantedAt: within(lease.grantedLo - SLACK, lease.grantedHi + SLACK),
    expiresAt: within(lease.expLo - SLACK, Math.max(lease.expHi, latest) + SLACK),
    owner: lease.node === viewer ? lease.owner : -1,
    epoch: shared ? within(lease.epoch ?? 1, Number.MAX_SAFE_INTEGER) : undefined,
    node: shared ? expect.any(String) : undefined,
  };
}

/** A {@link RenewResult} without its `moved`, which must name renewed ids only (and a shared store's only). */
function withoutMoved(result: RenewResult, shared: boolean): RenewResult {
  const { moved, ...rest } = result;
  if (moved !== undefined) {
    expect(shared, 'only a shared store says which leases moved').toBe(true);
    expect([...moved.keys()].filter((id) => !result.renewed.includes(id))).toEqual([]);
  }
  return rest;
}

/** A waiter as node `viewer` shows it. */
function waiterView(waiter: ModelWaiter, viewer: number) {
  return {
    id: waiter.id,
    account: waiter.account,
    feature: waiter.feature,
    count: waiter.count,
    owner: waiter.node === viewer ? waiter.owner : -1,
    deadline: within(waiter.deadlineLo - SLACK, waiter.deadlineHi + SLACK),
    requestId: waiter.requestId,
  };
}

/** Stable sort by pool: what stores list "pool by pool, each in queue order" compares whatever the pool order. */
function byPool<T>(items: readonly T[], poolOf: (item: T) => { account: string; feature: string }): T[] {
  return items
    .map((item, index) => ({ item, index }))
    .sort((x, y) => {
      const a = poolOf(x.item);
      const b = poolOf(y.item);
      return byCodePoint(a.account, b.account) || byCodePoint(a.feature, b.feature) || x.index - y.index;
    })
    .map(({ item }) => item);
}

const byId = <T extends { account: string; id: string }>(items: readonly T[]): T[] =>
  [...items].sort((x, y) => byCodePoint(pair(x.account, x.id), pair(y.account, y.id)));

/** Runs one generated sequence against the stores and the model. */
class Harness {
  model = new Model();
  /** Set while the model replays a call the store already answered (a race): its answer and clock readings. */
  replaying: { value: unknown; b: number; a: number } | undefined;
  step = 0;
  /** What the current step is, for a failure's message. */
  doing = '';

  constructor(
    readonly subject: StoreNodesUnderTest,
    readonly options: StoreModelOptions,
  ) {}

  /** Whether the store is shared by several servers (it names a cluster): its leases carry epoch and node. */
  get shared(): boolean {
    return this.node(0).cluster !== undefined;
  }

  get ttl(): number {
    return this.options.leaseTtl;
  }

  /** {@link leaseView} as of now. */
  view(lease: ModelLease, viewer: number) {
    return leaseView(lease, viewer, this.subject.now() + this.ttl, this.shared);
  }

  node(index: number): LicenseStore {
    const store = this.subject.nodes[index % this.subject.nodes.length];
    if (store === undefined) throw new Error('no store');
    return store;
  }

  /** Runs `call` between two clock readings. */
  async timed<T>(call: () => Promise<T>): Promise<{ value: T; b: number; a: number }> {
    if (this.replaying !== undefined) return this.replaying as { value: T; b: number; a: number };
    const b = this.subject.now();
    const value = await call();
    const a = this.subject.now();
    return { value, b, a };
  }

  async run(op: Op): Promise<void> {
    tally(op.op);
    this.step += 1;
    this.doing = `step ${this.step}: ${JSON.stringify(op)}`;
    await this.settle();
    if (op.op === 'sleep') {
      // Time passes with nothing asked of the store; what fell due meanwhile is swept before it is looked at.
      await this.subject.advance(
        { tick: 5, quarter: this.ttl / 4, half: this.ttl / 2, ttl: this.ttl }[op.ms],
      );
      await this.settle();
    }
    const start = this.subject.now();
    try {
      if (op.op !== 'sleep') await this.apply(op);
      // A race has looked already: what the store shows picked the order that explains it.
      if (op.op !== 'race') await this.observe();
    } catch (err) {
      if (this.mayHaveLapsed(start)) throw new Inconclusive(`${this.doing}: ${String(err)}`);
      throw err;
    }
    if (this.mayHaveLapsed(start)) throw new Inconclusive(this.doing);
  }

  /** Whether a deadline may have passed since `start` (the step took longer than the guard allowed for). */
  mayHaveLapsed(start: number): boolean {
    const end = this.subject.now();
    return this.model.deadlines().some((d) => d.lo - SLACK <= end && d.hi + SLACK >= start);
  }

  /**
   * Sleeps past every deadline that falls within GUARD ms (and past those that then come near), and sweeps
   * them with `expire()` on every node: no step runs near a deadline.
   */
  async settle(): Promise<void> {
    const { guard } = this.options;
    for (;;) {
      const now = this.subject.now();
      let target = now;
      let due = this.model.deadlines().filter((d) => d.lo - SLACK <= target + guard);
      if (due.length === 0) return;
      for (;;) {
        target = Math.max(now, ...due.map((d) => d.hi + SLACK + 1));
        const more = this.model.deadlines().filter((d) => d.lo - SLACK <= target + guard);
        if (more.length === due.length) break;
        due = more;
      }
      if (target > now) await this.subject.advance(target - now);
      tally('sweep');
      await this.sweep();
    }
  }

  /** `expire()` on every node: each hands back its own leases and waiters whose time has come. */
  async sweep(): Promise<void> {
    const { model } = this;
    for (let n = 0; n < this.subject.nodes.length; n += 1) {
      const { value, b, a } = await this.timed(() => this.node(n).expire());
      const past = <T extends { lo: number; hi: number }>(d: T) => d.hi + SLACK < b;
      const live = <T extends { lo: number; hi: number }>(d: T) => d.lo - SLACK > a;
      const leases = [...model.leases.values()].filter((l) => l.node === n);
      const waiters = model.allWaiters().filter((w) => w.node === n);
      const spans = [
        ...leases.map((l) => ({ lo: l.expLo, hi: l.expHi })),
        ...waiters.map((w) => ({ lo: w.deadlineLo, hi: w.deadlineHi })),
      ];
      if (spans.some((d) => !past(d) && !live(d))) throw new Inconclusive(`${this.doing}: sweep`);
      const expired = leases.filter((l) => past({ lo: l.expLo, hi: l.expHi }));
      // A lease of this node that lapsed over a TTL ago may be gone already: another node's expire() tidies
      // rows that old away without handing them back.
      const old = (l: ModelLease) => l.expHi + SLACK + this.ttl < a;
      const returned = new Set(value.expired.map((l) => pair(l.account, l.id)));
      const expected = expired.filter((l) => !old(l) || returned.has(pair(l.account, l.id)));
      expect(byId(value.expired), `${this.doing}: expire() on node ${n}`).toEqual(
        byId(expected).map((l) => this.view(l, n)),
      );
      const timedOut = waiters.filter((w) => past({ lo: w.deadlineLo, hi: w.deadlineHi }));
      expect(
        byPool(value.timedOut, (w) => w),
        `${this.doing}: expire() on node ${n}`,
      ).toEqual(byPool(timedOut, (w) => w).map((w) => waiterView(w, n)));
      for (const lease of expired) model.leases.delete(pair(lease.account, lease.id));
      for (const waiter of timedOut) model.removeWaiter(waiter);
    }
  }

  async apply(op: Op): Promise<void> {
    const { model } = this;
    switch (op.op) {
      case 'acquire':
        return this.acquire(op);
      case 'burst':
        return this.burst(op);
      case 'race':
        return this.race(op.calls);
      case 'crowd':
        for (const acquire of op.acquires) await this.acquire(acquire);
        return;
      case 'renew': {
        const { value, b, a } = await this.timed(() =>
          this.node(op.node).renew(op.account, op.ids, op.owner),
        );
        const unique = [...new Set(op.ids)];
        const held = unique.filter((id) => model.leases.has(pair(op.account, id)));
        expect(withoutMoved(value, this.shared), this.doing).toEqual({
          renewed: held,
          unknown: unique.filter((id) => !held.includes(id)),
        });
        for (const id of held) {
          const lease = model.leases.get(pair(op.account, id)) as ModelLease;
          lease.owner = op.owner;
          lease.node = op.node;
          lease.expLo = b + this.ttl;
          lease.expHi = a + this.ttl;
        }
        return;
      }
      case 'release': {
        const unique = [...new Set(op.ids)];
        // Only a lease held through this node: a late release through a node the lease moved away from
        // must not end it.
        const mine = unique
          .map((id) => model.leases.get(pair(op.account, id)))
          .filter((l): l is ModelLease => l !== undefined && l.node === op.node);
        const { value } = await this.timed(() => this.node(op.node).release(op.account, op.ids));
        if (unique.some((id) => (model.leases.get(pair(op.account, id))?.node ?? op.node) !== op.node)) {
          tally('release:held-on-another-node');
        }
        const released = mine.map((l) => l.id);
        expect({ ...value, leases: byId(value.leases) }, this.doing).toEqual({
          released,
          unknown: unique.filter((id) => !released.includes(id)),
          leases: byId(mine).map((l) => this.view(l, op.node)),
        });
        for (const lease of mine) model.leases.delete(pair(lease.account, lease.id));
        return;
      }
      case 'revoke': {
        const wanted = op.ids === undefined ? undefined : new Set(op.ids);
        const taken = [...model.leases.values()].filter(
          (l) => l.account === op.account && (wanted === undefined || wanted.has(l.id)),
        );
        const { value } = await this.timed(() => this.node(op.node).revoke(op.account, op.ids));
        expect(byId(value), this.doing).toEqual(byId(taken).map((l) => this.view(l, op.node)));
        for (const lease of taken) model.leases.delete(pair(lease.account, lease.id));
        return;
      }
      case 'revokeAll': {
        const taken = [...model.leases.values()].filter((l) => l.node === op.node);
        const { value } = await this.timed(() => this.node(op.node).revokeAll());
        expect(byId(value), this.doing).toEqual(byId(taken).map((l) => this.view(l, op.node)));
        for (const lease of taken) model.leases.delete(pair(lease.account, lease.id));
        return;
      }
      case 'cancel': {
        const waiter = model.waiter(op.account, op.id);
        const { value } = await this.timed(() => this.node(op.node).cancel(op.account, op.id));
        expect(value, this.doing).toEqual(waiter === undefined ? undefined : waiterView(waiter, op.node));
        if (waiter !== undefined) model.removeWaiter(waiter);
        return;
      }
      case 'setTotal': {
        const store = this.node(op.node);
        if (op.total < 0) {
          await expect(store.setTotal(op.account, op.feature, op.total), this.doing).rejects.toThrow(
            RangeError,
          );
          return;
        }
        const { value } = await this.timed(() => store.setTotal(op.account, op.feature, op.total));
        model.totals.set(pair(op.account, op.feature), op.total);
        // Below the seats in use, the newest leases go until the rest fit.
        const newestFirst = model
          .leasesInOrder()
          .filter((l) => l.account === op.account && l.feature === op.feature)
          .reverse();
        let used = model.used(op.account, op.feature);
        const taken: ModelLease[] = [];
        for (const lease of newestFirst) {
          if (used <= op.total) break;
          taken.push(lease);
          used -= lease.count;
        }
        expect(byId(value), this.doing).toEqual(byId(taken).map((l) => this.view(l, op.node)));
        for (const lease of taken) model.leases.delete(pair(lease.account, lease.id));
        return;
      }
      case 'dropOwner': {
        const dropped = model.allWaiters().filter((w) => w.node === op.node && w.owner === op.owner);
        const { value } = await this.timed(() => this.node(op.node).dropOwner(op.owner));
        expect(
          byPool(value, (w) => w),
          this.doing,
        ).toEqual(byPool(dropped, (w) => w).map((w) => waiterView(w, op.node)));
        for (const waiter of dropped) model.removeWaiter(waiter);
        return;
      }
      case 'drain':
        return this.drain(op.node);
      case 'expire': {
        // settle() swept everything due: nothing is left to expire.
        const { value } = await this.timed(() => this.node(op.node).expire());
        expect(value, this.doing).toEqual({ expired: [], timedOut: [] });
        return;
      }
      case 'sleep':
        return; // run() did it
    }
  }

  async acquire(op: Extract<Op, { op: 'acquire' }>): Promise<void> {
    const { model } = this;
    const wait = { none: 0, short: this.ttl / 2, long: this.ttl * 3 }[op.wait];
    const request: AcquireRequest = {
      account: op.account,
      id: op.id,
      feature: op.feature,
      count: op.count,
      owner: op.owner,
      requestId: this.step,
      ...(wait > 0 ? { wait } : {}),
    };
    const held = model.leases.get(pair(op.account, op.id));
    const waiting = model.waiter(op.account, op.id);
    const { value: outcome, b, a } = await this.timed(() => this.node(op.node).acquire(request));
    const tag = `acquire:${outcome.kind}${outcome.kind === 'granted' && outcome.reclaimed ? ':reclaim' : ''}${outcome.replaced ? ':replaced' : ''}`;
    tally(tag);
    const conflict = { kind: 'conflict', message: expect.any(String) };
    if (op.count < 1) {
      expect(outcome, this.doing).toEqual(conflict);
      return;
    }
    if (held !== undefined) {
      if (held.feature !== op.feature || held.count !== op.count) {
        expect(outcome, this.doing).toEqual(conflict);
        return;
      }
      // A re-sent acquire for a held id: the same lease, refreshed, now this node's and this owner's.
      if (held.node !== op.node) tally('acquire:reclaim-from-another-node');
      held.owner = op.owner;
      held.node = op.node;
      held.expLo = b + this.ttl;
      held.expHi = a + this.ttl;
      expect(outcome, this.doing).toEqual({
        kind: 'granted',
        reclaimed: true,
        lease: this.view(held, op.node),
      });
      return;
    }
    let replaced: ReturnType<typeof waiterView> | undefined;
    if (waiting !== undefined) {
      if (waiting.feature !== op.feature || waiting.count !== op.count) {
        expect(outcome, this.doing).toEqual(conflict);
        return;
      }
      replaced = waiterView(waiting, op.node);
      const total = model.totals.get(pair(op.account, op.feature));
      if (total !== undefined && op.count <= total) {
        // A re-sent waiting acquire keeps its place; the earlier request comes back to be answered.
        const position = model.queue(op.account, op.feature).indexOf(waiting) + 1;
        expect(outcome, this.doing).toEqual({ kind: 'queued', position, replaced });
        waiting.owner = op.owner;
        waiting.node = op.node;
        waiting.requestId = this.step;
        waiting.reported = position;
        if (wait > 0) {
          waiting.deadlineLo = b + wait;
          waiting.deadlineHi = a + wait;
        }
        return;
      }
      // Its pool shrank below it: it leaves, and the request is answered as a new one.
      model.removeWaiter(waiting);
    }
    const expected = this.decide(op, wait, b, a);
    expect(outcome, this.doing).toEqual(replaced === undefined ? expected : { ...expected, replaced });
  }

  /** A new request: granted, queued or refused by the pool as the model has it (and the model moved). */
  decide(op: Extract<Op, { op: 'acquire' }>, wait: number, b: number, a: number): object {
    const { model } = this;
    const total = model.totals.get(pair(op.account, op.feature));
    if (total === undefined || total === 0) return { kind: 'unknown-feature' };
    if (op.count > total) return { kind: 'conflict', message: expect.any(String) };
    const queue = model.queue(op.account, op.feature);
    const inUse = model.used(op.account, op.feature);
    if (queue.length === 0 && inUse + op.count <= total) {
      const lease: ModelLease = {
        account: op.account,
        id: op.id,
        feature: op.feature,
        count: op.count,
        owner: op.owner,
        node: op.node,
        seq: model.nextSeq(),
        grantedLo: b,
        grantedHi: a,
        expLo: b + this.ttl,
        expHi: a + this.ttl,
      };
      model.leases.set(pair(op.account, op.id), lease);
      return { kind: 'granted', reclaimed: false, lease: this.view(lease, op.node) };
    }
    if (wait === 0) return { kind: 'exhausted', total, inUse };
    const position = queue.length + 1;
    model.addWaiter({
      account: op.account,
      id: op.id,
      feature: op.feature,
      count: op.count,
      owner: op.owner,
      node: op.node,
      requestId: this.step,
      deadlineLo: b + wait,
      deadlineHi: a + wait,
      reported: position,
    });
    return { kind: 'queued', position };
  }

  /**
   * Calls at once on one pool, through the nodes given: acquires of new ids (one seat each, no wait), releases
   * of held leases (each through the node that holds it) and renewals. Whatever order the store takes them
   * in, it grants no more than fit once the releases are done, and no fewer than fit before them.
   */
  async burst(op: Extract<Op, { op: 'burst' }>): Promise<void> {
    const { model } = this;
    const inPool = (id: string) => {
      const lease = model.leases.get(pair(op.account, id));
      return lease !== undefined && lease.feature === op.feature ? lease : undefined;
    };
    const freeing = op.release.map(inPool).filter((l): l is ModelLease => l !== undefined);
    const renewing = op.renew
      .filter((id) => !op.release.includes(id))
      .map(inPool)
      .filter((l): l is ModelLease => l !== undefined);
    const ids = op.ids.filter(
      (id) => !model.leases.has(pair(op.account, id)) && !model.waiter(op.account, id),
    );
    const total = model.totals.get(pair(op.account, op.feature)) ?? 0;
    const inUse = model.used(op.account, op.feature);
    const freed = freeing.reduce((sum, l) => sum + l.count, 0);
    const queued = model.queue(op.account, op.feature).length;
    const nodeOf = (i: number) => (op.nodes[i % op.nodes.length] ?? 0) % this.subject.nodes.length;
    const { value, b, a } = await this.timed(() =>
      Promise.all([
        Promise.all(
          ids.map((id, i) =>
            this.node(nodeOf(i)).acquire({
              account: op.account,
              id,
              feature: op.feature,
              count: 1,
              owner: 1,
              requestId: this.step,
            }),
          ),
        ),
        Promise.all(freeing.map((l) => this.node(l.node).release(op.account, [l.id]))),
        Promise.all(renewing.map((l, i) => this.node(nodeOf(i + 1)).renew(op.account, [l.id], 2))),
      ]),
    );
    const [acquired, released, renewed] = value;
    for (const [i, lease] of freeing.entries()) {
      expect(released[i], this.doing).toEqual({
        released: [lease.id],
        unknown: [],
        leases: [this.view(lease, lease.node)],
      });
      model.leases.delete(pair(lease.account, lease.id));
    }
    for (const [i, lease] of renewing.entries()) {
      expect(withoutMoved(renewed[i] as RenewResult, this.shared), this.doing).toEqual({
        renewed: [lease.id],
        unknown: [],
      });
      lease.owner = 2;
      lease.node = nodeOf(i + 1);
      lease.expLo = b + this.ttl;
      lease.expHi = a + this.ttl;
    }
    const granted = ids.filter((_, i) => acquired[i]?.kind === 'granted');
    const fitsBefore = total === 0 || queued > 0 ? 0 : Math.min(ids.length, total - inUse);
    const fitsAfter = total === 0 || queued > 0 ? 0 : Math.min(ids.length, total - inUse + freed);
    expect(granted.length, `${this.doing}: ${JSON.stringify(acquired)}`).toBeGreaterThanOrEqual(fitsBefore);
    expect(granted.length, `${this.doing}: ${JSON.stringify(acquired)}`).toBeLessThanOrEqual(fitsAfter);
    for (const [i, id] of ids.entries()) {
      const outcome = acquired[i];
      if (total === 0) {
        expect(outcome, this.doing).toEqual({ kind: 'unknown-feature' });
        continue;
      }
      if (outcome?.kind !== 'granted') {
        // Refused behind a queue (seats in use as the releases left them), or because every seat was taken.
        expect(outcome, this.doing).toEqual({
          kind: 'exhausted',
          total,
          inUse: queued > 0 ? within(inUse - freed, inUse) : total,
        });
        continue;
      }
      const lease: ModelLease = {
        account: op.account,
        id,
        feature: op.feature,
        count: 1,
        owner: 1,
        node: nodeOf(i),
        seq: 0,
        grantedLo: b,
        grantedHi: a,
        expLo: b + this.ttl,
        expHi: a + this.ttl,
      };
      expect(outcome, this.doing).toEqual({
        kind: 'granted',
        reclaimed: false,
        lease: this.view(lease, lease.node),
      });
      model.leases.set(pair(op.account, id), lease);
    }
    // The store chose the order: its lease list (in grant order) tells it.
    const listed = await this.node(0).leases({ account: op.account, feature: op.feature });
    for (const record of listed) {
      const lease = model.leases.get(pair(record.account, record.id));
      if (lease !== undefined && granted.includes(record.id) && lease.seq === 0) lease.seq = model.nextSeq();
    }
    for (const id of granted) {
      expect(model.leases.get(pair(op.account, id))?.seq, `${this.doing}: ${id} listed`).not.toBe(0);
    }
  }

  /**
   * Runs `calls` at once, then looks for an order of them that explains every answer (the model replays each
   * call with the answer the store gave) and what the store shows after (`observe`): the store must behave
   * as if the calls had run one at a time, in some order.
   */
  async race(calls: RaceCall[]): Promise<void> {
    const invoke = (call: RaceCall): Promise<unknown> => {
      const store = this.node(call.node);
      switch (call.op) {
        case 'acquire': {
          const wait = { none: 0, short: this.ttl / 2, long: this.ttl * 3 }[call.wait];
          return store.acquire({
            account: call.account,
            id: call.id,
            feature: call.feature,
            count: call.count,
            owner: call.owner,
            requestId: this.step,
            ...(wait > 0 ? { wait } : {}),
          });
        }
        case 'renew':
          return store.renew(call.account, call.ids, call.owner);
        case 'release':
          return store.release(call.account, call.ids);
        case 'revoke':
          return store.revoke(call.account, call.ids);
        case 'revokeAll':
          return store.revokeAll();
        case 'cancel':
          return store.cancel(call.account, call.id);
        case 'setTotal':
          return store.setTotal(call.account, call.feature, call.total);
        case 'dropOwner':
          return store.dropOwner(call.owner);
        case 'drain':
          return store.drain();
      }
    };
    const { value: answers, b, a } = await this.timed(() => Promise.all(calls.map(invoke)));
    const failures: string[] = [];
    for (const order of permutations(calls.map((_, i) => i))) {
      const trial = new Harness(this.subject, this.options);
      trial.model = this.model.clone();
      trial.step = this.step;
      try {
        for (const i of order) {
          trial.replaying = { value: answers[i], b, a };
          trial.doing = `${this.doing}, as call ${i + 1} in the order ${order.map((j) => j + 1).join(', ')}`;
          await trial.apply(calls[i] as RaceCall);
        }
        trial.replaying = undefined;
        // Through every node: two orders may differ only in which connection of a node holds a lease,
        // which the other nodes do not show.
        for (let viewer = 0; viewer < this.subject.nodes.length; viewer += 1) await trial.observe(viewer);
      } catch (err) {
        failures.push(String(err instanceof Error ? err.message : err).split('\n')[0] as string);
        continue;
      }
      tally(`race:order-${order.join('')}`);
      this.model = trial.model;
      return;
    }
    // A drain decides each pool on its own (on PostgreSQL, in a transaction of its own: no lock is held
    // between two pools), so the other calls may also come between two of its pools.
    for (const schedule of drainSplits(calls)) {
      const trial = new Harness(this.subject, this.options);
      trial.model = this.model.clone();
      trial.step = this.step;
      const runs = new Map<number, DrainRun>();
      try {
        for (const { i, part, k } of schedule) {
          const call = calls[i] as RaceCall;
          trial.replaying = { value: answers[i], b, a };
          trial.doing = `${this.doing}, as ${schedule.map((s) => `${s.i + 1}${s.part === undefined ? '' : `(${s.part} ${s.k} pools)`}`).join(', ')}`;
          if (part === undefined) {
            await trial.apply(call);
          } else if (part === 'first') {
            const run = trial.startDrain(call.node);
            // Not a split: the same as the whole drain at one place, tried above.
            if (k >= run.pools.length) throw new Error(`${trial.doing}: the drain has no pool after ${k}`);
            trial.drainPools(run, k, b, a);
            runs.set(i, run);
          } else {
            const run = runs.get(i) as DrainRun;
            trial.drainPools(run, run.pools.length, b, a);
            trial.finishDrain(run, answers[i] as DrainResult, false);
          }
        }
        trial.replaying = undefined;
        for (let viewer = 0; viewer < this.subject.nodes.length; viewer += 1) await trial.observe(viewer);
      } catch (err) {
        failures.push(String(err instanceof Error ? err.message : err).split('\n')[0] as string);
        continue;
      }
      tally('race:drain-split');
      this.model = trial.model;
      return;
    }
    throw new Error(
      `${this.doing}: no order of these calls explains what the store answered and shows: ${JSON.stringify(answers)}\n${failures.join('\n')}`,
    );
  }

  async drain(node: number): Promise<void> {
    const { value, b, a } = await this.timed(() => this.node(node).drain());
    const run = this.startDrain(node);
    this.drainPools(run, run.pools.length, b, a);
    this.finishDrain(run, value);
  }

  /**
   * A drain of `node` as the store makes one: the pools where `node` has waiters, read once at its start,
   * in order, each decided on its own (a PostgreSQL store decides each pool in a transaction of its own).
   */
  startDrain(node: number): DrainRun {
    const pools = [...this.model.queues.keys()]
      .sort(byCodePoint)
      .filter((key) => (this.model.queues.get(key) ?? []).some((w) => w.node === node));
    return {
      node,
      pools,
      next: 0,
      expected: { granted: [], positions: [], refused: [] },
      granted: [],
    };
  }

  /** Decides the run's pools from where it stands up to (not including) the pool at `upTo`. */
  drainPools(run: DrainRun, upTo: number, b: number, a: number): void {
    const { model } = this;
    const { node, expected, granted } = run;
    for (; run.next < Math.min(upTo, run.pools.length); run.next += 1) {
      const key = run.pools[run.next] as string;
      const queue = model.queues.get(key) ?? [];
      if (!queue.some((w) => w.node === node)) continue;
      const [account, feature] = JSON.parse(key) as [string, string];
      const total = model.totals.get(key);
      // Waiters their pool can never grant leave it (each node answers its own).
      for (const waiter of queue.filter((w) => w.node === node && w.count > (total ?? 0))) {
        expected.refused.push({ waiter: waiterView(waiter, node), total });
        model.removeWaiter(waiter);
      }
      // FIFO: heads that fit, while the head is this node's (another node answers its own).
      let used = model.used(account, feature);
      for (let head = queue[0]; head !== undefined; head = queue[0]) {
        if (head.node !== node) {
          tally('drain:head-on-another-node');
          break;
        }
        if (used + head.count > (total ?? 0)) break;
        model.removeWaiter(head);
        const lease: ModelLease = {
          account,
          id: head.id,
          feature,
          count: head.count,
          owner: head.owner,
          node,
          seq: 0,
          grantedLo: b,
          grantedHi: a,
          expLo: b + this.ttl,
          expHi: a + this.ttl,
        };
        used += head.count;
        granted.push(lease);
        // A granted lease is in force at once: a call that comes between two pools of the drain sees it.
        lease.seq = model.nextSeq();
        model.leases.set(pair(lease.account, lease.id), lease);
        expected.granted.push({
          waiter: waiterView(head, node),
          lease: this.view(lease, node),
        });
      }
      for (const [index, waiter] of queue.entries()) {
        if (waiter.node !== node || waiter.reported === index + 1) continue;
        waiter.reported = index + 1;
        expected.positions.push({ waiter: waiterView(waiter, node), position: index + 1 });
      }
    }
  }

  /**
   * Checks what the store answered for the whole drain against the run, once every pool is decided. The
   * grants take the order the store reports them in, unless calls came between the drain's pools
   * (`reorder` false): they keep the order they were decided in.
   */
  finishDrain(run: DrainRun, value: DrainResult, reorder = true): void {
    for (const k of ['granted', 'positions', 'refused'] as const) tally(`drain:${k}`, value[k].length);
    const ofWaiter = (x: { waiter: Waiter }) => x.waiter;
    expect(
      {
        granted: byPool(value.granted, ofWaiter),
        positions: byPool(value.positions, ofWaiter),
        refused: byPool(value.refused, ofWaiter),
      },
      this.doing,
    ).toEqual(run.expected);
    if (!reorder) return;
    for (const { lease: record } of value.granted) {
      const lease = run.granted.find((l) => l.account === record.account && l.id === record.id);
      if (lease !== undefined) lease.seq = this.model.nextSeq();
    }
  }

  /**
   * What every node shows must be the model's state, and no pool past its total. The leases are read through
   * `viewer` (by default one node, a different one each step): a lease's connection shows only there.
   */
  async observe(viewer = this.step % this.subject.nodes.length): Promise<void> {
    const { model } = this;
    const store = this.node(viewer);
    const counts = await store.counts();
    const expectedCounts: PoolStatus[] = [...model.totals.entries()]
      .map(([key, total]) => {
        const [account, feature] = JSON.parse(key) as [string, string];
        return {
          account,
          feature,
          total,
          inUse: model.used(account, feature),
          queued: model.queue(account, feature).length,
        };
      })
      .sort((x, y) => byCodePoint(x.account, y.account) || byCodePoint(x.feature, y.feature));
    for (const pool of counts) {
      expect(pool.inUse, `${this.doing}: never past the total`).toBeLessThanOrEqual(pool.total);
    }
    expect(counts, `${this.doing}: counts()`).toEqual(expectedCounts);
    const leases = await store.leases();
    const keys = leases.map((l) => pair(l.account, l.id));
    expect(new Set(keys).size, `${this.doing}: a lease id is unique per account`).toBe(keys.length);
    expect(leases, `${this.doing}: leases() on node ${viewer}, in grant order`).toEqual(
      model.leasesInOrder().map((l) => this.view(l, viewer)),
    );
    // What the store shows is when each lease ends now (a renewal of another lease of its connection may
    // have moved it), and its epoch.
    for (const record of leases) {
      const lease = model.leases.get(pair(record.account, record.id));
      if (lease === undefined) continue;
      lease.expLo = record.expiresAt;
      lease.expHi = record.expiresAt + 1;
      if (record.epoch !== undefined) lease.epoch = record.epoch;
    }
    // The filters, now and then.
    if (this.step % 3 === 0) {
      const account = ACCOUNTS[this.step % ACCOUNTS.length] as string;
      const feature = FEATURES[Math.floor(this.step / 3) % FEATURES.length] as string;
      expect(await store.counts(account), `${this.doing}: counts(account)`).toEqual(
        expectedCounts.filter((p) => p.account === account),
      );
      expect(await store.leases({ account, feature }), `${this.doing}: leases(filter)`).toEqual(
        model
          .leasesInOrder()
          .filter((l) => l.account === account && l.feature === feature)
          .map((l) => this.view(l, viewer)),
      );
    }
    for (let n = 0; n < this.subject.nodes.length; n += 1) {
      const node = this.node(n);
      const waiters = await node.waiters();
      const mine = model.allWaiters().filter((w) => w.node === n);
      expect(
        byPool(waiters, (w) => w),
        `${this.doing}: waiters() on node ${n}`,
      ).toEqual(byPool(mine, (w) => w).map((w) => waiterView(w, n)));
      const { value: next, b, a } = await this.timed(() => node.nextDeadline());
      // No later than the first deadline of this node the model knows of. A store may have earlier ones (a
      // connection's session outlives its leases until its own time comes), never later than a TTL from now.
      const own = model.deadlines().filter((d) => d.node === n);
      const hi = (own.length > 0 ? Math.min(...own.map((d) => d.hi)) : a + this.ttl) + (a - b) + SLACK;
      if (own.length === 0 && next === undefined) continue;
      // (Earlier may mean in the past: a session whose leases went, not yet swept; the engine sweeps at once.)
      expect(next, `${this.doing}: nextDeadline() on node ${n}`).toEqual(
        within(Number.NEGATIVE_INFINITY, hi),
      );
    }
  }
}

/**
 * Registers the model test for a store (or a pool of nodes): `make` gives fresh, empty stores whose leases
 * live `leaseTtl` ms. The seed comes from LV_STORE_MODEL_SEED when set (and LV_STORE_MODEL_PATH replays one
 * shrunk case); a failure prints both. LV_STORE_MODEL_RUNS=N runs N sequences instead (a longer soak), and
 * LV_STORE_MODEL_STATS=1 prints how often each kind of step and outcome came up.
 */
export function describeStoreModel(
  name: string,
  make: (leaseTtl: number) => Promise<StoreNodesUnderTest>,
  options: StoreModelOptions,
): void {
  // A soak (LV_STORE_MODEL_RUNS) takes as long as it takes.
  const timeout = Number(process.env.LV_STORE_MODEL_RUNS) > 0 ? 3_600_000 : (options.timeout ?? 60_000);
  it(
    `${name} keeps the LicenseStore rules under generated calls (model)`,
    async () => {
      const seedText = process.env.LV_STORE_MODEL_SEED;
      const seed =
        seedText === undefined || seedText === '' ? Math.floor(Math.random() * 0x7fffffff) : Number(seedText);
      const nodes = options.nodes ?? 1;
      STATS.clear();
      let runs = 0;
      let inconclusive = 0;
      let steps = 0;
      const property = fc.asyncProperty(
        fc.array(opArbitrary(nodes), { minLength: 1, maxLength: options.steps, size: 'max' }),
        async (ops) => {
          runs += 1;
          const subject = await make(options.leaseTtl);
          expect(subject.nodes).toHaveLength(nodes);
          const harness = new Harness(subject, options);
          try {
            for (const op of [...PRELUDE, ...ops]) {
              await harness.run(op);
              steps += 1;
            }
          } catch (err) {
            if (!(err instanceof Inconclusive)) throw err;
            inconclusive += 1;
          } finally {
            await subject.dispose();
          }
        },
      );
      try {
        const path = process.env.LV_STORE_MODEL_PATH;
        await fc.assert(property, {
          numRuns: Number(process.env.LV_STORE_MODEL_RUNS) || options.runs,
          seed,
          ...(path === undefined || path === '' ? {} : { path }),
          // Shrinking a failure on a real database is slow (every try sleeps past deadlines): it stops in time
          // to report the smallest case found so far, with its seed and path, rather than time out.
          interruptAfterTimeLimit: Math.max(timeout - 20_000, timeout / 2),
          markInterruptAsFailure: false,
        });
      } catch (err) {
        // fast-check's message has the seed and the path; say how to replay it too.
        throw new Error(
          `${name}: the store broke a rule (replay with LV_STORE_MODEL_SEED=${seed} and LV_STORE_MODEL_PATH set to the path below).\n${err instanceof Error ? err.message : String(err)}`,
          { cause: err },
        );
      }
      if (runs < (Number(process.env.LV_STORE_MODEL_RUNS) || options.runs)) {
        console.warn(`${name}: only ${runs} runs fitted in the time limit (a slow machine).`);
      }
      if (inconclusive > 0) {
        console.warn(
          `${name}: ${inconclusive} of ${runs} runs stopped early: a step took longer than the ${options.guard} ms guard (a slow machine), so a deadline may have passed during it.`,
        );
      }
      expect(steps).toBeGreaterThan(0);
      if (process.env.LV_STORE_MODEL_STATS === '1') {
        console.log(`${name}: ${runs} runs, ${steps} steps, ${inconclusive} inconclusive`, [...STATS].sort());
      }
    },
    timeout,
  );
}
