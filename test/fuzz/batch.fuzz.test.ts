/**
 * Batches of anything (protocol 1.2): valid and broken acquires and releases, operations that cannot be
 * batched, nested batches, missing and repeated ids. Whatever a batch holds, the server answers it once,
 * answers each of its requests at most once (in the batch, or later alone), never grants past the pool,
 * keeps the connection, and gives every seat back when the leases are released.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeLicenseServer } from '../../src/testing/index.js';
import { type RawClient, rawConnect } from '../helpers/raw-client.js';

const POOL = 3;
const LEASES = ['f-1', 'f-2', 'f-3', 'f-4'];

const lease = fc.constantFrom(...LEASES);
/** One item of a batch; `id` is filled in later (or left out, or repeated). */
const item = fc.oneof(
  fc.record({
    op: fc.constant('acquire'),
    lease,
    feature: fc.constant('FULL'),
    count: fc.integer({ min: 1, max: 2 }),
  }),
  fc.record({
    op: fc.constant('acquire'),
    lease,
    feature: fc.constant('FULL'),
    count: fc.constant(1),
    wait: fc.integer({ min: 0, max: 30 }),
  }),
  fc.record({ op: fc.constant('release'), leases: fc.uniqueArray(lease, { maxLength: 4 }) }),
  fc.record({ op: fc.constantFrom('status', 'ping', 'renew', 'hello', 'cancel') }),
  fc.record({ op: fc.constant('batch'), requests: fc.constant([{ id: 999, op: 'ping' }]) }),
  fc.record({
    op: fc.constant('acquire'),
    lease: fc.constantFrom('bad id!', ''),
    feature: fc.constant('full'),
  }),
  fc.dictionary(fc.constantFrom('op', 'lease', 'leases', 'count'), fc.jsonValue({ maxDepth: 1 }), {
    maxKeys: 3,
  }),
);
const idKind = fc.constantFrom('fresh', 'fresh', 'fresh', 'fresh', 'missing', 'repeat', 'batch');

/** Ids of their own, far from the raw client's (which counts from 1,000). */
let nextId = 1_000_000;

describe('batches of anything', () => {
  let server: FakeLicenseServer;
  let client: RawClient;

  beforeAll(async () => {
    server = await FakeLicenseServer.start({
      port: 0,
      host: '127.0.0.1',
      licenses: { FULL: POOL },
      maxBatch: 6,
    });
    client = await rawConnect(server.port);
    expect(await client.request('hello', { version: '1.2' })).toMatchObject({ ok: true });
  });

  afterAll(async () => {
    client?.close();
    await server?.close();
  });

  it('answers each batch once and each request at most once, within the pool, on a connection that lives', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(item, idKind), { maxLength: 8 }), async (items) => {
        const batchId = nextId++;
        const ids: number[] = [];
        const requests = items.map(([fields, kind]) => {
          if (kind === 'missing') return { ...fields };
          const id =
            kind === 'repeat' && ids.length > 0 ? (ids[0] as number) : kind === 'batch' ? batchId : nextId++;
          ids.push(id);
          return { ...fields, id };
        });
        const seen = client.frames.length;
        client.send({ id: batchId, op: 'batch', requests });
        const answer = await client.next((f) => f.id === batchId);
        const answered: number[] = [];
        if (answer.ok === true) {
          answered.push(
            ...(answer.result as { responses: Array<{ id: number }> }).responses.map((r) => r.id),
          );
          for (const id of answered) expect(ids).toContain(id);
        } else {
          expect((answer.error as { code: number }).code).toBe(-54);
        }
        // The connection lives: a ping is answered; the waits (at most 30 ms) end meanwhile.
        await new Promise((resolve) => setTimeout(resolve, 40));
        expect(await client.request('ping')).toMatchObject({ ok: true });
        expect(client.frames.slice(seen).filter((f) => f.id === batchId)).toHaveLength(1);
        // Each request is answered at most once: in the batch's answer, or later in a frame of its own.
        const alone = client.frames.slice(seen).flatMap((f) => (typeof f.id === 'number' ? [f.id] : []));
        for (const id of new Set(ids)) {
          expect([...answered, ...alone].filter((a) => a === id).length).toBeLessThanOrEqual(1);
        }
        expect(server.inUse('FULL')).toBeLessThanOrEqual(POOL);
      }),
      { numRuns: 150 },
    );
    // Every seat comes back once the leases are released.
    expect(await client.request('release', { leases: LEASES })).toMatchObject({ ok: true });
    expect(server.inUse('FULL')).toBe(0);
  }, 60_000);
});
