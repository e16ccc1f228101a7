/**
 * Many leases on one server. Regression test (found by this suite): the client used to renew (and, on
 * close, release) every lease of a server in ONE frame, so past about 2,600 leases the frame was over the
 * 64 KiB limit and never sent: every seat expired after each TTL, and close() left them held. Renew and
 * release now go in frames of at most 500 ids.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { LicenseClient } from '../../src/index.js';
import { FakeLicenseServer } from '../../src/testing/index.js';

const LEASES = 3_000;
const TTL = 600;
const servers: FakeLicenseServer[] = [];
const clients: LicenseClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function holdMany(
  maxBatch: number,
): Promise<{ server: FakeLicenseServer; client: LicenseClient; lost: () => number }> {
  const server = await FakeLicenseServer.start({
    port: 0,
    host: '127.0.0.1',
    licenses: { TTS: LEASES },
    leaseTtl: TTL,
    maxBatch,
  });
  servers.push(server);
  const client = new LicenseClient({ servers: server.address, licenseCachePeriod: 0, gracePeriod: 60_000 });
  clients.push(client);
  let lost = 0;
  client.on('lease-lost', () => {
    lost += 1;
  });
  for (let i = 0; i < LEASES; i += 250) {
    await Promise.all(Array.from({ length: 250 }, () => client.acquire('TTS')));
  }
  expect(server.inUse()).toBe(LEASES);
  return { server, client, lost: () => lost };
}

// With batching (protocol 1.2: 250 acquires of one tick in batch frames) and without (1.1).
describe.each([
  { batching: 'batching server', maxBatch: 128 },
  { batching: 'server without batching', maxBatch: 0 },
])(`${LEASES} leases on one server ($batching)`, ({ maxBatch }) => {
  it('renews them, so no seat ever expires (the renew frame is over 64 KiB)', async () => {
    const { server, lost } = await holdMany(maxBatch);
    let fewest = server.inUse();
    const until = Date.now() + 3 * TTL;
    while (Date.now() < until) {
      await sleep(20);
      fewest = Math.min(fewest, server.inUse());
    }
    expect(server.requests().filter((r) => r.op === 'renew').length).toBeGreaterThan(0);
    expect(fewest).toBe(LEASES);
    expect(lost()).toBe(0);
  }, 20_000);

  it('gives them back on close() (the release frame is over 64 KiB)', async () => {
    const { server, client } = await holdMany(maxBatch);
    await client.close();
    expect(server.inUse()).toBe(0);
  }, 20_000);
});
