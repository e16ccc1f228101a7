import { afterEach, expect, it } from 'vitest';
import { LicenseServer } from '../../../src/server/index.js';
import { FakeLicenseServer } from '../../../src/testing/index.js';
import { type RawClient, rawConnect } from '../../helpers/raw-client.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function raw(port: number): Promise<RawClient> {
  const r = await rawConnect(port);
  cleanups.push(() => r.close());
  await r.next((f) => f.type === 'greeting');
  return r;
}

it('pipelined requests before a malformed line are still answered (default store)', async () => {
  const server = await LicenseServer.start({ port: 0, host: '127.0.0.1', licenses: { FULL: 1 } });
  cleanups.push(() => server.close());
  const r = await raw(server.port);
  r.sendRaw(
    `${JSON.stringify({ id: 1, op: 'hello', version: '1.0' })}\n` +
      `${JSON.stringify({ id: 2, op: 'acquire', lease: 'p', feature: 'FULL', count: 1 })}\n` +
      'this is not json\n',
  );
  await r.closed();
  expect(r.frames.filter((f) => f.id === 1 || f.id === 2).map((f) => [f.id, f.ok])).toEqual([
    [1, true],
    [2, true],
  ]);
});

it('answers pipelined requests in the order they were sent, invalid ones included (default store)', async () => {
  const server = await LicenseServer.start({ port: 0, host: '127.0.0.1', licenses: { FULL: 1 } });
  cleanups.push(() => server.close());
  const r = await raw(server.port);
  await r.request('hello', { version: '1.0' });
  r.sendRaw(
    `${JSON.stringify({ id: 1, op: 'acquire', lease: 'p', feature: 'FULL', count: 1 })}\n` +
      `${JSON.stringify({ id: 2, op: 'no-such-op' })}\n`,
  );
  await r.next((f) => f.id === 1);
  await r.next((f) => f.id === 2);
  expect(r.frames.filter((f) => f.id === 1 || f.id === 2).map((f) => f.id)).toEqual([1, 2]);
});

it('FakeLicenseServer.setLicenses has taken effect when it returns, also twice in a row', async () => {
  const fake = await FakeLicenseServer.start({ port: 0, host: '127.0.0.1', licenses: { FULL: 2, TTS: 1 } });
  cleanups.push(() => fake.close());
  const r = await raw(fake.port);
  await r.request('hello', { version: '1.0' });
  await r.request('acquire', { lease: 't', feature: 'TTS', count: 1 });
  fake.setLicenses('FULL', 1);
  fake.setLicenses('TTS', 0);
  expect(fake.inUse('TTS')).toBe(0);
});

it('pools() lists accounts in the order of the accounts (as before)', async () => {
  const server = await LicenseServer.start({
    port: 0,
    host: '127.0.0.1',
    accounts: {
      zed: { password: 'pw-zed-1', licenses: { FULL: 1 } },
      amy: { password: 'pw-amy-1', licenses: { FULL: 1 } },
    },
  });
  cleanups.push(() => server.close());
  const pools = await server.pools();
  expect(pools.map((p) => p.account)).toEqual(['zed', 'amy']);
});
