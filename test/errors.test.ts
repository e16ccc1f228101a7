import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  AbortError,
  AuthenticationError,
  abortError,
  ConfigError,
  errorFromReturnCode,
  IncompatibleServerError,
  InvalidParameterError,
  InvalidPortError,
  isLicenseError,
  LicenseError,
  LicensesExceededError,
  LicensesExpiredError,
  NoServerRespondingError,
  OpenPortError,
  SocketsError,
  TimeoutError,
  toReturnCode,
} from '../src/errors.js';
import { ReturnCode } from '../src/protocol/return-codes.js';

const CLASSES = [
  [ConfigError, -11, 'LV_INVALID_PROPERTY_VALUE', false],
  [TimeoutError, -6, 'LV_TIME_OUT', true],
  [SocketsError, -14, 'LV_SOCKETS_ERROR', true],
  [NoServerRespondingError, -30, 'LV_NO_SERVER_RESPONDING', true],
  [IncompatibleServerError, -28, 'LV_OPEN_PORT_FAILED__PRIMARY_SERVER_NOT_COMPATIBLE', false],
  [AuthenticationError, -34, 'LV_INVALID_LICENSE', false],
  [LicensesExceededError, -26, 'LV_OPEN_PORT_FAILED__LICENSES_EXCEEDED', true],
  [LicensesExpiredError, -41, 'LV_LICENSES_EXPIRED', false],
  [InvalidPortError, -12, 'LV_INVALID_HPORT', false],
  [InvalidParameterError, -54, 'LV_INVALID_API_PARAMETER', false],
] as const;

describe('error classes', () => {
  it.each(CLASSES)('%o carries its code, name and retry flag', (Class, code, codeName, retryable) => {
    const cause = new Error('underlying');
    const err = new Class('something went wrong', { server: 'ls1:7569', cause });
    expect(err).toBeInstanceOf(Class);
    expect(err).toBeInstanceOf(LicenseError);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe(Class.kind);
    expect(err.code).toBe(code);
    expect(err.codeName).toBe(codeName);
    expect(err.retryable).toBe(retryable);
    expect(err.server).toBe('ls1:7569');
    expect(err.cause).toBe(cause);
    expect(err.message).toBe('something went wrong');
    expect(isLicenseError(err)).toBe(true);
    expect(toReturnCode(err)).toBe(code);
    expect(err.stack).toContain(Class.kind);
  });

  it('does not confuse sibling classes', () => {
    const err = new InvalidPortError('closed');
    expect(err instanceof LicensesExceededError).toBe(false);
    expect(err instanceof ConfigError).toBe(false);
    expect(new LicenseError('x') instanceof InvalidPortError).toBe(false);
  });

  it('leaves cause unset when none is given', () => {
    expect('cause' in new SocketsError('x')).toBe(false);
  });

  it('lets the retry flag and code be overridden', () => {
    const err = new InvalidParameterError('channel 9 is out of range', {
      code: ReturnCode.LV_SOUND_CHANNEL_OUT_OF_RANGE,
    });
    expect(err.codeName).toBe('LV_SOUND_CHANNEL_OUT_OF_RANGE');
    expect(new SocketsError('x', { retryable: false }).retryable).toBe(false);
  });

  it('keeps ConfigError location fields', () => {
    const err = new ConfigError('bad port', { file: '/etc/x.conf', line: 4, key: 'LICENSE_SERVERS' });
    expect(err).toMatchObject({
      file: '/etc/x.conf',
      line: 4,
      key: 'LICENSE_SERVERS',
      pathsTried: undefined,
    });
  });

  it('keeps every server error in NoServerRespondingError', () => {
    const a = new SocketsError('refused', { server: 'a:7569' });
    const b = new TimeoutError('timed out', { server: 'b:7569' });
    const err = new NoServerRespondingError('none', { errors: [a, b] });
    expect(err.errors).toEqual([a, b]);
    expect(Object.isFrozen(err.errors)).toBe(true);
  });
});

describe('OpenPortError', () => {
  it('is always LV_FAILURE with the detail in status', () => {
    const err = new OpenPortError('License failure.', { status: -26 });
    expect(err.code).toBe(-1);
    expect(err.codeName).toBe('LV_FAILURE');
    expect(err.status).toBe(-26);
  });

  it('speaks the vendor log line for unreachable servers', () => {
    const cause = new NoServerRespondingError('none answered');
    const err = OpenPortError.fromCause(cause, ['10.0.0.1:7569', '10.0.0.2:7569']);
    expect(err.message).toBe(
      'License failure. No license server responding at address: 10.0.0.1:7569;10.0.0.2:7569',
    );
    expect(err.status).toBe(-30);
    expect(err.cause).toBe(cause);
    expect(err.retryable).toBe(true);
  });

  it('takes the status, server and retry flag from its cause', () => {
    const cause = new AuthenticationError('rejected', { server: 'ls:7569' });
    const err = OpenPortError.fromCause(cause);
    expect(err).toMatchObject({ status: -34, server: 'ls:7569', retryable: false, code: -1 });
    expect(err.message).toBe('License failure. rejected');
    expect(OpenPortError.fromCause('boom').status).toBe(ReturnCode.LV_EXCEPTION);
  });
});

describe('toReturnCode', () => {
  it('maps anything thrown to a code', () => {
    expect(toReturnCode(new Error('x'))).toBe(-68);
    expect(toReturnCode('string')).toBe(-68);
    expect(toReturnCode(undefined)).toBe(-68);
    expect(toReturnCode(null)).toBe(-68);
    expect(toReturnCode(new DOMException('late', 'TimeoutError'))).toBe(-6);
  });
});

describe('errorFromReturnCode', () => {
  it('builds the most specific class for a code', () => {
    expect(errorFromReturnCode(-26, 'x')).toBeInstanceOf(LicensesExceededError);
    expect(errorFromReturnCode(-34, 'x')).toBeInstanceOf(AuthenticationError);
    expect(errorFromReturnCode(-8, 'x')).toBeInstanceOf(InvalidParameterError);
    expect(errorFromReturnCode(-8, 'x').code).toBe(-8);
    const generic = errorFromReturnCode(-61, 'x', { server: 's:1' });
    expect(generic.constructor).toBe(LicenseError);
    expect(generic).toMatchObject({
      code: -61,
      codeName: 'LV_RESOURCE_ERROR',
      server: 's:1',
      retryable: true,
    });
  });
});

describe('brands', () => {
  it('recognises an error from another copy of the library by its Symbol.for brand', () => {
    // What the other build does: a separate class whose instances carry the same registered brand.
    const foreign = Object.create(Error.prototype) as Error;
    Object.defineProperty(foreign, Symbol.for('lv-license-client.error.kinds'), {
      value: ['InvalidPortError', 'LicenseError'],
    });
    expect(foreign instanceof InvalidPortError).toBe(true);
    expect(foreign instanceof LicenseError).toBe(true);
    expect(foreign instanceof ConfigError).toBe(false);
    expect(isLicenseError(foreign)).toBe(true);
  });

  it('rejects look-alikes', () => {
    expect(isLicenseError({ code: -12, name: 'InvalidPortError' })).toBe(false);
    expect(isLicenseError(null)).toBe(false);
    expect((1 as unknown) instanceof LicenseError).toBe(false);
  });

  it('keeps the brand out of inspect and JSON', () => {
    const err = new InvalidPortError('closed');
    expect(inspect(err)).not.toContain('kinds');
    expect(Object.keys(err)).not.toContain('kinds');
  });
});

describe('abortError', () => {
  it('keeps a LicenseError reason as it is', () => {
    const reason = new LicensesExceededError('full');
    const controller = new AbortController();
    controller.abort(reason);
    expect(abortError(controller.signal, 'acquire')).toBe(reason);
  });

  it('turns AbortSignal.timeout into TimeoutError', async () => {
    const signal = AbortSignal.timeout(1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const err = abortError(signal, 'acquire TTS', 'ls:7569');
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err.server).toBe('ls:7569');
    expect(err.message).toBe("acquire TTS did not finish before the caller's deadline.");
  });

  it('keeps every code within the vendor table: one from outside it is -50, with the code received kept', () => {
    const err = errorFromReturnCode(-999, 'from a newer server');
    expect(err).toMatchObject({ code: -50, codeName: 'LV_UNKNOWN_SERVER_ERROR', receivedCode: -999 });
    expect(errorFromReturnCode(-26, 'busy').receivedCode).toBeUndefined();
  });

  it('reports a plain abort as LV_RESET, not retryable, with the reason as cause', () => {
    const controller = new AbortController();
    controller.abort();
    const err = abortError(controller.signal, 'openPort');
    expect(err).toMatchObject({ code: -3, codeName: 'LV_RESET', retryable: false });
    expect((err.cause as Error).name).toBe('AbortError');
    // Recognised as an abort by the usual check, and still -3 for toReturnCode.
    expect(err).toBeInstanceOf(AbortError);
    expect(err.name).toBe('AbortError');
    expect(toReturnCode(err)).toBe(-3);
  });
});
