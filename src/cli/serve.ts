/**
 * `lv-license serve`: the license server (lv-license-client/server) as a standalone foreground process.
 */
import { readFile } from 'node:fs/promises';
import { isLicenseError } from '../index.js';
import {
  type AdminListener,
  EventLog,
  LicenseServer,
  type LicenseServerOptions,
  type LicenseStore,
  loadAdminTokens,
  MAX_BATCH_REQUESTS,
  PostgresAccounts,
  PostgresStore,
  ServerMetrics,
  startAdmin,
} from '../server/index.js';
import { type CliIo, parseFlags, UsageError } from './io.js';
import { type LogFormat, type ServeLog, serveLog } from './serve-observe.js';

export const SERVE_USAGE = `Usage: lv-license serve [options]

Runs a license server (lv-license-client/server) in the foreground.

Signals:
  SIGHUP                re-read --accounts (also done when the file changes), the --tls-cert/--tls-key
                        files and --admin-token-file, and reopen --events (after logrotate moved it); a
                        file that does not load is reported and the one in force stays
  SIGTERM, SIGINT       drain: hand every lease back (clients move them to their other servers), tell
                        clients to go, wait for them (--drain-timeout), exit 0; a second one exits at once

Options:
  --port N              TCP port to listen on (default 7569; 0 picks a free one)
  --host ADDR           address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)
  --accounts FILE       license_authentication.conf: authentication mode with these accounts (not with
                        --store: load it into the database with "lv-license accounts import")
  --licenses LIST       pools of unauthenticated mode, e.g. FULL=4,LITE=2,TTS=2,AMD=1 (the default);
                        with --store it sets the pool every node shares (else the one there stays)
  --lease-ttl MS        how long a lease lives without renewal (default 30000; the same on every node)
  --store URL           keep the pools in PostgreSQL (postgres://user:password@host/db; also the
                        LV_LICENSE_STORE environment variable): several nodes then serve one pool. Needs
                        the pg package (npm install pg). The accounts are the database's: with any
                        there ("lv-license accounts import"), authentication mode; with none,
                        unauthenticated mode
  --migrate             bring the --store schema up to date first (else: lv-license store migrate)
  --tls-cert FILE       PEM certificate: serve TLS (with --tls-key)
  --tls-key FILE        PEM private key of --tls-cert
  --tls-ca FILE         PEM CA for client certificates (with --tls-request-cert)
  --tls-request-cert    ask clients for a certificate signed by --tls-ca
  --max-batch N         requests one batch frame may carry (protocol 1.2; default 128, at most 256); 0
                        turns batching off (the server then speaks protocol 1.1: one frame per request)
  --drain-timeout MS    the longest a drain waits for clients to leave (default 5000)
  --admin HOST:PORT     serve the admin HTTP API there (off unless asked; keep it on a private address)
  --admin-token-file F  its bearer tokens, one "admin TOKEN" or "read TOKEN" per line (with --admin);
                        GET /metrics (Prometheus), /livez and /readyz answer without a token
  --metrics-per-account true|false
                        label metrics by account (default true); false sums accounts, for many of them
  --events FILE         append one JSON line per grant, denial, release, expiry, revocation, failed
                        login and admin action (read it with "lv-license report")
  --log-format text|json
                        text: readable lines; json: one JSON object per line (default: text on a
                        terminal, json otherwise)
  -h, --help            show this help
`;

function oneOf<const T extends string>(
  name: string,
  value: string | undefined,
  allowed: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`--${name} takes ${allowed.join(' or ')}, not "${value}".`);
  }
  return value as T;
}

function integer(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, not "${value}".`);
  }
  return n;
}

/** Parses `FULL=4,LITE=2` into a pool spec. */
export function parseLicenseList(text: string): Record<string, number> {
  const pools: Record<string, number> = {};
  for (const part of text.split(',')) {
    const match = /^\s*([A-Za-z][A-Za-z0-9_]{0,31})\s*=\s*(\d{1,9})\s*$/.exec(part);
    if (match === null) {
      throw new UsageError(
        `--licenses takes TYPE=COUNT pairs separated by commas, e.g. FULL=4,LITE=2; "${part}" is not one.`,
      );
    }
    pools[(match[1] as string).toUpperCase()] = Number(match[2]);
  }
  return pools;
}

async function readPem(flag: string, path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new UsageError(`--${flag} ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}.`);
  }
}

/** What `lv-license serve` runs with: the server's options, and what the process does around it. */
export interface ServeOptions extends LicenseServerOptions {
  /** The longest a drain waits for clients to leave, in ms. */
  drainTimeout: number;
  /** Where the admin HTTP API listens, and its token file. */
  admin?: { host: string; port: number; tokenFile: string } | undefined;
  /** Label metrics by account. */
  metricsPerAccount: boolean;
  /** The event log, if any. */
  events?: string | undefined;
  /** How to log; `undefined`: text on a terminal, JSON otherwise. */
  logFormat?: LogFormat | undefined;
  /** The PostgreSQL URL of a shared store, if any. */
  storeUrl?: string | undefined;
  /** Bring the store's schema up to date first. */
  migrate: boolean;
}

/** Builds the server options from the command line. */
export async function serveOptions(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<ServeOptions | 'help'> {
  const v = parseServeArgs(args);
  if (v.help === true) return 'help';
  if ((v['tls-cert'] === undefined) !== (v['tls-key'] === undefined)) {
    throw new UsageError('--tls-cert and --tls-key go together.');
  }
  if (v.accounts !== undefined && v.licenses !== undefined) {
    throw new UsageError(
      '--licenses is for unauthenticated mode; with --accounts, each account lists its own licenses.',
    );
  }
  const options: ServeOptions = {
    port: integer('port', v.port, 0, 65_535) ?? 7569,
    host: v.host ?? '127.0.0.1',
    drainTimeout: integer('drain-timeout', v['drain-timeout'], 0, 3_600_000) ?? 5_000,
    metricsPerAccount: oneOf('metrics-per-account', v['metrics-per-account'], ['true', 'false']) !== 'false',
    events: v.events,
    logFormat: oneOf('log-format', v['log-format'], ['text', 'json']),
    storeUrl: v.store ?? (env.LV_LICENSE_STORE || undefined),
    migrate: v.migrate === true,
  };
  if (options.storeUrl !== undefined && v.accounts !== undefined) {
    throw new UsageError(
      'With --store the accounts live in the database: load the file into it once with "lv-license accounts import FILE --store URL", then start the nodes without --accounts.',
    );
  }
  if (options.migrate && options.storeUrl === undefined) {
    throw new UsageError('--migrate brings a --store schema up to date: give --store URL too.');
  }
  if ((v.admin === undefined) !== (v['admin-token-file'] === undefined)) {
    throw new UsageError(
      '--admin and --admin-token-file go together: the admin API never runs without tokens.',
    );
  }
  if (v.admin !== undefined && v['admin-token-file'] !== undefined) {
    const match = /^(.*):(\d{1,5})$/.exec(v.admin);
    const port = match === null ? undefined : integer('admin', match[2], 0, 65_535);
    if (match === null || port === undefined)
      throw new UsageError(`--admin takes HOST:PORT, such as 127.0.0.1:7570, not "${v.admin}".`);
    options.admin = {
      host: (match[1] as string).replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
      port,
      tokenFile: v['admin-token-file'],
    };
  }
  const leaseTtl = integer('lease-ttl', v['lease-ttl'], 100, 86_400_000);
  if (leaseTtl !== undefined) options.leaseTtl = leaseTtl;
  const maxBatch = integer('max-batch', v['max-batch'], 0, MAX_BATCH_REQUESTS);
  if (maxBatch !== undefined) options.maxBatch = maxBatch;
  if (v.accounts !== undefined) options.accounts = v.accounts;
  if (v.licenses !== undefined) options.licenses = parseLicenseList(v.licenses);
  if (v['tls-cert'] !== undefined && v['tls-key'] !== undefined) {
    options.tls = {
      cert: await readPem('tls-cert', v['tls-cert']),
      key: await readPem('tls-key', v['tls-key']),
      ...(v['tls-ca'] === undefined ? {} : { ca: await readPem('tls-ca', v['tls-ca']) }),
      requestCert: v['tls-request-cert'] === true,
    };
  }
  return options;
}

function parseServeArgs(args: readonly string[]) {
  return parseFlags(args, {
    port: { type: 'string' },
    host: { type: 'string' },
    accounts: { type: 'string' },
    licenses: { type: 'string' },
    'lease-ttl': { type: 'string' },
    'max-batch': { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'tls-ca': { type: 'string' },
    'tls-request-cert': { type: 'boolean' },
    'drain-timeout': { type: 'string' },
    admin: { type: 'string' },
    'admin-token-file': { type: 'string' },
    'metrics-per-account': { type: 'string' },
    events: { type: 'string' },
    'log-format': { type: 'string' },
    store: { type: 'string' },
    migrate: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
}

/**
 * Runs the server until `io.signal` fires, then drains it. Re-reads the accounts file and the TLS files
 * on `io.onReload` (SIGHUP), and the accounts file when it changes. Resolves with the exit status: 0 after
 * a clean stop, 1 when the server could not start.
 */
export async function serve(args: readonly string[], io: CliIo): Promise<number> {
  const options = await serveOptions(args, io.env ?? process.env);
  if (options === 'help') {
    io.stdout(SERVE_USAGE);
    return 0;
  }
  const {
    drainTimeout,
    admin,
    metricsPerAccount,
    events: eventsPath,
    logFormat,
    storeUrl,
    migrate,
    ...serverOptions
  } = options;
  const log = serveLog(logFormat ?? ((io.isTTY ?? process.stdout.isTTY === true) ? 'text' : 'json'), io);
  let server: LicenseServer;
  let adminListener: AdminListener | undefined;
  let metrics: ServerMetrics | undefined;
  let events: EventLog | undefined;
  let store: LicenseStore | undefined;
  let accountsDb: PostgresAccounts | undefined;
  try {
    const tokens = admin === undefined ? undefined : await loadAdminTokens(admin.tokenFile);
    store =
      storeUrl === undefined
        ? undefined
        : await PostgresStore.connect({
            connectionString: storeUrl,
            migrate,
            ...(serverOptions.leaseTtl === undefined ? {} : { leaseTtl: serverOptions.leaseTtl }),
          });
    if (store instanceof PostgresStore) log(`pools kept in PostgreSQL as node ${store.node}`);
    if (storeUrl !== undefined) {
      accountsDb = await PostgresAccounts.connect({ connectionString: storeUrl });
      if (await sharedAccounts(accountsDb, serverOptions, log)) serverOptions.accounts = accountsDb;
    }
    events =
      eventsPath === undefined
        ? undefined
        : await EventLog.open(eventsPath, { warn: log }).catch((err: unknown) => {
            throw new Error(
              `--events ${eventsPath} cannot be written (${(err as NodeJS.ErrnoException).code ?? err}).`,
            );
          });
    server = await LicenseServer.start({
      ...serverOptions,
      ...(store === undefined ? {} : { store }),
      watch: true,
      log,
    }).catch(async (err: unknown) => {
      await events?.close();
      throw err;
    });
    const eventLog = events;
    if (eventLog !== undefined) {
      // Only a server that started says so in the log (a second instance that fails must not).
      eventLog.start(store === undefined ? 'memory' : 'postgres');
      server.onEvent((event) => eventLog.write(event));
    }
    if (admin !== undefined && tokens !== undefined) {
      metrics = new ServerMetrics(server, { perAccount: metricsPerAccount });
      adminListener = await startAdmin(server, {
        host: admin.host,
        port: admin.port,
        tokens,
        log,
        metrics,
      }).catch(async (err: unknown) => {
        await server.close();
        await events?.close();
        throw err;
      });
      log(`admin API on ${adminListener.url}`);
    }
  } catch (err) {
    await accountsDb?.close();
    await store?.close();
    io.stderr(`lv-license serve: ${messageOf(err)}\n`);
    return 1;
  }
  const stopListening =
    io.onReload?.(() => void reloadFiles(server, adminListener, events, args, io.env ?? process.env, log)) ??
    (() => {});
  const { signal } = io;
  // Until a signal, or a drain asked for through the admin API.
  await Promise.race([
    server.closed,
    new Promise<void>((resolve) => {
      if (signal === undefined || signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    }),
  ]);
  stopListening();
  log('draining');
  await server.drain({ timeout: drainTimeout, retryAfter: 1_000 });
  await adminListener?.close();
  metrics?.close();
  await accountsDb?.close();
  await store?.close();
  log('stopped');
  await events?.close();
  return 0;
}

/** SIGHUP or an edited accounts file: the accounts and the TLS files again, each kept when it fails. */
async function reloadFiles(
  server: LicenseServer,
  adminListener: AdminListener | undefined,
  events: EventLog | undefined,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  log: ServeLog,
): Promise<void> {
  await events?.reopen().then(
    () => log(`event log ${events.path} reopened`),
    (err: unknown) => log(`the event log could not be reopened, the file in force stays: ${messageOf(err)}`),
  );
  let fresh: ServeOptions | 'help';
  try {
    fresh = await serveOptions(args, env);
  } catch (err) {
    log(`reload failed, the files in force stay: ${messageOf(err)}`);
    return;
  }
  if (fresh === 'help') return;
  // The accounts file, or the database's accounts (a node on a store).
  if (server.authMode !== 'none') {
    await server.reload().catch((err: unknown) => {
      const what =
        fresh.accounts === undefined ? 'the accounts in the database were' : 'the accounts file was';
      log(`${what} not applied, the accounts in force stay: ${messageOf(err)}`);
    });
  }
  if (adminListener !== undefined && fresh.admin !== undefined) {
    await loadAdminTokens(fresh.admin.tokenFile).then(
      (tokens) => {
        adminListener.setTokens(tokens);
        log('admin tokens reloaded');
      },
      (err: unknown) =>
        log(`the admin token file was not applied, the tokens in force stay: ${messageOf(err)}`),
    );
  }
  if (fresh.tls !== undefined) {
    try {
      server.reloadTls(fresh.tls);
    } catch (err) {
      log(`the TLS files were not applied, the certificate in force stays: ${messageOf(err)}`);
    }
  }
}

/**
 * Whether the node serves the database's accounts: yes when it holds any (authentication mode, every node
 * the same accounts); no when it holds none (unauthenticated mode, the shared anonymous pool), and then
 * it says so once if accounts are imported while it runs, since its mode holds until a restart.
 */
async function sharedAccounts(
  accounts: PostgresAccounts,
  options: LicenseServerOptions,
  log: ServeLog,
): Promise<boolean> {
  const count = Object.keys(await accounts.load()).length;
  if (count > 0) {
    if (options.licenses !== undefined) {
      throw new Error(
        `${accounts.description} holds ${count} account(s), so its nodes run in authentication mode and each account has its own licenses: leave out --licenses (change an account's with "lv-license accounts set NAME --licenses LIST --store URL").`,
      );
    }
    log(`accounts kept in PostgreSQL: ${count} account(s), authentication mode`);
    return true;
  }
  log('no accounts in PostgreSQL: unauthenticated mode, one pool shared by every node');
  const stop = accounts.watch(() => {
    accounts.load().then(
      (now) => {
        const imported = Object.keys(now).length;
        if (imported === 0) return;
        stop();
        log(
          `the database now holds ${imported} account(s): this node stays in unauthenticated mode until it is restarted`,
        );
      },
      () => {},
    );
  });
  return false;
}

function messageOf(err: unknown): string {
  return isLicenseError(err) || err instanceof Error ? err.message : String(err);
}
