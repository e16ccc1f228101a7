/**
 * Frame decoder fuzzing, beyond test/protocol/codec.property.test.ts (which covers never throwing on
 * arbitrary bytes and chunkings, chunking independence and the encode/decode round trip): memory stays
 * bounded, garbage lines never desynchronize the framing, and a fatal error stays fatal.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type DecodedItem, encodeFrame, FrameDecoder } from '../../src/protocol/codec.js';

/** Splits `data` at the given cut points (folded into range, sorted, deduplicated). */
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

const cuts = fc.array(fc.nat(), { maxLength: 30 });
const bytes = fc.oneof(
  fc.uint8Array({ maxLength: 400 }),
  fc
    .array(fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x0a, 0x0d, 0x7b, 0x7d, 0x22)), {
      maxLength: 400,
    })
    .map((b) => Uint8Array.from(b)),
);

/**
 * A line that can never decode to a frame: it does not start with `{` or JSON whitespace, and holds no
 * line feed. It is invalid UTF-8, invalid JSON, or a JSON value that is not an object.
 */
const garbageLine = fc.oneof(
  fc
    .tuple(
      fc.integer({ min: 0, max: 255 }).filter((b) => ![0x7b, 0x20, 0x09, 0x0a, 0x0d].includes(b)),
      fc.uint8Array({ maxLength: 60 }),
    )
    .map(([first, rest]) => Buffer.from([first, ...rest.filter((b) => b !== 0x0a)])),
  fc
    .constantFrom('42', '[]', '"text"', 'null', 'true', '[{"id":1}]', '{"id":1', 'GET / HTTP/1.1')
    .map((s) => Buffer.from(s)),
);

const frameMessage = fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), {
  maxKeys: 4,
});

describe('FrameDecoder under fuzzing', () => {
  it('never buffers more than the frame limit plus one byte, however the bytes come', () => {
    fc.assert(
      fc.property(bytes, cuts, fc.integer({ min: 1, max: 64 }), (data, cutPoints, maxFrameBytes) => {
        const decoder = new FrameDecoder({ maxFrameBytes });
        for (const piece of chunk(data, cutPoints)) {
          decoder.push(piece);
          expect(decoder.bufferedBytes).toBeLessThanOrEqual(maxFrameBytes + 1);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('decodes every valid frame between garbage lines, with one non-fatal error per garbage line', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            frameMessage.map((m) => ({ frame: m })),
            garbageLine.map((g) => ({ garbage: g })),
          ),
          {
            maxLength: 12,
          },
        ),
        cuts,
        fc.boolean(),
        (lines, cutPoints, crlf) => {
          const eol = Buffer.from(crlf ? '\r\n' : '\n');
          const stream = Buffer.concat(
            lines.flatMap((line) => [
              'frame' in line ? encodeFrame(line.frame).subarray(0, -1) : line.garbage,
              eol,
            ]),
          );
          const decoder = new FrameDecoder();
          const items: DecodedItem[] = chunk(stream, cutPoints).flatMap((piece) => decoder.push(piece));
          expect(decoder.end()).toEqual([]);
          const expected = lines.map((line) =>
            'frame' in line ? { kind: 'frame', value: JSON.parse(JSON.stringify(line.frame)) } : 'error',
          );
          expect(
            items.map((item) => (item.kind === 'frame' ? item : item.error.fatal ? 'fatal' : 'error')),
          ).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('after a fatal oversized frame, ignores everything that follows', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 32 }),
        fc.integer({ min: 1, max: 64 }),
        bytes,
        cuts,
        (limit, over, after, cutPoints) => {
          const decoder = new FrameDecoder({ maxFrameBytes: limit });
          const items = decoder.push(Buffer.alloc(limit + over + 1, 0x61));
          expect(items).toHaveLength(1);
          expect(items[0]).toMatchObject({
            kind: 'error',
            error: { reason: 'frame-too-large', fatal: true },
          });
          for (const piece of chunk(after, cutPoints)) expect(decoder.push(piece)).toEqual([]);
          expect(decoder.end()).toEqual([]);
          expect(decoder.bufferedBytes).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });
});
