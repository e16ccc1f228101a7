/**
 * A connection reading a `batch` answer (protocol 1.3), from a scripted server that answers exactly as
 * the test says: the request ids of `granted` and `released` stand for the results the requests asked for
 * (epochs too), whole answers in any order are still answers, and ids that do not name the batch's own
 * requests are a malformed answer that ends the connection (nothing is taken for granted).
 */
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LicenseError, LicensesExceededError } from '../../src/errors.js';
import type { Connection } from '../../src/transport/connection.js';
import { openConnection } from '../../src/transport/handshake.js';

const GREETING = {
  type: 'greeting',
  protocol: 'lv-license',
  version: '1.3',
  server: 'scripted',
  auth: 'none',
  message: 'a scripted server',
};
const HELLO = {
  version: '1.3',
  server: 'scripted',
  auth: 'none',
  leaseTtl: 30_000,
  maxFrameBytes: 65_536,
  batch: 8,
};

interface BatchFrame {
  id: number;
  requests: Array<{ id: number; op: string; lease?: string; leases?: string[] }>;
}

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A server that answers each `batch` with what `answer` makes of it; the batches it got are kept. */
async function scripted(
  answer: (batch: BatchFrame) => object,
): Promise<{ port: number; batches: BatchFrame[] }> {
  const batches: BatchFrame[] = [];
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.write(`${JSON.stringify(GREETING)}\n`);
    let buffered = '';
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const frame = JSON.parse(line) as { id: number; op: string };
        if (frame.op === 'hello') {
          socket.write(`${JSON.stringify({ id: frame.id, ok: true, result: HELLO })}\n`);
        } else if (frame.op === 'batch') {
          batches.push(frame as unknown as BatchFrame);
          socket.write(
            `${JSON.stringify({ id: frame.id, ok: true, result: answer(frame as unknown as BatchFrame) })}\n`,
          );
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => server.close());
  return { port: (server.address() as net.AddressInfo).port, batches };
}

async function connect(port: number): Promise<Connection> {
  const { connection } = await openConnection({ host: '127.0.0.1', port, requestTimeout: 2_000 });
  cleanups.push(() => connection.destroy());
  return connection;
}

const acquire = (connection: Connection, lease: string) =>
  connection.request('acquire', { lease, feature: 'FULL', count: 2 });
const release = (connection: Connection, lease: string) => connection.request('release', { leases: [lease] });

describe('Connection: a compact batch answer (1.3)', () => {
  it('gives each id of granted and released the result its request asked for, epochs included', async () => {
    const { port, batches } = await scripted((batch) => {
      const [a, b, c, d] = batch.requests.map((r) => r.id);
      return {
        granted: [a, c],
        ttl: 9_000,
        epochs: [4, 5],
        released: [d],
        responses: [
          {
            id: b,
            ok: true,
            result: { lease: 'L2', feature: 'FULL', count: 2, ttl: 9_000, reclaimed: true },
          },
        ],
      };
    });
    const connection = await connect(port);
    const answers = await Promise.all([
      acquire(connection, 'L1'),
      acquire(connection, 'L2'),
      acquire(connection, 'L3'),
      release(connection, 'L0'),
    ]);
    expect(batches).toHaveLength(1);
    expect(answers).toEqual([
      { lease: 'L1', feature: 'FULL', count: 2, ttl: 9_000, reclaimed: false, epoch: 4 },
      { lease: 'L2', feature: 'FULL', count: 2, ttl: 9_000, reclaimed: true },
      { lease: 'L3', feature: 'FULL', count: 2, ttl: 9_000, reclaimed: false, epoch: 5 },
      { released: ['L0'], unknown: [] },
    ]);
    expect(connection.state).toBe('open');
  });

  it('takes whole answers out of the order of the requests, and a refusal reaches only its request', async () => {
    const { port } = await scripted((batch) => {
      const [a, b, c] = batch.requests.map((r) => r.id);
      return {
        granted: [b],
        ttl: 30_000,
        responses: [
          { id: c, ok: true, result: { released: [], unknown: ['L9'] } },
          {
            id: a,
            ok: false,
            error: { code: -26, name: 'LV_OPEN_PORT_FAILED__LICENSES_EXCEEDED', message: 'none free' },
          },
        ],
      };
    });
    const connection = await connect(port);
    const outcomes = await Promise.allSettled([
      acquire(connection, 'L1'),
      acquire(connection, 'L2'),
      release(connection, 'L9'),
    ]);
    expect(outcomes[0]).toMatchObject({ status: 'rejected', reason: expect.any(LicensesExceededError) });
    expect(outcomes[1]).toEqual({
      status: 'fulfilled',
      value: { lease: 'L2', feature: 'FULL', count: 2, ttl: 30_000, reclaimed: false },
    });
    expect(outcomes[2]).toEqual({ status: 'fulfilled', value: { released: [], unknown: ['L9'] } });
  });

  it.each([
    [
      'an id that is not in the batch',
      (ids: number[]) => ({ granted: [ids[0], 999], ttl: 1, responses: [] }),
    ],
    ['a release listed as granted', (ids: number[]) => ({ granted: [ids[2]], ttl: 1, responses: [] })],
    ['an acquire listed as released', (ids: number[]) => ({ released: [ids[0]], responses: [] })],
    [
      'ids out of the order of the requests',
      (ids: number[]) => ({ granted: [ids[1], ids[0]], ttl: 1, responses: [] }),
    ],
    ['granted without a ttl', (ids: number[]) => ({ granted: [ids[0]], responses: [] })],
    ['an id granted twice', (ids: number[]) => ({ granted: [ids[0], ids[0]], ttl: 1, responses: [] })],
    [
      'an id granted and refused',
      (ids: number[]) => ({
        granted: [ids[0]],
        ttl: 1,
        responses: [{ id: ids[0], ok: false, error: { code: -26, name: 'X', message: 'no' } }],
      }),
    ],
    [
      'one epoch too few',
      (ids: number[]) => ({ granted: [ids[0], ids[1]], ttl: 1, epochs: [3], responses: [] }),
    ],
  ])('ends the connection on %s: a malformed answer, not a grant', async (_name, answer) => {
    const { port } = await scripted((batch) => answer(batch.requests.map((r) => r.id)));
    const connection = await connect(port);
    const outcomes = await Promise.allSettled([
      acquire(connection, 'L1'),
      acquire(connection, 'L2'),
      release(connection, 'L0'),
    ]);
    const failed = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as LicenseError] : []));
    // Nothing of a malformed answer is taken as granted: every request fails with the malformed message.
    expect(failed).toHaveLength(3);
    for (const error of failed) {
      expect(error).toBeInstanceOf(LicenseError);
      expect(error.message).toContain('malformed');
    }
    expect(connection.state).not.toBe('open');
  });
});
