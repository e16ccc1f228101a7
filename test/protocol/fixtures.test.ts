import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildGreeting } from '../../src/protocol/builders.js';
import { encodeFrame, FrameDecoder } from '../../src/protocol/codec.js';
import type { Request, RequestOp } from '../../src/protocol/messages.js';
import { ProtocolError } from '../../src/protocol/protocol-error.js';
import { ScramClient } from '../../src/protocol/scram-client.js';
import { deriveScramCredentials } from '../../src/protocol/scram-crypto.js';
import { ScramServer } from '../../src/protocol/scram-server.js';
import {
  errorResponse,
  okResponse,
  parseRequest,
  parseResult,
  parseServerFrame,
} from '../../src/protocol/validate.js';
import { buildRequest } from '../helpers/frames.js';

const DIR = fileURLToPath(new URL('../fixtures/frames/', import.meta.url));
const FILES = readdirSync(DIR).filter((name) => name.endsWith('.ndjson'));

function linesOf(name: string): string[] {
  return readFileSync(`${DIR}${name}`, 'utf8').split('\n').slice(0, -1);
}

/** Re-encodes a checked frame from its typed value: the bytes must be the fixture's. */
function reencode(
  line: string,
  ops: Map<number, RequestOp>,
  rejected: Map<number | null, ProtocolError>,
): Buffer {
  const value: unknown = JSON.parse(line);
  if (typeof value === 'object' && value !== null && 'op' in value) {
    const request = parseRequest(value);
    if (request instanceof ProtocolError) {
      rejected.set(request.id, request);
      return encodeFrame(value);
    }
    ops.set(request.id, request.op);
    const { id, op, ...params } = request;
    return encodeFrame(buildRequest(id, op, params as never));
  }
  const frame = parseServerFrame(value);
  if (frame instanceof ProtocolError) throw frame;
  if (frame.kind === 'greeting') return encodeFrame(buildGreeting(frame.greeting));
  if (frame.kind === 'push') return encodeFrame(frame.push);
  const response = frame.response;
  if (!response.ok) {
    const expected = rejected.get(response.id);
    // A request the parser refused is answered with exactly the parser's verdict.
    if (expected !== undefined)
      expect(response.error).toMatchObject({ code: expected.code, message: expected.message });
    return encodeFrame(errorResponse(response.id, response.error.code, response.error.message));
  }
  const op = ops.get(response.id);
  if (op === undefined) throw new Error(`response ${response.id} answers no request`);
  const result = parseResult(op, response.result);
  if (result instanceof ProtocolError) throw result;
  return encodeFrame(okResponse(response.id, result));
}

describe('golden frame fixtures', () => {
  it('has the fixtures', () => {
    expect(FILES).toEqual(
      expect.arrayContaining([
        'session-scram.ndjson',
        'session-none.ndjson',
        'errors.ndjson',
        'auth-failure.ndjson',
        'version-mismatch.ndjson',
      ]),
    );
  });

  for (const name of FILES) {
    it(`${name}: every line decodes, validates, and re-encodes to the same bytes`, () => {
      const ops = new Map<number, RequestOp>();
      const rejected = new Map<number | null, ProtocolError>();
      for (const line of linesOf(name)) {
        expect(reencode(line, ops, rejected).toString('utf8'), line).toBe(`${line}\n`);
      }
    });

    it(`${name}: the decoder reads the whole file, in one chunk or byte by byte`, () => {
      const bytes = readFileSync(`${DIR}${name}`);
      const whole = new FrameDecoder().push(bytes);
      const decoder = new FrameDecoder();
      const byByte = [...bytes].flatMap((byte) => decoder.push(Uint8Array.of(byte)));
      expect(whole.every((item) => item.kind === 'frame')).toBe(true);
      expect(whole).toHaveLength(linesOf(name).length);
      expect(byByte).toEqual(whole);
    });
  }
});

describe('session-scram.ndjson', () => {
  const lines = linesOf('session-scram.ndjson');
  const requests = lines
    .map((line) => parseRequest(JSON.parse(line)))
    .filter((r): r is Request => !(r instanceof ProtocolError));

  it('matches the frames this library builds, byte for byte', () => {
    const server = 'lv-license-client-fake/0.1.0';
    const port1 = { lease: 'app1.4f2a:port-1', feature: 'FULL', count: 1 };
    const port2 = { lease: 'app1.4f2a:port-2', feature: 'FULL', count: 1 };
    const built: Array<[line: number, message: object]> = [
      [0, buildGreeting({ server, auth: 'scram-sha-256', version: '1.0' })],
      [1, buildRequest(1, 'hello', { version: '1.0', client: 'lv-license-client/0.1.0' })],
      [
        2,
        okResponse(1, {
          version: '1.0',
          server,
          auth: 'scram-sha-256',
          leaseTtl: 30_000,
          maxFrameBytes: 65_536,
        }),
      ],
      [7, buildRequest(4, 'acquire', port1)],
      [8, okResponse(4, { ...port1, ttl: 30_000, reclaimed: false })],
      [9, buildRequest(5, 'acquire', { ...port2, wait: 5000 })],
      [10, { push: 'queue-position', lease: port2.lease, position: 1 }],
      [11, buildRequest(6, 'renew', { leases: [port1.lease] })],
      [15, errorResponse(7, -26, 'No TTS license free: 2 requested, 1 of 2 free.')],
      [17, okResponse(8, { ...port1, ttl: 30_000, reclaimed: true })],
      [20, buildRequest(10, 'ping', {})],
      [
        25,
        {
          push: 'shutdown',
          message: 'The license server is shutting down for maintenance.',
          retryAfter: 10_000,
        },
      ],
    ];
    for (const [line, message] of built)
      expect(encodeFrame(message).toString('utf8')).toBe(`${lines[line]}\n`);
  });

  it('carries the RFC 7677 SCRAM exchange that ScramClient and ScramServer produce', () => {
    const authStart = requests.find((r) => r.op === 'auth-start');
    const authFinish = requests.find((r) => r.op === 'auth-finish');
    const scram = new ScramClient('user', 'pencil', { nonce: 'rOprNGfwEbeRWgbNEkqO' });
    expect(authStart?.op === 'auth-start' && authStart.message).toBe(scram.firstMessage());
    const credentials = deriveScramCredentials('pencil', {
      salt: Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'),
      iterations: 4096,
    });
    const server = new ScramServer(() => credentials, { nonce: '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0' });
    const serverFirst = server.start(scram.firstMessage());
    expect(lines[4]).toContain(JSON.stringify(serverFirst));
    const clientFinal = scram.finalMessage(serverFirst);
    expect(authFinish?.op === 'auth-finish' && authFinish.message).toBe(clientFinal);
    const outcome = server.finish(clientFinal);
    expect(outcome.ok).toBe(true);
    expect(lines[6]).toContain(JSON.stringify(outcome.serverFinal));
    scram.verifyServer(outcome.serverFinal);
  });

  it('uses every operation and every push', () => {
    const ops = new Set(requests.map((r) => r.op));
    const pushes = new Set(
      linesOf('session-scram.ndjson')
        .concat(linesOf('session-none.ndjson'))
        .flatMap((line) => {
          const frame = parseServerFrame(JSON.parse(line));
          return !(frame instanceof ProtocolError) && frame.kind === 'push' ? [frame.push.push] : [];
        }),
    );
    for (const r of linesOf('session-none.ndjson').map((l) => parseRequest(JSON.parse(l)))) {
      if (!(r instanceof ProtocolError)) ops.add(r.op);
    }
    expect([...ops].sort()).toEqual(
      [
        'acquire',
        'auth-finish',
        'auth-start',
        'cancel',
        'hello',
        'ping',
        'release',
        'renew',
        'status',
      ].sort(),
    );
    expect([...pushes].sort()).toEqual(['lease-revoked', 'queue-position', 'shutdown']);
  });
});
