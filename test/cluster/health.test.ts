import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { orderForNewWork, ServerHealth } from '../../src/cluster/health.js';
import {
  IllegalLinkMove,
  LINK_MOVES,
  type LinkState,
  nextLinkState,
  serverStateOf,
} from '../../src/cluster/link-state.js';
import { type LicenseError, LicensesExceededError, SocketsError, TimeoutError } from '../../src/errors.js';
import type { HelloResult } from '../../src/protocol/messages.js';
import { retryDelay } from '../../src/timing.js';
import type { Connection } from '../../src/transport/connection.js';

/**
 * A server as the client models it, without sockets: a link state moved only along LINK_MOVES (as
 * ServerLink moves it), and the measurements of its ServerHealth. The methods are the events a link
 * lives through: a dial starts, a connection comes up, a dial fails or a connection is lost, close.
 */
class LinkModel {
  readonly server: string;
  priority: number;
  readonly health: ServerHealth;
  #state: LinkState = { kind: 'idle' };

  constructor(server: string, priority: number, now: () => number) {
    this.server = server;
    this.priority = priority;
    this.health = new ServerHealth(server, now);
  }

  get state() {
    return serverStateOf(this.#state);
  }

  get lastError() {
    return this.health.lastError;
  }

  /** A dial starts (a first one, or a redial); nothing to dial when up or closed. */
  connecting(): void {
    const { kind } = this.#state;
    if (kind === 'idle' || kind === 'backing-off' || kind === 'refused') {
      this.#move({ kind: 'dialing', attempt: new Promise<Connection>(() => {}), redial: kind !== 'idle' });
    }
  }

  up(): void {
    if (this.#state.kind === 'closed') return;
    if (this.#state.kind !== 'dialing') this.connecting();
    this.#move({ kind: 'up', connection: {} as Connection, since: 0 });
    this.health.up({} as HelloResult);
  }

  /** A dial failed, or the connection was lost. */
  down(error: LicenseError): void {
    const { kind } = this.#state;
    if (kind === 'closed') return;
    if (kind !== 'dialing' && kind !== 'up') this.connecting();
    this.#move({ kind: 'backing-off', error, notBefore: 0 });
    this.health.down(error);
  }

  closed(): void {
    if (this.#state.kind !== 'closed') this.#move({ kind: 'closed' });
  }

  noteError(error: LicenseError): void {
    this.health.noteError(error);
  }

  measured(rtt: number): void {
    this.health.measured(rtt);
  }

  snapshot() {
    return this.health.snapshot(this.state, this.priority);
  }

  #move(next: LinkState): void {
    this.#state = nextLinkState(this.#state, next, this.server);
  }
}

/** A hand-driven clock. */
function manualClock(start = 1_000) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
    set(ms: number) {
      now = ms;
    },
  };
}

const refused = (server = 'a:1') => new SocketsError('refused', { server });

describe('ServerHealth', () => {
  it('starts idle with nothing recorded', () => {
    const clock = manualClock();
    const health = new LinkModel('10.0.0.1:7569', 2, clock.now);
    expect(health.server).toBe('10.0.0.1:7569');
    expect(health.priority).toBe(2);
    expect(health.state).toBe('idle');
    expect(health.lastError).toBeUndefined();
    expect(health.snapshot()).toEqual({
      server: '10.0.0.1:7569',
      priority: 2,
      state: 'idle',
      lastError: undefined,
      rtt: undefined,
      downSince: undefined,
      consecutiveFailures: 0,
    });
  });

  it('goes idle → connecting → up → down', () => {
    const clock = manualClock(5_000);
    const health = new LinkModel('a:1', 0, clock.now);
    health.connecting();
    expect(health.state).toBe('connecting');
    expect(health.snapshot().downSince).toBeUndefined();
    health.up();
    expect(health.state).toBe('up');
    expect(health.snapshot().consecutiveFailures).toBe(0);
    clock.advance(250);
    const error = refused();
    health.down(error);
    expect(health.state).toBe('down');
    expect(health.lastError).toBe(error);
    expect(health.snapshot()).toMatchObject({
      state: 'down',
      downSince: 5_250,
      consecutiveFailures: 1,
      lastError: error,
    });
  });

  it('keeps downSince across repeated down() and counts each failure', () => {
    const clock = manualClock(100);
    const health = new LinkModel('a:1', 0, clock.now);
    health.up();
    health.down(refused());
    clock.advance(1_000);
    const second = new TimeoutError('no answer');
    health.down(second);
    clock.advance(1_000);
    health.down(refused());
    const snap = health.snapshot();
    expect(snap.state).toBe('down');
    expect(snap.downSince).toBe(100);
    expect(snap.consecutiveFailures).toBe(3);
  });

  it('the last error of down() wins', () => {
    const health = new LinkModel('a:1', 0, manualClock().now);
    const first = refused();
    const second = new TimeoutError('no answer');
    health.down(first);
    health.down(second);
    expect(health.lastError).toBe(second);
  });

  it('can go down without ever having been up (a first connect that fails)', () => {
    const clock = manualClock(42);
    const health = new LinkModel('a:1', 0, clock.now);
    health.connecting();
    health.down(refused());
    expect(health.snapshot()).toMatchObject({ state: 'down', downSince: 42, consecutiveFailures: 1 });
  });

  it('a down server stays down while it is re-dialed (connecting() only leaves idle)', () => {
    const clock = manualClock(7);
    const health = new LinkModel('a:1', 0, clock.now);
    health.down(refused());
    clock.advance(10);
    health.connecting();
    expect(health.snapshot()).toMatchObject({ state: 'down', downSince: 7, consecutiveFailures: 1 });
  });

  it('connecting() does not take an up server back to connecting', () => {
    const health = new LinkModel('a:1', 0, manualClock().now);
    health.connecting();
    health.up();
    health.connecting();
    expect(health.state).toBe('up');
  });

  it('keeps downSince and counts failures through failed reconnect attempts (down → connecting → down)', () => {
    const clock = manualClock(1_000);
    const health = new LinkModel('a:1', 0, clock.now);
    health.up();
    health.down(refused());
    for (let i = 0; i < 4; i++) {
      clock.advance(100);
      health.connecting();
      expect(health.state).toBe('down');
      clock.advance(100);
      health.down(refused());
    }
    expect(health.snapshot()).toMatchObject({ state: 'down', downSince: 1_000, consecutiveFailures: 5 });
  });

  it('a reconnect that succeeds goes straight from down to up', () => {
    const clock = manualClock(0);
    const health = new LinkModel('a:1', 0, clock.now);
    health.down(refused());
    health.connecting();
    health.up();
    expect(health.snapshot()).toMatchObject({ state: 'up', downSince: undefined, consecutiveFailures: 0 });
  });

  it('up() clears downSince and resets consecutiveFailures but keeps the last error', () => {
    const clock = manualClock(0);
    const health = new LinkModel('a:1', 0, clock.now);
    const error = refused();
    health.down(error);
    health.down(error);
    health.connecting();
    health.up();
    expect(health.snapshot()).toMatchObject({
      state: 'up',
      downSince: undefined,
      consecutiveFailures: 0,
      lastError: error,
    });
    clock.advance(3_000);
    health.down(refused());
    expect(health.snapshot()).toMatchObject({ downSince: 3_000, consecutiveFailures: 1 });
  });

  it('closed is terminal: connecting(), up() and down() do nothing after it', () => {
    const clock = manualClock(0);
    const health = new LinkModel('a:1', 0, clock.now);
    health.up();
    health.closed();
    expect(health.state).toBe('closed');
    health.connecting();
    expect(health.state).toBe('closed');
    health.up();
    expect(health.state).toBe('closed');
    health.down(refused());
    expect(health.snapshot()).toMatchObject({
      state: 'closed',
      downSince: undefined,
      consecutiveFailures: 0,
      lastError: undefined,
    });
    health.closed();
    expect(health.state).toBe('closed');
  });

  it('closing a down server keeps its failure record', () => {
    const clock = manualClock(9);
    const health = new LinkModel('a:1', 0, clock.now);
    const error = refused();
    health.down(error);
    health.closed();
    expect(health.snapshot()).toMatchObject({
      state: 'closed',
      downSince: 9,
      consecutiveFailures: 1,
      lastError: error,
    });
  });

  it('closed() works from every state', () => {
    for (const enter of [
      () => undefined,
      (h: LinkModel) => h.connecting(),
      (h: LinkModel) => h.up(),
      (h: LinkModel) => h.down(refused()),
    ]) {
      const health = new LinkModel('a:1', 0, manualClock().now);
      enter(health);
      health.closed();
      expect(health.state).toBe('closed');
    }
  });

  it('noteError() records the error without changing state or counters', () => {
    const clock = manualClock(0);
    const health = new LinkModel('a:1', 0, clock.now);
    health.up();
    const refusal = new LicensesExceededError('all in use', { server: 'a:1' });
    health.noteError(refusal);
    expect(health.lastError).toBe(refusal);
    expect(health.snapshot()).toMatchObject({
      state: 'up',
      consecutiveFailures: 0,
      downSince: undefined,
      lastError: refusal,
    });
  });

  it('noteError() while down keeps the down bookkeeping', () => {
    const clock = manualClock(50);
    const health = new LinkModel('a:1', 0, clock.now);
    health.down(refused());
    const refusal = new LicensesExceededError('all in use');
    health.noteError(refusal);
    expect(health.snapshot()).toMatchObject({
      state: 'down',
      downSince: 50,
      consecutiveFailures: 1,
      lastError: refusal,
    });
  });

  it('measured() records the latest rtt, independent of state', () => {
    const health = new LinkModel('a:1', 0, manualClock().now);
    health.measured(12);
    expect(health.snapshot().rtt).toBe(12);
    health.measured(3);
    expect(health.snapshot().rtt).toBe(3);
    health.down(refused());
    expect(health.snapshot().rtt).toBe(3);
    health.up();
    health.measured(0);
    expect(health.snapshot().rtt).toBe(0);
  });

  it('snapshot() is a detached copy and reflects a priority change', () => {
    const clock = manualClock(0);
    const health = new LinkModel('a:1', 1, clock.now);
    const before = health.snapshot();
    health.priority = 4;
    health.down(refused());
    expect(before).toMatchObject({ priority: 1, state: 'idle', consecutiveFailures: 0 });
    expect(health.snapshot()).toMatchObject({ priority: 4, state: 'down', consecutiveFailures: 1 });
  });

  it('reads the clock only when going down', () => {
    let reads = 0;
    const health = new LinkModel('a:1', 0, () => {
      reads += 1;
      return 1;
    });
    health.connecting();
    health.up();
    health.measured(1);
    health.noteError(refused());
    health.snapshot();
    expect(reads).toBe(0);
    health.down(refused());
    expect(reads).toBe(1);
    health.down(refused());
    expect(reads).toBe(1);
  });
});

type Link = LinkModel;

function links(count: number): Link[] {
  const now = () => 0;
  return Array.from({ length: count }, (_, i) => new LinkModel(`s${i}:7569`, i, now));
}

const names = (list: readonly Link[]) => list.map((l) => l.server);

describe('orderForNewWork', () => {
  it('returns an empty list for no servers', () => {
    expect(orderForNewWork([])).toEqual([]);
  });

  it('orders healthy servers by priority, whatever the input order', () => {
    const [a, b, c] = links(3) as [Link, Link, Link];
    b.up();
    c.connecting();
    expect(names(orderForNewWork([c, a, b]))).toEqual(['s0:7569', 's1:7569', 's2:7569']);
  });

  it('treats idle, connecting and up alike (priority decides)', () => {
    const [a, b, c] = links(3) as [Link, Link, Link];
    a.connecting();
    b.up();
    // c stays idle.
    expect(names(orderForNewWork([c, b, a]))).toEqual(['s0:7569', 's1:7569', 's2:7569']);
  });

  it('puts down servers last, by priority among themselves', () => {
    const [a, b, c, d] = links(4) as [Link, Link, Link, Link];
    a.down(refused());
    c.down(refused());
    b.up();
    d.up();
    expect(names(orderForNewWork([d, c, b, a]))).toEqual(['s1:7569', 's3:7569', 's0:7569', 's2:7569']);
  });

  it('a recovered higher-priority server comes first again (fail back)', () => {
    const [a, b] = links(2) as [Link, Link];
    a.down(refused());
    b.up();
    expect(names(orderForNewWork([a, b]))).toEqual(['s1:7569', 's0:7569']);
    a.up();
    expect(names(orderForNewWork([a, b]))).toEqual(['s0:7569', 's1:7569']);
  });

  it('a down server being re-dialed still comes last (new work skips it until it is back)', () => {
    const [a, b] = links(2) as [Link, Link];
    a.down(refused());
    a.connecting();
    b.up();
    expect(names(orderForNewWork([a, b]))).toEqual(['s1:7569', 's0:7569']);
  });

  it('drops closed servers', () => {
    const [a, b, c] = links(3) as [Link, Link, Link];
    a.closed();
    c.down(refused());
    c.closed();
    expect(names(orderForNewWork([a, b, c]))).toEqual(['s1:7569']);
  });

  it('drops excluded servers, healthy or down', () => {
    const [a, b, c] = links(3) as [Link, Link, Link];
    c.down(refused());
    expect(names(orderForNewWork([a, b, c], new Set(['s0:7569', 's2:7569'])))).toEqual(['s1:7569']);
    expect(names(orderForNewWork([a, b, c], new Set(['unknown:1'])))).toEqual([
      's0:7569',
      's1:7569',
      's2:7569',
    ]);
  });

  it('can leave nothing', () => {
    const [a, b] = links(2) as [Link, Link];
    a.closed();
    expect(orderForNewWork([a, b], new Set(['s1:7569']))).toEqual([]);
  });

  it('is stable for equal priorities and returns the same objects', () => {
    const now = () => 0;
    const x = Object.assign(new LinkModel('x:1', 0, now), { tag: 'x' });
    const y = Object.assign(new LinkModel('y:1', 0, now), { tag: 'y' });
    const z = Object.assign(new LinkModel('z:1', 0, now), { tag: 'z' });
    expect(orderForNewWork([y, z, x]).map((s) => s.tag)).toEqual(['y', 'z', 'x']);
    expect(orderForNewWork([z, x, y]).map((s) => s.tag)).toEqual(['z', 'x', 'y']);
    const order = orderForNewWork([x, y]);
    expect(order[0]).toBe(x);
    expect(order[1]).toBe(y);
  });

  it('does not reorder its input', () => {
    const list = links(3).reverse();
    const before = [...list];
    orderForNewWork(list);
    expect(list).toEqual(before);
  });

  it('property: a permutation of the usable servers, healthy first, each part sorted stably by priority', () => {
    const stateArb = fc.constantFrom('idle', 'connecting', 'up', 'down', 'closed');
    fc.assert(
      fc.property(
        fc.array(fc.record({ priority: fc.integer({ min: 0, max: 5 }), state: stateArb }), { maxLength: 12 }),
        fc.array(fc.nat({ max: 11 }), { maxLength: 4 }),
        (specs, excludedIndexes) => {
          const now = () => 0;
          const servers = specs.map((spec, i) => {
            const link = Object.assign(new LinkModel(`s${i}:1`, spec.priority, now), { index: i });
            if (spec.state === 'connecting') link.connecting();
            else if (spec.state === 'up') link.up();
            else if (spec.state === 'down') link.down(refused());
            else if (spec.state === 'closed') link.closed();
            return link;
          });
          const exclude = new Set(excludedIndexes.map((i) => `s${i}:1`));
          const order = orderForNewWork(servers, exclude);

          const usable = servers.filter((s) => s.state !== 'closed' && !exclude.has(s.server));
          expect(new Set(order)).toEqual(new Set(usable));
          expect(order).toHaveLength(usable.length);

          const firstDown = order.findIndex((s) => s.state === 'down');
          if (firstDown >= 0) {
            for (const s of order.slice(firstDown)) expect(s.state).toBe('down');
          }
          const parts = firstDown < 0 ? [order] : [order.slice(0, firstDown), order.slice(firstDown)];
          for (const part of parts) {
            for (let i = 1; i < part.length; i++) {
              const prev = part[i - 1]!;
              const cur = part[i]!;
              expect(prev.priority).toBeLessThanOrEqual(cur.priority);
              if (prev.priority === cur.priority) expect(prev.index).toBeLessThan(cur.index);
            }
          }
        },
      ),
    );
  });
});

describe('the link state table', () => {
  const kinds = Object.keys(LINK_MOVES) as Array<keyof typeof LINK_MOVES>;
  const sample = (kind: (typeof kinds)[number]): LinkState => {
    const error = refused();
    switch (kind) {
      case 'idle':
      case 'closed':
        return { kind };
      case 'dialing':
        return { kind, attempt: new Promise<Connection>(() => {}), redial: false };
      case 'up':
        return { kind, connection: {} as Connection, since: 0 };
      case 'draining':
        return { kind, connection: {} as Connection, since: 0, notBefore: 0 };
      case 'backing-off':
        return { kind, error, notBefore: 0 };
      case 'refused':
        return { kind, error, until: 0 };
    }
  };

  it('allows exactly the moves it lists, and refuses every other with IllegalLinkMove', () => {
    for (const from of kinds) {
      for (const to of kinds) {
        const move = () => nextLinkState(sample(from), sample(to), 'a:1');
        if (LINK_MOVES[from].includes(to)) expect(move()).toEqual(sample(to));
        else expect(move).toThrow(IllegalLinkMove);
      }
    }
  });

  it('closed is final, and every state can close', () => {
    expect(LINK_MOVES.closed).toEqual([]);
    for (const kind of kinds.filter((k) => k !== 'closed')) expect(LINK_MOVES[kind]).toContain('closed');
  });

  it('a connection comes up only from a dial', () => {
    for (const kind of kinds) expect(LINK_MOVES[kind].includes('up')).toBe(kind === 'dialing');
  });

  it('shows users idle, connecting (a first dial), up, down (anything lost, refused or draining) and closed', () => {
    expect(kinds.map((kind) => serverStateOf(sample(kind)))).toEqual(
      kinds.map(
        (kind) =>
          ({
            idle: 'idle',
            dialing: 'connecting',
            up: 'up',
            draining: 'down',
            'backing-off': 'down',
            refused: 'down',
            closed: 'closed',
          })[kind],
      ),
    );
    expect(serverStateOf({ kind: 'dialing', attempt: new Promise<Connection>(() => {}), redial: true })).toBe(
      'down',
    );
  });
});

describe('retryDelay: the one backoff policy, as p-retry applies it', () => {
  const low = () => 0;
  const high = () => 0.999_999;
  const policy = { min: 100, max: 5_000 };

  it('attempt 1 is in [min, 2·min)', () => {
    expect(retryDelay(1, policy, low)).toBe(100);
    expect(retryDelay(1, policy, high)).toBe(200);
    expect(retryDelay(1, policy, () => 0.5)).toBe(150);
  });

  it('doubles per attempt until max', () => {
    const lows = [1, 2, 3, 4, 5, 6, 7, 8].map((a) => retryDelay(a, policy, low));
    expect(lows).toEqual([100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000]);
  });

  it('stays at max for very large attempts (no overflow to Infinity or NaN)', () => {
    expect(retryDelay(10_000, policy, high)).toBe(5_000);
    expect(retryDelay(Number.MAX_SAFE_INTEGER, policy, low)).toBe(5_000);
  });

  it('treats attempts below 1 as the first', () => {
    expect(retryDelay(0, policy, low)).toBe(100);
    expect(retryDelay(-3, policy, low)).toBe(100);
  });

  it('uses Math.random by default and stays in bounds', () => {
    for (let i = 0; i < 50; i++) {
      const d = retryDelay(3, policy);
      expect(d).toBeGreaterThanOrEqual(400);
      expect(d).toBeLessThanOrEqual(800);
    }
  });

  it('property: within [base, 2·base] where base = min·2^(attempt-1), and never above max', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
        (attempt, min, extra, r) => {
          const max = min + extra;
          const base = min * 2 ** (attempt - 1);
          const d = retryDelay(attempt, { min, max }, () => r);
          expect(d).toBeLessThanOrEqual(max);
          expect(d).toBe(Math.min(max, Math.round((1 + r) * base)));
        },
      ),
    );
  });
});
