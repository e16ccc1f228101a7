/**
 * Protocol 1.2's batch (and 1.3's compact answer), from the wire: a real server answers the golden sessions byte for byte, a request
 * answered late leaves in its own frame, and a server without batching answers -13 as any 1.1 server.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeLicenseServer } from '../../src/testing/index.js';
import { type RawClient, rawConnect } from '../helpers/raw-client.js';

const DIR = fileURLToPath(new URL('../fixtures/frames/', import.meta.url));
/** LV_UPDATE_FIXTURES=1 rewrites the fixtures from the live session instead of comparing. */
const UPDATE = process.env.LV_UPDATE_FIXTURES === '1';

const servers: FakeLicenseServer[] = [];
const clients: RawClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(maxBatch?: number): Promise<RawClient> {
  const server = await FakeLicenseServer.start({
    licenses: { FULL: 2 },
    name: 'lv-license-client-fake/0.1.0',
    ...(maxBatch === undefined ? {} : { maxBatch }),
  });
  servers.push(server);
  const client = await rawConnect(server.port);
  clients.push(client);
  return client;
}

/**
 * Plays the client lines of a fixture against a live server, each after the server's lines before it
 * have arrived, and returns the session as the fixture writes it: every frame, in order, compact JSON.
 */
async function replay(name: string, client: RawClient): Promise<string[]> {
  const lines = readFileSync(`${DIR}${name}`, 'utf8').split('\n').slice(0, -1);
  const session: string[] = [];
  let expected = 0;
  const take = async (count: number) => {
    await client.next(() => client.frames.length >= count);
    while (session.length - sent < count) {
      session.push(JSON.stringify(client.frames[session.length - sent]));
    }
  };
  let sent = 0;
  for (const line of lines) {
    if ('op' in JSON.parse(line)) {
      await take(expected);
      client.sendRaw(`${line}\n`);
      session.push(line);
      sent += 1;
    } else {
      expected += 1;
    }
  }
  await take(expected);
  return session;
}

async function golden(name: string, client: RawClient): Promise<void> {
  const session = await replay(name, client);
  if (UPDATE) writeFileSync(`${DIR}${name}`, `${session.join('\n')}\n`);
  expect(session.join('\n')).toBe(readFileSync(`${DIR}${name}`, 'utf8').trimEnd());
}

describe('batch (protocol 1.2)', () => {
  it('batch.ndjson: a real server answers the golden session byte for byte', async () => {
    await golden('batch.ndjson', await start());
  });

  it('batch-compact.ndjson: to a 1.3 client, what was done as asked is answered by request id', async () => {
    await golden('batch-compact.ndjson', await start());
  });

  it('batch-unsupported.ndjson: a server without batching is a 1.1 server and answers -13', async () => {
    await golden('batch-unsupported.ndjson', await start(0));
  });

  it('answers a queued acquire of a batch later, in a frame of its own; the batch answer leaves at once', async () => {
    const client = await start();
    await client.request('hello', { version: '1.2' });
    client.send({
      id: 10,
      op: 'batch',
      requests: [
        { id: 11, op: 'acquire', lease: 'a-1', feature: 'FULL', count: 2 },
        { id: 12, op: 'acquire', lease: 'a-2', feature: 'FULL', count: 1, wait: 5_000 },
      ],
    });
    const answer = await client.next((f) => f.id === 10);
    expect(answer).toMatchObject({ ok: true, result: { responses: [{ id: 11, ok: true }] } });
    expect((answer.result as { responses: unknown[] }).responses).toHaveLength(1);
    expect(await client.next((f) => f.push === 'queue-position')).toMatchObject({
      lease: 'a-2',
      position: 1,
    });
    const released = await client.request('release', { leases: ['a-1'] });
    expect(released).toMatchObject({ ok: true, result: { released: ['a-1'] } });
    expect(await client.next((f) => f.id === 12)).toMatchObject({
      ok: true,
      result: { lease: 'a-2', count: 1, reclaimed: false },
    });
  });

  it('refuses a batch whose requests lack ids of their own, or are too many, as a whole', async () => {
    const client = await start(2);
    expect(await client.request('hello', { version: '1.2' })).toMatchObject({ result: { batch: 2 } });
    const acquire = (id: unknown) => ({
      id,
      op: 'acquire',
      lease: `b-${String(id)}`,
      feature: 'FULL',
      count: 1,
    });
    for (const requests of [
      [acquire(7), acquire(7)],
      [acquire(null)],
      [acquire(1), acquire(2), acquire(3)],
      [],
    ]) {
      const answer = await client.request('batch', { requests });
      expect(answer).toMatchObject({ ok: false, error: { code: -54 } });
    }
    // Nothing of a refused batch was done: both seats are still free.
    const status = await client.request('status', { feature: 'FULL' });
    expect(status).toMatchObject({ result: { features: { FULL: { inUse: 0 } } } });
  });
});
