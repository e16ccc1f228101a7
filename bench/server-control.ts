/**
 * The benchmark's handle on its server process (bench/server-process.ts): spawns it with an IPC channel,
 * reads the echo server's port from its first stdout line, and sends it commands.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import type { FakeLicenseServerOptions } from '../src/testing/index.js';

export type Command =
  | { op: 'start'; name: string; options: FakeLicenseServerOptions }
  | {
      op: 'stop' | 'restart' | 'pause' | 'resume' | 'drop' | 'in-use' | 'connections' | 'close';
      name: string;
    }
  | { op: 'cpu' | 'exit'; name?: undefined };

export interface Reply {
  id: number;
  ok: boolean;
  address?: string;
  value?: number;
  error?: string;
}

const COMMAND_TIMEOUT_MS = 10_000;

export class ServerProcess {
  readonly echoPort: number;
  readonly #child: ChildProcess;
  readonly #waiting = new Map<number, (reply: Reply) => void>();
  #nextId = 1;

  private constructor(child: ChildProcess, echoPort: number) {
    this.#child = child;
    this.echoPort = echoPort;
    child.on('message', (reply: Reply) => {
      this.#waiting.get(reply.id)?.(reply);
      this.#waiting.delete(reply.id);
    });
  }

  static async spawn(): Promise<ServerProcess> {
    const script = join(import.meta.dirname, 'server-process.ts');
    // BENCH_SERVER_NODE_OPTIONS: extra node flags for the server process, such as --cpu-prof.
    const extra = (process.env.BENCH_SERVER_NODE_OPTIONS ?? '').split(' ').filter((a) => a !== '');
    const child = spawn(process.execPath, [...extra, '--import', 'tsx', script], {
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    });
    const echoPort = await new Promise<number>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(
        () => reject(new Error('the server process did not start within 20 s')),
        20_000,
      );
      child.stdout?.on('data', (chunk) => {
        out += chunk;
        const line = out.split('\n')[0];
        if (out.includes('\n') && line !== undefined) {
          clearTimeout(timer);
          resolve((JSON.parse(line) as { echoPort: number }).echoPort);
        }
      });
      child.once('exit', (code) => reject(new Error(`the server process exited (${code})`)));
    });
    return new ServerProcess(child, echoPort);
  }

  /** Sends one command and waits for its reply. */
  command(command: Command): Promise<Reply> {
    const id = this.#nextId++;
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        reject(new Error(`the server process did not answer ${command.op} within ${COMMAND_TIMEOUT_MS} ms`));
      }, COMMAND_TIMEOUT_MS);
      this.#waiting.set(id, (reply) => {
        clearTimeout(timer);
        if (reply.ok) resolve(reply);
        else reject(new Error(`${command.op} ${command.name ?? ''}: ${reply.error ?? 'failed'}`));
      });
      this.#child.send({ id, ...command });
    });
  }

  /** Starts a FakeLicenseServer in the server process; resolves with its `host:port`. */
  async start(name: string, options: FakeLicenseServerOptions): Promise<string> {
    const reply = await this.command({ op: 'start', name, options });
    return reply.address ?? '';
  }

  /** CPU time (user + system) the server process has used so far, in µs. */
  async cpu(): Promise<number> {
    return (await this.command({ op: 'cpu' })).value ?? Number.NaN;
  }

  /** Closes every server and ends the process. */
  async exit(): Promise<void> {
    const exited = new Promise<void>((resolve) => {
      if (this.#child.exitCode !== null) resolve();
      else this.#child.once('exit', () => resolve());
    });
    if (this.#child.connected) this.#child.send({ id: 0, op: 'exit' } satisfies Command & { id: number });
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}
