/**
 * The frame codec: one JSON object per line, UTF-8, `\n`-terminated (a `\r` before the `\n` is
 * tolerated), with a hard size limit. Pure: bytes in, values out.
 */
import { DEFAULT_MAX_FRAME_BYTES } from './constants.js';
import { ProtocolError } from './protocol-error.js';

const LF = 0x0a;
const CR = 0x0d;
const NEWLINE = '\n';

/**
 * Encodes one message as a frame: its JSON text and a `\n`.
 *
 * @throws {ProtocolError} `frame-too-large` when the JSON is over `maxFrameBytes` bytes, `invalid-message`
 * when the value cannot be written as a JSON object.
 *
 * @example
 * ```ts
 * socket.write(encodeFrame({ id: 1, op: 'ping' }));
 * ```
 */
export function encodeFrame(message: object, maxFrameBytes: number = DEFAULT_MAX_FRAME_BYTES): Buffer {
  return Buffer.from(encodeFrameText(message, maxFrameBytes), 'utf8');
}

/**
 * {@link encodeFrame} as text: the JSON and its `\n`, for a socket to encode once as it writes it (no
 * buffer made and copied on the way).
 *
 * @throws {ProtocolError} as {@link encodeFrame}.
 *
 * @example
 * ```ts
 * socket.write(encodeFrameText({ id: 1, op: 'ping' }), 'utf8');
 * ```
 */
export function encodeFrameText(message: object, maxFrameBytes: number = DEFAULT_MAX_FRAME_BYTES): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(message);
  } catch (cause) {
    throw new ProtocolError('invalid-message', 'The message cannot be written as JSON.', { cause });
  }
  if (json === undefined || !json.startsWith('{')) {
    throw new ProtocolError('invalid-message', 'A frame must hold a JSON object.');
  }
  // A UTF-16 code unit is at most 3 UTF-8 bytes: most frames are surely small enough, without counting.
  if (json.length * 3 > maxFrameBytes) {
    const size = Buffer.byteLength(json, 'utf8');
    if (size > maxFrameBytes) {
      throw new ProtocolError(
        'frame-too-large',
        `The message is ${size} bytes, over the ${maxFrameBytes}-byte frame limit.`,
      );
    }
  }
  return json + NEWLINE;
}

/** One result of {@link FrameDecoder}: a decoded frame, or why a line was refused. */
export type DecodedItem =
  | { kind: 'frame'; value: Record<string, unknown> }
  | { kind: 'error'; error: ProtocolError };

/** Options of {@link FrameDecoder}. */
export interface FrameDecoderOptions {
  /** The largest frame accepted, in bytes without the line terminator; default 64 KiB. */
  maxFrameBytes?: number;
}

/**
 * Turns a byte stream into frames, incrementally. It never throws: a bad line becomes a non-fatal
 * error item and is skipped; a line over the limit is a fatal error, after which all input is ignored.
 *
 * @example
 * ```ts
 * const decoder = new FrameDecoder();
 * socket.on('data', (chunk) => {
 *   for (const item of decoder.push(chunk)) handle(item);
 * });
 * ```
 */
export class FrameDecoder {
  readonly #maxFrameBytes: number;
  readonly #utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #failed = false;

  constructor(options: FrameDecoderOptions = {}) {
    this.#maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  /** Bytes received that do not yet form a whole line. */
  get bufferedBytes(): number {
    return this.#pendingBytes;
  }

  /** Feeds received bytes; returns the frames (and errors) of every line they complete. */
  push(data: Uint8Array): DecodedItem[] {
    if (this.#failed) return [];
    // A Buffer view (no copy) for its fast native indexOf.
    const chunk = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const items: DecodedItem[] = [];
    let start = 0;
    let newline = chunk.indexOf(LF);
    while (newline !== -1) {
      const line = this.#take(chunk.subarray(start, newline));
      const item = this.#decodeLine(line);
      if (item !== undefined) items.push(item);
      if (this.#failed) return items;
      start = newline + 1;
      newline = chunk.indexOf(LF, start);
    }
    if (start < chunk.length) {
      // Copied: the caller may reuse its buffer once push() returns.
      this.#pending.push(Buffer.copyBytesFrom(chunk, start));
      this.#pendingBytes += chunk.length - start;
      // One byte of slack for the `\r` that may come before the `\n`.
      if (this.#pendingBytes > this.#maxFrameBytes + 1) items.push(this.#fail());
    }
    return items;
  }

  /** Ends the stream: a partial line still buffered is reported as `truncated-frame` and dropped. */
  end(): DecodedItem[] {
    if (this.#failed || this.#pendingBytes === 0) return [];
    const size = this.#pendingBytes;
    this.#pending = [];
    this.#pendingBytes = 0;
    const message = `The stream ended inside a frame (${size} bytes without a newline).`;
    return [failure(new ProtocolError('truncated-frame', message))];
  }

  #take(tail: Buffer): Buffer {
    if (this.#pending.length === 0) return tail;
    const line = Buffer.concat([...this.#pending, tail]);
    this.#pending = [];
    this.#pendingBytes = 0;
    return line;
  }

  #decodeLine(raw: Buffer): DecodedItem | undefined {
    const line = raw[raw.length - 1] === CR ? raw.subarray(0, -1) : raw;
    if (line.length > this.#maxFrameBytes) return this.#fail();
    if (line.length === 0) return undefined;
    let text: string;
    try {
      text = this.#utf8.decode(line);
    } catch (cause) {
      return failure(new ProtocolError('invalid-utf8', 'The frame is not valid UTF-8.', { cause }));
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (cause) {
      return failure(new ProtocolError('invalid-json', 'The frame is not valid JSON.', { cause }));
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      const what = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
      return failure(new ProtocolError('not-an-object', `The frame holds ${what}, not a JSON object.`));
    }
    return { kind: 'frame', value: value as Record<string, unknown> };
  }

  #fail(): DecodedItem {
    this.#failed = true;
    this.#pending = [];
    this.#pendingBytes = 0;
    const message = `A frame exceeds the ${this.#maxFrameBytes}-byte limit; the rest of the stream is ignored.`;
    return failure(new ProtocolError('frame-too-large', message, { fatal: true }));
  }
}

function failure(error: ProtocolError): DecodedItem {
  return { kind: 'error', error };
}
