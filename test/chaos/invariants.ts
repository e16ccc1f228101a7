/**
 * The invariants the chaos test checks, as pure functions over snapshots: each returns the list of
 * violations it found (empty when all is well), worded so that a failing run says what broke.
 */
import * as net from 'node:net';
import type { ClientStatus } from '../../src/index.js';

/** What a server says about itself: its pool, its seats in use and its leases. */
export interface ServerSnapshot {
  readonly name: string;
  readonly address: string;
  readonly pool: Readonly<Record<string, number>>;
  readonly inUse: (feature: string) => number;
  readonly leases: ReadonlyArray<{ readonly id: string; readonly feature: string; readonly count: number }>;
}

/**
 * Checked all along: no server grants beyond its pool, and no seat is counted twice (per server, the
 * seats in use of each feature are exactly the sum of its distinct leases' counts).
 */
export function poolViolations(servers: readonly ServerSnapshot[]): string[] {
  const out: string[] = [];
  let seats = 0;
  let pools = 0;
  for (const s of servers) {
    const seen = new Set<string>();
    const sums = new Map<string, number>();
    for (const lease of s.leases) {
      if (seen.has(lease.id)) out.push(`${s.name}: lease ${lease.id} is listed twice`);
      seen.add(lease.id);
      sums.set(lease.feature, (sums.get(lease.feature) ?? 0) + lease.count);
    }
    for (const [feature, total] of Object.entries(s.pool)) {
      const used = s.inUse(feature);
      seats += used;
      pools += total;
      if (used > total) out.push(`${s.name}: ${used} ${feature} seats in use, beyond its pool of ${total}`);
      const counted = sums.get(feature) ?? 0;
      if (used !== counted) {
        out.push(`${s.name}: inUse(${feature}) is ${used} but its distinct leases hold ${counted} seats`);
      }
    }
    for (const feature of sums.keys()) {
      if (!(feature in s.pool)) out.push(`${s.name}: leases of ${feature}, a feature it has no pool of`);
    }
  }
  if (seats > pools) out.push(`${seats} seats in use on all servers, beyond the ${pools} of all pools`);
  return out;
}

/** What one client believes it holds: its status, and the leases its open ports and its acquires hold. */
export interface ClientSnapshot {
  readonly name: string;
  readonly status: ClientStatus;
  /** Lease ids of its open ports, one entry per port (a port without a lease is left out). */
  readonly portLeases: readonly string[];
  /** Lease ids of the leases it acquired and has not released. */
  readonly acquired: readonly string[];
}

/** Checked all along, on the client side: no lease serves two ports (or a port and an acquire). */
export function clientViolations(clients: readonly ClientSnapshot[]): string[] {
  const out: string[] = [];
  const owner = new Map<string, string>();
  for (const c of clients) {
    const users = [
      ...c.portLeases.map((id) => [id, 'a port'] as const),
      ...c.acquired.map((id) => [id, 'an acquire'] as const),
    ];
    for (const [id, what] of users) {
      const previous = owner.get(id);
      if (previous !== undefined) out.push(`lease ${id} is used by ${previous} and by ${what} of ${c.name}`);
      owner.set(id, `${what} of ${c.name}`);
    }
  }
  return out;
}

/**
 * Checked at the end, once the faults stopped and the clients settled: every server holds exactly the
 * leases its clients believe they hold there (state `held`), with the same counts.
 */
export function holdingViolations(
  servers: readonly ServerSnapshot[],
  clients: readonly ClientSnapshot[],
): string[] {
  const out: string[] = [];
  for (const s of servers) {
    const onServer = new Map(s.leases.map((l) => [l.id, l.count]));
    const believed = new Map<string, { count: number; client: string }>();
    for (const c of clients) {
      for (const l of c.status.leases) {
        if (l.server === s.address && l.state === 'held')
          believed.set(l.id, { count: l.count, client: c.name });
      }
    }
    for (const [id, { count, client }] of believed) {
      const held = onServer.get(id);
      if (held === undefined)
        out.push(`${client} believes it holds ${id} on ${s.name}, which does not hold it`);
      else if (held !== count)
        out.push(`${client} holds ${id} x${count} on ${s.name}, which counts it x${held}`);
    }
    for (const [id, count] of onServer) {
      if (!believed.has(id))
        out.push(`${s.name} holds ${id} x${count}, which no client believes it holds there`);
    }
    const seats = [...believed.values()].reduce((sum, b) => sum + b.count, 0);
    const used = Object.keys(s.pool).reduce((sum, f) => sum + s.inUse(f), 0);
    if (seats !== used) out.push(`${s.name}: ${used} seats in use, clients hold ${seats} there`);
  }
  for (const c of clients) {
    const unsettled = c.status.leases.filter((l) => l.state === 'reconnecting');
    if (unsettled.length > 0)
      out.push(`${c.name} still has leases reconnecting: ${unsettled.map((l) => l.id).join(', ')}`);
  }
  return out;
}

/** Counts of the handle types that keep a process alive, from `process.getActiveResourcesInfo()`. */
export function resourceCounts(kinds: readonly string[] = ['TCPSocketWrap', 'TCPServerWrap', 'Timeout']) {
  const counts: Record<string, number> = Object.fromEntries(kinds.map((k) => [k, 0]));
  for (const kind of process.getActiveResourcesInfo())
    if (kind in counts) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

/**
 * The open TCP sockets, as `local port -> remote port` with their state and the name of the server whose
 * port either end is (`ports`: port to name), so that a leftover says which side kept it.
 */
export function openSockets(ports: ReadonlyMap<number, string> = new Map()): string[] {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  return handles
    .filter((handle): handle is net.Socket => handle instanceof net.Socket)
    .map((socket) => {
      const at = (port: number | undefined) =>
        `${port ?? '?'}${ports.has(port ?? -1) ? ` (${ports.get(port ?? -1)})` : ''}`;
      const state = [
        socket.connecting ? 'connecting' : socket.readyState,
        socket.destroyed ? 'destroyed' : '',
        socket.writableEnded ? 'ended' : '',
      ].filter(Boolean);
      return `${at(socket.localPort)} -> ${at(socket.remotePort)} [${state.join(', ')}]`;
    });
}

/** The handle types that grew past their baseline count. */
export function leftovers(baseline: Record<string, number>, now: Record<string, number>): string[] {
  return Object.entries(now)
    .filter(([kind, count]) => count > (baseline[kind] ?? 0))
    .map(([kind, count]) => `${kind}: ${count} (baseline ${baseline[kind] ?? 0})`);
}
