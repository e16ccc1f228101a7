import { describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, SUPPORTED_MAJOR } from '../../src/protocol/constants.js';
import { checkVersion, parseProtocolVersion } from '../../src/protocol/versioning.js';

describe('versioning', () => {
  it('our own version is compatible with itself', () => {
    expect(parseProtocolVersion(PROTOCOL_VERSION)?.major).toBe(SUPPORTED_MAJOR);
    expect(checkVersion(PROTOCOL_VERSION)).toEqual({ compatible: true });
  });

  it('the same MAJOR is compatible, whatever the MINOR', () => {
    for (const version of ['1.0', '1.1', '1.9', '1.42'])
      expect(checkVersion(version)).toEqual({ compatible: true });
  });

  it('another MAJOR is incompatible, with a reason', () => {
    for (const version of ['0.9', '2.0', '10.1']) {
      const check = checkVersion(version);
      expect(check.compatible).toBe(false);
      expect(check.reason).toContain(version);
    }
  });

  it('a malformed version is incompatible', () => {
    for (const version of [
      '',
      '1',
      '1.',
      '.1',
      '1.0.0',
      'v1.0',
      '01.0',
      '1.00',
      '-1.0',
      '1.0 ',
      ' 1.0',
      '１.0',
      'one.zero',
    ]) {
      const check = checkVersion(version);
      expect(check.compatible, JSON.stringify(version)).toBe(false);
      expect(check.reason).toMatch(/MAJOR\.MINOR/);
    }
    expect(checkVersion(undefined as unknown as string).compatible).toBe(false);
  });

  it('parses MAJOR.MINOR', () => {
    expect(parseProtocolVersion('1.2')).toEqual({ major: 1, minor: 2 });
    expect(parseProtocolVersion('0.0')).toEqual({ major: 0, minor: 0 });
    expect(parseProtocolVersion(1.2)).toBeUndefined();
  });
});
