/**
 * What the doctor tests share: confs in a temporary directory, and loopback servers that misbehave.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DoctorFinding, DoctorReport } from '../../src/index.js';

/** A temporary directory for conf files, removed by `cleanup()`. */
export function tempDir(): {
  dir: string;
  write: (name: string, text: string, mode?: number) => string;
  cleanup: () => void;
} {
  const dir = mkdtempSync(join(tmpdir(), 'lv-doctor-'));
  return {
    dir,
    write: (name, text, mode = 0o600) => {
      const path = join(dir, name);
      writeFileSync(path, text);
      chmodSync(path, mode);
      return path;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A listener on 127.0.0.1:0. */
export interface Listener {
  readonly port: number;
  close(): Promise<void>;
}

/** Accepts connections and never says a word: a black hole on the license port. */
export async function blackHole(): Promise<Listener> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** An HTTP server: something that is not a license server. */
export async function httpServer(): Promise<Listener> {
  const server = http.createServer((_req, res) => res.end('hello\n'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The findings of one id (and server, when given). */
export function findingsOf(report: DoctorReport, id: string, server?: string): DoctorFinding[] {
  return report.findings.filter((f) => f.id === id && (server === undefined || f.server === server));
}

/** The one finding of that id (and server); fails the test when there is not exactly one. */
export function findingOf(report: DoctorReport, id: string, server?: string): DoctorFinding {
  const found = findingsOf(report, id, server);
  if (found.length !== 1) {
    throw new Error(`expected one ${id} finding${server ? ` for ${server}` : ''}, got ${found.length}`);
  }
  return found[0] as DoctorFinding;
}

/** Every warn and fail must say how to fix it. */
export function expectFixesEverywhere(report: DoctorReport): void {
  const missing = report.findings.filter((f) => (f.status === 'warn' || f.status === 'fail') && !f.fix);
  if (missing.length > 0) throw new Error(`findings without a fix: ${missing.map((f) => f.id).join(', ')}`);
}
