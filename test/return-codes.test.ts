import { describe, expect, it } from 'vitest';
import {
  allReturnCodes,
  describeReturnCode,
  isReturnCode,
  ReturnCode,
  returnCodeName,
} from '../src/protocol/return-codes.js';

// The vendor's table, copied from shared/reference/lumenvox.md, so a typo in ours shows up here.
const VENDOR_TABLE = `0 LV_SUCCESS, -1 LV_FAILURE, -2 LV_SYSTEM_ERROR, -3 LV_RESET, -4 LV_BAD_SOUND_DATA, -5 LV_INVALID_SOUND_FORMAT,
-6 LV_TIME_OUT, -7 LV_GRAMMAR_SET_OUT_OF_RANGE, -8 LV_SOUND_CHANNEL_OUT_OF_RANGE, -9 LV_STANDARD_GRAMMAR_ALREADY_LOADED,
-10 LV_STANDARD_GRAMMAR_OUT_OF_RANGE, -11 LV_INVALID_PROPERTY_VALUE, -12 LV_INVALID_HPORT, -13 LV_NOT_IMPLEMENTED,
-14 LV_SOCKETS_ERROR, -15 LV_INVALID_PROPERTY_TARGET, -16 LV_INVALID_PROPERTY_VALUE_TYPE, -17 LV_INVALID_PROPERTY,
-18 LV_INVALID_PROPERTY_TARGET_NDX, -19 LV_STREAM_NOT_ACCEPTED, -20 LV_FUNCTION_NOT_FOUND, -21 LV_STRING_BUFFER_TOO_SMALL,
-22 LV_NO_SERVER_AVAILABLE, -23 LV_GRAMMAR_SYNTAX_WARNING, -24 LV_GRAMMAR_SYNTAX_ERROR, -25 LV_GRAMMAR_LOADING_ERROR,
-26 LV_OPEN_PORT_FAILED__LICENSES_EXCEEDED, -27 LV_OPEN_PORT_FAILED__PRIMARY_SERVER_NOT_RESPONDING,
-28 LV_OPEN_PORT_FAILED__PRIMARY_SERVER_NOT_COMPATIBLE, -29 LV_OPEN_PORT_FAILED__OPEN_PORT_NOT_CALLED_YET,
-30 LV_NO_SERVER_RESPONDING, -31 LV_GLOBAL_GRAMMAR_TRANSACTION_PARTIAL_ERROR, -32 LV_GLOBAL_GRAMMAR_TRANSACTION_ERROR,
-33 LV_ACTIVE_GRAMMAR_VOCAB_SIZE_EXCEEDS_LIMIT, -34 LV_INVALID_LICENSE, -35 LV_ACTIVE_GRAMMAR_LANGUAGE_CONFLICT,
-36 LV_ACTIVE_GRAMMAR_INVALID_LANGUAGE, -37 LV_LOAD_GRAMMAR_TIMEOUT, -38 LV_INVALID_DICTIONARY_LANGUAGE,
-39 LV_WORDS_NOT_IN_DICTIONARY, -40 LV_LVLANG_UNDEFINED, -41 LV_LICENSES_EXPIRED, -42 LV_NO_ANSWERS_AVAILABLE,
-43 LV_INVALID_INDEX, -44 LV_INVALID_GRAMMAR_LABEL, -45 LV_INVALID_SOUND_CHANNEL, -46 LV_INVALID_EVENT,
-47 LV_INVALID_BUFFER, -48 LV_INVALID_GRAMMAR_OBJECT, -49 LV_INCOMPATIBLE_SRE_SERVER, -50 LV_UNKNOWN_SERVER_ERROR,
-51 LV_INVALID_TTS_HANDLE, -52 LV_NO_TTS_SERVERS, -53 LV_INVALID_CLIENT_OBJECT, -54 LV_INVALID_API_PARAMETER,
-55 LV_NO_COMPATIBLE_TTS_SERVERS, -56 LV_SSML_ERROR, -57 LV_NO_RESULT_AVAILABLE, -58 LV_ACQUIRING_LICENSE_FAILED,
-59 LV_EXPIRED_LICENSE, -60 LV_INVALID_LICENSE_MAINT_DATE, -61 LV_RESOURCE_ERROR, -62 LV_FAILED_VOICE_LOAD,
-63 LV_FAILED_NO_VOICE_SPECIFIED, -64 LV_FAILED_STREAMER, -65 LV_FAILED_SYNTHESIS, -66 LV_FAILED_AUDIO_RESAMPLING,
-67 LV_FAILED_AUDIO_CONVERSION, -68 LV_EXCEPTION, -69 LV_FUNCTION_DISABLED, -70 LV_FAILED_LOAD_SPEECHPORT.`;

const vendorPairs = [...VENDOR_TABLE.matchAll(/(-?\d+) (LV_[A-Z_]+)/g)].map(
  (m) => [Number(m[1]), m[2]] as const,
);

describe('ReturnCode', () => {
  it('holds exactly the vendor table, 0 to -70', () => {
    expect(vendorPairs).toHaveLength(71);
    expect(Object.keys(ReturnCode)).toHaveLength(71);
    for (const [code, name] of vendorPairs) {
      expect(ReturnCode[name as keyof typeof ReturnCode], name).toBe(code);
    }
  });

  it('is frozen', () => {
    expect(Object.isFrozen(ReturnCode)).toBe(true);
  });

  it('looks names up by code', () => {
    for (const [code, name] of vendorPairs) expect(returnCodeName(code)).toBe(name);
    expect(returnCodeName(5)).toBe('LV_SUCCESS');
    expect(returnCodeName(-71)).toBeUndefined();
    expect(returnCodeName(-1.5)).toBeUndefined();
    expect(returnCodeName(Number.NaN)).toBeUndefined();
  });

  it('describes every code with a one-line meaning', () => {
    const all = allReturnCodes();
    expect(all.map((d) => d.code)).toEqual(vendorPairs.map(([code]) => code));
    for (const d of all) {
      expect(d.meaning.length).toBeGreaterThan(5);
      expect(d.meaning).not.toMatch(/\n/);
    }
    expect(describeReturnCode(-30)).toEqual({
      code: -30,
      name: 'LV_NO_SERVER_RESPONDING',
      meaning: 'No license server responded at any configured address.',
      retryable: true,
    });
    expect(describeReturnCode(3)).toMatchObject({ name: 'LV_SUCCESS', meaning: 'Success (3).' });
    expect(describeReturnCode(-99)).toMatchObject({ name: 'UNKNOWN', retryable: false });
  });

  it('marks what retrying can fix', () => {
    const retryable = (code: number) => describeReturnCode(code).retryable;
    expect(retryable(ReturnCode.LV_TIME_OUT)).toBe(true);
    expect(retryable(ReturnCode.LV_SOCKETS_ERROR)).toBe(true);
    expect(retryable(ReturnCode.LV_NO_SERVER_RESPONDING)).toBe(true);
    expect(retryable(ReturnCode.LV_OPEN_PORT_FAILED__LICENSES_EXCEEDED)).toBe(true);
    expect(retryable(ReturnCode.LV_INVALID_LICENSE)).toBe(false);
    expect(retryable(ReturnCode.LV_INVALID_PROPERTY_VALUE)).toBe(false);
    expect(retryable(ReturnCode.LV_INVALID_API_PARAMETER)).toBe(false);
    expect(retryable(ReturnCode.LV_OPEN_PORT_FAILED__PRIMARY_SERVER_NOT_COMPATIBLE)).toBe(false);
  });

  it('recognises codes', () => {
    expect(isReturnCode(-12)).toBe(true);
    expect(isReturnCode(-71)).toBe(false);
    expect(isReturnCode('-12')).toBe(false);
  });
});

describe('LIBRARY_VERSION', () => {
  it('matches package.json', async () => {
    const { LIBRARY_VERSION } = await import('../src/version.js');
    const { readFileSync } = await import('node:fs');
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(LIBRARY_VERSION).toBe(pkg.version);
  });
});
