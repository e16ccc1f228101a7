/**
 * Answer pacing from the application's side: a grant that reached the client before the call's deadline
 * (operationTimeout) and waits for its turn of the event loop is a grant (test/transport/pacing.test.ts
 * has the same at the connection's level).
 */
import { describe, expect, it } from 'vitest';
import { makeClient, startServer } from '../helpers/cluster.js';

const BURST = 200;

describe('acquire against a server without batching, answers in one burst', () => {
  it('does not fail with the operation timeout a call whose grant arrived before its deadline', async () => {
    const server = await startServer({ licenses: { FULL: BURST }, maxBatch: 0 });
    const timeout = 400;
    const client = makeClient([server], { operationTimeout: timeout, requestTimeout: 5_000 });
    await client.connect();
    const sent = Date.now();
    const settled = await Promise.allSettled(
      Array.from({ length: BURST }, (_, i) =>
        client.acquire('FULL').then((lease) => {
          // The application's work on the first grant takes its turn past the others' deadline.
          if (i === 0) while (Date.now() < sent + timeout + 50) {}
          return lease;
        }),
      ),
    );
    const failed = settled.flatMap((s) => (s.status === 'rejected' ? [(s.reason as Error).name] : []));
    expect(failed).toEqual([]);
    // The seats on the server: every grant is held by this client.
    expect(server.inUse('FULL')).toBe(BURST);
  });
});
