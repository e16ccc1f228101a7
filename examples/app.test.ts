/**
 * How an app's own tests use FakeLicenseServer (vitest): a real license server on a free port, with
 * faults injected where a test needs them.
 *
 *   npx vitest run examples/app.test.ts
 */
import { afterEach, describe, expect, it } from 'vitest';
// In your app: from 'lv-license-client' and 'lv-license-client/testing'.
import { LicenseClient, type LicenseClientOptions } from '../src/index.js';
import { FakeLicenseServer, type FakeLicenseServerOptions } from '../src/testing/index.js';
import { answerCall } from './app.js';

const audio = new Uint8Array(160);
const cleanup: Array<() => Promise<void>> = [];

afterEach(async () => {
  // Clients first (they give their seats back), then servers.
  for (const close of cleanup.splice(0).reverse()) await close();
});

async function startServer(options: FakeLicenseServerOptions = {}): Promise<FakeLicenseServer> {
  const server = await FakeLicenseServer.start(options); // port 0: a free port, so tests run in parallel
  cleanup.push(() => server.close());
  return server;
}

function clientFor(server: FakeLicenseServer, options: LicenseClientOptions = {}): LicenseClient {
  const client = new LicenseClient({
    servers: server.address,
    licenseCachePeriod: 0, // a closed port's license goes straight back: seat counts are exact
    operationTimeout: 1_000, // failure paths finish in a second, not 15
    ...options,
  });
  cleanup.push(() => client.close());
  return client;
}

describe('answerCall', () => {
  it('answers while licenses last, then plays the busy prompt', async () => {
    const server = await startServer({ licenses: { FULL: 2 } });
    const client = clientFor(server, { licenseType: 'SpeechPort' });

    const first = await answerCall(client, audio);
    const second = await answerCall(client, audio);
    expect([first.answered, second.answered]).toEqual([true, true]);
    expect(server.inUse('FULL')).toBe(2);

    expect(await answerCall(client, audio)).toMatchObject({
      answered: false,
      prompt: 'all-lines-busy',
      status: -26,
    });

    if (first.answered) await first.hangUp();
    expect(server.inUse('FULL')).toBe(1);
    expect((await answerCall(client, audio)).answered).toBe(true);
  });

  it('plays "technical difficulties" when no license server responds', async () => {
    const server = await startServer();
    const client = clientFor(server);
    await server.stop(); // connection refused from now on

    expect(await answerCall(client, audio)).toMatchObject({
      answered: false,
      prompt: 'technical-difficulties',
      status: -30, // LV_NO_SERVER_RESPONDING
    });
  });

  it('tells a wrong password from a busy system', async () => {
    const server = await startServer({ accounts: { 'ivr-1': { password: 'right', licenses: { FULL: 1 } } } });
    const client = clientFor(server, { username: 'ivr-1', password: 'wrong' });

    expect(await answerCall(client, audio)).toMatchObject({
      answered: false,
      prompt: 'service-misconfigured',
      status: -34, // LV_INVALID_LICENSE
    });
  });

  it('survives a server that drops every connection mid-call, keeping the seat', async () => {
    const server = await startServer({ licenses: { FULL: 1 } });
    const client = clientFor(server);
    const call = await answerCall(client, audio);

    server.dropConnections(); // the client reconnects and reclaims its lease by id
    await new Promise((resolve) => client.once('lease-reclaimed', resolve));
    expect(server.inUse()).toBe(1);
    if (call.answered) await call.hangUp();
    expect(server.inUse()).toBe(0);
  });

  it('retries a passing server error without the caller noticing', async () => {
    const server = await startServer();
    const client = clientFor(server);
    server.failNext('acquire', -50); // LV_UNKNOWN_SERVER_ERROR once: retryable, so the client tries again

    expect((await answerCall(client, audio)).answered).toBe(true);
    expect(server.requests().filter((r) => r.op === 'acquire')).toHaveLength(2);
  });

  it('plays the busy prompt when the server refuses a license once', async () => {
    const server = await startServer();
    const client = clientFor(server, { licenseType: 'SpeechPort' }); // Auto would try LITE next
    server.failNext('acquire', -26); // refused as if the FULL pool were full

    expect(await answerCall(client, audio)).toMatchObject({ answered: false, prompt: 'all-lines-busy' });
    expect((await answerCall(client, audio)).answered).toBe(true);
  });
});
