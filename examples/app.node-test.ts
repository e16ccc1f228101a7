/**
 * The same kind of tests as app.test.ts, in Node's own test runner (node:test), with no test framework
 * to install:
 *
 *   node --import tsx --test examples/app.node-test.ts
 */
import * as assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
// In your app: from 'lv-license-client' and 'lv-license-client/testing'.
import { LicenseClient, type LicenseClientOptions } from '../src/index.js';
import { FakeLicenseServer, type FakeLicenseServerOptions } from '../src/testing/index.js';
import { answerCall } from './app.js';

const audio = new Uint8Array(160);
const cleanup: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const close of cleanup.splice(0).reverse()) await close();
});

async function startServer(options: FakeLicenseServerOptions = {}): Promise<FakeLicenseServer> {
  const server = await FakeLicenseServer.start(options);
  cleanup.push(() => server.close());
  return server;
}

function clientFor(server: FakeLicenseServer, options: LicenseClientOptions = {}): LicenseClient {
  const client = new LicenseClient({
    servers: server.address,
    licenseCachePeriod: 0,
    operationTimeout: 1_000,
    ...options,
  });
  cleanup.push(() => client.close());
  return client;
}

describe('answerCall (node:test)', () => {
  it('plays the busy prompt when every license is in use', async () => {
    const server = await startServer({ licenses: { FULL: 1 } });
    const client = clientFor(server, { licenseType: 'SpeechPort' });
    const first = await answerCall(client, audio);
    assert.equal(first.answered, true);

    const second = await answerCall(client, audio);
    assert.equal(second.answered, false);
    if (!second.answered) assert.deepEqual([second.prompt, second.status], ['all-lines-busy', -26]);
    if (first.answered) await first.hangUp();
    assert.equal(server.inUse(), 0);
  });

  it('plays "technical difficulties" when the server is a black hole', async () => {
    const server = await startServer();
    const client = clientFor(server, { requestTimeout: 300 });
    server.pause(); // accepts connections, never answers

    const answer = await answerCall(client, audio);
    assert.equal(answer.answered, false);
    if (!answer.answered) assert.equal(answer.prompt, 'technical-difficulties');
    server.resume();
  });

  it('tells a wrong password from a busy system', async () => {
    const server = await startServer({ accounts: { 'ivr-1': { password: 'right', licenses: { FULL: 1 } } } });
    const client = clientFor(server, { username: 'ivr-1', password: 'wrong' });

    const answer = await answerCall(client, audio);
    assert.equal(answer.answered, false);
    if (!answer.answered) assert.deepEqual([answer.prompt, answer.status], ['service-misconfigured', -34]);
  });

  it('reclaims a held seat after the server restarts', async () => {
    const server = await startServer({ licenses: { FULL: 1 } });
    const client = clientFor(server);
    const call = await answerCall(client, audio);
    const reclaimed = new Promise((resolve) => client.once('lease-reclaimed', resolve));

    await server.stop(); // the server keeps its leases, like a persistent one
    await server.restart();
    await reclaimed;
    assert.equal(server.inUse(), 1);
    if (call.answered) await call.hangUp();
  });
});
