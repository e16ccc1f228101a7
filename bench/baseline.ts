/**
 * The physical baseline: a bare newline-JSON request/response over a plain loopback socket to the echo
 * server of the server process. No library code: split lines, JSON.parse, match ids.
 */
import * as net from 'node:net';

export class BareClient {
  readonly #socket: net.Socket;
  readonly #waiting = new Map<number, () => void>();
  #buffered = '';
  #nextId = 1;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.#buffered += chunk.toString('utf8');
      let newline = this.#buffered.indexOf('\n');
      while (newline !== -1) {
        const line = this.#buffered.slice(0, newline);
        this.#buffered = this.#buffered.slice(newline + 1);
        const { id } = JSON.parse(line) as { id: number };
        this.#waiting.get(id)?.();
        this.#waiting.delete(id);
        newline = this.#buffered.indexOf('\n');
      }
    });
  }

  static connect(port: number): Promise<BareClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: '127.0.0.1' });
      socket.once('connect', () => resolve(new BareClient(socket)));
      socket.once('error', reject);
    });
  }

  /** One request, resolved when its answer arrives. */
  request(): Promise<void> {
    const id = this.#nextId++;
    return new Promise<void>((resolve) => {
      this.#waiting.set(id, resolve);
      this.#socket.write(`${JSON.stringify({ id, op: 'ping' })}\n`);
    });
  }

  close(): void {
    this.#socket.destroy();
  }
}
