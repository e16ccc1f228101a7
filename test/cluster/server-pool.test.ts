/**
 * ServerPool's failover and retry loop alone: stub links and fake timers, so the backoff between passes,
 * the deadline and the bookkeeping of unanswered acquires run in milliseconds.
 */
import { EventEmitter } from 'eventemitter3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ServerState } from '../../src/cluster/link-state.js';
import type { AcquireRequest, PoolLink } from '../../src/cluster/pool-types.js';
import type { ServerLinkEvents } from '../../src/cluster/server-link.js';
import { ServerPool } from '../../src/cluster/server-pool.js';
import {
  LicensesExceededError,
  NoServerRespondingError,
  SocketsError,
  TimeoutError,
} from '../../src/errors.js';

type Behaviour = 'grant' | 'exhausted' | 'refused' | 'cut' | 'bug';

/** One server: answers every acquire as `behaviour` says, and counts them. */
class StubLink extends EventEmitter<ServerLinkEvents> {
  readonly server: string;
  priority: number;
  state: ServerState = 'idle';
  behaviour: Behaviour = 'grant';
  asked = 0;
  readonly session = undefined;

  constructor(server: string, priority: number) {
    super();
    this.server = server;
    this.priority = priority;
  }

  get isUp(): boolean {
    return this.state === 'up';
  }

  async request(
    _op: string,
    params: { lease: string },
    options: { onUnsettled?: (() => void) | undefined } = {},
  ): Promise<never> {
    this.asked += 1;
    switch (this.behaviour) {
      case 'grant':
        this.state = 'up';
        return { lease: params.lease, feature: 'FULL', count: 1, ttl: 30_000, reclaimed: false } as never;
      case 'exhausted':
        throw new LicensesExceededError(`${this.server}: FULL pool exhausted`, { server: this.server });
      case 'refused':
        this.state = 'down';
        throw new SocketsError(`Connection refused by ${this.server}`, { server: this.server });
      case 'cut':
        options.onUnsettled?.();
        this.state = 'down';
        throw new SocketsError(`${this.server} closed the connection`, { server: this.server });
      case 'bug':
        throw new TypeError('x is not a function');
    }
  }

  /** {@link StubLink.request}, settling a sink as ServerLink.send does (never from inside the call). */
  send(
    op: string,
    params: { lease: string },
    _options: unknown,
    sink: { resolve(value: unknown): void; reject(err: unknown, uncertain: boolean): void },
  ): void {
    let uncertain = false;
    const onUnsettled = () => {
      uncertain = true;
    };
    this.request(op, params, { onUnsettled }).then(
      (value) => sink.resolve(value),
      (err: unknown) => sink.reject(err, uncertain),
    );
  }

  snapshot() {
    return {} as ReturnType<PoolLink['snapshot']>;
  }
  connection = () => Promise.reject(new SocketsError('not in this test'));
  renew = async () => new Set<string>();
  release = async () => {};
  reacquire = async () => ({}) as never;
  settleReceived = () => false;
  setCredentials = () => {};
  close = async () => {};
}

let stubs: StubLink[];

function pool(count: number): ServerPool {
  stubs = [];
  return new ServerPool({
    servers: Array.from({ length: count }, (_, i) => ({ host: `10.0.0.${i + 1}`, port: 7569, tls: false })),
    settings: {
      connectTimeout: 100,
      requestTimeout: 100,
      reconnectDelay: { min: 10, max: 100 },
      misconfiguredCoolDown: 1_000,
      now: Date.now,
    },
    retryDelay: { min: 50, max: 1_000 },
    makeLink: (address, priority) => {
      const stub = new StubLink(address.label, priority);
      stubs.push(stub);
      return stub as unknown as PoolLink;
    },
  });
}

/** A call with a deadline, as LicenseClient's CallDeadlines makes it (its reason is a TimeoutError). */
function call(ms: number, extra: Partial<AcquireRequest> = {}): AcquireRequest {
  const controller = new AbortController();
  setTimeout(() => controller.abort(new TimeoutError('deadline')), ms);
  return {
    lease: 'L1',
    feature: 'FULL',
    count: 1,
    signal: controller.signal,
    operation: 'openPort',
    ...extra,
  };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.clearAllTimers();
  vi.useRealTimers();
});

describe('ServerPool.acquire', () => {
  it('asks the servers in priority order and fails over from a refused one', async () => {
    const servers = pool(2);
    const failovers: unknown[] = [];
    servers.on('failover', (info) => failovers.push(info));
    stubs[0]!.behaviour = 'refused';
    const granted = await servers.acquire(call(5_000));
    expect(granted.link.server).toBe('10.0.0.2:7569');
    expect(failovers).toEqual([
      expect.objectContaining({ from: '10.0.0.1:7569', to: '10.0.0.2:7569', operation: 'openPort' }),
    ]);
  });

  it('asks servers that are down last, and comes back to a recovered primary first (fail back)', async () => {
    const servers = pool(2);
    stubs[0]!.state = 'down';
    stubs[1]!.state = 'up';
    expect((await servers.acquire(call(5_000))).link.server).toBe('10.0.0.2:7569');
    expect(stubs[0]!.asked).toBe(0);
    stubs[0]!.state = 'up';
    expect((await servers.acquire(call(5_000))).link.server).toBe('10.0.0.1:7569');
  });

  it('is LicensesExceededError (-26) when every server that answered is full', async () => {
    const servers = pool(2);
    for (const stub of stubs) stub.behaviour = 'exhausted';
    await expect(servers.acquire(call(5_000))).rejects.toBeInstanceOf(LicensesExceededError);
    expect(stubs.map((s) => s.asked)).toEqual([1, 1]);
  });

  it('retries whole passes with the backoff policy while no server answers, until the deadline', async () => {
    const servers = pool(2);
    for (const stub of stubs) stub.behaviour = 'refused';
    const retries: number[] = [];
    servers.on('retry', (info) => retries.push(info.attempt));
    const settled = servers.acquire(call(1_000)).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(1_000);
    const err = await settled;
    expect(err).toBeInstanceOf(NoServerRespondingError);
    expect((err as NoServerRespondingError).errors.map((e) => e.server)).toEqual([
      '10.0.0.1:7569',
      '10.0.0.2:7569',
    ]);
    // Waits of [50,100), [100,200), [200,400), [400,800)... ms: 4 to 5 passes in 1 s, not a busy loop.
    expect(stubs[0]!.asked).toBeGreaterThanOrEqual(4);
    expect(stubs[0]!.asked).toBeLessThanOrEqual(5);
    expect(retries).toEqual(Array.from({ length: retries.length }, (_, i) => i + 1));
  });

  it('makes one pass only when asked (a migration)', async () => {
    const servers = pool(1);
    stubs[0]!.behaviour = 'refused';
    await expect(servers.acquire(call(5_000, { retry: false }))).rejects.toBeInstanceOf(
      NoServerRespondingError,
    );
    expect(stubs[0]!.asked).toBe(1);
  });

  it('a grant that succeeds after a pass retry is not reported as uncertain on the granting server', async () => {
    const servers = pool(1);
    const uncertain: unknown[] = [];
    servers.on('uncertain', (info) => uncertain.push(info));
    stubs[0]!.behaviour = 'cut';
    const granting = servers.acquire(call(5_000));
    await vi.advanceTimersByTimeAsync(10);
    stubs[0]!.behaviour = 'grant';
    await vi.advanceTimersByTimeAsync(200);
    await granting;
    expect(uncertain).toEqual([]);
  });

  it('an acquire cut before its answer marks the id uncertain on that server', async () => {
    const servers = pool(2);
    const uncertain: unknown[] = [];
    servers.on('uncertain', (info) => uncertain.push(info));
    stubs[0]!.behaviour = 'cut';
    expect((await servers.acquire(call(5_000))).link.server).toBe('10.0.0.2:7569');
    expect(uncertain).toEqual([{ server: '10.0.0.1:7569', lease: 'L1' }]);
  });

  it('a bug stops the call at once as LV_EXCEPTION (-68), without asking the next server', async () => {
    const servers = pool(2);
    stubs[0]!.behaviour = 'bug';
    const err = (await servers.acquire(call(5_000)).catch((e: unknown) => e)) as {
      code: number;
      cause: unknown;
    };
    expect(err.code).toBe(-68);
    expect(err.cause).toBeInstanceOf(TypeError);
    expect(stubs[1]!.asked).toBe(0);
  });
});
