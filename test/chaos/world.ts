/**
 * The chaos test's world: fake servers with small pools, clients that open and close ports and acquire
 * and release at random, and a fault loop that stops, restarts, pauses and resumes the servers and drops
 * their connections. Every choice comes from one seeded PRNG.
 */
import * as net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  isLicenseError,
  type Lease,
  LicenseClient,
  type LicenseClientOptions,
  OpenPortError,
  type Port,
} from '../../src/index.js';
import { FakeLicenseServer } from '../../src/testing/index.js';
import type { ClientSnapshot, ServerSnapshot } from './invariants.js';
import type { Rng } from './prng.js';

export const POOL = Object.freeze({ FULL: 3, LITE: 2, TTS: 2 });
export const LEASE_TTL = 1_000;

/** Client settings: short deadlines so that faults are noticed and settled within the test. */
export const CLIENT_OPTIONS: LicenseClientOptions = {
  connectTimeout: 300,
  requestTimeout: 400,
  operationTimeout: 1_500,
  gracePeriod: 300,
  closeTimeout: 1_000,
  reconnectDelay: { min: 20, max: 200 },
};

const ACCOUNT = { username: 'chaos-app', password: 'chaos-pass-7f3k' };

/** The longest any one call may take before the test calls it a hang (deadline plus a noisy-machine margin). */
const HANG_MS = 5_000;

interface ChaosServer {
  readonly name: string;
  readonly server: FakeLicenseServer;
  paused: boolean;
  stopped: boolean;
  /** A fault is in progress on this server (one at a time per server). */
  busy: boolean;
}

interface ChaosClient {
  readonly name: string;
  client: LicenseClient;
  ports: Port[];
  leases: Lease[];
  generation: number;
}

export interface ChaosStats {
  operations: number;
  licenseErrors: Record<string, number>;
  faults: Record<string, number>;
  clientRestarts: number;
  /** `batch` frames the servers received (protocol 1.2), as far as their request logs reach. */
  batches?: number;
  /** ms the clients took to settle after the faults stopped. */
  settledIn?: number;
  /** Seats in use on each server once settled. */
  heldAtEnd?: number[];
}

/**
 * Which servers take `batch` frames (protocol 1.2): all of them, or all but the first, which speaks 1.1
 * and gets one frame per operation (clients list it first in a third of the rotations).
 */
export type ChaosBatching = 'all' | 'all but one';

export class ChaosWorld {
  readonly rng: Rng;
  readonly servers: ChaosServer[] = [];
  readonly clients: ChaosClient[] = [];
  readonly violations: string[] = [];
  readonly stats: ChaosStats = { operations: 0, licenseErrors: {}, faults: {}, clientRestarts: 0 };
  readonly #pending = new Set<Promise<unknown>>();
  /** Half of the seeds run the servers in authentication mode (SCRAM on every reconnect). */
  readonly authMode: boolean;
  #stopWork = false;
  #stopFaults = false;

  /** Seats per feature on each server. */
  readonly pool: Readonly<Record<string, number>> = POOL;

  readonly batching: ChaosBatching;

  constructor(rng: Rng, batching: ChaosBatching = 'all') {
    this.rng = rng;
    this.authMode = rng.chance(0.5);
    this.batching = batching;
  }

  async start(serverCount: number, clientCount: number): Promise<void> {
    for (let i = 0; i < serverCount; i++) {
      const server = await FakeLicenseServer.start({
        port: 0,
        host: '127.0.0.1',
        leaseTtl: LEASE_TTL,
        // Room for every client and as many more: the flood fault fills the rest with idle connections.
        maxConnections: 2 * clientCount,
        ...(this.batching === 'all but one' && i === 0 ? { maxBatch: 0 } : {}),
        ...(this.authMode
          ? { accounts: { [ACCOUNT.username]: { password: ACCOUNT.password, licenses: this.pool } } }
          : { licenses: this.pool }),
      });
      this.servers.push({ name: `server${i}`, server, paused: false, stopped: false, busy: false });
    }
    for (let i = 0; i < clientCount; i++) {
      const slot: ChaosClient = {
        name: `client${i}`,
        client: this.#newClient(i),
        ports: [],
        leases: [],
        generation: 0,
      };
      this.clients.push(slot);
    }
  }

  /** Client i lists the servers rotated by i, so that every server is someone's primary. */
  #newClient(i: number): LicenseClient {
    const order = this.servers.map((_, k) => this.servers[(k + i) % this.servers.length]?.server.address);
    return new LicenseClient({
      servers: order.join(';'),
      ...CLIENT_OPTIONS,
      ...(this.authMode ? ACCOUNT : {}),
      licenseCachePeriod: i % 4 === 0 ? 1 : 0,
    });
  }

  // ---- snapshots -----------------------------------------------------------------------------------

  serverSnapshots(): ServerSnapshot[] {
    return this.servers.map(({ name, server }) => ({
      name,
      address: server.address,
      pool: this.pool,
      inUse: (feature: string) => server.inUse(feature),
      leases: server.leases(),
    }));
  }

  clientSnapshots(): ClientSnapshot[] {
    return this.clients.map((c) => ({
      name: `${c.name}#${c.generation}`,
      status: c.client.status(),
      portLeases: c.ports
        .filter((p) => p.state === 'open' && p.lease !== undefined)
        .map((p) => p.lease?.id ?? ''),
      acquired: c.leases.filter((l) => l.state !== 'released').map((l) => l.id),
    }));
  }

  // ---- the clients' work ---------------------------------------------------------------------------

  /** One loop per client, until {@link ChaosWorld.stopWork}. */
  work(): Promise<void>[] {
    return this.clients.map((slot) => this.#workLoop(slot));
  }

  async #workLoop(slot: ChaosClient): Promise<void> {
    while (!this.#stopWork) {
      await sleep(this.rng.int(5, 60));
      if (this.#stopWork) break;
      const action = this.#chooseAction(slot);
      const started = Date.now();
      try {
        await action.run();
      } catch (err) {
        this.#expectLicenseError(slot, action.name, err);
      }
      const took = Date.now() - started;
      if (took > HANG_MS)
        this.violations.push(`${slot.name} ${action.name} took ${took} ms (over ${HANG_MS} ms): a hang`);
      this.stats.operations += 1;
    }
  }

  #chooseAction(slot: ChaosClient): { name: string; run: () => Promise<unknown> } {
    const { rng } = this;
    const roll = rng.next();
    const { client } = slot;
    if (roll < 0.01) return { name: 'restart the client', run: () => this.#restartClient(slot) };
    if (roll < 0.35 && slot.ports.length < 2) {
      const licenseType = rng.pick(['Auto', 'SpeechPort', 'VoxLite'] as const);
      const wait = rng.chance(0.15) ? rng.int(50, 300) : undefined;
      const options = this.#withSignal({ licenseType, ...(wait === undefined ? {} : { wait }) });
      return {
        name: `openPort(${licenseType})`,
        run: async () => {
          const port = await client.openPort(options);
          if (slot.client === client) slot.ports.push(port);
          else await port.close();
        },
      };
    }
    if (roll < 0.55 && slot.ports.length > 0) {
      const port = rng.pick(slot.ports);
      slot.ports = slot.ports.filter((p) => p !== port);
      return { name: 'port.close()', run: () => port.close() };
    }
    if (roll < 0.7 && slot.leases.length < 1) {
      const count = rng.int(1, 2);
      return {
        name: `acquire(TTS x${count})`,
        run: async () => {
          const lease = await client.acquire('TTS', this.#withSignal({ count }));
          if (slot.client === client) slot.leases.push(lease);
          else await lease.release();
        },
      };
    }
    if (roll < 0.85 && slot.leases.length > 0) {
      const lease = rng.pick(slot.leases);
      slot.leases = slot.leases.filter((l) => l !== lease);
      return { name: 'lease.release()', run: () => lease.release() };
    }
    if (slot.ports.length > 0) {
      const port = rng.pick(slot.ports);
      return {
        name: 'loadVoiceChannel',
        run: async () => {
          try {
            await client.loadVoiceChannel(port, 0);
          } catch (err) {
            // A lost license: the application closes the port, as the docs tell it to.
            if (isLicenseError(err) && err.code === -41) {
              slot.ports = slot.ports.filter((p) => p !== port);
              await port.close();
            }
            throw err;
          }
        },
      };
    }
    return { name: 'status()', run: async () => client.status() };
  }

  /** Now and then the application gives up on a call early: the acquire may still be granted late. */
  #callerSignal(): AbortSignal | undefined {
    return this.rng.chance(0.2) ? AbortSignal.timeout(this.rng.int(1, 300)) : undefined;
  }

  #withSignal<T extends object>(options: T): T & { signal?: AbortSignal } {
    const signal = this.#callerSignal();
    return signal === undefined ? options : { ...options, signal };
  }

  async #restartClient(slot: ChaosClient): Promise<void> {
    const old = slot.client;
    slot.client = this.#newClient(Number(slot.name.replace('client', '')));
    slot.generation += 1;
    slot.ports = [];
    slot.leases = [];
    this.stats.clientRestarts += 1;
    const started = Date.now();
    await old.close();
    const took = Date.now() - started;
    if (took > HANG_MS) this.violations.push(`${slot.name} close() took ${took} ms: a hang`);
  }

  #expectLicenseError(slot: ChaosClient, action: string, err: unknown): void {
    if (!isLicenseError(err)) {
      this.violations.push(`${slot.name} ${action} threw a non-LicenseError: ${String(err)}`);
      return;
    }
    if (action.startsWith('openPort') && !(err instanceof OpenPortError && err.code === -1)) {
      this.violations.push(
        `${slot.name} ${action} rejected with ${err.name} (${err.code}), not OpenPortError -1`,
      );
    }
    const code = err instanceof OpenPortError ? `openPort:${err.status}` : `${err.codeName}`;
    this.stats.licenseErrors[code] = (this.stats.licenseErrors[code] ?? 0) + 1;
  }

  stopWork(): void {
    this.#stopWork = true;
  }

  // ---- faults --------------------------------------------------------------------------------------

  /** Injects faults until {@link ChaosWorld.stopFaults}; calls `check` after each one. */
  async faults(check: (after: string) => void): Promise<void> {
    const { rng } = this;
    while (!this.#stopFaults) {
      await sleep(rng.int(150, 500));
      if (this.#stopFaults) break;
      const free = this.servers.filter((s) => !s.busy);
      if (free.length === 0) continue;
      const s = rng.pick(free);
      const fault = rng.pick(['stop', 'pause', 'drop', 'slow', 'flood'] as const);
      this.stats.faults[fault] = (this.stats.faults[fault] ?? 0) + 1;
      if (fault === 'drop') {
        s.server.dropConnections();
      } else if (fault === 'flood') {
        // A burst of idle connections fills the server to its limit, and its clients are cut off: they
        // reconnect into a full server (-22) until the burst ends.
        s.busy = true;
        const flood = await fillConnections(s.server);
        s.server.dropConnections();
        this.#later(rng.int(100, 700), async () => {
          for (const socket of flood) socket.destroy();
          s.busy = false;
        });
      } else if (fault === 'slow') {
        // Answers late, sometimes later than the request timeout: late grants the client gave up on.
        s.busy = true;
        s.server.delay(rng.int(50, 600));
        this.#later(rng.int(200, 800), async () => {
          s.server.delay(0);
          s.busy = false;
        });
      } else if (fault === 'stop') {
        s.busy = true;
        s.stopped = true;
        await s.server.stop();
        this.#later(rng.int(100, 900), async () => {
          await s.server.restart();
          s.stopped = false;
          s.busy = false;
        });
      } else {
        s.busy = true;
        s.paused = true;
        s.server.pause();
        this.#later(rng.int(100, 700), async () => {
          s.server.resume();
          s.paused = false;
          s.busy = false;
        });
      }
      check(`${fault} ${s.name}`);
    }
  }

  #later(ms: number, run: () => Promise<void>): void {
    const task = sleep(ms).then(run);
    this.#pending.add(task);
    void task.finally(() => this.#pending.delete(task));
  }

  /** Stops injecting faults, and brings every server back (listening, answering). */
  async stopFaults(loop: Promise<void>): Promise<void> {
    this.#stopFaults = true;
    await loop;
    await Promise.all([...this.#pending]);
    for (const s of this.servers) {
      s.server.delay(0);
      if (s.paused) s.server.resume();
      if (s.stopped || !s.server.listening) await s.server.restart();
      s.paused = false;
      s.stopped = false;
      s.busy = false;
    }
  }

  /** The application gives everything back: every port closed, every lease released. */
  async releaseEverything(): Promise<void> {
    await Promise.all(
      this.clients.map(async (slot) => {
        const ports = slot.ports.splice(0);
        const leases = slot.leases.splice(0);
        await Promise.all([...ports.map((p) => p.close()), ...leases.map((l) => l.release())]);
      }),
    );
  }

  /**
   * Liveness after the chaos: every client still reaches its servers (none stuck down) and can open a
   * port and close it again. Returns what failed.
   */
  async stillWorking(): Promise<string[]> {
    const out: string[] = [];
    for (const slot of this.clients) {
      const stuck = slot.client.status().servers.filter((s) => s.state === 'down' || s.state === 'closed');
      for (const s of stuck)
        out.push(`${slot.name} still sees ${s.server} as ${s.state}: ${s.lastError?.message}`);
      try {
        const port = await slot.client.openPort({ licenseType: 'SpeechPort' });
        await port.close();
      } catch (err) {
        out.push(`${slot.name} cannot open a port after the chaos: ${String(err)}`);
      }
    }
    return out;
  }

  /** Closes every client, then every server. */
  async close(): Promise<void> {
    this.#stopWork = true;
    this.#stopFaults = true;
    await Promise.all([...this.#pending].map((p) => p.catch(() => {})));
    await Promise.all(this.clients.map((c) => c.client.close()));
  }

  /** The `batch` frames the servers received so far (their request logs keep the last 10,000 requests). */
  batchesReceived(): number {
    return this.servers.reduce(
      (sum, s) => sum + s.server.requests().filter((r) => r.op === 'batch').length,
      0,
    );
  }

  /** Each server's port, to its name (the ports it listened on last). */
  serverPorts(): Map<number, string> {
    return new Map(this.servers.map((s) => [s.server.port, s.name]));
  }

  async closeServers(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.server.close()));
  }
}

/** Opens idle connections to `server` until it refuses more; returns them, open. */
async function fillConnections(server: FakeLicenseServer): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  for (let i = 0; i < 200; i++) {
    const socket = net.connect({ host: server.host, port: server.port });
    socket.on('error', () => {});
    sockets.push(socket);
    // The server greets an accepted connection, and answers -22 and closes one it has no room for.
    const first = await new Promise<string>((resolve) => {
      socket.once('data', (chunk: Buffer) => resolve(chunk.toString('utf8')));
      socket.once('close', () => resolve(''));
    });
    if (!first.includes('"type":"greeting"')) break;
  }
  return sockets;
}
