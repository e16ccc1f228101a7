/**
 * `lv-license serve --store URL` as a real child process, for multi-node tests: started on port 0 (or,
 * for a restart, on the port it had), its log kept, its node id in the database read from that log.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '../..');

/** One running (or stopped, or killed) serve process. */
export interface ServeNode {
  readonly child: ChildProcess;
  readonly port: number;
  /** `127.0.0.1:PORT` */
  readonly address: string;
  /** Its name in the database (`lv_license_leases.node`). */
  readonly nodeId: string;
  /** Everything it wrote to stdout and stderr. */
  log(): string;
  /** Whether the process has exited. */
  exited(): boolean;
  /** SIGKILL (after a SIGCONT, so a stopped process dies too), resolved once it has exited. */
  kill(): Promise<void>;
}

/**
 * Starts `lv-license serve --store url ...args` on `port` (0: a free one) and resolves once it listens.
 * A restart on a port just freed may meet it still in use for a moment: that is retried, for up to 10 s.
 */
export async function startServeNode(url: string, args: readonly string[], port = 0): Promise<ServeNode> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const started = await launch(url, args, port);
    if (started !== 'address in use') return started;
    if (Date.now() > deadline) throw new Error(`port ${port} stayed in use for 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function launch(
  url: string,
  args: readonly string[],
  port: number,
): Promise<ServeNode | 'address in use'> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/index.ts', 'serve', '--port', String(port), '--store', url, ...args],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  const append = (chunk: Buffer) => {
    out += chunk.toString('utf8');
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const listening = /listening on 127\.0\.0\.1:(\d+)/.exec(out)?.[1];
    const nodeId = /pools kept in PostgreSQL as node ([0-9a-f-]{36})/.exec(out)?.[1];
    if (listening !== undefined && nodeId !== undefined) {
      const boundPort = Number(listening);
      return {
        child,
        port: boundPort,
        address: `127.0.0.1:${boundPort}`,
        nodeId,
        log: () => out,
        exited: () => child.exitCode !== null || child.signalCode !== null,
        kill: async () => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill('SIGCONT');
          child.kill('SIGKILL');
          await exited;
        },
      };
    }
    if (child.exitCode !== null || child.signalCode !== null) {
      if (/EADDRINUSE|address already in use/i.test(out)) return 'address in use';
      throw new Error(`lv-license serve exited (${child.exitCode ?? child.signalCode}): ${out}`);
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`lv-license serve did not listen within 30 s: ${out}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
