/**
 * A MemoryStore decides acquires and releases at once, and the server answers them without waiting for a
 * promise; any other store (one that answers later, a MemoryStore subclass) is asked through its methods.
 * Seen from a client, both paths give the same answers, in the same order, on real sockets.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  type AcquireRequest,
  LicenseServer,
  type LicenseStore,
  MemoryStore,
} from '../../src/server/index.js';
import { HookStore } from '../helpers/hook-store.js';
import { type RawClient, rawConnect } from '../helpers/raw-client.js';

const servers: LicenseServer[] = [];
const raws: RawClient[] = [];

afterEach(async () => {
  for (const raw of raws.splice(0)) raw.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function connect(store: LicenseStore, licenses: Record<string, number>): Promise<RawClient> {
  const server = await LicenseServer.start({ port: 0, store, licenses });
  servers.push(server);
  const raw = await rawConnect(server.port);
  raws.push(raw);
  await raw.next((f) => f.type === 'greeting');
  expect((await raw.request('hello', { version: '1.2' })).ok).toBe(true);
  return raw;
}

/**
 * One write of pipelined requests that depend on each other (a release frees the seat a later acquire
 * takes; a re-sent acquire reclaims; a release names a lease twice and one never held); resolves with
 * every answer and push, in the order they came.
 */
async function burst(raw: RawClient): Promise<unknown[]> {
  const acquire = (id: number, lease: string) => ({ id, op: 'acquire', lease, feature: 'FULL', count: 1 });
  const requests = [
    acquire(1, 'a'),
    acquire(2, 'b'),
    acquire(3, 'c'), // exhausted: two seats
    { id: 4, op: 'release', leases: ['a', 'a', 'never'] },
    acquire(5, 'c'), // a's seat
    acquire(6, 'b'), // reclaimed
    { ...acquire(7, 'd'), wait: 60_000 }, // queued behind the full pool
    { id: 8, op: 'release', leases: ['b'] }, // frees b's seat for d
    { id: 9, op: 'ping' },
  ];
  const start = raw.frames.length;
  raw.sendRaw(requests.map((r) => `${JSON.stringify(r)}\n`).join(''));
  await raw.next((f) => f.id === 9);
  // d is granted by the pass after b's release, which may come just after the ping's answer.
  await raw.next((f) => f.id === 7);
  return raw.frames.slice(start).map((frame) => {
    // Times are the only thing that may differ.
    const { time: _time, ...result } = (frame.result ?? {}) as Record<string, unknown>;
    return frame.result === undefined ? frame : { ...frame, result };
  });
}

describe('the two store paths', () => {
  it('answers a pipelined burst the same over a MemoryStore and over a store that answers later', async () => {
    const memory = await burst(await connect(new MemoryStore(), { FULL: 2 }));
    const later = await burst(await connect(new HookStore(), { FULL: 2 }));
    // The answers of a run of acquires may leave in the order the store settles them (lease-run.ts):
    // compared by request id, and the pushes in the order they came.
    const split = (frames: unknown[]) => {
      const answers = frames.filter((f) => typeof (f as { id?: unknown }).id === 'number');
      const byRequest = (a: unknown, b: unknown) => (a as { id: number }).id - (b as { id: number }).id;
      return { answers: answers.sort(byRequest), pushes: frames.filter((f) => !answers.includes(f)) };
    };
    expect(split(memory)).toEqual(split(later));
    // And what was answered is what the rules say.
    const byId = (id: number) =>
      memory.find((f) => (f as { id?: number }).id === id) as Record<string, unknown>;
    expect(byId(3).ok).toBe(false);
    expect(byId(4).result).toEqual({ released: ['a'], unknown: ['never'] });
    expect((byId(5).result as { lease: string }).lease).toBe('c');
    expect((byId(6).result as { reclaimed: boolean }).reclaimed).toBe(true);
    expect((byId(7).result as { lease: string }).lease).toBe('d');
    expect(memory).toContainEqual({ push: 'queue-position', lease: 'd', position: 1 });
  });

  it('asks a MemoryStore subclass through its methods, which may do more than the pools', async () => {
    const asked: string[] = [];
    class CountingStore extends MemoryStore {
      override acquire(request: AcquireRequest) {
        asked.push(`acquire ${request.id}`);
        return super.acquire(request);
      }
      override release(account: string, ids: readonly string[]) {
        asked.push(`release ${ids.join(',')}`);
        return super.release(account, ids);
      }
    }
    const raw = await connect(new CountingStore(), { FULL: 1 });
    const granted = await raw.request('acquire', { lease: 'p1', feature: 'FULL', count: 1 });
    expect(granted.ok).toBe(true);
    expect((await raw.request('release', { leases: ['p1'] })).result).toEqual({
      released: ['p1'],
      unknown: [],
    });
    expect(asked).toEqual(['acquire p1', 'release p1']);
  });
});
