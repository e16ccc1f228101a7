// close() while many acquires and releases are in flight on one connection: every seat goes back to the
// server, seen from the server's side (its pool) as well as from the callers' (what each call settled with).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Lease, LicenseError } from '../../src/index.js';
import { makeClient, startServer } from '../helpers/cluster.js';

const rejections: unknown[] = [];
const onRejection = (reason: unknown) => rejections.push(reason);
beforeEach(() => {
  rejections.length = 0;
  process.on('unhandledRejection', onRejection);
});
afterEach(() => {
  process.off('unhandledRejection', onRejection);
});

/** One turn of the event loop: the requests made so far have left, their answers have not come yet. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('close() with calls in flight', () => {
  it('gives back the seats of 256 acquires sent and not yet answered (batching on)', async () => {
    const server = await startServer({ licenses: { TTS: 1_000 } });
    const client = makeClient([server]);
    await client.connect();
    const acquires = Array.from({ length: 256 }, () =>
      client.acquire('TTS').then(
        (lease) => lease,
        (err: unknown) => err,
      ),
    );
    await nextTurn();
    await client.close();
    const outcomes = await Promise.all(acquires);
    // Every call ends with the close's error: none of them got its lease.
    for (const outcome of outcomes) expect(outcome).toMatchObject({ code: -53 });
    expect(outcomes.every((o) => o instanceof LicenseError)).toBe(true);
    // What the server granted meanwhile went back before close() resolved.
    expect(server.inUse()).toBe(0);
    expect(rejections).toEqual([]);
  });

  it('gives back the seats whose release() was in flight (256 acquire/release pairs running)', async () => {
    const server = await startServer({ licenses: { TTS: 300 } });
    const client = makeClient([server]);
    await client.connect();
    let closing = false;
    let released = 0;
    const pair = async (): Promise<unknown> => {
      while (!closing) {
        let lease: Lease;
        try {
          lease = await client.acquire('TTS');
        } catch (err) {
          return err;
        }
        await lease.release();
        released++;
      }
      return undefined;
    };
    const pairs = Array.from({ length: 256 }, pair);
    // Let the pairs run a while: grants and releases are then both in flight.
    while (released < 2_000) await nextTurn();
    await client.close();
    closing = true;
    const ends = await Promise.all(pairs);
    for (const end of ends) if (end !== undefined) expect(end).toMatchObject({ code: -53 });
    expect(server.inUse()).toBe(0);
    expect(client.status().leases).toEqual([]);
    expect(rejections).toEqual([]);
  });
});
