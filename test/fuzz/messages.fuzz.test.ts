/**
 * Message checks under fuzzing: whatever a peer sends inside a well-formed frame, the request, response,
 * push and result checks answer with a typed message or a ProtocolError that carries a real return code,
 * never an exception; and a request that passes survives a trip over the wire unchanged. The
 * license_authentication.conf parser gets arbitrary text (test/testing/accounts.test.ts only combines
 * known fragments); client_property.conf and the SCRAM parsers are fuzzed in test/config/properties.test.ts
 * and test/protocol/scram.fuzz.test.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { encodeFrame, FrameDecoder } from '../../src/protocol/codec.js';
import { REQUEST_OPS } from '../../src/protocol/messages.js';
import { ProtocolError } from '../../src/protocol/protocol-error.js';
import { isReturnCode } from '../../src/protocol/return-codes.js';
import { parseGreeting, parseRequest, parseResult, parseServerFrame } from '../../src/protocol/validate.js';
import { parseAccountsFile } from '../../src/server/accounts.js';

/** Values that are right for some field and wrong for most. */
const anyValue = fc.oneof(
  fc.constantFrom(
    'FULL',
    'TTS',
    'app.1:port-1',
    '1.0',
    '2.0',
    'SCRAM-SHA-256',
    'n,,n=u,r=abc',
    '',
    'x'.repeat(70),
  ),
  fc.integer({ min: -3, max: 70_000 }),
  fc.constantFrom(0, 1, 1.5, -1, 2 ** 53, Number.MAX_SAFE_INTEGER, null, true, false),
  fc.array(fc.constantFrom('a', 'app.1:port-1', 'bad id!', 7), { maxLength: 4 }),
  fc.string({ maxLength: 12 }),
  fc.jsonValue({ maxDepth: 2 }),
);

const FIELDS = [
  'lease',
  'feature',
  'count',
  'wait',
  'leases',
  'version',
  'client',
  'mechanism',
  'message',
  'requests',
];

const requestLike = fc
  .tuple(
    fc.option(anyValue, { nil: undefined }),
    fc.oneof(fc.constantFrom(...REQUEST_OPS), anyValue),
    fc.dictionary(fc.constantFrom(...FIELDS), anyValue, { maxKeys: 5 }),
    fc.dictionary(fc.string({ maxLength: 6 }), anyValue, { maxKeys: 2 }),
  )
  .map(([id, op, fields, extra]) => ({ ...extra, ...fields, op, ...(id === undefined ? {} : { id }) }));

const serverLike = fc
  .tuple(
    fc.dictionary(
      fc.constantFrom('type', 'push', 'id', 'ok', 'result', 'error', 'leases', 'code', 'message'),
      anyValue,
      {
        maxKeys: 6,
      },
    ),
    fc.option(fc.constantFrom('greeting', 'lease-revoked', 'shutdown', 'queue-position', 'later-push'), {
      nil: undefined,
    }),
  )
  .map(([fields, kind]) =>
    kind === undefined ? fields : kind === 'greeting' ? { ...fields, type: kind } : { ...fields, push: kind },
  );

function expectProtocolError(value: unknown): void {
  expect(value).toBeInstanceOf(ProtocolError);
  expect(isReturnCode((value as ProtocolError).code)).toBe(true);
}

describe('message checks under fuzzing', () => {
  it('parseRequest answers a request or a ProtocolError with a return code, and a request round-trips', () => {
    fc.assert(
      fc.property(requestLike, (value) => {
        const request = parseRequest(value);
        if (request instanceof ProtocolError) {
          expectProtocolError(request);
          if (request.id !== null) expect(request.id).toBe(value.id);
          return;
        }
        expect(Number.isSafeInteger(request.id) && request.id >= 1).toBe(true);
        expect(REQUEST_OPS).toContain(request.op);
        const [item] = new FrameDecoder().push(encodeFrame(request));
        expect(item?.kind).toBe('frame');
        expect(parseRequest(item?.kind === 'frame' ? item.value : undefined)).toEqual(request);
      }),
      { numRuns: 1_000 },
    );
  });

  it('parseServerFrame and parseGreeting never throw on any object', () => {
    fc.assert(
      fc.property(fc.oneof(serverLike, fc.jsonValue({ maxDepth: 3 })), (value) => {
        for (const parse of [parseServerFrame, parseGreeting]) {
          const frame = parse(value);
          if (frame instanceof ProtocolError) expectProtocolError(frame);
          else expect(typeof frame).toBe('object');
        }
      }),
      { numRuns: 1_000 },
    );
  });

  it('parseResult never throws, for any operation and any result', () => {
    const result = fc.oneof(
      fc.dictionary(
        fc.constantFrom(
          'lease',
          'feature',
          'count',
          'ttl',
          'reclaimed',
          'renewed',
          'unknown',
          'released',
          'features',
          'message',
          'account',
          'version',
          'time',
          'responses',
          'batch',
          'cluster',
          'granted',
          'epochs',
        ),
        anyValue,
        { maxKeys: 6 },
      ),
      fc.jsonValue({ maxDepth: 2 }),
    );
    fc.assert(
      fc.property(fc.constantFrom(...REQUEST_OPS), result, (op, value) => {
        const parsed = parseResult(op, value);
        if (parsed instanceof ProtocolError) expectProtocolError(parsed);
      }),
      { numRuns: 1_000 },
    );
  });

  it('parseAccountsFile gives accounts or a ConfigError for any text', () => {
    const text = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc
        .array(
          fc.oneof(
            fc.constantFrom('[a]', 'PASSWORD = p', 'FULL = 2', '= x', '[', '"', ';', '#'),
            fc.string({ maxLength: 20 }),
          ),
          {
            maxLength: 15,
          },
        )
        .map((lines) => lines.join('\n')),
    );
    fc.assert(
      fc.property(text, (input) => {
        try {
          const accounts = parseAccountsFile(input, 'fuzz.conf');
          expect(typeof accounts).toBe('object');
        } catch (err) {
          expect(err).toBeInstanceOf(ConfigError);
        }
      }),
      { numRuns: 300 },
    );
  });
});
