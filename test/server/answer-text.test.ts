/** The hand-written answers of a grant and a release are the text JSON.stringify makes of the same answer. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { okResponse } from '../../src/protocol/builders.js';
import type { ResultOf } from '../../src/protocol/messages.js';
import { grantAnswerText, releaseAnswerText } from '../../src/server/answer-text.js';

/** Any string: quotes, backslashes, control characters, any code point, lone surrogates. */
const text = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.constantFrom('', '"', '\\', '\n', '\u2028'),
);
const id = fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER });

describe('answer text', () => {
  it('of a grant is JSON.stringify of its answer, with and without an epoch', () => {
    fc.assert(
      fc.property(
        id,
        text,
        text,
        fc.nat(),
        fc.nat(),
        fc.boolean(),
        fc.option(fc.nat(), { nil: undefined }),
        (requestId, lease, feature, count, ttl, reclaimed, epoch) => {
          const base = { lease, feature, count, ttl, reclaimed };
          const result: ResultOf<'acquire'> = epoch === undefined ? base : { ...base, epoch };
          expect(grantAnswerText(requestId, result)).toBe(JSON.stringify(okResponse(requestId, result)));
        },
      ),
    );
  });

  it('of a release is JSON.stringify of its answer', () => {
    fc.assert(
      fc.property(
        id,
        fc.array(text, { maxLength: 5 }),
        fc.array(text, { maxLength: 5 }),
        (requestId, released, unknown) => {
          const result: ResultOf<'release'> = { released, unknown };
          expect(releaseAnswerText(requestId, result)).toBe(JSON.stringify(okResponse(requestId, result)));
        },
      ),
    );
  });

  it('is not made of what JSON.stringify would write otherwise: the caller stringifies it', () => {
    const grant = { lease: 'a', feature: 'FULL', count: 1, ttl: 30_000, reclaimed: false };
    expect(grantAnswerText(1, { ...grant, count: 1.5 })).toBeUndefined();
    expect(grantAnswerText(1, { ...grant, ttl: Number.NaN })).toBeUndefined();
    expect(grantAnswerText(1, { ...grant, epoch: undefined as unknown as number })).toBeUndefined();
    expect(grantAnswerText(1, { ...grant, lease: 7 as unknown as string })).toBeUndefined();
    expect(releaseAnswerText(1, { released: [null as unknown as string], unknown: [] })).toBeUndefined();
  });
});
