/**
 * A loopback proxy in front of a real server that keeps every frame each way, and can make the client it
 * carries look older: with `helloVersion`, the client's `hello` says that protocol version (`1.2`, say)
 * and the server answers as it answers such a client, which is what an older server sends this client.
 * Closed after each test.
 */
import * as net from 'node:net';
import { afterEach } from 'vitest';

type Frame = Record<string, unknown>;

const proxies: Array<{ proxy: net.Server; sockets: Set<net.Socket> }> = [];

afterEach(async () => {
  await Promise.all(
    proxies.splice(0).map(({ proxy, sockets }) => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => proxy.close(() => resolve()));
    }),
  );
});

/** Calls `onFrame` with each whole line of a stream, parsed. */
function lines(onFrame: (frame: Frame) => void): (chunk: Buffer) => void {
  let buffered = '';
  return (chunk) => {
    buffered += chunk.toString('utf8');
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    for (const line of parts) onFrame(JSON.parse(line) as Frame);
  };
}

/** A proxy to `127.0.0.1:port`: its `host:port`, and the frames each way so far. */
export interface FrameProxy {
  address: string;
  toServer: Frame[];
  toClient: Frame[];
}

/** Starts the proxy; `helloVersion` rewrites the version of the client's `hello`. */
export async function frameProxy(port: number, options: { helloVersion?: string } = {}): Promise<FrameProxy> {
  const toServer: Frame[] = [];
  const toClient: Frame[] = [];
  const sockets = new Set<net.Socket>();
  const proxy = net.createServer((client) => {
    const server = net.connect(port, '127.0.0.1');
    sockets.add(client).add(server);
    const drop = () => {
      client.destroy();
      server.destroy();
      sockets.delete(client);
      sockets.delete(server);
    };
    client.on('error', drop).on('close', drop);
    server.on('error', drop).on('close', drop);
    server.on(
      'data',
      lines((frame) => toClient.push(frame)),
    );
    server.pipe(client);
    // What the client sends goes on frame by frame (re-encoded), so that its hello can be rewritten.
    client.on(
      'data',
      lines((frame) => {
        if (frame.op === 'hello' && options.helloVersion !== undefined) frame.version = options.helloVersion;
        toServer.push(frame);
        server.write(`${JSON.stringify(frame)}\n`);
      }),
    );
  });
  proxies.push({ proxy, sockets });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return { address: `127.0.0.1:${(proxy.address() as net.AddressInfo).port}`, toServer, toClient };
}
