import { describe, expect, it } from 'vitest';
import {
  featuresFor,
  isPortLicenseType,
  PORT_LICENSE_TYPES,
  type PortLicenseType,
} from '../../src/client/license-types.js';
import { LICENSE_TYPES } from '../../src/config/index.js';

describe('featuresFor', () => {
  it.each([
    ['SpeechPort', ['FULL']],
    ['VoxLite', ['LITE']],
    ['Auto', ['FULL', 'LITE']],
    ['TTS', ['TTS']],
    ['AMD', ['AMD']],
  ] as const)('%s → %j', (type, features) => {
    expect(featuresFor(type)).toEqual(features);
  });

  it('Auto tries FULL first, then LITE', () => {
    const auto = featuresFor('Auto');
    expect(auto[0]).toBe('FULL');
    expect(auto[1]).toBe('LITE');
    expect(auto).toHaveLength(2);
  });

  it('returns frozen lists that callers cannot change', () => {
    for (const type of PORT_LICENSE_TYPES) {
      const features = featuresFor(type);
      expect(Object.isFrozen(features)).toBe(true);
      expect(() => (features as string[]).push('X')).toThrow(TypeError);
      expect(featuresFor(type)).not.toContain('X');
    }
  });

  it('returns the same list each time', () => {
    expect(featuresFor('Auto')).toBe(featuresFor('Auto'));
  });
});

describe('PORT_LICENSE_TYPES', () => {
  it('lists the five port types', () => {
    expect([...PORT_LICENSE_TYPES].sort()).toEqual(['AMD', 'Auto', 'SpeechPort', 'TTS', 'VoxLite']);
    expect(new Set(PORT_LICENSE_TYPES).size).toBe(PORT_LICENSE_TYPES.length);
  });

  it('is frozen', () => {
    expect(Object.isFrozen(PORT_LICENSE_TYPES)).toBe(true);
    expect(() => (PORT_LICENSE_TYPES as PortLicenseType[]).push('Auto')).toThrow(TypeError);
  });

  it('includes every conf LICENSE_TYPE value', () => {
    for (const type of LICENSE_TYPES) expect(PORT_LICENSE_TYPES).toContain(type);
  });

  it('every type has at least one feature', () => {
    for (const type of PORT_LICENSE_TYPES) expect(featuresFor(type).length).toBeGreaterThan(0);
  });
});

describe('isPortLicenseType', () => {
  it('accepts each port type', () => {
    for (const type of PORT_LICENSE_TYPES) expect(isPortLicenseType(type)).toBe(true);
  });

  it.each([
    'auto',
    'AUTO',
    'speechport',
    'FULL',
    'LITE',
    ' Auto',
    'Auto ',
    '',
    'toString',
    'constructor',
    '__proto__',
    'hasOwnProperty',
  ])('rejects the string %j', (value) => {
    expect(isPortLicenseType(value)).toBe(false);
  });

  it.each([undefined, null, 0, 1, true, {}, [], ['Auto'], Symbol('Auto'), new String('Auto')])(
    'rejects the non-string %o',
    (value) => {
      expect(isPortLicenseType(value)).toBe(false);
    },
  );

  it('narrows the type', () => {
    const value: unknown = 'VoxLite';
    if (isPortLicenseType(value)) expect(featuresFor(value)).toEqual(['LITE']);
    else expect.unreachable();
  });
});
