import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelay, orderForNewWork, ServerHealth } from '../../src/cluster/health.js';
import { LicensesExceededError, SocketsError, TimeoutError } from '../../src/errors.js';

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
    const health = new ServerHealth('10.0.0.1:7569', 2, clock.now);
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
    const health = new ServerHealth('a:1', 0, clock.now);
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
    const health = new ServerHealth('a:1', 0, clock.now);
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
    const health = new ServerHealth('a:1', 0, manualClock().now);
    const first = refused();
    const second = new TimeoutError('no answer');
    health.down(first);
    health.down(second);
    expect(health.lastError).toBe(second);
  });

  it('can go down without ever having been up (a first connect that fails)', () => {
    const clock = manualClock(42);
    const health = new ServerHealth('a:1', 0, clock.now);
    health.connecting();
    health.down(refused());
    expect(health.snapshot()).toMatchObject({ state: 'down', downSince: 42, consecutiveFailures: 1 });
  });

  it('a down server stays down while it is re-dialed (connecting() only leaves idle)', () => {
    const clock = manualClock(7);
    const health = new ServerHealth('a:1', 0, clock.now);
    health.down(refused());
    clock.advance(10);
    health.connecting();
    expect(health.snapshot()).toMatchObject({ state: 'down', downSince: 7, consecutiveFailures: 1 });
  });

  it('connecting() does not take an up server back to connecting', () => {
    const health = new ServerHealth('a:1', 0, manualClock().now);
    health.connecting();
    health.up();
    health.connecting();
    expect(health.state).toBe('up');
  });

  it('keeps downSince and counts failures through failed reconnect attempts (down → connecting → down)', () => {
    const clock = manualClock(1_000);
    const health = new ServerHealth('a:1', 0, clock.now);
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
    const health = new ServerHealth('a:1', 0, clock.now);
    health.down(refused());
    health.connecting();
    health.up();
    expect(health.snapshot()).toMatchObject({ state: 'up', downSince: undefined, consecutiveFailures: 0 });
  });

  it('up() clears downSince and resets consecutiveFailures but keeps the last error', () => {
    const clock = manualClock(0);
    const health = new ServerHealth('a:1', 0, clock.now);
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
    const health = new ServerHealth('a:1', 0, clock.now);
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
    const health = new ServerHealth('a:1', 0, clock.now);
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
      (h: ServerHealth) => h.connecting(),
      (h: ServerHealth) => h.up(),
      (h: ServerHealth) => h.down(refused()),
    ]) {
      const health = new ServerHealth('a:1', 0, manualClock().now);
      enter(health);
      health.closed();
      expect(health.state).toBe('closed');
    }
  });

  it('noteError() records the error without changing state or counters', () => {
    const clock = manualClock(0);
    const health = new ServerHealth('a:1', 0, clock.now);
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
    const health = new ServerHealth('a:1', 0, clock.now);
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
    const health = new ServerHealth('a:1', 0, manualClock().now);
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
    const health = new ServerHealth('a:1', 1, clock.now);
    const before = health.snapshot();
    health.priority = 4;
    health.down(refused());
    expect(before).toMatchObject({ priority: 1, state: 'idle', consecutiveFailures: 0 });
    expect(health.snapshot()).toMatchObject({ priority: 4, state: 'down', consecutiveFailures: 1 });
  });

  it('reads the clock only when going down', () => {
    let reads = 0;
    const health = new ServerHealth('a:1', 0, () => {
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

interface Link {
  readonly health: ServerHealth;
}

function links(count: number): Link[] {
  const now = () => 0;
  return Array.from({ length: count }, (_, i) => ({ health: new ServerHealth(`s${i}:7569`, i, now) }));
}

const names = (list: readonly Link[]) => list.map((l) => l.health.server);

describe('orderForNewWork', () => {
  it('returns an empty list for no servers', () => {
    expect(orderForNewWork([])).toEqual([]);
  });

  it('orders healthy servers by priority, whatever the input order', () => {
    const [a, b, c] = links(3) as [Link, Link, Link];
    b.health.up();
    c.health.connecting();
    expect(names(orderForNewWork([c, a, b]))).toEqual(['s0:7569', 's1:7569', 's2:7569']);
  });

  it('treats idle, connecting and up alike (priority decides)', () => {
    const [a, b, c] = links(3) as [Link, Link, Link];
    a.health.connecting();
    b.health.up();
    // c stays idle.
    expect(names(orderForNewWork([c, b, a]))).toEqual(['s0:7569', 's1:7569', 's2:7569']);
  });

  it('puts down servers last, by priority among themselves', () => {
    const [a, b, c, d] = links(4) as [Link, Link, Link, Link];
    a.health.down(refused());
    c.health.down(refused());
    b.health.up();
    d.health.up();
    expect(names(orderForNewWork([d, c, b, a]))).toEqual(['s1:7569', 's3:7569', 's0:7569', 's2:7569']);
  });

  it('a recovered higher-priority server comes first again (fail back)', () => {
    const [a, b] = links(2) as [Link, Link];
    a.health.down(refused());
    b.health.up();
    expect(names(orderForNewWork([a, b]))).toEqual(['s1:7569', 's0:7569']);
    a.health.up();
    expect(names(orderForNewWork([a, b]))).toEqual(['s0:7569', 's1:7569']);
  });

  it('a down server being re-dialed still comes last (new work skips it until it is back)', () => {
    const [a, b] = links(2) as [Link, Link];
    a.health.down(refused());
    a.health.connecting();
    b.health.up();
    expect(names(orderForNewWork([a, b]))).toEqual(['s1:7569', 's0:7569']);
  });

  it('drops closed servers', () => {
    const [a, b, c] = links(3) as [Link, Link, Link];
    a.health.closed();
    c.health.down(refused());
    c.health.closed();
    expect(names(orderForNewWork([a, b, c]))).toEqual(['s1:7569']);
  });

  it('drops excluded servers, healthy or down', () => {
    const [a, b, c] = links(3) as [Link, Link, Link];
    c.health.down(refused());
    expect(names(orderForNewWork([a, b, c], new Set(['s0:7569', 's2:7569'])))).toEqual(['s1:7569']);
    expect(names(orderForNewWork([a, b, c], new Set(['unknown:1'])))).toEqual([
      's0:7569',
      's1:7569',
      's2:7569',
    ]);
  });

  it('can leave nothing', () => {
    const [a, b] = links(2) as [Link, Link];
    a.health.closed();
    expect(orderForNewWork([a, b], new Set(['s1:7569']))).toEqual([]);
  });

  it('is stable for equal priorities and returns the same objects', () => {
    const now = () => 0;
    const x = { health: new ServerHealth('x:1', 0, now), tag: 'x' };
    const y = { health: new ServerHealth('y:1', 0, now), tag: 'y' };
    const z = { health: new ServerHealth('z:1', 0, now), tag: 'z' };
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
            const health = new ServerHealth(`s${i}:1`, spec.priority, now);
            if (spec.state === 'connecting') health.connecting();
            else if (spec.state === 'up') health.up();
            else if (spec.state === 'down') health.down(refused());
            else if (spec.state === 'closed') health.closed();
            return { health, index: i };
          });
          const exclude = new Set(excludedIndexes.map((i) => `s${i}:1`));
          const order = orderForNewWork(servers, exclude);

          const usable = servers.filter((s) => s.health.state !== 'closed' && !exclude.has(s.health.server));
          expect(new Set(order)).toEqual(new Set(usable));
          expect(order).toHaveLength(usable.length);

          const firstDown = order.findIndex((s) => s.health.state === 'down');
          if (firstDown >= 0) {
            for (const s of order.slice(firstDown)) expect(s.health.state).toBe('down');
          }
          const parts = firstDown < 0 ? [order] : [order.slice(0, firstDown), order.slice(firstDown)];
          for (const part of parts) {
            for (let i = 1; i < part.length; i++) {
              const prev = part[i - 1]!;
              const cur = part[i]!;
              expect(prev.health.priority).toBeLessThanOrEqual(cur.health.priority);
              if (prev.health.priority === cur.health.priority) expect(prev.index).toBeLessThan(cur.index);
            }
          }
        },
      ),
    );
  });
});

describe('backoffDelay', () => {
  const low = () => 0;
  const high = () => 1;

  it('attempt 1 is in [min/2, min]', () => {
    expect(backoffDelay(1, 100, 5_000, low)).toBe(50);
    expect(backoffDelay(1, 100, 5_000, high)).toBe(100);
    expect(backoffDelay(1, 100, 5_000, () => 0.5)).toBe(75);
  });

  it('doubles per attempt until max', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 8].map((a) => backoffDelay(a, 100, 5_000, high));
    expect(delays).toEqual([100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000]);
    const lows = [1, 2, 3, 4, 5, 6, 7, 8].map((a) => backoffDelay(a, 100, 5_000, low));
    expect(lows).toEqual([50, 100, 200, 400, 800, 1_600, 2_500, 2_500]);
  });

  it('stays at max for very large attempts (no overflow to Infinity or NaN)', () => {
    expect(backoffDelay(10_000, 100, 5_000, high)).toBe(5_000);
    expect(backoffDelay(Number.MAX_SAFE_INTEGER, 100, 5_000, low)).toBe(2_500);
  });

  it('treats attempts below 1 as the first', () => {
    expect(backoffDelay(0, 100, 5_000, high)).toBe(100);
    expect(backoffDelay(-3, 100, 5_000, low)).toBe(50);
  });

  it('returns whole milliseconds', () => {
    expect(backoffDelay(1, 101, 5_000, low)).toBe(51);
    expect(Number.isInteger(backoffDelay(3, 33, 1_000, () => 0.123))).toBe(true);
  });

  it('uses Math.random by default and stays in bounds', () => {
    for (let i = 0; i < 50; i++) {
      const d = backoffDelay(3, 100, 5_000);
      expect(d).toBeGreaterThanOrEqual(200);
      expect(d).toBeLessThanOrEqual(400);
    }
  });

  it('calls random once per delay', () => {
    let calls = 0;
    backoffDelay(4, 100, 5_000, () => {
      calls += 1;
      return 0.3;
    });
    expect(calls).toBe(1);
  });

  it('property: within [base/2, base] where base = min(max, min·2^(attempt-1)), and never above max', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
        (attempt, min, extra, r) => {
          const max = min + extra;
          const base = Math.min(max, min * 2 ** (attempt - 1));
          const d = backoffDelay(attempt, min, max, () => r);
          expect(d).toBeGreaterThanOrEqual(Math.round(base / 2));
          expect(d).toBeLessThanOrEqual(base);
          expect(d).toBeLessThanOrEqual(max);
          expect(backoffDelay(attempt, min, max, low)).toBe(Math.round(base / 2));
          expect(backoffDelay(attempt, min, max, high)).toBe(base);
        },
      ),
    );
  });

  it('property: with a fixed random, the delay never decreases as attempts grow', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
        (min, extra, r) => {
          const max = min + extra;
          let previous = 0;
          for (let attempt = 1; attempt <= 40; attempt++) {
            const d = backoffDelay(attempt, min, max, () => r);
            expect(d).toBeGreaterThanOrEqual(previous);
            previous = d;
          }
          expect(previous).toBe(Math.round(max * (0.5 + r * 0.5)));
        },
      ),
    );
  });
});
