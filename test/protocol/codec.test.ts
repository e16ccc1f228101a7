import { describe, expect, it } from 'vitest';
import { type DecodedItem, encodeFrame, encodeFrameText, FrameDecoder } from '../../src/protocol/codec.js';
import { DEFAULT_MAX_FRAME_BYTES } from '../../src/protocol/constants.js';
import { ProtocolError } from '../../src/protocol/protocol-error.js';
import { ReturnCode } from '../../src/protocol/return-codes.js';

const bytes = (text: string): Buffer => Buffer.from(text, 'utf8');

function frames(items: readonly DecodedItem[]): unknown[] {
  return items.map((item) => (item.kind === 'frame' ? item.value : item.error.reason));
}

function decodeAll(chunks: readonly Uint8Array[], options?: { maxFrameBytes?: number }): DecodedItem[] {
  const decoder = new FrameDecoder(options);
  return [...chunks.flatMap((chunk) => decoder.push(chunk)), ...decoder.end()];
}

describe('encodeFrame', () => {
  it('writes compact JSON and a newline', () => {
    expect(encodeFrame({ id: 1, op: 'ping' }).toString('utf8')).toBe('{"id":1,"op":"ping"}\n');
  });

  it('escapes newlines inside strings, so a frame is always one line', () => {
    const frame = encodeFrame({ message: 'a\nb\r\nc\u2028' });
    expect(frame.indexOf(0x0a)).toBe(frame.length - 1);
  });

  it('counts the limit in UTF-8 bytes, without the newline', () => {
    const atLimit = { s: 'é'.repeat(10) }; // {"s":"..."} = 8 + 20 bytes
    expect(encodeFrame(atLimit, 28)).toHaveLength(29);
    const error = captureThrow(() => encodeFrame(atLimit, 27));
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error).toMatchObject({
      reason: 'frame-too-large',
      fatal: false,
      code: ReturnCode.LV_UNKNOWN_SERVER_ERROR,
    });
  });

  it('refuses what JSON cannot hold as an object', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(captureThrow(() => encodeFrame(cyclic))).toMatchObject({ reason: 'invalid-message' });
    expect(captureThrow(() => encodeFrame({ n: 1n }))).toMatchObject({ reason: 'invalid-message' });
    expect(captureThrow(() => encodeFrame([1, 2]))).toMatchObject({ reason: 'invalid-message' });
  });

  it('makes the same frame as text (encodeFrameText), with the same limit and refusals', () => {
    const message = { id: 7, op: 'acquire', lease: 'l-é', feature: 'TTS', count: 1 };
    expect(Buffer.from(encodeFrameText(message), 'utf8')).toEqual(encodeFrame(message));
    const atLimit = { s: 'é'.repeat(10) };
    expect(Buffer.byteLength(encodeFrameText(atLimit, 28))).toBe(29);
    expect(captureThrow(() => encodeFrameText(atLimit, 27))).toMatchObject({ reason: 'frame-too-large' });
    expect(captureThrow(() => encodeFrameText([1, 2]))).toMatchObject({ reason: 'invalid-message' });
  });
});

describe('FrameDecoder', () => {
  it('decodes many frames in one chunk', () => {
    const items = decodeAll([bytes('{"a":1}\n{"b":2}\n{"c":3}\n')]);
    expect(frames(items)).toEqual([{ a: 1 }, { b: 2 }, { c: 3 }]);
  });

  it('keeps a partial frame until its newline arrives', () => {
    const decoder = new FrameDecoder();
    expect(decoder.push(bytes('{"id":1,'))).toEqual([]);
    expect(decoder.bufferedBytes).toBe(8);
    expect(frames(decoder.push(bytes('"ok":true}\n{"x"')))).toEqual([{ id: 1, ok: true }]);
    expect(decoder.bufferedBytes).toBe(4);
    expect(frames(decoder.push(bytes(':0}\n')))).toEqual([{ x: 0 }]);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('decodes a frame split at every byte position', () => {
    const text = bytes(
      '{"id":7,"op":"acquire","lease":"ä€😀:1","feature":"FULL","count":1}\r\n{"b":[1,2]}\n',
    );
    for (let cut = 0; cut <= text.length; cut++) {
      const items = decodeAll([text.subarray(0, cut), text.subarray(cut)]);
      expect(frames(items), `cut at ${cut}`).toEqual([
        { id: 7, op: 'acquire', lease: 'ä€😀:1', feature: 'FULL', count: 1 },
        { b: [1, 2] },
      ]);
    }
  });

  it('decodes a frame fed one byte at a time', () => {
    const text = bytes('{"s":"😀 ünïcode"}\n');
    const chunks = [...text].map((byte) => Uint8Array.of(byte));
    expect(frames(decodeAll(chunks))).toEqual([{ s: '😀 ünïcode' }]);
  });

  it('joins a multi-byte UTF-8 character split across chunks', () => {
    const text = bytes('{"s":"€"}\n'); // € is E2 82 AC
    const at = text.indexOf(0xe2);
    const items = decodeAll([text.subarray(0, at + 1), text.subarray(at + 1, at + 2), text.subarray(at + 2)]);
    expect(frames(items)).toEqual([{ s: '€' }]);
  });

  it('reports invalid UTF-8, discards that line, and goes on', () => {
    const chunk = Buffer.concat([bytes('{"s":"'), Buffer.from([0xc3, 0x28]), bytes('"}\n{"ok":1}\n')]);
    const items = decodeAll([chunk]);
    expect(frames(items)).toEqual(['invalid-utf8', { ok: 1 }]);
    expect(items[0]).toMatchObject({ error: { fatal: false, code: ReturnCode.LV_UNKNOWN_SERVER_ERROR } });
  });

  it('refuses overlong encodings and lone surrogates as invalid UTF-8', () => {
    const overlong = Buffer.concat([bytes('{"s":"'), Buffer.from([0xc0, 0xaf]), bytes('"}\n')]);
    const surrogate = Buffer.concat([bytes('{"s":"'), Buffer.from([0xed, 0xa0, 0x80]), bytes('"}\n')]);
    expect(frames(decodeAll([overlong, surrogate]))).toEqual(['invalid-utf8', 'invalid-utf8']);
  });

  it('reports invalid JSON and non-objects, and goes on', () => {
    const input = '{"a":\n[1,2]\n42\nnull\n"text"\ntrue\n{"good":true}\n';
    expect(frames(decodeAll([bytes(input)]))).toEqual([
      'invalid-json',
      'not-an-object',
      'not-an-object',
      'not-an-object',
      'not-an-object',
      'not-an-object',
      { good: true },
    ]);
  });

  it('does not accept a byte-order mark before the JSON', () => {
    expect(frames(decodeAll([bytes('\uFEFF{"a":1}\n')]))).toEqual(['invalid-json']);
  });

  it('ignores empty lines (CRLF or LF)', () => {
    expect(frames(decodeAll([bytes('\n\r\n{"a":1}\n\n')]))).toEqual([{ a: 1 }]);
  });

  it('strips one CR before the LF', () => {
    expect(frames(decodeAll([bytes('{"a":1}\r\n{"b":2}\r'), bytes('\n')]))).toEqual([{ a: 1 }, { b: 2 }]);
  });

  it('reports a partial frame at end() as truncated, and clears it', () => {
    const decoder = new FrameDecoder();
    decoder.push(bytes('{"a":1}\n{"b":'));
    const [item] = decoder.end();
    expect(item?.kind).toBe('error');
    expect(item).toMatchObject({ error: { reason: 'truncated-frame', fatal: false } });
    expect(decoder.bufferedBytes).toBe(0);
    expect(decoder.end()).toEqual([]);
  });

  it('accepts a frame of exactly the limit, with or without CR', () => {
    const frame = `{"s":"${'x'.repeat(10)}"}`; // 18 bytes
    expect(frames(decodeAll([bytes(`${frame}\n${frame}\r\n`)], { maxFrameBytes: 18 }))).toHaveLength(2);
    const split = decodeAll([bytes(frame), bytes('\r'), bytes('\n')], { maxFrameBytes: 18 });
    expect(frames(split)).toEqual([{ s: 'xxxxxxxxxx' }]);
  });

  it('fails fatally on a frame over the limit, and ignores all later input', () => {
    const decoder = new FrameDecoder({ maxFrameBytes: 16 });
    const items = decoder.push(bytes(`{"a":1}\n{"s":"${'x'.repeat(20)}"}\n{"b":2}\n`));
    expect(frames(items)).toEqual([{ a: 1 }, 'frame-too-large']);
    expect(items[1]).toMatchObject({ error: { fatal: true, code: ReturnCode.LV_UNKNOWN_SERVER_ERROR } });
    expect(decoder.push(bytes('{"c":3}\n'))).toEqual([]);
    expect(decoder.end()).toEqual([]);
  });

  it('fails as soon as the buffered partial frame passes the limit, without waiting for a newline', () => {
    const decoder = new FrameDecoder({ maxFrameBytes: 16 });
    expect(decoder.push(bytes('{"s":"xxxxxxxxxxx'))).toEqual([]); // 17 bytes: could still end with \r\n
    const items = decoder.push(bytes('x'));
    expect(frames(items)).toEqual(['frame-too-large']);
    expect(decoder.bufferedBytes).toBe(0);
    expect(decoder.push(bytes('"}\n'))).toEqual([]);
  });

  it('uses the 64 KiB limit by default', () => {
    const big = `{"s":"${'x'.repeat(DEFAULT_MAX_FRAME_BYTES)}"}\n`;
    expect(frames(decodeAll([bytes(big)]))).toEqual(['frame-too-large']);
  });

  it('does not keep a reference to the caller’s buffer', () => {
    const decoder = new FrameDecoder();
    const chunk = bytes('{"a":1');
    decoder.push(chunk);
    chunk.fill(0x20);
    expect(frames(decoder.push(bytes('}\n')))).toEqual([{ a: 1 }]);
  });

  it('accepts a plain Uint8Array view into a larger buffer', () => {
    const backing = bytes('xx{"a":1}\nyy');
    const view = new Uint8Array(backing.buffer, backing.byteOffset + 2, 8);
    expect(frames(new FrameDecoder().push(view))).toEqual([{ a: 1 }]);
  });

  it('stays linear on a long frame arriving in tiny chunks', () => {
    const size = 1_000_000;
    const payload = bytes(`{"s":"${'x'.repeat(size)}"}\n`);
    const decoder = new FrameDecoder({ maxFrameBytes: 2 * size });
    const started = performance.now();
    const items: DecodedItem[] = [];
    for (let i = 0; i < payload.length; i += 16) items.push(...decoder.push(payload.subarray(i, i + 16)));
    const elapsed = performance.now() - started;
    expect(items).toHaveLength(1);
    // Rescanning (or re-joining) the buffered bytes on each push would touch ~31 GB here.
    expect(elapsed).toBeLessThan(2_000);
  });
});

function captureThrow(run: () => unknown): unknown {
  try {
    run();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}
