import { describe, expect, it } from 'vitest';
import { buildGreeting, GREETING_MESSAGE } from '../../src/protocol/builders.js';
import { ProtocolError } from '../../src/protocol/protocol-error.js';
import { ReturnCode } from '../../src/protocol/return-codes.js';
import {
  errorResponse,
  okResponse,
  parseGreeting,
  parseRequest,
  parseResult,
  parseServerFrame,
} from '../../src/protocol/validate.js';
import { buildRequest } from '../helpers/frames.js';

const GREETING = buildGreeting({ server: 'fake/1', auth: 'scram-sha-256' });

function expectError(value: unknown, fields: Partial<ProtocolError>): ProtocolError {
  expect(value).toBeInstanceOf(ProtocolError);
  expect(value).toMatchObject(fields);
  return value as ProtocolError;
}

describe('parseGreeting', () => {
  it('accepts the greeting and drops unknown fields', () => {
    expect(parseGreeting({ ...GREETING, motd: 'hi' })).toEqual(GREETING);
    expect(GREETING.message).toBe(GREETING_MESSAGE);
  });

  it('leaves the version for checkVersion to judge', () => {
    expect(parseGreeting({ ...GREETING, version: '7.3' })).toMatchObject({ version: '7.3' });
  });

  it('refuses another protocol or an unknown auth mode as incompatible (-28)', () => {
    const incompatible = ReturnCode.LV_OPEN_PORT_FAILED__PRIMARY_SERVER_NOT_COMPATIBLE;
    expectError(parseGreeting({ ...GREETING, protocol: 'smtp' }), { field: 'protocol', code: incompatible });
    expectError(parseGreeting({ ...GREETING, auth: 'kerberos' }), { field: 'auth', code: incompatible });
  });

  it('names a missing field', () => {
    const { server: _, ...rest } = GREETING;
    const error = expectError(parseGreeting(rest), { reason: 'invalid-message', field: 'server' });
    expect(error.message).toBe('greeting: "server" is missing.');
    expectError(parseGreeting(null), { reason: 'invalid-message' });
  });
});

describe('parseRequest', () => {
  it('accepts every operation and keeps only known fields, in canonical order', () => {
    const cases = [
      buildRequest(1, 'hello', { version: '1.0', client: 'x/1' }),
      buildRequest(1, 'hello', { version: '1.1' }),
      buildRequest(2, 'auth-start', { mechanism: 'SCRAM-SHA-256', message: 'n,,n=u,r=abc' }),
      buildRequest(3, 'auth-finish', { message: 'c=biws,r=abc,p=x' }),
      buildRequest(4, 'acquire', { lease: 'a:1', feature: 'FULL', count: 2 }),
      buildRequest(4, 'acquire', { lease: 'a.b_c-d:1', feature: 'TTS', count: 1, wait: 0 }),
      buildRequest(5, 'cancel', { lease: 'a:1' }),
      buildRequest(6, 'renew', { leases: ['a:1', 'a:2'] }),
      buildRequest(6, 'renew', { leases: [] }),
      buildRequest(7, 'release', { leases: ['a:1'] }),
      buildRequest(8, 'status', {}),
      buildRequest(8, 'status', { feature: 'LITE' }),
      buildRequest(9, 'ping', {}),
      buildRequest(Number.MAX_SAFE_INTEGER, 'ping', {}),
    ];
    for (const request of cases) {
      const parsed = parseRequest({ future: true, ...request, extra: [1] });
      expect(parsed).toEqual(request);
      expect(JSON.stringify(parsed)).toBe(JSON.stringify(request));
    }
  });

  it('answers an unknown operation with its id and LV_NOT_IMPLEMENTED (-13)', () => {
    expectError(parseRequest({ id: 12, op: 'teleport' }), {
      id: 12,
      code: ReturnCode.LV_NOT_IMPLEMENTED,
      field: 'op',
      reason: 'invalid-message',
    });
  });

  it('answers a frame without a readable id with id null and -50', () => {
    for (const id of [undefined, null, 0, -1, 1.5, '3', Number.MAX_SAFE_INTEGER + 1]) {
      expectError(parseRequest({ id, op: 'ping' }), {
        id: null,
        code: ReturnCode.LV_UNKNOWN_SERVER_ERROR,
        field: 'id',
      });
    }
    expectError(parseRequest([1]), { id: null, code: ReturnCode.LV_UNKNOWN_SERVER_ERROR });
  });

  it('answers a bad field with the id, -54 and the field name', () => {
    const bad: Array<[Record<string, unknown>, string]> = [
      [{ op: 7 }, 'op'],
      [{ op: 'hello' }, 'version'],
      [{ op: 'hello', version: 1 }, 'version'],
      [{ op: 'hello', version: '1.0', client: 5 }, 'client'],
      [{ op: 'auth-start', mechanism: 'SCRAM-SHA-256' }, 'message'],
      [{ op: 'auth-finish', message: null }, 'message'],
      [{ op: 'acquire', feature: 'FULL', count: 1 }, 'lease'],
      [{ op: 'acquire', lease: 'has space', feature: 'FULL', count: 1 }, 'lease'],
      [{ op: 'acquire', lease: 'x'.repeat(65), feature: 'FULL', count: 1 }, 'lease'],
      [{ op: 'acquire', lease: 'a', feature: 'full', count: 1 }, 'feature'],
      [{ op: 'acquire', lease: 'a', feature: 'FULL', count: 0 }, 'count'],
      [{ op: 'acquire', lease: 'a', feature: 'FULL', count: 1.5 }, 'count'],
      [{ op: 'acquire', lease: 'a', feature: 'FULL', count: 1, wait: -1 }, 'wait'],
      [{ op: 'cancel' }, 'lease'],
      [{ op: 'renew', leases: 'a' }, 'leases'],
      [{ op: 'renew', leases: ['a', 7] }, 'leases[1]'],
      [{ op: 'release', leases: ['ok', 'not ok'] }, 'leases[1]'],
      [{ op: 'status', feature: 'tts' }, 'feature'],
    ];
    for (const [fields, field] of bad) {
      expectError(parseRequest({ id: 3, ...fields }), {
        id: 3,
        code: ReturnCode.LV_INVALID_API_PARAMETER,
        field,
        reason: 'invalid-message',
      });
    }
  });

  it('answers another SASL mechanism as an incompatible auth mode (-28)', () => {
    expectError(parseRequest({ id: 2, op: 'auth-start', mechanism: 'PLAIN', message: 'x' }), {
      id: 2,
      code: ReturnCode.LV_OPEN_PORT_FAILED__PRIMARY_SERVER_NOT_COMPATIBLE,
      field: 'mechanism',
    });
  });

  it('does not read fields from the prototype chain', () => {
    const proto = { version: '1.0' };
    const request = Object.assign(Object.create(proto) as object, { id: 1, op: 'hello' });
    expectError(parseRequest(request), { field: 'version' });
  });
});

describe('parseServerFrame', () => {
  it('classifies a greeting, responses and pushes', () => {
    expect(parseServerFrame(GREETING)).toEqual({ kind: 'greeting', greeting: GREETING });
    expect(parseServerFrame({ id: 3, ok: true, result: { time: 1 } })).toEqual({
      kind: 'response',
      response: { id: 3, ok: true, result: { time: 1 } },
    });
    const failure = errorResponse(null, -50, 'bad frame');
    expect(parseServerFrame(failure)).toEqual({ kind: 'response', response: failure });
    const pushes = [
      { push: 'lease-revoked', leases: ['a:1'], code: -41, message: 'gone' },
      { push: 'shutdown', message: 'bye' },
      { push: 'shutdown', message: 'bye', retryAfter: 5000 },
      { push: 'queue-position', lease: 'a:1', position: 3 },
    ];
    for (const push of pushes)
      expect(parseServerFrame({ ...push, later: 1 })).toEqual({ kind: 'push', push });
  });

  it('gives a non-fatal unexpected-message for an unknown push, to be ignored', () => {
    expectError(parseServerFrame({ push: 'weather', sunny: true }), {
      reason: 'unexpected-message',
      fatal: false,
      field: 'push',
    });
  });

  it('carries the id of a malformed response, so the client can fail that request', () => {
    expectError(parseServerFrame({ id: 9, ok: false, error: { code: -26, message: 'x' } }), {
      id: 9,
      field: 'error.name',
      code: ReturnCode.LV_UNKNOWN_SERVER_ERROR,
    });
    expectError(parseServerFrame({ id: 9, ok: 'yes', result: {} }), { id: 9, field: 'ok' });
    expectError(parseServerFrame({ id: 9, ok: true, result: [1] }), { id: 9, field: 'result' });
    expectError(parseServerFrame({ id: 9, ok: true }), { id: 9, field: 'result' });
  });

  it('refuses a success response without an id, and frames it cannot classify', () => {
    expectError(parseServerFrame({ id: null, ok: true, result: {} }), { field: 'id' });
    expectError(parseServerFrame({ id: 'seven', ok: true, result: {} }), { id: null, field: 'id' });
    expectError(parseServerFrame({ hello: 'world' }), { reason: 'invalid-message' });
    expectError(parseServerFrame('text'), { reason: 'invalid-message' });
    expectError(parseServerFrame({ push: 'lease-revoked', leases: 'a', code: -41, message: '' }), {
      field: 'leases',
    });
    expectError(parseServerFrame({ push: 'queue-position', lease: 'a', position: 0 }), { field: 'position' });
  });
});

describe('parseResult', () => {
  it('accepts each operation’s result and drops unknown fields', () => {
    const results = {
      hello: { version: '1.0', server: 's/1', auth: 'none', leaseTtl: 30_000, maxFrameBytes: 65_536 },
      'auth-start': { message: 'r=abc,s=c2FsdA==,i=4096' },
      'auth-finish': { message: 'v=abc', account: 'user' },
      acquire: { lease: 'a:1', feature: 'FULL', count: 1, ttl: 30_000, reclaimed: true },
      cancel: { lease: 'a:1', cancelled: false },
      renew: { renewed: ['a:1'], unknown: [], ttl: 30_000 },
      release: { released: [], unknown: ['a:1'] },
      status: {
        features: { FULL: { total: 4, inUse: 1, queued: 0 }, TTS: { total: 0, inUse: 0, queued: 0 } },
      },
      ping: { time: 1_767_225_600_000 },
    } as const;
    for (const [op, result] of Object.entries(results)) {
      expect(parseResult(op as keyof typeof results, { ...result, newer: 'field' })).toEqual(result);
    }
  });

  it("keeps a 1.1 hello's cluster, and refuses one that is not a string", () => {
    const hello = { version: '1.1', server: 's/1', auth: 'none', leaseTtl: 30_000, maxFrameBytes: 65_536 };
    expect(parseResult('hello', { ...hello, cluster: 'pool-1' })).toEqual({ ...hello, cluster: 'pool-1' });
    expect(parseResult('hello', hello)).toEqual(hello);
    expect(parseResult('hello', { ...hello, cluster: 7 })).toBeInstanceOf(ProtocolError);
  });

  it('names the bad field with the result. prefix and code -50', () => {
    const cases: Array<[Parameters<typeof parseResult>[0], unknown, string]> = [
      [
        'hello',
        { version: '1.0', server: 's', auth: 'sometimes', leaseTtl: 1, maxFrameBytes: 1 },
        'result.auth',
      ],
      [
        'hello',
        { version: '1.0', server: 's', auth: 'none', leaseTtl: 0, maxFrameBytes: 1 },
        'result.leaseTtl',
      ],
      ['acquire', { lease: 'a', feature: 'FULL', count: 1, ttl: 1 }, 'result.reclaimed'],
      ['renew', { renewed: ['a'], unknown: [''], ttl: 1 }, 'result.unknown[0]'],
      ['status', { features: { full: { total: 1, inUse: 0, queued: 0 } } }, 'result.features.full'],
      ['status', { features: { FULL: { total: 1, inUse: -1, queued: 0 } } }, 'result.features.FULL.inUse'],
      ['status', { features: { FULL: 3 } }, 'result.features.FULL'],
      ['ping', { time: 'now' }, 'result.time'],
      ['ping', 'pong', 'result'],
    ];
    for (const [op, value, field] of cases) {
      expectError(parseResult(op, value), {
        field,
        code: ReturnCode.LV_UNKNOWN_SERVER_ERROR,
        reason: 'invalid-message',
      });
    }
  });
});

describe('builders', () => {
  it('errorResponse names the code from the LV_* table', () => {
    expect(errorResponse(4, -26, 'full')).toEqual({
      id: 4,
      ok: false,
      error: { code: -26, name: 'LV_OPEN_PORT_FAILED__LICENSES_EXCEEDED', message: 'full' },
    });
    expect(errorResponse(null, -999, 'odd').error.name).toBe('UNKNOWN');
  });

  it('okResponse and buildRequest put the fields in the documented order', () => {
    expect(JSON.stringify(okResponse(1, { time: 2 }))).toBe('{"id":1,"ok":true,"result":{"time":2}}');
    expect(JSON.stringify(buildRequest(2, 'cancel', { lease: 'a' }))).toBe(
      '{"id":2,"op":"cancel","lease":"a"}',
    );
  });

  it('a ProtocolError from parseRequest becomes the error response a server sends', () => {
    const error = parseRequest({ id: 5, op: 'nope' });
    expect(error).toBeInstanceOf(ProtocolError);
    const { id, code, message } = error as ProtocolError;
    expect(errorResponse(id, code, message)).toMatchObject({
      id: 5,
      error: { code: -13, name: 'LV_NOT_IMPLEMENTED' },
    });
  });
});
