/** "Not licensed" is not "busy": a type the account has no seats of, against seats that are all taken. */
import { describe, expect, it } from 'vitest';
import { LicensesExceededError, NotLicensedError, OpenPortError } from '../../src/index.js';
import { makeClient, startServer } from '../helpers/cluster.js';

describe('not licensed, not busy', () => {
  it('a typo and a pool of 0 are NotLicensedError (-69); seats all taken are LicensesExceededError (-26)', async () => {
    const server = await startServer({ licenses: { FULL: 1, TTS: 0 } });
    const client = makeClient([server]);
    const typo = await client.acquire('TSS').catch((err: unknown) => err);
    expect(typo).toBeInstanceOf(NotLicensedError);
    expect(typo).toMatchObject({ code: -69, codeName: 'LV_FUNCTION_DISABLED', retryable: false });
    await expect(client.acquire('TTS')).rejects.toBeInstanceOf(NotLicensedError);
    await client.acquire('FULL');
    await expect(client.acquire('FULL')).rejects.toBeInstanceOf(LicensesExceededError);
  });

  it('openPort: a cascade whose first type is busy and next is not licensed reports busy', async () => {
    const server = await startServer({ licenses: { FULL: 1 } });
    const client = makeClient([server]);
    await client.openPort({ licenseType: 'Auto' }); // takes the one FULL seat
    const busy = (await client
      .openPort({ licenseType: 'Auto' })
      .catch((err: unknown) => err)) as OpenPortError;
    expect(busy).toBeInstanceOf(OpenPortError);
    expect(busy.status).toBe(-26); // FULL busy; LITE not licensed: the caller hears "busy"
    const unlicensed = (await client
      .openPort({ licenseType: 'VoxLite' })
      .catch((err: unknown) => err)) as OpenPortError;
    expect(unlicensed.status).toBe(-69);
  });
});
