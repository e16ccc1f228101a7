import { afterEach, describe, expect, it } from 'vitest';
import { LicenseServer, ServerMetrics } from '../../src/server/index.js';
import { rawConnect } from '../helpers/raw-client.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('ServerMetrics', () => {
  it('folds accounts into account="*" when asked, summing the pool gauges', async () => {
    const server = await LicenseServer.start({
      port: 0,
      accounts: {
        alice: { password: 'alice-pw-1', licenses: { FULL: 2 } },
        bob: { password: 'bob-pw-1', licenses: { FULL: 3 } },
      },
    });
    cleanups.push(() => server.close());
    const metrics = new ServerMetrics(server, { perAccount: false, defaultMetrics: false });
    cleanups.push(() => metrics.close());
    const text = await metrics.metrics();
    expect(text).toContain('lv_license_seats_total{account="*",feature="FULL"} 5');
    expect(text).not.toContain('alice');
    expect(text).not.toContain('nodejs_');
  });

  it('times requests only while someone listens, and stops counting once closed', async () => {
    const server = await LicenseServer.start({ port: 0, licenses: { FULL: 1 } });
    cleanups.push(() => server.close());
    const metrics = new ServerMetrics(server, { defaultMetrics: false });
    const raw = await rawConnect(server.port);
    cleanups.push(() => raw.close());
    await raw.next((f) => f.type === 'greeting');
    await raw.request('hello', { version: '1.0' });
    await raw.request('acquire', { lease: 'a', feature: 'FULL', count: 1 });
    expect(await metrics.metrics()).toContain(
      'lv_license_grants_total{account="",feature="FULL",kind="new"} 1',
    );
    expect(await metrics.metrics()).toMatch(/lv_license_request_duration_seconds_count\{op="acquire"\} 1/);
    metrics.close();
    await raw.request('release', { leases: ['a'] });
    expect(await metrics.metrics()).not.toContain('lv_license_releases_total{');
  });
});
