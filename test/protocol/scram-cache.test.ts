import { describe, expect, it } from 'vitest';
import { derivePasswordKeys } from '../../src/protocol/scram-crypto.js';

describe('derivePasswordKeys cache', () => {
  const salt = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');

  it('gives the same keys again, as copies the caller cannot spoil', () => {
    const first = derivePasswordKeys('pencil', salt, 4096);
    first.clientKey.fill(0);
    const second = derivePasswordKeys('pencil', salt, 4096);
    expect(second.clientKey.equals(Buffer.alloc(32))).toBe(false);
    expect(second).toEqual(derivePasswordKeys('pencil', salt, 4096));
  });

  it('tells passwords, salts and iteration counts apart', () => {
    const base = derivePasswordKeys('pencil', salt, 4096).clientKey;
    expect(derivePasswordKeys('pencil2', salt, 4096).clientKey.equals(base)).toBe(false);
    expect(derivePasswordKeys('pencil', Buffer.from('other-salt'), 4096).clientKey.equals(base)).toBe(false);
    expect(derivePasswordKeys('pencil', salt, 4097).clientKey.equals(base)).toBe(false);
  });
});
