import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type DecodedItem, encodeFrame, FrameDecoder } from '../../src/protocol/codec.js';

/** Splits `data` at the given cut points (any numbers: they are folded into range and sorted). */
function chunk(data: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((cut) => cut % (data.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const point of [...points, data.length]) {
    chunks.push(data.subarray(start, point));
    start = point;
  }
  return chunks;
}

function decodeChunks(chunks: readonly Uint8Array[], maxFrameBytes?: number): DecodedItem[] {
  const decoder = new FrameDecoder(maxFrameBytes === undefined ? {} : { maxFrameBytes });
  return [...chunks.flatMap((c) => decoder.push(c)), ...decoder.end()];
}

const cuts = fc.array(fc.nat(), { maxLength: 20 });

/** Bytes that are often newlines, CRs, braces and UTF-8 lead bytes, so lines and near-JSON occur. */
const noisyBytes = fc.array(
  fc.oneof(
    fc.integer({ min: 0, max: 255 }),
    fc.constantFrom(0x0a, 0x0d, 0x7b, 0x7d, 0x22, 0x3a, 0xc3, 0xe2, 0xf0),
  ),
  { maxLength: 300 },
);

describe('FrameDecoder properties', () => {
  it('never throws, whatever the bytes and however they are chunked', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          noisyBytes.map((b) => Uint8Array.from(b)),
        ),
        cuts,
        fc.integer({ min: 1, max: 64 }),
        (data, cutPoints, maxFrameBytes) => {
          const items = decodeChunks(chunk(data, cutPoints), maxFrameBytes);
          for (const item of items) {
            if (item.kind === 'frame') {
              expect(typeof item.value).toBe('object');
              expect(Array.isArray(item.value)).toBe(false);
            }
          }
          const fatal = items.findIndex((item) => item.kind === 'error' && item.error.fatal);
          if (fatal !== -1) expect(fatal).toBe(items.length - 1);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('gives the same items however the same bytes are chunked', () => {
    fc.assert(
      fc.property(
        noisyBytes.map((b) => Uint8Array.from(b)),
        cuts,
        (data, cutPoints) => {
          const summary = (items: DecodedItem[]) =>
            items.map((item) => (item.kind === 'frame' ? item.value : item.error.reason));
          expect(summary(decodeChunks(chunk(data, cutPoints), 40))).toEqual(
            summary(decodeChunks([data], 40)),
          );
        },
      ),
      { numRuns: 500 },
    );
  });

  it('decodes any list of encoded frames, re-chunked arbitrarily, to the same list', () => {
    const message = fc.dictionary(fc.string({ unit: 'binary' }), fc.jsonValue(), { maxKeys: 6 });
    fc.assert(
      fc.property(fc.array(message, { maxLength: 8 }), cuts, fc.boolean(), (messages, cutPoints, crlf) => {
        const encoded = messages.map((m) => {
          const frame = encodeFrame(m);
          return crlf ? Buffer.concat([frame.subarray(0, -1), Buffer.from('\r\n')]) : frame;
        });
        const items = decodeChunks(chunk(Buffer.concat(encoded), cutPoints));
        const expected = messages.map((m) => ({ kind: 'frame', value: JSON.parse(JSON.stringify(m)) }));
        expect(items).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });
});
