import { describe, expect, it } from 'vitest';
import {
  InvalidParameterError,
  InvalidPortError,
  LicenseClient,
  LicenseError,
  LicensesExceededError,
  NoServerRespondingError,
  OpenPortError,
} from '../../src/index.js';
import { FAST, makeClient, recordEvents, startServer, track } from '../helpers/cluster.js';
import { closedPort } from '../helpers/raw-client.js';

describe('new LicenseClient', () => {
  it('does no I/O in the constructor', async () => {
    const server = await startServer();
    makeClient([server]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(server.connectionCount).toBe(0);
  });

  it('refuses bad options with a ConfigError naming the option', () => {
    expect(() => new LicenseClient({ servers: '10.0.0.1:99999' })).toThrow(/port 99999/);
    expect(() => new LicenseClient({ username: 'alice' })).toThrow(/both username and password/);
    expect(() => new LicenseClient({ requestTimeout: -1 })).toThrow(/requestTimeout/);
  });

  it('connect() is optional and connects to the first server that answers', async () => {
    const server = await startServer();
    const client = makeClient([server]);
    await client.connect();
    expect(server.connectionCount).toBe(1);
    expect(client.status().servers[0]).toMatchObject({ state: 'up', seats: 0 });
  });
});

describe('openPort', () => {
  it('holds one license per port, by license type', async () => {
    const server = await startServer({ licenses: { FULL: 2, LITE: 1, TTS: 1, AMD: 1 } });
    const client = makeClient([server]);
    const full = await client.openPort({ licenseType: 'SpeechPort' });
    const lite = await client.openPort({ licenseType: 'VoxLite' });
    const tts = await client.openPort({ licenseType: 'TTS' });
    const amd = await client.openPort({ licenseType: 'AMD' });
    expect([full.feature, lite.feature, tts.feature, amd.feature]).toEqual(['FULL', 'LITE', 'TTS', 'AMD']);
    expect([full.id, lite.id, tts.id, amd.id]).toEqual([1, 2, 3, 4]);
    expect(server.inUse()).toBe(4);
    await full.close();
    expect(server.inUse('FULL')).toBe(0);
  });

  it('Auto takes FULL first, then LITE', async () => {
    const server = await startServer({ licenses: { FULL: 1, LITE: 1 } });
    const client = makeClient([server], { licenseType: 'Auto' });
    expect((await client.openPort()).feature).toBe('FULL');
    expect((await client.openPort()).feature).toBe('LITE');
    const err = await client.openPort().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenPortError);
    expect(err).toMatchObject({ code: -1, codeName: 'LV_FAILURE', status: -26 });
    expect((err as OpenPortError).cause).toBeInstanceOf(LicensesExceededError);
    expect((err as Error).message).toMatch(/^License failure\. No LITE license free/);
  });

  it('uses the client licenseType when the call names none', async () => {
    const server = await startServer({ licenses: { FULL: 1, LITE: 1 } });
    const client = makeClient([server], { licenseType: 'VoxLite' });
    expect((await client.openPort()).feature).toBe('LITE');
  });

  it('fails in the vendor words when no server responds', async () => {
    const ports = [await closedPort(), await closedPort()];
    const client = track(
      new LicenseClient({
        ...FAST,
        operationTimeout: 400,
        servers: ports.map((p) => `127.0.0.1:${p}`).join(';'),
      }),
    );
    const err = (await client.openPort().catch((e: unknown) => e)) as OpenPortError;
    expect(err).toBeInstanceOf(OpenPortError);
    expect(err.message).toBe(
      `License failure. No license server responding at address: 127.0.0.1:${ports[0]};127.0.0.1:${ports[1]}`,
    );
    expect(err.status).toBe(-30);
    expect(err.cause).toBeInstanceOf(NoServerRespondingError);
    const cause = err.cause as NoServerRespondingError;
    expect(cause.errors.map((e) => e.server)).toEqual([`127.0.0.1:${ports[0]}`, `127.0.0.1:${ports[1]}`]);
  });

  it('rejects an unknown license type as OpenPortError with status -54', async () => {
    const server = await startServer();
    const client = makeClient([server]);
    // @ts-expect-error: a JavaScript caller can pass anything
    const err = (await client.openPort({ licenseType: 'Premium' }).catch((e: unknown) => e)) as OpenPortError;
    expect(err.status).toBe(-54);
    expect(err.cause).toBeInstanceOf(InvalidParameterError);
  });

  it('supports await using on ports', async () => {
    const server = await startServer();
    const client = makeClient([server]);
    {
      await using port = await client.openPort();
      expect(port.state).toBe('open');
      expect(server.inUse()).toBe(1);
    }
    expect(server.inUse()).toBe(0);
  });

  it('closes a port idempotently', async () => {
    const server = await startServer();
    const client = makeClient([server]);
    const port = await client.openPort();
    await Promise.all([port.close(), port.close()]);
    await port.close();
    expect(port.state).toBe('closed');
    expect(server.inUse()).toBe(0);
  });
});

describe('loadVoiceChannel', () => {
  it('passes for an open, licensed port', async () => {
    const server = await startServer();
    const client = makeClient([server]);
    const port = await client.openPort();
    await expect(client.loadVoiceChannel(port, 0, Buffer.from([1, 2, 3]))).resolves.toBeUndefined();
    await expect(client.loadVoiceChannel(port, 63, new Uint8Array(8).buffer)).resolves.toBeUndefined();
    await expect(client.loadVoiceChannel(port, 5)).resolves.toBeUndefined();
  });

  it('rejects a closed port with InvalidPortError (-12), as the vendor cascade does', async () => {
    const server = await startServer();
    const client = makeClient([server]);
    const port = await client.openPort();
    await port.close();
    const err = await client.loadVoiceChannel(port, 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidPortError);
    expect(err).toMatchObject({ code: -12, codeName: 'LV_INVALID_HPORT' });
  });

  it("rejects another client's port and a made-up one", async () => {
    const server = await startServer();
    const a = makeClient([server]);
    const b = makeClient([server]);
    const port = await a.openPort();
    await expect(b.loadVoiceChannel(port, 1)).rejects.toBeInstanceOf(InvalidPortError);
    // @ts-expect-error: a JavaScript caller can pass anything
    await expect(a.loadVoiceChannel({ id: 1 }, 1)).rejects.toMatchObject({ code: -12 });
  });

  it('rejects a bad channel with -8 and bad audio with -47', async () => {
    const server = await startServer();
    const client = makeClient([server]);
    const port = await client.openPort();
    for (const channel of [-1, 64, 1.5, Number.NaN]) {
      await expect(client.loadVoiceChannel(port, channel)).rejects.toMatchObject({
        code: -8,
        codeName: 'LV_SOUND_CHANNEL_OUT_OF_RANGE',
      });
    }
    for (const audio of [Buffer.alloc(0), 'pcm' as unknown as Uint8Array, [1, 2] as unknown as Uint8Array]) {
      await expect(client.loadVoiceChannel(port, 1, audio)).rejects.toMatchObject({
        code: -47,
        codeName: 'LV_INVALID_BUFFER',
      });
    }
  });

  it('takes the license at the first loadVoiceChannel with delayed acquisition', async () => {
    const server = await startServer({ licenses: { FULL: 1 } });
    const client = makeClient([server], { delayedLicenseAcquisition: true, licenseType: 'SpeechPort' });
    const port = await client.openPort();
    expect(port.lease).toBeUndefined();
    expect(server.inUse()).toBe(0);
    await Promise.all([client.loadVoiceChannel(port, 1), client.loadVoiceChannel(port, 2)]);
    expect(port.feature).toBe('FULL');
    expect(server.inUse()).toBe(1);
    const second = await client.openPort();
    const err = await client.loadVoiceChannel(second, 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LicenseError);
    expect(err).toMatchObject({ code: -58, codeName: 'LV_ACQUIRING_LICENSE_FAILED' });
    await second.close();
    await port.close();
    expect(server.inUse()).toBe(0);
  });
});

describe('acquire', () => {
  it('takes several seats of any feature and releases them', async () => {
    const server = await startServer({ licenses: { TTS: 3 } });
    const client = makeClient([server]);
    const lease = await client.acquire('TTS', { count: 2 });
    expect(lease).toMatchObject({ feature: 'TTS', count: 2, server: server.address, state: 'held' });
    expect(server.inUse('TTS')).toBe(2);
    await lease.release();
    await lease.release();
    expect(lease.state).toBe('released');
    expect(server.inUse('TTS')).toBe(0);
  });

  it('fails at once with LicensesExceededError without wait', async () => {
    const server = await startServer({ licenses: { TTS: 1 } });
    const client = makeClient([server]);
    await client.acquire('TTS');
    const started = Date.now();
    await expect(client.acquire('TTS')).rejects.toBeInstanceOf(LicensesExceededError);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('waits in the queue with queue-position events and gets the seat when it frees', async () => {
    const server = await startServer({ licenses: { TTS: 1 } });
    const client = makeClient([server]);
    const { named } = recordEvents(client);
    const first = await client.acquire('TTS');
    const waiting = client.acquire('TTS', { wait: 5_000 });
    await expect.poll(() => named('queue-position').length).toBe(1);
    expect(named('queue-position')[0]).toMatchObject({ feature: 'TTS', position: 1, server: server.address });
    await first.release();
    const second = await waiting;
    expect(second.state).toBe('held');
    expect(server.inUse('TTS')).toBe(1);
  });

  it('leaves the queue when aborted', async () => {
    const server = await startServer({ licenses: { TTS: 1 } });
    const client = makeClient([server]);
    const { named } = recordEvents(client);
    await client.acquire('TTS');
    const controller = new AbortController();
    const waiting = client.acquire('TTS', { wait: 10_000, signal: controller.signal });
    await expect.poll(() => named('queue-position').length).toBe(1);
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ code: -3 });
    await expect.poll(() => server.requests().filter((r) => r.op === 'cancel').length).toBe(1);
    const other = makeClient([server]);
    await other.connect();
    expect(server.inUse('TTS')).toBe(1);
  });

  it('gives up the queue after wait with a timeout', async () => {
    const server = await startServer({ licenses: { TTS: 1 } });
    const client = makeClient([server]);
    await client.acquire('TTS');
    await expect(client.acquire('TTS', { wait: 100 })).rejects.toMatchObject({ code: -6 });
  });

  it('is refused at once, not at its wait deadline, when the pool it waits for shrinks below it', async () => {
    const server = await startServer({ licenses: { TTS: 1 } });
    const client = makeClient([server]);
    const { named } = recordEvents(client);
    const first = await client.acquire('TTS');
    const waiting = client.acquire('TTS', { wait: 60_000 }).catch((e: unknown) => e);
    await expect.poll(() => named('queue-position').length).toBe(1);
    server.setLicenses('TTS', 0);
    const err = (await waiting) as LicenseError;
    expect(err).toBeInstanceOf(LicensesExceededError);
    expect(err.message).toContain('The TTS pool was reduced to 0 while this request waited for 1 seat(s)');
    // Both sides: the server holds no seat and the client none it counts on; no waiter is left ahead of a new one.
    await expect.poll(() => first.state).toBe('lost');
    expect(server.inUse('TTS')).toBe(0);
    expect(client.status().leases.map((l) => l.state)).toEqual(['lost']);
    server.setLicenses('TTS', 1);
    expect((await client.acquire('TTS')).state).toBe('held');
  });

  it('validates its arguments', async () => {
    const server = await startServer();
    const client = makeClient([server]);
    await expect(client.acquire('tts')).rejects.toBeInstanceOf(InvalidParameterError);
    await expect(client.acquire('TTS', { count: 0 })).rejects.toMatchObject({ code: -54 });
    await expect(client.acquire('TTS', { wait: -5 })).rejects.toMatchObject({ code: -54 });
  });

  it('supports await using on leases', async () => {
    const server = await startServer({ licenses: { AMD: 1 } });
    const client = makeClient([server]);
    {
      await using lease = await client.acquire('AMD');
      expect(lease.state).toBe('held');
    }
    expect(server.inUse('AMD')).toBe(0);
  });
});

describe('license cache (LICENSE_CACHE_PERIOD)', () => {
  it('hands a closed port license to the next port with no round trip, then gives it back', async () => {
    const server = await startServer({ licenses: { FULL: 1 } });
    const client = makeClient([server], { licenseCachePeriod: 1, licenseType: 'SpeechPort' });
    const first = await client.openPort();
    const leaseId = first.lease?.id;
    await first.close();
    expect(server.inUse()).toBe(1);
    expect(client.status().cache).toEqual([expect.objectContaining({ lease: leaseId, feature: 'FULL' })]);
    const acquiresBefore = server.requests().filter((r) => r.op === 'acquire').length;
    const second = await client.openPort();
    expect(second.lease?.id).toBe(leaseId);
    expect(server.requests().filter((r) => r.op === 'acquire').length).toBe(acquiresBefore);
    await second.close();
    await expect.poll(() => server.inUse(), { timeout: 4_000 }).toBe(0);
    expect(client.status().cache).toEqual([]);
  });

  it('gives cached licenses back on close()', async () => {
    const server = await startServer({ licenses: { FULL: 2 } });
    const client = makeClient([server], { licenseCachePeriod: 3600 });
    await (await client.openPort()).close();
    expect(server.inUse()).toBe(1);
    await client.close();
    expect(server.inUse()).toBe(0);
  });
});

describe('close', () => {
  it('releases every seat, is idempotent, and refuses calls afterwards', async () => {
    const server = await startServer({ licenses: { FULL: 3, TTS: 2 } });
    const client = makeClient([server]);
    const port = await client.openPort();
    await client.acquire('TTS', { count: 2 });
    expect(server.inUse()).toBe(3);
    await Promise.all([client.close(), client.close()]);
    expect(server.inUse()).toBe(0);
    expect(port.state).toBe('closed');
    await expect(client.openPort()).rejects.toMatchObject({ status: -53 });
    await expect(client.acquire('TTS')).rejects.toMatchObject({ code: -53 });
    await expect(client.loadVoiceChannel(port, 1)).rejects.toBeInstanceOf(InvalidPortError);
    expect(client.status().closed).toBe(true);
  });

  it('is bounded when the server is a black hole', async () => {
    const server = await startServer();
    const client = makeClient([server], { closeTimeout: 200 });
    await client.openPort();
    server.pause();
    const started = Date.now();
    await client.close();
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('supports await using on the client', async () => {
    const server = await startServer();
    {
      await using client = new LicenseClient({ ...FAST, servers: server.address });
      await client.openPort();
      expect(server.inUse()).toBe(1);
    }
    expect(server.inUse()).toBe(0);
  });
});
