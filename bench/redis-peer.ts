/**
 * The peer: what a user who picks a Redis semaphore instead gets. A `redis-server` the bench starts itself
 * (127.0.0.1, a free port, no persistence), ioredis and redis-semaphore's `Semaphore` with as many seats
 * as the license pool. When Debian's `redis-server` is not on the machine the bench says so and skips it.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as net from 'node:net';
import { Redis } from 'ioredis';
import { Semaphore } from 'redis-semaphore';

/** A running redis-server and one ioredis connection to it. */
export interface RedisPeer {
  /** One acquire + release of a seat of a semaphore of `limit` seats. */
  readonly pair: () => Promise<void>;
  /** The redis-server's version, for the table. */
  readonly version: string;
  /** Closes the connection and stops the server. */
  readonly stop: () => Promise<void>;
}

/** `redis-server`'s path, or undefined when it is not installed. */
function redisServerBinary(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const path = found.stdout.trim();
  return found.status === 0 && path !== '' ? path : undefined;
}

/** A port the OS just gave out and took back: redis-server cannot listen on port 0. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

async function waitForReady(client: Redis): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      await client.ping();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw new Error('redis-server did not answer PING within 5 s');
}

/**
 * Starts redis-server and connects to it; `undefined` (with the reason) when redis-server is not installed.
 */
export async function startRedisPeer(limit: number): Promise<RedisPeer | { missing: string }> {
  const binary = redisServerBinary();
  if (binary === undefined) {
    return { missing: 'redis-server is not installed (Debian: apt-get install redis-server)' };
  }
  const version = spawnSync(binary, ['--version'], { encoding: 'utf8' }).stdout.match(/v=(\S+)/)?.[1] ?? '?';
  const port = await freePort();
  const server: ChildProcess = spawn(
    binary,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--loglevel',
      'warning',
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: false, maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  const stop = async (): Promise<void> => {
    client.disconnect();
    if (server.exitCode === null) server.kill('SIGTERM');
    const timer = setTimeout(() => server.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await waitForReady(client);
    await client.del('bench-semaphore');
  } catch (err) {
    await stop();
    throw err;
  }
  const pair = async (): Promise<void> => {
    const seat = new Semaphore(client, 'bench-semaphore', limit, {
      acquireTimeout: 10_000,
      retryInterval: 1,
    });
    await seat.acquire();
    await seat.release();
  };
  return { pair, version, stop };
}
