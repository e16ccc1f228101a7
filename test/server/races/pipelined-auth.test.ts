import { afterEach, expect, it } from 'vitest';
import { ScramClient } from '../../../src/protocol/scram.js';
import { LicenseServer } from '../../../src/server/index.js';
import { HookStore } from '../../helpers/hook-store.js';
import { rawConnect } from '../../helpers/raw-client.js';
import { SlowStore } from '../../helpers/slow-store.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

it('hello + auth-start in one write, then auth-finish + acquire + release + status in one write', async () => {
  for (const store of [new HookStore(), new SlowStore()]) {
    const server = await LicenseServer.start({
      port: 0,
      host: '127.0.0.1',
      store,
      accounts: { alice: { password: 'pw-1', licenses: { FULL: 1 } } },
    });
    cleanups.push(() => server.close());
    const raw = await rawConnect(server.port);
    cleanups.push(() => raw.close());
    await raw.next((f) => f.type === 'greeting');
    const scram = new ScramClient('alice', 'pw-1');
    raw.sendRaw(
      `${JSON.stringify({ id: 1, op: 'hello', version: '1.0' })}\n${JSON.stringify({ id: 2, op: 'auth-start', mechanism: 'SCRAM-SHA-256', message: scram.firstMessage() })}\n`,
    );
    const start = await raw.next((f) => f.id === 2);
    const final = scram.finalMessage((start.result as { message: string }).message);
    raw.sendRaw(
      [
        { id: 3, op: 'auth-finish', message: final },
        { id: 4, op: 'acquire', lease: 'p', feature: 'FULL', count: 1 },
        { id: 5, op: 'release', leases: ['p'] },
        { id: 6, op: 'status' },
      ]
        .map((m) => `${JSON.stringify(m)}\n`)
        .join(''),
    );
    await raw.next((f) => f.id === 6);
    expect(raw.frames.filter((f) => typeof f.id === 'number').map((f) => [f.id, f.ok])).toEqual([
      [1, true],
      [2, true],
      [3, true],
      [4, true],
      [5, true],
      [6, true],
    ]);
    expect(store.inner.leasesNow()).toEqual([]);
  }
});
