/**
 * The admin HTTP listener of a license server (`lv-license serve --admin HOST:PORT`): JSON in and out,
 * bearer tokens (a read-only one and an admin one), every change logged with who and what. No secret is
 * ever returned, and a token never reaches a log line (only a short fingerprint of it). `/metrics`,
 * `/livez` and `/readyz` answer without a token: scrapers and probes carry none.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../errors.js';
import { errorText } from './error-text.js';
import type { LicenseServer } from './license-server.js';
import { ServerMetrics } from './metrics.js';

/** What a token may do: `read` lists, `admin` also changes. */
export type AdminRole = 'read' | 'admin';

/** The tokens an admin listener accepts. */
export interface AdminTokens {
  /** Tokens that may list pools and leases. */
  readonly read: readonly string[];
  /** Tokens that may also change: revoke, set, reload, drain. */
  readonly admin: readonly string[];
}

/** Options of {@link startAdmin}. */
export interface AdminOptions {
  /** Address to listen on. @defaultValue '127.0.0.1' */
  host?: string;
  /** TCP port; 0 picks a free one. */
  port: number;
  /** The bearer tokens it accepts (see {@link loadAdminTokens}). */
  tokens: AdminTokens;
  /** Receives one line per refused request (changes are the server's `admin` events). */
  log?: (line: string) => void;
  /**
   * The metrics `GET /metrics` serves: these, or (by default) a new {@link ServerMetrics} of the server,
   * closed with the listener; `false` serves none.
   */
  metrics?: ServerMetrics | false;
}

/** A running admin listener. */
export interface AdminListener {
  /** `http://host:port` */
  readonly url: string;
  /** Accepts these tokens from now on (a reloaded token file); the old ones stop working. */
  setTokens(tokens: AdminTokens): void;
  /** Stops listening and closes the connections it holds. */
  close(): Promise<void>;
}

/**
 * Reads a token file: one `ROLE TOKEN` per line (`admin` or `read`), `#` comments, blank lines ignored.
 *
 * @throws {ConfigError} naming the line, for a line of another shape or a token shorter than 16 characters
 * (the token itself is never shown).
 */
export async function loadAdminTokens(path: string): Promise<AdminTokens> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `${path}: the admin token file cannot be read (${(err as NodeJS.ErrnoException).code ?? err}).`,
      {
        file: path,
        cause: err,
      },
    );
  }
  const read: string[] = [];
  const admin: string[] = [];
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(admin|read)\s+(\S{16,})$/.exec(line);
    if (match === null) {
      throw new ConfigError(
        `${path}:${index + 1}: write each line as "admin TOKEN" or "read TOKEN", with a token of at least 16 characters (this line is not shown: it may hold one).`,
        { file: path, line: index + 1 },
      );
    }
    (match[1] === 'admin' ? admin : read).push(match[2] as string);
  }
  if (read.length + admin.length === 0) {
    throw new ConfigError(`${path}: the admin token file holds no token.`, { file: path });
  }
  return { read, admin };
}

/** A short, non-reversible name of a token for the audit log. */
function fingerprint(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 8);
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/** The role of the request's bearer token, compared in constant time; `undefined` for none or a bad one. */
function roleOf(
  header: string | undefined,
  tokens: AdminTokens,
): { role: AdminRole; who: string } | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  if (match === null) return undefined;
  const given = digest(match[1] as string);
  for (const role of ['admin', 'read'] as const) {
    for (const token of tokens[role]) {
      if (timingSafeEqual(given, digest(token))) return { role, who: `${role}:${fingerprint(token)}` };
    }
  }
  return undefined;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The largest pool the API sets. */
const MAX_POOL = 1_000_000;

/** The longest request body read, in bytes. */
const MAX_BODY = 16 * 1024;

async function jsonBody(request: http.IncomingMessage): Promise<Record<string, unknown>> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, 'The request body is too large.');
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  try {
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (typeof value === 'object' && value !== null && !Array.isArray(value))
      return value as Record<string, unknown>;
  } catch {
    // Falls through to the 400.
  }
  throw new HttpError(400, 'The body must be a JSON object.');
}

type Route = {
  readonly method: string;
  readonly pattern: RegExp;
  readonly role: AdminRole;
  /** Changes something: logged with who did it. */
  readonly change: boolean;
  handle(server: LicenseServer, match: RegExpExecArray, url: URL, body: Record<string, unknown>): unknown;
};

const ROUTES: readonly Route[] = [
  {
    method: 'GET',
    pattern: /^\/pools$/,
    role: 'read',
    change: false,
    handle: async (server, _m, url) => ({ pools: (await server.pools()).filter(matches(url)) }),
  },
  {
    method: 'GET',
    pattern: /^\/leases$/,
    role: 'read',
    change: false,
    handle: async (server, _m, url) => ({
      leases: (await server.leases()).filter(matches(url)).map((l) => ({
        id: l.id,
        account: l.account,
        feature: l.feature,
        count: l.count,
        grantedAt: l.grantedAt,
        expiresAt: l.expiresAt,
      })),
    }),
  },
  {
    method: 'POST',
    pattern: /^\/leases\/([^/]+)\/revoke$/,
    role: 'admin',
    change: true,
    handle: async (server, match, url) => {
      const id = decodeURIComponent(match[1] as string);
      const accounts = new Set((await server.pools()).map((p) => p.account));
      const account = url.searchParams.get('account') ?? (accounts.size === 1 ? [...accounts][0] : undefined);
      if (account === undefined) throw new HttpError(400, 'Say whose lease it is: add ?account=NAME.');
      if (!(await server.revoke(id, account))) throw new HttpError(404, `No lease ${id} here.`);
      return { revoked: id };
    },
  },
  {
    method: 'PUT',
    pattern: /^\/pools\/([^/]*)\/([A-Za-z][A-Za-z0-9_]{0,31})$/,
    role: 'admin',
    change: true,
    handle: async (server, match, _url, body) => {
      const total = body.total;
      if (typeof total !== 'number' || !Number.isSafeInteger(total) || total < 0 || total > MAX_POOL) {
        throw new HttpError(400, `total must be a whole number from 0 to ${MAX_POOL}.`);
      }
      const account = decodeURIComponent(match[1] as string);
      const feature = (match[2] as string).toUpperCase();
      if (!(await server.pools()).some((p) => p.account === account))
        throw new HttpError(404, `No account ${account} here.`);
      // Kept across reloads: written to the accounts file when the server has one.
      await server.setPoolSize(account, feature, total);
      return { account, feature, total };
    },
  },
  {
    method: 'POST',
    pattern: /^\/reload$/,
    role: 'admin',
    change: true,
    handle: async (server) => ({ reloaded: await server.reload() }),
  },
  {
    method: 'POST',
    pattern: /^\/drain$/,
    role: 'admin',
    change: true,
    handle: (server, _m, url) => {
      const text = url.searchParams.get('timeout') ?? '5000';
      const timeout = Number(text);
      if (!/^\d{1,9}$/.test(text))
        throw new HttpError(400, 'timeout must be a whole number of milliseconds.');
      server.drain({ timeout, retryAfter: 1_000 }).catch(() => {
        // A drain does not fail: it logs what it could not do and closes anyway.
      });
      return { draining: true };
    },
  },
];

/** Keeps the items whose `account` and `feature` match the query's (when given). */
function matches(url: URL): (item: { account: string; feature: string }) => boolean {
  const account = url.searchParams.get('account');
  const feature = url.searchParams.get('feature')?.toUpperCase();
  return (item) =>
    (account === null || item.account === account) && (feature === undefined || item.feature === feature);
}

/**
 * Starts the admin listener of `server`.
 *
 * @throws {ConfigError} when the address cannot be listened on.
 */
export function startAdmin(server: LicenseServer, options: AdminOptions): Promise<AdminListener> {
  const log = options.log ?? (() => {});
  let tokens = options.tokens;
  const ownMetrics = options.metrics === undefined ? new ServerMetrics(server) : undefined;
  const metrics = ownMetrics ?? (options.metrics === false ? undefined : options.metrics);
  const listener = http.createServer((request, response) => {
    handle(server, tokens, log, metrics, request, response).catch((err: unknown) => {
      // Not reached by design (handle answers every failure itself); a bug must not end the process.
      log(`admin: a request failed unexpectedly: ${errorText(err)}`);
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  });
  // A slow or half-sent request is cut off, and a flood of them cannot take every file descriptor.
  listener.headersTimeout = 10_000;
  listener.requestTimeout = 15_000;
  listener.keepAliveTimeout = 5_000;
  listener.maxConnections = 100;
  const host = options.host ?? '127.0.0.1';
  return new Promise((resolve, reject) => {
    listener.once('error', (err: NodeJS.ErrnoException) => {
      ownMetrics?.close();
      reject(
        new ConfigError(
          `The admin listener could not listen on ${host}:${options.port} (${err.code ?? err.message}).`,
          { cause: err },
        ),
      );
    });
    listener.listen(options.port, host, () => {
      const { port } = listener.address() as AddressInfo;
      const shown = host.includes(':') ? `[${host}]` : host;
      resolve({
        url: `http://${shown}:${port}`,
        setTokens: (next) => {
          tokens = next;
        },
        close: () =>
          new Promise<void>((done) => {
            ownMetrics?.close();
            listener.closeAllConnections();
            listener.close(() => done());
          }),
      });
    });
  });
}

async function handle(
  server: LicenseServer,
  tokens: AdminTokens,
  log: (line: string) => void,
  metrics: ServerMetrics | undefined,
  request: http.IncomingMessage,
  response: http.ServerResponse,
): Promise<void> {
  const send = (status: number, body: unknown) => {
    response.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
    });
    response.end(`${JSON.stringify(body)}\n`);
  };
  let url: URL;
  try {
    url = new URL(request.url ?? '/', 'http://admin');
  } catch {
    request.resume();
    send(400, { error: 'The request target is not a path.' });
    return;
  }
  if (request.method === 'GET' || request.method === 'HEAD') {
    if (url.pathname === '/livez') {
      request.resume();
      send(200, { status: 'ok' });
      return;
    }
    if (url.pathname === '/readyz') {
      request.resume();
      const checks = await readiness(server, log);
      send(checks.ready ? 200 : 503, checks);
      return;
    }
    if (url.pathname === '/metrics' && metrics !== undefined) {
      request.resume();
      try {
        const text = await metrics.metrics();
        response.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' });
        response.end(text);
      } catch (err) {
        // The detail goes to the log: /metrics needs no token.
        log(`metrics: ${errorText(err)}`);
        send(500, { error: 'The metrics could not be read; the server log says why.' });
      }
      return;
    }
  }
  const route = ROUTES.find((r) => r.method === request.method && r.pattern.test(url.pathname));
  if (route === undefined) {
    request.resume();
    send(404, { error: `No ${request.method ?? '?'} ${url.pathname} here.` });
    return;
  }
  const caller = roleOf(request.headers.authorization, tokens);
  if (caller === undefined) {
    request.resume();
    log(`admin: refused ${request.method} ${url.pathname}: no valid token`);
    send(401, { error: 'A valid bearer token is needed (Authorization: Bearer TOKEN).' });
    return;
  }
  if (route.role === 'admin' && caller.role !== 'admin') {
    request.resume();
    log(`admin: refused ${request.method} ${url.pathname} to ${caller.who}: read-only token`);
    send(403, { error: 'This token may only read; changes need an admin token.' });
    return;
  }
  let body: Record<string, unknown> = {};
  try {
    body = request.method === 'GET' ? {} : await jsonBody(request);
    const result = await route.handle(server, route.pattern.exec(url.pathname) as RegExpExecArray, url, body);
    if (route.change) server.audit(caller.who, describeChange(request.method, url, body), 200);
    send(200, result);
  } catch (err) {
    const status = err instanceof HttpError ? err.status : err instanceof ConfigError ? 400 : 500;
    if (route.change) server.audit(caller.who, describeChange(request.method, url, body), status);
    send(status, { error: errorText(err) });
  }
}

/** The query and body fields an audit line names: only these, whatever else a caller sent (a token...). */
const AUDITED_FIELDS = ['account', 'feature', 'total', 'timeout'] as const;

/** `POST /leases/x/revoke account=alice`: the change, with the known fields only. */
function describeChange(method: string | undefined, url: URL, body: Record<string, unknown>): string {
  const fields: string[] = [];
  for (const name of AUDITED_FIELDS) {
    const value = url.searchParams.get(name) ?? body[name];
    if (typeof value === 'string' || typeof value === 'number')
      fields.push(`${name}=${JSON.stringify(value)}`);
  }
  return [`${method ?? '?'} ${url.pathname}`, ...fields].join(' ');
}

/** How long `/readyz` waits for the store, in ms. */
const STORE_CHECK_MS = 2_000;

/** What `/readyz` answers: ready when listening, not draining, and the store answers in time. */
async function readiness(server: LicenseServer, log: (line: string) => void) {
  let timer: NodeJS.Timeout | undefined;
  const store = await Promise.race([
    server.store.counts().then(
      () => 'ok',
      // The reason goes to the server's log, not to a probe that needs no token.
      (err: unknown) => {
        log(`readyz: the license store did not answer: ${errorText(err)}`);
        return 'unreachable (the server log says why)';
      },
    ),
    new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(`no answer within ${STORE_CHECK_MS} ms`), STORE_CHECK_MS);
    }),
  ]);
  clearTimeout(timer);
  const listening = server.listening;
  const draining = server.draining;
  return { ready: listening && !draining && store === 'ok', listening, draining, store };
}
