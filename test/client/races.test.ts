// Regression tests for races and failure paths found in review: each names the bug it pins down.
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LicenseError, type OpenPortError } from '../../src/index.js';
import { makeClient, recordEvents, startPair, startServer } from '../helpers/cluster.js';

const rawServers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(
    rawServers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
  );
});

describe('races and failure paths', () => {
  it("a server's own wait timeout (-6) leaves the shared connection up", async () => {
    const server = await startServer({ licenses: { TTS: 1, FULL: 1 } });
    const client = makeClient([server]);
    const { named } = recordEvents(client);
    const port = await client.openPort({ licenseType: 'SpeechPort' });
    await client.acquire('TTS');
    await expect(client.acquire('TTS', { wait: 100 })).rejects.toMatchObject({ code: -6 });
    expect(named('disconnect')).toEqual([]);
    expect(server.connectionCount).toBe(1);
    await client.loadVoiceChannel(port, 1);
  });

  it("a caller's AbortSignal.timeout while queued is reported as LV_TIME_OUT and leaves the queue", async () => {
    const server = await startServer({ licenses: { TTS: 1 } });
    const client = makeClient([server]);
    await client.acquire('TTS');
    const err = await client
      .acquire('TTS', { wait: 10_000, signal: AbortSignal.timeout(150) })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: -6, name: 'TimeoutError' });
    await expect.poll(() => server.requests().filter((r) => r.op === 'cancel').length).toBe(1);
  });

  it('an openPort abandoned after its acquire was sent gives the seat back', async () => {
    const server = await startServer({ licenses: { FULL: 1 } });
    const client = makeClient([server], { licenseType: 'SpeechPort' });
    await client.connect();
    server.delay(300);
    await expect(client.openPort({ signal: AbortSignal.timeout(100) })).rejects.toMatchObject({ code: -1 });
    server.delay(0);
    await expect.poll(() => server.inUse(), { timeout: 5_000 }).toBe(0);
    await expect(client.openPort()).resolves.toBeTruthy();
  });

  it('close() during an openPort leaves no seat behind', async () => {
    const server = await startServer({ licenses: { FULL: 2 } });
    const client = makeClient([server], { licenseType: 'SpeechPort' });
    await client.openPort();
    server.delay(200);
    const opening = client.openPort().catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await client.close();
    expect(await opening).toMatchObject({ status: -53 });
    server.delay(0);
    await expect.poll(() => server.inUse(), { timeout: 5_000 }).toBe(0);
  });

  it('a count that is too large for one server is asked of the next', async () => {
    const a = await startServer({ licenses: { TTS: 1 } });
    const b = await startServer({ licenses: { TTS: 4 } });
    const client = makeClient([a, b]);
    const lease = await client.acquire('TTS', { count: 2 });
    expect(lease.server).toBe(b.address);
  });

  it('a server that refused the credentials is not asked again on every call', async () => {
    const a = await startServer({ accounts: { alice: { password: 'other', licenses: { FULL: 5 } } } });
    const b = await startServer({ accounts: { alice: { password: 'right', licenses: { FULL: 1 } } } });
    const client = makeClient([a, b], { username: 'alice', password: 'right', licenseType: 'SpeechPort' });
    await client.openPort();
    for (let i = 0; i < 10; i++) {
      const err = (await client.openPort().catch((e: unknown) => e)) as OpenPortError;
      expect(err.status).toBe(-26);
      expect(err.message).toContain('rejected the credentials');
    }
    expect(a.requests().filter((r) => r.op === 'auth-start')).toHaveLength(1);
  });

  it('an event listener that throws does not break reclaim', async () => {
    const server = await startServer({ licenses: { FULL: 1 } });
    const client = makeClient([server], { licenseType: 'SpeechPort' });
    const { named } = recordEvents(client);
    client.on('lease-reclaimed', () => {
      throw new Error('listener bug');
    });
    client.on('disconnect', () => {
      throw new Error('another listener bug');
    });
    const port = await client.openPort();
    server.dropConnections();
    await expect.poll(() => named('lease-reclaimed').length, { timeout: 5_000 }).toBe(1);
    await expect.poll(() => named('error').length).toBeGreaterThanOrEqual(2);
    expect(named('error')[0]).toBeInstanceOf(LicenseError);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(server.inUse()).toBe(1);
    expect(port.lease?.state).toBe('held');
    await client.loadVoiceChannel(port, 1);
  });

  it('a server that accepts and then drops every connection is redialed with backoff, not in a storm', async () => {
    let connections = 0;
    const flapper = net.createServer((socket) => {
      connections += 1;
      socket.on('error', () => {});
      socket.write(
        '{"type":"greeting","protocol":"lv-license","version":"1.0","server":"flappy","auth":"none","message":"hi"}\n',
      );
      socket.once('data', (chunk) => {
        const { id } = JSON.parse(chunk.toString().split('\n')[0] as string) as { id: number };
        socket.end(
          `${JSON.stringify({ id, ok: true, result: { version: '1.0', server: 'flappy', auth: 'none', leaseTtl: 30000, maxFrameBytes: 65536 } })}\n`,
        );
      });
    });
    rawServers.push(flapper);
    await new Promise<void>((resolve) => flapper.listen(0, '127.0.0.1', resolve));
    const { port } = flapper.address() as net.AddressInfo;
    const client = makeClient([], { servers: `127.0.0.1:${port}`, reconnectDelay: { min: 50, max: 400 } });
    await client.connect().catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(connections).toBeLessThan(15);
    await client.close();
  });

  it('a shutdown notice sends new work to the next server at once', async () => {
    const [a, b] = await startPair();
    const client = makeClient([a, b], { gracePeriod: 60_000 });
    await client.openPort();
    await a.close();
    const port = await client.openPort();
    expect(port.lease?.server).toBe(b.address);
  });

  it("a closed port's lease handle no longer controls the seat after the cache hands it on", async () => {
    const server = await startServer({ licenses: { FULL: 1 } });
    const client = makeClient([server], { licenseCachePeriod: 60, licenseType: 'SpeechPort' });
    const first = await client.openPort();
    const oldHandle = first.lease;
    await first.close();
    expect(first.lease).toBeUndefined();
    const second = await client.openPort();
    expect(second.lease?.id).toBe(oldHandle?.id);
    await oldHandle?.release();
    expect(oldHandle?.state).toBe('released');
    expect(server.inUse()).toBe(1);
    await client.loadVoiceChannel(second, 1);
  });

  it('a cached license whose server is being reconnected is not handed out, and is not leaked', async () => {
    const [a, b] = await startPair({ licenses: { FULL: 1 } });
    const client = makeClient([a, b], {
      licenseCachePeriod: 1,
      licenseType: 'SpeechPort',
      gracePeriod: 60_000,
    });
    await (await client.openPort()).close();
    await a.stop();
    await expect.poll(() => client.status().leases[0]?.state).toBe('reconnecting');
    const port = await client.openPort();
    expect(port.lease?.server).toBe(b.address);
    await a.restart();
    await expect.poll(() => a.inUse(), { timeout: 6_000 }).toBe(0);
    expect(client.status().cache).toEqual([]);
  });
});
