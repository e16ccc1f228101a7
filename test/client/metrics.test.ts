/** client.metrics() counts a scripted sequence exactly, against real fake servers. */
import { describe, expect, it } from 'vitest';
import { makeClient, startServer } from '../helpers/cluster.js';

describe('client.metrics()', () => {
  it('counts grants, refusals by code, failovers, reconnects and reclaims, with latency per server', async () => {
    const a = await startServer({ licenses: { FULL: 1 } });
    const b = await startServer({ licenses: { FULL: 1 } });
    const client = makeClient([a, b]);
    expect(client.metrics()).toEqual({
      grants: 0,
      refusals: {},
      failovers: 0,
      reclaims: 0,
      migrations: 0,
      losses: 0,
      reconnects: 0,
      servers: {},
      seatsHeld: {},
      queued: {},
      queueWaits: 0,
    });
    const first = await client.acquire('FULL');
    await client.acquire('FULL'); // a is full: fails over to b
    await expect(client.acquire('FULL')).rejects.toMatchObject({ code: -26 });
    await expect(client.openPort({ licenseType: 'SpeechPort' })).rejects.toMatchObject({
      code: -1,
      status: -26,
    });
    a.dropConnections();
    await expect.poll(() => client.metrics().reclaims).toBe(1);
    const metrics = client.metrics();
    expect(metrics).toMatchObject({
      grants: 2,
      refusals: { '-26': 2 },
      failovers: 1,
      reclaims: 1,
      migrations: 0,
      losses: 0,
      reconnects: 1,
      seatsHeld: { FULL: 2 },
    });
    expect(Object.keys(metrics.servers).sort()).toEqual([a.address, b.address].sort());
    const latency = metrics.servers[a.address];
    expect(latency?.count).toBe(1);
    expect(latency?.p50).toBeGreaterThan(0);
    expect(latency?.p99).toBeGreaterThanOrEqual(latency?.p50 ?? 0);
    expect(latency?.max).toBeGreaterThan(0);
    await first.release();
    expect(client.metrics().seatsHeld).toEqual({ FULL: 1 });
  });
});

describe('client.metrics(): queue waits', () => {
  it('counts the acquires a server queued, and shows those waiting now per type', async () => {
    const server = await startServer({ licenses: { FULL: 1, TTS: 1 } });
    const client = makeClient([server]);
    const full = await client.acquire('FULL');
    const tts = await client.acquire('TTS');
    // Granted at once although it may wait: never queued.
    const spare = await startServer({ licenses: { FULL: 1 } });
    const other = makeClient([spare]);
    await (await other.acquire('FULL', { wait: 60_000 })).release();
    expect(other.metrics()).toMatchObject({ queued: {}, queueWaits: 0 });

    const waitingFull = client.acquire('FULL', { wait: 60_000 });
    const waitingTts = client.acquire('TTS', { wait: 60_000 });
    const aborted = new AbortController();
    const abandoned = client.acquire('FULL', { wait: 60_000, signal: aborted.signal });
    await expect.poll(() => client.metrics().queueWaits).toBe(3);
    expect(client.metrics().queued).toEqual({ FULL: 2, TTS: 1 });

    aborted.abort();
    await expect(abandoned).rejects.toMatchObject({ name: 'AbortError' });
    expect(client.metrics().queued).toEqual({ FULL: 1, TTS: 1 });
    await full.release();
    await (await waitingFull).release();
    expect(client.metrics().queued).toEqual({ TTS: 1 });
    await tts.release();
    await (await waitingTts).release();
    expect(client.metrics()).toMatchObject({ queued: {}, queueWaits: 3, grants: 4 });
  });
});

describe('status()', () => {
  it('has a round-trip time from the handshake on, before the first heartbeat', async () => {
    const server = await startServer();
    const client = makeClient([server]);
    await client.connect();
    const rtt = client.status().servers[0]?.rtt;
    expect(typeof rtt).toBe('number');
    expect(rtt).toBeGreaterThan(0);
  });
});
