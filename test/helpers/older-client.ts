/**
 * A loopback proxy in front of a real server that makes the client it carries look older: its `hello`
 * says another protocol version (`1.2`, say), and the server answers as it answers such a client. What
 * the client then gets is what an older server sends it: how a newer client is tested against an older
 * server without keeping an old server around. Closed after each test.
 */
import * as net from 'node:net';
import { afterEach } from 'vitest';

const proxies: Array<{ proxy: net.Server; sockets: Set<net.Socket> }> = [];

afterEach(async () => {
  await Promise.all(
    proxies.splice(0).map(({ proxy, sockets }) => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => proxy.close(() => resolve()));
    }),
  );
});

/** Starts the proxy to `127.0.0.1:port`; returns its `host:port`. */
export async function olderClientProxy(port: number, version: string): Promise<string> {
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
    server.pipe(client);
    // Until the first line (the hello) has gone by, what the client sends is held and rewritten.
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      const newline = head.indexOf('\n');
      if (newline === -1) return;
      const hello = JSON.parse(head.slice(0, newline)) as Record<string, unknown>;
      if (hello.op === 'hello') hello.version = version;
      server.write(`${JSON.stringify(hello)}\n`);
      server.write(Buffer.from(head.slice(newline + 1), 'latin1'));
      client.off('data', onData);
      client.pipe(server);
    };
    client.on('data', onData);
  });
  proxies.push({ proxy, sockets });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
}
