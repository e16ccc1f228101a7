/**
 * A real PostgreSQL for tests: Debian's server binaries, `initdb` into a temporary directory (as the
 * `postgres` user when the tests run as root), listening on 127.0.0.1 only, on a free port. `.ci/run`
 * installs the package when it is missing; without it the PostgreSQL tests are skipped, except under CI,
 * where its absence is an error.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The directory of `initdb` and `postgres`, or `undefined` when PostgreSQL is not installed. */
export function postgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0] !== undefined) return join(root, versions[0], 'bin');
  }
  try {
    const initdb = execFileSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' }).trim();
    return initdb === '' ? undefined : join(initdb, '..');
  } catch {
    return undefined;
  }
}

/** Whether the PostgreSQL tests run: PostgreSQL is installed, or (under CI) they must, and fail. */
export const postgresAvailable = postgresBin() !== undefined || process.env.CI !== undefined;

export interface TestPostgres {
  /** `postgres://postgres@127.0.0.1:PORT/postgres` */
  readonly url: string;
  readonly port: number;
  /** A new, empty database on this server, and its URL. */
  database(name: string): Promise<string>;
  /** Stops the server (fast shutdown) and removes its directory. */
  stop(): Promise<void>;
  /** Stops it at once (as a crash would), then starts it again on the same port and data. */
  restart(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Starts a PostgreSQL server of its own; `durable` keeps fsync on (for benchmarks against durable commits),
 * otherwise tests run it with fsync off. @throws when PostgreSQL is not installed or does not start.
 */
export async function startPostgres(options: { durable?: boolean } = {}): Promise<TestPostgres> {
  const bin = postgresBin();
  if (bin === undefined) {
    throw new Error(
      'PostgreSQL is not installed: apt-get install -y postgresql (the .ci/run script does it).',
    );
  }
  const root = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'lv-pg-'));
  const data = join(dir, 'data');
  if (root) {
    chmodSync(dir, 0o755);
    chownSync(dir, uidOf('postgres'), gidOf('postgres'));
  }
  // As root, the server runs as the postgres user (it refuses to run as root), signalled directly.
  const user = root ? { uid: uidOf('postgres'), gid: gidOf('postgres') } : {};
  execFileSync(
    join(bin, 'initdb'),
    ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'],
    {
      stdio: 'ignore',
      ...user,
    },
  );
  const port = await freePort();
  let child: ChildProcess | undefined;
  const launch = async () => {
    const args = ['-D', data, '-h', '127.0.0.1', '-p', String(port), '-k', dir];
    const settings = options.durable === true ? [] : ['fsync=off', 'full_page_writes=off'];
    for (const setting of [...settings, 'max_connections=200']) args.push('-c', setting);
    const started = spawn(join(bin, 'postgres'), args, { stdio: ['ignore', 'ignore', 'pipe'], ...user });
    child = started;
    let log = '';
    started.stderr?.on('data', (chunk: Buffer) => {
      log += chunk.toString('utf8');
    });
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (started.exitCode !== null) throw new Error(`PostgreSQL did not start: ${log}`);
      if (/ready to accept connections/.test(log)) return;
      if (Date.now() > deadline) throw new Error(`PostgreSQL did not start within 20 s: ${log}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  await launch();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const stopChild = async (signal: NodeJS.Signals) => {
    const running = child;
    if (running === undefined || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill(signal);
    await exited;
  };
  let databases = 0;
  return {
    url,
    port,
    database: async (name) => {
      const db = `${name.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${++databases}`;
      const { default: pg } = await import('pg');
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query(`CREATE DATABASE ${db}`);
      await client.end();
      return `postgres://postgres@127.0.0.1:${port}/${db}`;
    },
    stop: async () => {
      await stopChild('SIGINT');
      rmSync(dir, { recursive: true, force: true });
    },
    restart: async () => {
      await stopChild('SIGQUIT');
      await launch();
    },
  };
}

function uidOf(user: string): number {
  return Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
}

function gidOf(user: string): number {
  return Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
}
