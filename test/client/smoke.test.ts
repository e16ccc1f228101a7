import { describe, expect, it } from 'vitest';
import { LicenseClient } from '../../src/index.js';
import { FakeLicenseServer } from '../../src/testing/index.js';

describe('smoke', () => {
  it('opens and closes a port', async () => {
    await using server = await FakeLicenseServer.start({ licenses: { FULL: 1, LITE: 1 } });
    const client = new LicenseClient({ servers: server.address, licenseCachePeriod: 0 });
    const a = await client.openPort();
    expect(a.feature).toBe('FULL');
    const b = await client.openPort();
    expect(b.feature).toBe('LITE');
    const err = await client.openPort().catch((e) => e);
    expect(err.message).toMatch(/License failure/);
    expect(err.status).toBe(-26);
    await client.loadVoiceChannel(a, 1, Buffer.from('x'));
    await a.close();
    expect(server.inUse()).toBe(1);
    await client.close();
    expect(server.inUse()).toBe(0);
  });
});
