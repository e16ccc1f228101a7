/**
 * The benchmark's server process: FakeLicenseServers started on demand, and a bare newline-JSON echo
 * server (the physical baseline). It prints `{"ready":true,"echoPort":N}` on stdout once the echo server
 * listens, then takes commands over the IPC channel (see bench/server-control.ts). Loopback only, port 0.
 */
import * as net from 'node:net';
import { FakeLicenseServer, type FakeLicenseServerOptions } from '../src/testing/index.js';
import type { Command, Reply } from './server-control.js';

const servers = new Map<string, FakeLicenseServer>();

/** The baseline: split lines, parse JSON, answer `{"id":..,"ok":true,"result":{}}`, one write per answer. */
function startEcho(): Promise<net.Server> {
  const echo = net.createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('error', () => socket.destroy());
    let buffered = '';
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let newline = buffered.indexOf('\n');
      while (newline !== -1) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        const request = JSON.parse(line) as { id: number };
        socket.write(`${JSON.stringify({ id: request.id, ok: true, result: {} })}\n`);
        newline = buffered.indexOf('\n');
      }
    });
  });
  return new Promise((resolve) => echo.listen(0, '127.0.0.1', () => resolve(echo)));
}

function need(name: string): FakeLicenseServer {
  const server = servers.get(name);
  if (server === undefined) throw new Error(`no server named ${name}`);
  return server;
}

async function handle(command: Command): Promise<Omit<Reply, 'id'>> {
  switch (command.op) {
    case 'start': {
      const options: FakeLicenseServerOptions = { ...command.options, port: 0, host: '127.0.0.1' };
      const server = await FakeLicenseServer.start(options);
      servers.set(command.name, server);
      return { ok: true, address: server.address };
    }
    case 'stop':
      await need(command.name).stop();
      return { ok: true };
    case 'restart':
      await need(command.name).restart();
      return { ok: true };
    case 'pause':
      need(command.name).pause();
      return { ok: true };
    case 'resume':
      need(command.name).resume();
      return { ok: true };
    case 'drop':
      need(command.name).dropConnections();
      return { ok: true };
    case 'in-use':
      return { ok: true, value: need(command.name).inUse() };
    case 'connections':
      return { ok: true, value: need(command.name).connectionCount };
    case 'cpu': {
      const { user, system } = process.cpuUsage();
      return { ok: true, value: user + system };
    }
    case 'close':
      await need(command.name).close();
      servers.delete(command.name);
      return { ok: true };
    case 'exit':
      return { ok: true };
  }
}

const echo = await startEcho();
const address = echo.address() as net.AddressInfo;

let shuttingDown = false;
async function shutdown(): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  await Promise.all([...servers.values()].map((s) => s.close()));
  servers.clear();
  echo.close();
  if (process.connected) process.disconnect();
}

process.on('message', (message: Command & { id: number }) => {
  if (message.op === 'exit') {
    void shutdown();
    return;
  }
  handle(message).then(
    (reply) => process.send?.({ id: message.id, ...reply }),
    (err: unknown) => process.send?.({ id: message.id, ok: false, error: String(err) }),
  );
});
process.on('disconnect', () => void shutdown());
process.stdout.write(`${JSON.stringify({ ready: true, echoPort: address.port })}\n`);
