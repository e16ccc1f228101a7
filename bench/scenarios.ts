/**
 * What the benchmark measures. Each scenario returns its raw samples (one per request, or one per
 * round); bench/run.ts turns them into medians, p99s, ratios and targets. Every loop is bounded.
 */
import { LicenseClient, type LicenseClientOptions, type Port } from '../src/index.js';
import { BareClient } from './baseline.js';
import type { ServerProcess } from './server-control.js';
import { collect, inParallel } from './stats.js';

const QUIET: LicenseClientOptions = { licenseCachePeriod: 0 };

function micros(since: number): number {
  return (performance.now() - since) * 1_000;
}

async function pair(client: LicenseClient): Promise<void> {
  const lease = await client.acquire('TTS');
  await lease.release();
}

/** CPU (µs) each process spends per operation, over `count` sequential operations. */
export async function cpuPerOperation(
  proc: ServerProcess,
  count: number,
  operation: () => Promise<void>,
): Promise<{ client: number; server: number }> {
  for (let i = 0; i < 200; i++) await operation();
  const client0 = process.cpuUsage();
  const server0 = await proc.cpu();
  for (let i = 0; i < count; i++) await operation();
  const client1 = process.cpuUsage(client0);
  const server1 = await proc.cpu();
  return { client: (client1.user + client1.system) / count, server: (server1 - server0) / count };
}

/** A bare round trip on a fresh connection, for {@link cpuPerOperation}. */
export async function bareOperation(port: number): Promise<{ run: () => Promise<void>; close: () => void }> {
  const bare = await BareClient.connect(port);
  return { run: () => bare.request(), close: () => bare.close() };
}

/** An acquire + release pair, for {@link cpuPerOperation}. */
export const pairOperation = (client: LicenseClient) => () => pair(client);

/**
 * Bare round trips and acquire + release pairs, one at a time, interleaved (a bare round trip, then a
 * pair, and so on) so that both see the same noise of a shared machine: µs per round trip and per pair.
 */
export async function latencies(
  echoPort: number,
  client: LicenseClient,
  rounds: number,
  perRound: number,
): Promise<{ bare: number[]; pair: number[] }> {
  const bare = await BareClient.connect(echoPort);
  const samples = { bare: [] as number[], pair: [] as number[] };
  try {
    for (let i = 0; i < 300; i++) {
      await bare.request();
      await pair(client);
    }
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < perRound; i++) {
        let started = performance.now();
        await bare.request();
        samples.bare.push(micros(started));
        started = performance.now();
        await pair(client);
        samples.pair.push(micros(started));
      }
    }
  } finally {
    bare.close();
  }
  return samples;
}

/**
 * Bare requests, acquire + release pairs and (when given) the peer's pairs with `depth` in flight on one
 * socket / one client, in alternating rounds: requests per second and pairs per second, one sample per
 * round each.
 */
export async function rates(
  echoPort: number,
  client: LicenseClient,
  depth: number,
  rounds: number,
  perRound: number,
  peer?: () => Promise<void>,
): Promise<{ bare: number[]; pairs: number[]; peer: number[] }> {
  const bare = await BareClient.connect(echoPort);
  const samples = { bare: [] as number[], pairs: [] as number[], peer: [] as number[] };
  const perSecond = (count: number, since: number) => count / ((performance.now() - since) / 1_000);
  try {
    await inParallel(1_000, depth, () => bare.request());
    await inParallel(Math.min(500, perRound), depth, () => pair(client));
    if (peer !== undefined) await inParallel(Math.min(500, perRound), depth, peer);
    for (let r = 0; r < rounds; r++) {
      let started = performance.now();
      await inParallel(perRound * 2, depth, () => bare.request());
      samples.bare.push(perSecond(perRound * 2, started));
      started = performance.now();
      await inParallel(perRound, depth, () => pair(client));
      samples.pairs.push(perSecond(perRound, started));
      if (peer !== undefined) {
        started = performance.now();
        await inParallel(perRound, depth, peer);
        samples.peer.push(perSecond(perRound, started));
      }
    }
  } finally {
    bare.close();
  }
  return samples;
}

/** openPort served from the license cache (a port closed just before): µs per openPort. */
export async function cachedOpenPort(address: string, rounds: number, perRound: number): Promise<number[]> {
  const client = new LicenseClient({ servers: address, licenseCachePeriod: 60 });
  const samples: number[] = [];
  try {
    await (await client.openPort({ licenseType: 'SpeechPort' })).close();
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < perRound; i++) {
        const started = performance.now();
        const port = await client.openPort({ licenseType: 'SpeechPort' });
        samples.push(micros(started));
        if (port.lease === undefined) throw new Error('openPort gave a port without a license');
        await port.close();
      }
    }
    const misses = client.status().cache.length;
    if (misses !== 1) throw new Error(`expected exactly one cached license, found ${misses}`);
  } finally {
    await client.close();
  }
  return samples;
}

/**
 * The primary is killed (its connections reset, its port refuses): ms from the kill command until the
 * next openPort succeeds on the secondary. The secondary is not connected beforehand, as in production
 * where a client only dials the servers it needs.
 */
export async function failoverAfterReset(proc: ServerProcess, rounds: number): Promise<number[]> {
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const a = await proc.start(`reset-a${r}`, { licenses: { FULL: 8 } });
    const b = await proc.start(`reset-b${r}`, { licenses: { FULL: 8 } });
    const client = new LicenseClient({ servers: `${a};${b}`, ...QUIET, gracePeriod: 60_000 });
    try {
      await client.openPort({ licenseType: 'SpeechPort' });
      const started = performance.now();
      await proc.command({ op: 'stop', name: `reset-a${r}` });
      let port: Port | undefined;
      for (let attempt = 0; attempt < 20 && port?.lease?.server !== b; attempt++) {
        port = await client.openPort({ licenseType: 'SpeechPort' });
      }
      if (port?.lease?.server !== b) throw new Error('openPort never reached the secondary');
      samples.push(performance.now() - started);
    } finally {
      await client.close();
      await proc.command({ op: 'close', name: `reset-a${r}` });
      await proc.command({ op: 'close', name: `reset-b${r}` });
    }
  }
  return samples;
}

/**
 * The primary becomes a black hole (accepts, reads, never answers): ms from the pause until an openPort
 * succeeds on the secondary, which includes the primary being declared dead after `requestTimeout`.
 */
export async function failoverAfterBlackHole(
  proc: ServerProcess,
  rounds: number,
  requestTimeout: number,
): Promise<number[]> {
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const a = await proc.start(`hole-a${r}`, { licenses: { FULL: 8 } });
    const b = await proc.start(`hole-b${r}`, { licenses: { FULL: 8 } });
    const client = new LicenseClient({ servers: `${a};${b}`, ...QUIET, requestTimeout, gracePeriod: 60_000 });
    try {
      await client.openPort({ licenseType: 'SpeechPort' });
      await proc.command({ op: 'pause', name: `hole-a${r}` });
      const started = performance.now();
      const port = await client.openPort({ licenseType: 'SpeechPort' });
      const elapsed = performance.now() - started;
      if (port.lease?.server !== b)
        throw new Error(`openPort landed on ${port.lease?.server}, not the secondary`);
      if (client.status().servers[0]?.state !== 'down')
        throw new Error('the black hole was not declared down');
      samples.push(elapsed);
    } finally {
      await proc.command({ op: 'resume', name: `hole-a${r}` });
      await client.close();
      await proc.command({ op: 'close', name: `hole-a${r}` });
      await proc.command({ op: 'close', name: `hole-b${r}` });
    }
  }
  return samples;
}

/**
 * Heap and RSS bytes per open port, with `count` ports held by one client, and the ms it took to open
 * them (100 at a time); one sample per round.
 */
export async function memoryPerPort(
  proc: ServerProcess,
  rounds: number,
  count: number,
): Promise<{ heap: number[]; rss: number[]; openMs: number[]; gc: boolean }> {
  const heap: number[] = [];
  const rss: number[] = [];
  const openMs: number[] = [];
  let gc = false;
  for (let r = 0; r < rounds; r++) {
    const name = `memory${r}`;
    const address = await proc.start(name, { licenses: { FULL: count } });
    const client = new LicenseClient({ servers: address, ...QUIET });
    const ports: Port[] = [];
    try {
      await inParallel(200, 50, async () => {
        await (await client.openPort({ licenseType: 'SpeechPort' })).close();
      });
      gc = await collect();
      const before = process.memoryUsage();
      const started = performance.now();
      await inParallel(count, 100, async () => {
        ports.push(await client.openPort({ licenseType: 'SpeechPort' }));
      });
      openMs.push(performance.now() - started);
      await collect();
      const after = process.memoryUsage();
      heap.push((after.heapUsed - before.heapUsed) / count);
      rss.push((after.rss - before.rss) / count);
    } finally {
      await inParallel(ports.length, 100, async (i) => {
        await ports[i]?.close();
      });
      await client.close();
      await proc.command({ op: 'close', name });
    }
  }
  return { heap, rss, openMs, gc };
}

/**
 * `clients` clients on one server, each doing acquire + release in a loop: grants per second per round,
 * and the server process's CPU (µs, `process.cpuUsage()` there) per grant per round.
 */
export async function fleetGrants(
  proc: ServerProcess,
  clients: number,
  rounds: number,
  roundMs: number,
): Promise<{ rates: number[]; serverCpu: number[] }> {
  const address = await proc.start('fleet', {
    licenses: { TTS: clients * 2 },
    maxConnections: clients + 10,
    recordRequests: false,
  });
  const fleet = Array.from({ length: clients }, () => new LicenseClient({ servers: address, ...QUIET }));
  try {
    await inParallel(clients, 20, async (i) => fleet[i]?.connect());
    const connected = (await proc.command({ op: 'connections', name: 'fleet' })).value;
    if (connected !== clients) throw new Error(`${connected} of ${clients} clients connected`);
    return await fleetRounds(proc, rounds, roundMs, fleet, pair);
  } finally {
    await Promise.all(fleet.map((c) => c.close()));
    await proc.command({ op: 'close', name: 'fleet' });
  }
}

/**
 * The fleet's physical baseline: `clients` bare clients of the server process's echo server, each making
 * two round trips per "grant" one after the other (as a client's acquire and release), for `rounds` rounds
 * of `roundMs`. Grants per second and the server's CPU (µs) per grant, per round.
 */
export async function bareFleetGrants(
  proc: ServerProcess,
  clients: number,
  rounds: number,
  roundMs: number,
): Promise<{ rates: number[]; serverCpu: number[] }> {
  const fleet = await Promise.all(Array.from({ length: clients }, () => BareClient.connect(proc.echoPort)));
  try {
    return await fleetRounds(proc, rounds, roundMs, fleet, async (client) => {
      await client.request();
      await client.request();
    });
  } finally {
    for (const client of fleet) client.close();
  }
}

/**
 * `rounds` rounds of `roundMs`, each member of `fleet` running `grant` in a loop until the round ends:
 * grants per second and the server process's CPU (µs) per grant, per round.
 */
async function fleetRounds<T>(
  proc: ServerProcess,
  rounds: number,
  roundMs: number,
  fleet: readonly T[],
  grant: (member: T) => Promise<void>,
): Promise<{ rates: number[]; serverCpu: number[] }> {
  const rates: number[] = [];
  const serverCpu: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let grants = 0;
    const cpu0 = await proc.cpu();
    const started = performance.now();
    const until = started + roundMs;
    await Promise.all(
      fleet.map(async (member) => {
        for (let i = 0; i < 1_000_000 && performance.now() < until; i++) {
          await grant(member);
          grants += 1;
        }
      }),
    );
    rates.push(grants / ((performance.now() - started) / 1_000));
    serverCpu.push(((await proc.cpu()) - cpu0) / grants);
  }
  return { rates, serverCpu };
}
