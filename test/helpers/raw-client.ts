/**
 * A bare protocol client for server tests: a plain socket that sends what it is told, even garbage,
 * and collects every frame the server sends back.
 */
import * as net from 'node:net';
import { FrameDecoder } from '../../src/protocol/codec.js';

export interface RawClient {
  readonly socket: net.Socket;
  /** Every frame received so far. */
  readonly frames: Record<string, unknown>[];
  send(message: object): void;
  sendRaw(bytes: string | Buffer): void;
  /** Resolves with the first received frame that matches (waiting for it if needed). */
  next(
    match: (frame: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** Sends a request and resolves with its response. */
  request(op: string, params?: object, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves when the server has closed the connection. */
  closed(timeoutMs?: number): Promise<void>;
  close(): void;
}

let nextId = 1_000;

export async function rawConnect(port: number, host = '127.0.0.1'): Promise<RawClient> {
  const socket = net.connect({ port, host });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => {});
  const decoder = new FrameDecoder({ maxFrameBytes: 1 << 20 });
  const frames: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  let isClosed = false;
  socket.on('data', (chunk: Buffer) => {
    for (const item of decoder.push(chunk)) if (item.kind === 'frame') frames.push(item.value);
    for (const waiter of [...waiters]) waiter();
  });
  socket.on('close', () => {
    isClosed = true;
    for (const waiter of [...waiters]) waiter();
  });

  const waitFor = <T>(check: () => T | undefined, what: string, timeoutMs: number): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const done = () => {
        const value = check();
        if (value === undefined) return;
        waiters.delete(done);
        clearTimeout(timer);
        resolve(value);
      };
      const timer = setTimeout(() => {
        waiters.delete(done);
        reject(new Error(`timed out waiting for ${what}; frames: ${JSON.stringify(frames)}`));
      }, timeoutMs);
      waiters.add(done);
      done();
    });

  const client: RawClient = {
    socket,
    frames,
    send: (message) => socket.write(`${JSON.stringify(message)}\n`),
    sendRaw: (bytes) => socket.write(bytes),
    next: (match, timeoutMs = 5_000) => waitFor(() => frames.find(match), 'a matching frame', timeoutMs),
    request: (op, params = {}, timeoutMs = 5_000) => {
      const id = nextId++;
      client.send({ id, op, ...params });
      return client.next((f) => f.id === id, timeoutMs);
    },
    closed: (timeoutMs = 5_000) =>
      waitFor(() => (isClosed ? true : undefined), 'close', timeoutMs).then(() => {}),
    close: () => socket.destroy(),
  };
  return client;
}

/** A port on 127.0.0.1 with nothing listening on it (it was free a moment ago). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
