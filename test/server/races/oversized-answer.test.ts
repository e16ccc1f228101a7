import { afterEach, expect, it } from 'vitest';
import { LicenseServer } from '../../../src/server/index.js';
import { type RawClient, rawConnect } from '../../helpers/raw-client.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

it('answers a release whose answer is over the frame limit (no unhandled rejection)', async () => {
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);
  process.on('unhandledRejection', onRejection);
  cleanups.push(() => process.off('unhandledRejection', onRejection));
  const server = await LicenseServer.start({ port: 0, host: '127.0.0.1', licenses: { FULL: 1 } });
  cleanups.push(() => server.close());
  const raw: RawClient = await rawConnect(server.port);
  cleanups.push(() => raw.close());
  await raw.next((f) => f.type === 'greeting');
  await raw.request('hello', { version: '1.0' });
  // A release just under the 64 KiB frame limit: its answer echoes the ids and is a few bytes over it.
  const ids: string[] = [];
  const size = () => JSON.stringify({ id: 7, op: 'release', leases: ids }).length;
  for (let i = 0; size() < 65_500; i += 1) ids.push(`lease-${i}`);
  while (size() > 65_530) ids.pop();
  if (size() < 65_520) ids.push('x'.repeat(65_530 - size() - 3));
  raw.send({ id: 7, op: 'release', leases: ids });
  const answer = await raw.next((f) => f.id === 7, 2_000).catch(() => undefined);
  await new Promise((r) => setTimeout(r, 50));
  expect(rejections.map(String)).toEqual([]);
  expect(answer).toMatchObject({ ok: false });
});
