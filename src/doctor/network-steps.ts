/**
 * The first two steps of a server probe: resolving the host name, and opening a plain TCP connection,
 * telling apart refused, timed out (a firewall), unreachable and reset.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import * as net from 'node:net';
import type { ServerAddress } from '../config/index.js';
import { StepTimeoutError, withDeadline } from '../timing.js';
import { classifySocketError } from '../transport/socket-errors.js';
import { finding, formatMs, messageOf, reasonOf, serversKey } from './finding.js';
import type { DoctorFinding } from './types.js';

/** Resolves a host name to its addresses; tests inject their own. */
export type Lookup = (host: string) => Promise<string[]>;

/** Opens a TCP socket that emits `connect` or `error`; tests inject their own. */
export type Connect = (host: string, port: number) => net.Socket;

/** The system resolver (`getaddrinfo`, as `net.connect` uses it). */
export const systemLookup: Lookup = async (host) =>
  (await dnsLookup(host, { all: true })).map((entry) => entry.address);

/** `net.connect`. */
export const systemConnect: Connect = (host, port) => net.connect({ host, port });

/** What every step is given. */
export interface StepContext {
  readonly server: ServerAddress;
  /** `host:port` or `tls://host:port`. */
  readonly label: string;
  readonly timeout: number;
  readonly signal?: AbortSignal | undefined;
}

/** A step's finding, and whether the probe may go on. */
export interface StepResult {
  readonly finding: DoctorFinding;
  readonly ok: boolean;
}

/** Resolves the host name; an IP address is skipped. */
export async function dnsStep(ctx: StepContext, lookup: Lookup = systemLookup): Promise<StepResult> {
  const { host } = ctx.server;
  const make = (status: 'pass' | 'fail' | 'skip', detail: string, fix?: string, data?: object) => ({
    finding: finding('server.dns', 'DNS', status, detail, {
      server: ctx.label,
      fix,
      data: data as Record<string, unknown> | undefined,
    }),
    ok: status !== 'fail',
  });
  if (net.isIP(host) !== 0) return make('skip', `${host} is an IP address: nothing to resolve.`);
  const started = performance.now();
  try {
    const addresses = await withDeadline(lookup(host), ctx.timeout, {
      what: `Resolving ${host}`,
      signal: ctx.signal,
    });
    const ms = performance.now() - started;
    return make('pass', `${host} resolves to ${addresses.join(', ')} (in ${formatMs(ms)}).`, undefined, {
      addresses,
      ms,
    });
  } catch (err) {
    const timedOut = err instanceof StepTimeoutError;
    const detail = timedOut
      ? `No answer from this machine's DNS resolver for ${host} within ${ctx.timeout} ms.`
      : `${host} could not be resolved (${reasonOf(err)}).`;
    const fix = timedOut
      ? `This machine's DNS server does not answer: check its DNS settings (/etc/resolv.conf), or write the server's IP address in ${serversKey(ctx.server)}.`
      : `Check the spelling of ${host} in ${serversKey(ctx.server)} and this machine's DNS settings, or write the server's IP address instead.`;
    return make('fail', detail, fix, { reason: timedOut ? 'timed-out' : reasonOf(err) });
  }
}

/** Opens a plain TCP connection (also for `tls://` entries: TLS runs on top of it) and closes it again. */
export async function tcpStep(ctx: StepContext, connect: Connect = systemConnect): Promise<StepResult> {
  const { host, port } = ctx.server;
  const started = performance.now();
  let socket: net.Socket | undefined;
  try {
    const opened = connect(host, port);
    socket = opened;
    await withDeadline(
      new Promise<void>((resolve, reject) => {
        opened.once('connect', () => resolve());
        opened.once('error', reject);
      }),
      ctx.timeout,
      { what: `Connecting to ${ctx.label}`, signal: ctx.signal },
    );
    const ms = performance.now() - started;
    return {
      finding: finding('server.tcp', 'TCP connect', 'pass', `Connected to port ${port} in ${formatMs(ms)}.`, {
        server: ctx.label,
        data: { ms },
      }),
      ok: true,
    };
  } catch (err) {
    return { finding: tcpFailure(ctx, err), ok: false };
  } finally {
    socket?.on('error', () => {});
    socket?.destroy();
  }
}

function tcpFailure(ctx: StepContext, err: unknown): DoctorFinding {
  const { host, port } = ctx.server;
  const where = serversKey(ctx.server);
  const kind = err instanceof StepTimeoutError ? 'timed-out' : classifySocketError(err);
  const reason = err instanceof StepTimeoutError ? 'no answer' : reasonOf(err);
  const [detail, fix] = ((): [string, string] => {
    switch (kind) {
      case 'refused':
        return [
          `Connection refused: nothing is listening on port ${port} of ${host}.`,
          `Check the host and port in ${where}, and that the license server is running there (it listens on 7569 unless configured otherwise).`,
        ];
      case 'timed-out':
        return [
          `No answer to the connection attempt within ${ctx.timeout} ms: a firewall is probably dropping the packets, or the host is down.`,
          `Open TCP port ${port} from this machine to ${host} (7569, or the port configured in ${where}); test it with "telnet ${host} ${port}", since ping may be blocked.`,
        ];
      case 'unreachable':
        return [
          `${host} is unreachable from this machine (${reason}).`,
          `Check the address in ${where} and this machine's network route to it (traceroute ${host}).`,
        ];
      case 'reset':
        return [
          `The connection was reset as it opened (${reason}).`,
          `Something between this machine and ${host} (a firewall or proxy) cuts the connection, or the server is restarting: check the firewall rules for TCP port ${port}.`,
        ];
      case 'dns':
        return [
          `${host} could not be resolved (${reason}).`,
          `Check the spelling of ${host} in ${where} and this machine's DNS settings.`,
        ];
      default:
        return [
          `Could not connect: ${messageOf(err)}`,
          `Check the entry in ${where} and the network between this machine and ${host}.`,
        ];
    }
  })();
  return finding('server.tcp', 'TCP connect', 'fail', detail, {
    server: ctx.label,
    fix,
    data: { reason: kind, code: reason },
  });
}
