/**
 * Subscriptions: a cancelled one stays active until the end of its billing cycle, then its seats are
 * revoked (-41 on the client) and acquires are refused with LV_EXPIRED_LICENSE (-59) naming the date. The
 * billing clock is injected, so a test crosses a billing day in milliseconds.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { LicenseClient, OpenPortError } from '../../src/index.js';
import { parseAccountsFile, subscriptionEnd } from '../../src/server/accounts.js';
import { LicenseServer } from '../../src/server/index.js';
import { openConnection } from '../../src/transport/handshake.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const day = (text: string) => Date.parse(`${text}T00:00:00Z`);

describe('subscriptionEnd', () => {
  it.each([
    [25, '2026-11-10', '2026-11-25'],
    [25, '2026-11-25', '2026-12-25'],
    [25, '2026-11-30', '2026-12-25'],
    [31, '2026-02-10', '2026-02-28'],
    [31, '2026-01-31', '2026-02-28'],
    [1, '2026-12-15', '2027-01-01'],
    [undefined, '2026-11-10', '2026-11-25'],
  ])('renewing on day %s, cancelled on %s: active until %s', (renewsOn, cancelledOn, end) => {
    expect(subscriptionEnd({ licenses: {}, password: 'x', renewsOn, cancelledOn })).toBe(day(end));
  });

  it('is undefined for a subscription that was not cancelled', () => {
    expect(subscriptionEnd({ licenses: {}, password: 'x', renewsOn: 25 })).toBeUndefined();
  });

  it('reads RENEWS_ON and CANCELLED from the accounts file, and refuses bad values with their line', () => {
    const accounts = parseAccountsFile(
      '[alice]\nPASSWORD = pw\nFULL = 2\nRENEWS_ON = 25\nCANCELLED = 2026-11-10\n',
    );
    expect(accounts.alice).toMatchObject({ renewsOn: 25, cancelledOn: '2026-11-10', licenses: { FULL: 2 } });
    expect(() => parseAccountsFile('[alice]\nPASSWORD = pw\nRENEWS_ON = 32\n', 'a.conf')).toThrow(
      /^a\.conf:3: .*RENEWS_ON must be a day of the month, 1 to 31/,
    );
    expect(() => parseAccountsFile('[alice]\nPASSWORD = pw\nCANCELLED = 2026-02-30\n', 'a.conf')).toThrow(
      /^a\.conf:3: .*CANCELLED must be a date written YYYY-MM-DD/,
    );
  });
});

describe('a cancelled subscription, across its billing day', () => {
  it('serves until the end of the cycle, then revokes the seats (-41) and refuses with -59 naming the date', async () => {
    let now = Date.parse('2026-11-20T12:00:00Z');
    const server = await LicenseServer.start({
      port: 0,
      host: '127.0.0.1',
      leaseTtl: 600,
      billingClock: () => now,
      accounts: {
        alice: { password: 'pw-sub-1', licenses: { FULL: 2 }, renewsOn: 25, cancelledOn: '2026-11-10' },
        bob: { password: 'pw-sub-2', licenses: { FULL: 2 } },
      },
    });
    cleanups.push(() => server.close());
    const client = (username: string, password: string) => {
      const c = new LicenseClient({
        servers: server.address,
        username,
        password,
        gracePeriod: 60_000,
        licenseCachePeriod: 0,
      });
      cleanups.push(() => c.close());
      return c;
    };
    const alice = client('alice', 'pw-sub-1');
    const bob = client('bob', 'pw-sub-2');
    const lost: Array<{ id: string; code: number; message: string }> = [];
    alice.on('lease-lost', ({ lease, error }) =>
      lost.push({ id: lease.id, code: error.code, message: error.message }),
    );

    const held = await alice.acquire('FULL');
    const bobs = await bob.acquire('FULL');
    const opened = await openConnection({
      host: server.host,
      port: server.port,
      credentials: { username: 'alice', password: 'pw-sub-1' },
    });
    const status = await opened.connection.request('status', {});
    await opened.connection.close();
    expect(status.features.FULL).toEqual({
      total: 2,
      inUse: 1,
      queued: 0,
      endsAt: '2026-11-25T00:00:00.000Z',
    });

    now = Date.parse('2026-11-25T00:00:01Z');
    await expect.poll(() => lost.map((l) => l.id), { timeout: 3_000 }).toEqual([held.id]);
    expect(lost[0]?.code).toBe(-41);
    expect(lost[0]?.message).toContain('ended on 2026-11-25');
    expect(await server.inUse('FULL', 'alice')).toBe(0);

    const refused = await alice.acquire('FULL').catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: -59, codeName: 'LV_EXPIRED_LICENSE', retryable: false });
    expect((refused as Error).message).toContain('ended on 2026-11-25');
    const port = await alice.openPort({ licenseType: 'SpeechPort' }).catch((e: unknown) => e);
    expect(port).toBeInstanceOf(OpenPortError);
    expect((port as OpenPortError).status).toBe(-59);

    // Another account is not touched.
    expect(bobs.state).toBe('held');
    expect((await bob.acquire('FULL')).state).toBe('held');
  });
});
