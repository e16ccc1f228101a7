/**
 * Regression test (found by this suite): every track() and release() used to clear the server's
 * heartbeat timer and re-arm it a full interval later, so a client that acquires or releases on a server
 * more often than its heartbeat interval never renewed there: its long-held seats expired at every TTL,
 * and were lost (-41) when another client was waiting for the seat. The keeper now leaves an armed timer.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { LicenseClient } from '../../src/index.js';
import { FakeLicenseServer } from '../../src/testing/index.js';

const TTL = 600;
const servers: FakeLicenseServer[] = [];
const clients: LicenseClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function setUp() {
  const server = await FakeLicenseServer.start({
    port: 0,
    host: '127.0.0.1',
    licenses: { FULL: 1, TTS: 1 },
    leaseTtl: TTL,
  });
  servers.push(server);
  const make = () => {
    const client = new LicenseClient({ servers: server.address, licenseCachePeriod: 0 });
    clients.push(client);
    return client;
  };
  const busy = make();
  const events: string[] = [];
  for (const name of ['lease-reclaimed', 'lease-migrated', 'lease-lost'] as const)
    busy.on(name, () => events.push(name));
  const port = await busy.openPort({ licenseType: 'SpeechPort' });
  /** The application at work: a TTS prompt every ~50 ms while the port is held. */
  const work = async () => {
    for (let i = 0; i < Math.ceil((4 * TTL) / 50); i++) {
      const tts = await busy.acquire('TTS');
      await tts.release();
      await sleep(50);
    }
  };
  return { server, busy, port, events, work, make };
}

describe('heartbeats of a busy client', () => {
  it('renew the long-held seats of a client that acquires and releases all the time', async () => {
    const { server, port, events, work } = await setUp();
    await work();
    expect(events).toEqual([]);
    expect(server.requests().filter((r) => r.op === 'renew').length).toBeGreaterThan(0);
    expect(port.lease?.state).toBe('held');
  }, 20_000);

  it('keep that seat when another client is waiting for it', async () => {
    const { busy, port, work, make } = await setUp();
    const other = make();
    const waiting = other.openPort({ licenseType: 'SpeechPort', wait: 4 * TTL }).then(
      () => 'the other client took the seat',
      () => 'the other client waited in vain',
    );
    await work();
    expect(await waiting).toBe('the other client waited in vain');
    await expect(busy.loadVoiceChannel(port, 0)).resolves.toBeUndefined();
  }, 20_000);
});
