/**
 * How a connection paces the answers of one burst: a share of them per turn of the event loop, so that
 * the requests set off by the first answers leave while the rest wait (a connection with many calls in
 * flight otherwise turns into one burst bouncing between client and server, each idle while the other
 * works). Answers that wait are still answers when the connection ends behind them.
 */
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RequestTimeoutError } from '../../src/errors.js';
import type { Connection } from '../../src/transport/connection.js';
import { openConnection } from '../../src/transport/handshake.js';
import { countTurns } from '../helpers/turns.js';

const GREETING = {
  type: 'greeting',
  protocol: 'lv-license',
  version: '1.2',
  server: 'scripted',
  auth: 'none',
  message: 'a scripted server',
};
const HELLO = { version: '1.2', server: 'scripted', auth: 'none', leaseTtl: 30_000, maxFrameBytes: 65_536 };
const BURST = 200;

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/**
 * A scripted server: greets, answers hello, then holds the pings until `BURST` of them came and answers
 * them all in one write (followed by `after`, if given). Later pings are answered at once.
 */
async function burstServer(after?: (socket: net.Socket) => void): Promise<number> {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.write(`${JSON.stringify(GREETING)}\n`);
    let buffered = '';
    let held: number[] | undefined = [];
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const { id, op } = JSON.parse(line) as { id: number; op: string };
        if (op === 'hello') {
          socket.write(`${JSON.stringify({ id, ok: true, result: HELLO })}\n`);
        } else if (held === undefined) {
          socket.write(`${JSON.stringify({ id, ok: true, result: { time: 0 } })}\n`);
        } else {
          held.push(id);
          if (held.length === BURST) {
            socket.write(
              held.map((h) => `${JSON.stringify({ id: h, ok: true, result: { time: 0 } })}\n`).join(''),
            );
            held = undefined;
            after?.(socket);
          }
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => server.close());
  return (server.address() as net.AddressInfo).port;
}

async function connect(port: number, requestTimeout = 5_000): Promise<Connection> {
  const { connection } = await openConnection({ host: '127.0.0.1', port, requestTimeout });
  cleanups.push(() => connection.destroy());
  return connection;
}

describe('Connection: answers of one burst', () => {
  it('handles 64 answers per turn: the requests the first ones set off leave before the rest are handled', async () => {
    const connection = await connect(await burstServer());
    const turn = countTurns();
    const turns: number[] = [];
    const followUps: Array<Promise<unknown>> = [];
    const pings = Array.from({ length: BURST }, (_, i) =>
      connection.request('ping', {}).then(() => {
        turns[i] = turn.now();
        // What an application does with a grant: the next request, at once.
        followUps.push(connection.request('ping', {}));
      }),
    );
    await Promise.all(pings);
    turn.stop();
    const [first] = turns;
    expect(turns.slice(0, 64).every((t) => t === first)).toBe(true);
    expect(turns[64]).toBeGreaterThan(first as number);
    expect(turns[127]).toBe(turns[64]);
    expect(turns[128]).toBeGreaterThan(turns[64] as number);
    // Every follow-up was answered (the server answers them one by one).
    await Promise.all(followUps);
  });

  it('does not time out a request whose answer arrived before its deadline and waits for its turn', async () => {
    const timeout = 300;
    const connection = await connect(await burstServer(), timeout);
    const sent = Date.now();
    const settled = await Promise.allSettled(
      Array.from({ length: BURST }, (_, i) =>
        connection.request('ping', {}).then(() => {
          // The application's work on the first answer (or a busy process) takes the turn past the
          // deadline of the requests whose answers already came, in the same chunk, and wait for the next.
          if (i === 0) while (Date.now() < sent + timeout + 50) {}
        }),
      ),
    );
    const failed = settled.filter((s) => s.status === 'rejected') as PromiseRejectedResult[];
    // Every answer was on this side before the deadline: none is "no answer in time".
    expect(failed.map((f) => (f.reason as Error).name)).toEqual([]);
  });

  it.each([
    ['ends', (socket: net.Socket) => socket.end()],
    ['resets', (socket: net.Socket) => socket.resetAndDestroy()],
  ] as const)(
    'still delivers the answers that waited when the server %s the connection right behind them',
    async (_, after) => {
      const connection = await connect(await burstServer(after));
      const settled = await Promise.allSettled(
        Array.from({ length: BURST }, () => connection.request('ping', {})),
      );
      expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(BURST);
    },
  );

  it.each([
    // What a link does when another request of the connection got no answer in time.
    ['drops', (c: Connection): void => c.destroy(new RequestTimeoutError('no answer in time (a test)'))],
    ['closes', (c: Connection): void => void c.close()],
  ] as const)(
    'delivers the answers that waited when the client %s the connection in the middle of the burst',
    async (_, end) => {
      const connection = await connect(await burstServer());
      const settled = await Promise.allSettled(
        Array.from({ length: BURST }, (_, i) =>
          connection.request('ping', {}).then(() => {
            if (i === 0) end(connection);
          }),
        ),
      );
      expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(BURST);
    },
  );
});
