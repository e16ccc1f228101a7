/**
 * A lease's release carries the epoch its server gave it (protocol 1.1 fencing), whether it leaves in a
 * frame of its own or in a batch (1.2). The server here is a small protocol server on a real socket that
 * hands out epochs and records what it is sent, as a node of a shared pool would.
 */
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LicenseClient } from '../../src/index.js';
import { FrameDecoder } from '../../src/protocol/codec.js';

interface EpochServer {
  readonly address: string;
  readonly received: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

const greeting = {
  type: 'greeting',
  protocol: 'lv-license',
  version: '1.2',
  server: 'epochs/1',
  auth: 'none',
  message: 'm',
};

/** Answers hello, acquire (epoch 5, 6, ...) and release; a batch's requests one by one, in its answer. */
function startEpochServer(batch: number | undefined): Promise<EpochServer> {
  const received: Array<Record<string, unknown>> = [];
  let epoch = 5;
  const answer = (request: Record<string, unknown>): object => {
    received.push(request);
    const { id, op } = request;
    if (op === 'hello') {
      return {
        id,
        ok: true,
        result: {
          version: '1.2',
          server: 'epochs/1',
          auth: 'none',
          leaseTtl: 30_000,
          maxFrameBytes: 65_536,
          ...(batch === undefined ? {} : { batch }),
        },
      };
    }
    if (op === 'acquire') {
      return {
        id,
        ok: true,
        result: {
          lease: request.lease,
          feature: request.feature,
          count: request.count,
          ttl: 30_000,
          reclaimed: false,
          epoch: epoch++,
        },
      };
    }
    if (op === 'release') return { id, ok: true, result: { released: request.leases, unknown: [] } };
    if (op === 'batch') {
      return {
        id,
        ok: true,
        result: { responses: (request.requests as Array<Record<string, unknown>>).map(answer) },
      };
    }
    return { id, ok: false, error: { code: -13, name: 'LV_NOT_IMPLEMENTED', message: 'no' } };
  };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const decoder = new FrameDecoder();
    socket.write(`${JSON.stringify(greeting)}\n`);
    socket.on('data', (chunk: Buffer) => {
      for (const item of decoder.push(chunk))
        if (item.kind === 'frame') socket.write(`${JSON.stringify(answer(item.value))}\n`);
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
        received,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      }),
    ),
  );
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe.each([
  { name: 'one frame per request', batch: undefined },
  { name: 'batches (1.2)', batch: 64 },
])('a release carries its lease epoch ($name)', ({ batch }) => {
  it('sends the epoch the server gave, for one lease and for leases released together', async () => {
    const server = await startEpochServer(batch);
    cleanups.push(() => server.close());
    const client = new LicenseClient({ servers: server.address, licenseCachePeriod: 0 });
    cleanups.push(() => client.close());
    const alone = await client.acquire('FULL');
    await alone.release();
    const together = await Promise.all([client.acquire('FULL'), client.acquire('FULL')]);
    await Promise.all(together.map((lease) => lease.release()));

    // Every request is recorded as handled, a batch's requests one by one after the batch itself.
    const flat = server.received.filter((r) => r.op !== 'batch');
    const releases = flat.filter((r) => r.op === 'release');
    const epochOf = new Map(flat.filter((r) => r.op === 'acquire').map((r, i) => [r.lease as string, 5 + i]));
    expect(releases.map((r) => r.leases)).toEqual([[alone.id], [together[0]?.id], [together[1]?.id]]);
    for (const release of releases) {
      const [id] = release.leases as string[];
      expect(release.epochs).toEqual([epochOf.get(id as string)]);
    }
    expect(server.received.some((r) => r.op === 'batch')).toBe(batch !== undefined);
  });
});
