/**
 * `lv-license admin`: the admin HTTP API of a running `lv-license serve`, from the command line.
 */
import { readFile } from 'node:fs/promises';
import { type CliIo, parseFlags, UsageError } from './io.js';

export const ADMIN_USAGE = `Usage: lv-license admin <pools|leases|revoke|set|reload|drain> --url URL --token-file FILE [options]

Talks to the admin API of a running "lv-license serve --admin HOST:PORT".

Commands:
  pools                 every pool: account, license type, size, in use, queued
  leases                every lease (no secret): id, account, license type, seats, expiry
  revoke --lease ID     take one lease back (its holder moves it, or reports -41)
  set --feature F --total N
                        set the size of a pool (shrinking revokes the newest leases)
  reload                re-read the accounts file
  drain                 hand every lease back, tell clients to go, and stop the server

Options:
  --url URL             the admin API, such as http://127.0.0.1:7570
  --token-file FILE     a file whose first line is the bearer token (read-only or admin)
  --account NAME        the account (pools, leases, revoke, set)
  --feature TYPE        the license type (pools, leases, set)
  --json                print the JSON answer as it came
  -h, --help            show this help

Exit status: 0 done, 1 the server refused or failed, 2 usage error.
`;

const COMMANDS = ['pools', 'leases', 'revoke', 'set', 'reload', 'drain'] as const;

/** Runs one admin command; resolves with the exit status. */
export async function admin(args: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = args;
  const v = parseFlags(rest, {
    url: { type: 'string' },
    'token-file': { type: 'string' },
    account: { type: 'string' },
    feature: { type: 'string' },
    lease: { type: 'string' },
    total: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (v.help === true || command === '--help' || command === '-h') {
    io.stdout(ADMIN_USAGE);
    return 0;
  }
  if (!COMMANDS.includes(command as (typeof COMMANDS)[number])) {
    throw new UsageError(`lv-license admin needs one of ${COMMANDS.join(', ')}, not "${command ?? ''}".`);
  }
  if (v.url === undefined || v['token-file'] === undefined) {
    throw new UsageError('lv-license admin needs --url and --token-file.');
  }
  let base: URL;
  try {
    base = new URL(v.url);
  } catch {
    throw new UsageError(
      `--url takes the admin API's address, such as http://127.0.0.1:7570, not "${v.url}".`,
    );
  }
  if (base.username !== '' || base.password !== '') {
    throw new UsageError('--url must not hold credentials: the token goes in --token-file.');
  }
  let token: string;
  try {
    token = (await readFile(v['token-file'], 'utf8')).trim().split(/\s+/).at(-1) ?? '';
  } catch (err) {
    io.stderr(
      `lv-license admin: ${v['token-file']} cannot be read (${(err as NodeJS.ErrnoException).code ?? err}).\n`,
    );
    return 1;
  }
  const query = new URLSearchParams();
  if (v.account !== undefined) query.set('account', v.account);
  if (v.feature !== undefined) query.set('feature', v.feature);
  const request = requestFor(command as (typeof COMMANDS)[number], v, query);
  let response: Response;
  try {
    response = await fetch(new URL(`${request.path}${query.size > 0 ? `?${query}` : ''}`, base), {
      method: request.method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    io.stderr(
      `lv-license admin ${command}: no answer from ${base.origin} (${cause}): is lv-license serve running with --admin there?\n`,
    );
    return 1;
  }
  const answer = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (v.json === true) io.stdout(`${JSON.stringify(answer, null, 2)}\n`);
  if (!response.ok) {
    io.stderr(
      `lv-license admin ${command}: ${response.status} ${String(answer.error ?? response.statusText)}\n`,
    );
    return 1;
  }
  if (v.json !== true) io.stdout(render(command as (typeof COMMANDS)[number], answer));
  return 0;
}

function requestFor(
  command: (typeof COMMANDS)[number],
  v: {
    lease?: string | undefined;
    feature?: string | undefined;
    total?: string | undefined;
    account?: string | undefined;
  },
  query: URLSearchParams,
): { method: string; path: string; body?: object } {
  switch (command) {
    case 'pools':
      return { method: 'GET', path: '/pools' };
    case 'leases':
      return { method: 'GET', path: '/leases' };
    case 'revoke':
      if (v.lease === undefined) throw new UsageError('lv-license admin revoke needs --lease ID.');
      query.delete('feature');
      return { method: 'POST', path: `/leases/${encodeURIComponent(v.lease)}/revoke` };
    case 'set': {
      const total = Number(v.total);
      if (v.feature === undefined || v.total === undefined || !/^\d+$/.test(v.total)) {
        throw new UsageError('lv-license admin set needs --feature TYPE and --total N (a whole number).');
      }
      const account = v.account ?? '';
      query.delete('account');
      query.delete('feature');
      return { method: 'PUT', path: `/pools/${encodeURIComponent(account)}/${v.feature}`, body: { total } };
    }
    case 'reload':
      return { method: 'POST', path: '/reload' };
    case 'drain':
      return { method: 'POST', path: '/drain' };
  }
}

function render(command: (typeof COMMANDS)[number], answer: Record<string, unknown>): string {
  if (command === 'pools') {
    const pools = (answer.pools ?? []) as Array<Record<string, unknown>>;
    return `${['ACCOUNT\tTYPE\tTOTAL\tIN USE\tQUEUED', ...pools.map((p) => `${p.account || '-'}\t${p.feature}\t${p.total}\t${p.inUse}\t${p.queued}`)].join('\n')}\n`;
  }
  if (command === 'leases') {
    const leases = (answer.leases ?? []) as Array<Record<string, unknown>>;
    return `${['LEASE\tACCOUNT\tTYPE\tSEATS\tEXPIRES', ...leases.map((l) => `${l.id}\t${l.account || '-'}\t${l.feature}\t${l.count}\t${new Date(Number(l.expiresAt)).toISOString()}`)].join('\n')}\n`;
  }
  return `${JSON.stringify(answer)}\n`;
}
