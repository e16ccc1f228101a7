// A release to a server that stopped answering (a black hole): the release is not waited for twice, and
// the seat goes back once the server answers again.
import { describe, expect, it } from 'vitest';
import type { Logger } from '../../src/index.js';
import { makeClient, recordEvents, startServer } from '../helpers/cluster.js';

/** A logger that keeps its warnings: what the client says about a release that did not reach the server. */
function warnings(): { logger: Logger; warned: Array<{ message: string; fields: Record<string, unknown> }> } {
  const warned: Array<{ message: string; fields: Record<string, unknown> }> = [];
  const ignore = () => {};
  const logger: Logger = {
    debug: ignore,
    info: ignore,
    error: ignore,
    warn: (message, fields) => {
      warned.push({ message, fields: { ...fields } });
    },
  };
  return { logger, warned };
}

describe('a release to a black hole', () => {
  it('fails with its own timeout, with no dial to the black hole in between, and goes back later', async () => {
    const server = await startServer({ licenses: { TTS: 4 } });
    const { logger, warned } = warnings();
    const client = makeClient([server], { logger, requestTimeout: 300, gracePeriod: 60_000 });
    const { named } = recordEvents(client);
    const lease = await client.acquire('TTS');
    server.pause();
    await lease.release();
    // The release timed out: the server stopped answering, which a new connection would not change (it
    // is a restart that a second try on a new connection is for). Before, the release dialed the black
    // hole and waited for its greeting as long again, and its failure said so.
    const failed = warned.filter((w) => w.message.includes('release failed'));
    expect(failed).toHaveLength(1);
    expect(failed[0]?.fields.error).toContain('did not answer the release request within 300 ms');
    // The connection that did not answer goes (and the next one is made once the server answers).
    await expect.poll(() => named('disconnect').length).toBe(1);
    // Why it closed: that request's timeout (the requests still on it get their own account of it).
    const closed = named('disconnect')[0]?.error as Error;
    expect(closed.message).toContain('did not answer the release request within 300 ms');
    expect(closed.message).not.toContain('with this request on it');
    expect(server.inUse()).toBe(1);
    // The seat goes back once the server answers again.
    server.resume();
    await expect.poll(() => server.inUse(), { timeout: 5_000 }).toBe(0);
    expect(client.status().leases).toEqual([]);
  });

  it('ends the requests still on the connection with an error that says which one went unanswered', async () => {
    const server = await startServer({ licenses: { FULL: 1 } });
    const client = makeClient([server], { requestTimeout: 300, gracePeriod: 60_000 });
    const { named } = recordEvents(client);
    const held = await client.acquire('FULL');
    // A second acquire waits in the server's queue: its own deadline is the wait, far away.
    const waiting = client.acquire('FULL', { wait: 20_000 });
    // It asks once without waiting (refused: busy), then again with its wait, and the server queues it.
    await expect
      .poll(() => server.requests().some((r) => r.op === 'acquire' && r.params.wait !== undefined))
      .toBe(true);
    server.pause();
    void held.release();
    // The release goes unanswered and the connection with it: the waiting acquire asks again (its wait
    // is not over), and says why in its retry.
    await expect.poll(() => named('retry').length).toBeGreaterThanOrEqual(1);
    const why = named('retry')[0]?.error as Error & { cause?: Error & { cause?: Error } };
    // Before, it failed with the release's own error, as if the acquire were the release.
    expect(why.cause?.message).toContain(
      'stopped answering, so its connection was dropped with this request on it',
    );
    expect(why.cause?.cause?.message).toContain('did not answer the release request within 300 ms');
    // Once the server answers again, the release goes through and the waiting acquire gets that seat.
    server.resume();
    const lease = await waiting;
    expect(server.inUse('FULL')).toBe(1);
    expect(client.status().leases.map((l) => l.id)).toEqual([lease.id]);
    await lease.release();
    expect(server.inUse('FULL')).toBe(0);
  });
});
