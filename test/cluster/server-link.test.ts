import { afterEach, describe, expect, it } from 'vitest';
import { ServerLink } from '../../src/cluster/server-link.js';
import { AuthenticationError } from '../../src/errors.js';
import { FakeLicenseServer } from '../../src/testing/index.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function setup(password: string, coolDown: number) {
  const server = await FakeLicenseServer.start({
    accounts: { alice: { password: 'right', licenses: { FULL: 1 } } },
  });
  const link = new ServerLink(
    { host: '127.0.0.1', port: server.port, tls: false, label: server.address },
    0,
    {
      connectTimeout: 1_000,
      requestTimeout: 1_000,
      reconnectDelay: { min: 20, max: 100 },
      misconfiguredCoolDown: coolDown,
      now: Date.now,
    },
    { username: 'alice', password },
  );
  cleanups.push(async () => {
    await link.close();
    await server.close();
  });
  const logins = () => server.requests().filter((r) => r.op === 'auth-start').length;
  return { server, link, logins };
}

describe('ServerLink with credentials the server refuses', () => {
  it('does not dial again on demand during the cool-down', async () => {
    const { link, logins } = await setup('wrong', 60_000);
    await expect(link.connection()).rejects.toBeInstanceOf(AuthenticationError);
    await expect(link.connection()).rejects.toBeInstanceOf(AuthenticationError);
    await expect(link.request('ping', {})).rejects.toBeInstanceOf(AuthenticationError);
    expect(logins()).toBe(1);
    expect(link.state).toBe('down');
    expect(link.linkState.kind).toBe('refused');
  });

  it('tries once more after the cool-down, so a fix on the server side is noticed', async () => {
    const { link, logins } = await setup('wrong', 150);
    await expect(link.connection()).rejects.toBeInstanceOf(AuthenticationError);
    await expect.poll(logins, { timeout: 2_000 }).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(logins()).toBe(2);
  });

  it('dials at once again after new credentials', async () => {
    const { link, logins } = await setup('wrong', 60_000);
    await expect(link.connection()).rejects.toBeInstanceOf(AuthenticationError);
    link.setCredentials({ username: 'alice', password: 'right' });
    await expect.poll(() => link.isUp, { timeout: 2_000 }).toBe(true);
    expect(logins()).toBe(2);
  });
});
