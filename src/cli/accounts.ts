/**
 * `lv-license accounts`: edits the accounts of `lv-license serve`, in a `license_authentication.conf`
 * (atomically, mode 0600) or in PostgreSQL (`--store URL`), never writing a plaintext password and never
 * showing a secret.
 */

import { ConfigError } from '../index.js';
import {
  type AccountSource,
  type AccountSpec,
  accountsFileSource,
  DEFAULT_RENEWAL_DAY,
  loadAccountsFile,
  PostgresAccounts,
  StoreUnavailableError,
  subscriptionEnd,
  verifierFor,
} from '../server/index.js';
import { type CliIo, parseFlags, UsageError } from './io.js';
import { parseLicenseList } from './serve.js';

export const ACCOUNTS_USAGE = `Usage: lv-license accounts <add|passwd|set|cancel|disable|enable|list> [NAME] --accounts FILE [options]
       lv-license accounts <add|passwd|set|cancel|disable|enable|list> [NAME] --store URL [options]
       lv-license accounts import FILE --store URL

Edits the accounts of "lv-license serve": its accounts file (a running server re-reads it by itself;
written atomically with mode 0600), or, for nodes on one PostgreSQL store, the accounts in the database
(every node applies a change within a second). Passwords are stored as SCRAM-SHA-256 verifiers, never as
text.

Commands:
  add NAME              a new account (asks for its password)
  passwd NAME           a new password for an account (asks for it)
  set NAME              change its --licenses and --renews-on
  cancel NAME           cancel its subscription (--on DATE, today by default): it stays active until
                        the end of its billing cycle
  disable NAME          it can no longer log in; its connections are closed and its seats revoked
  enable NAME           undo disable (and a cancellation)
  list                  every account, its licenses and subscription; never a secret
  import FILE           make the accounts in the database (--store) those of a license_authentication.conf:
                        adds, changes and removes accounts and says which; run again, it changes nothing

Options:
  --accounts FILE       the license_authentication.conf to edit
  --store URL           the accounts in PostgreSQL instead (postgres://user:password@host/db; also the
                        LV_LICENSE_STORE environment variable when --accounts is not given)
  --licenses LIST       seats per license type, e.g. FULL=4,LITE=2 (add, set)
  --renews-on DAY       the day of the month the subscription renews, 1 to 31 (add, set)
  --on DATE             the day of a cancellation, YYYY-MM-DD (cancel)
  --json                print list as JSON
  -h, --help            show this help

The password is read without echo from a terminal, or as the first line of standard input.
`;

/** Runs one accounts command; resolves with the exit status. */
export async function accounts(args: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = args;
  if (command === undefined || command === '--help' || command === '-h') {
    io.stdout(ACCOUNTS_USAGE);
    return command === undefined ? 2 : 0;
  }
  const positional = rest[0] !== undefined && !rest[0].startsWith('-') ? rest[0] : undefined;
  const v = parseFlags(positional === undefined ? rest : rest.slice(1), {
    accounts: { type: 'string' },
    store: { type: 'string' },
    licenses: { type: 'string' },
    'renews-on': { type: 'string' },
    on: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (v.help === true) {
    io.stdout(ACCOUNTS_USAGE);
    return 0;
  }
  if (v.accounts !== undefined && v.store !== undefined) {
    throw new UsageError('Give --accounts FILE or --store URL, not both.');
  }
  const url =
    v.store ?? (v.accounts === undefined ? (io.env ?? process.env).LV_LICENSE_STORE || undefined : undefined);
  if (url === undefined && v.accounts === undefined) {
    throw new UsageError('lv-license accounts needs --accounts FILE or --store URL.');
  }
  if (command === 'import') {
    if (positional === undefined) throw new UsageError('lv-license accounts import needs the FILE to load.');
    if (url === undefined) {
      throw new UsageError('lv-license accounts import loads a file into a database: give --store URL.');
    }
    return withSource(io, command, url, undefined, (source) => importFile(positional, source, io));
  }
  if (command === 'list')
    return withSource(io, command, url, v.accounts, (source) => list(source, v.json === true, io));
  if (!['add', 'passwd', 'set', 'cancel', 'disable', 'enable'].includes(command)) {
    throw new UsageError(`Unknown accounts command "${command}".`);
  }
  if (positional === undefined)
    throw new UsageError(`lv-license accounts ${command} needs the account's NAME.`);
  const name = positional;
  if (name !== name.trim()) {
    throw new UsageError(`The account name "${name}" has blanks around it: write it without them.`);
  }
  const licenses = v.licenses === undefined ? undefined : parseLicenseList(v.licenses);
  const renewsOn = v['renews-on'] === undefined ? undefined : Number(v['renews-on']);
  if (
    renewsOn !== undefined &&
    !(/^\d{1,2}$/.test(v['renews-on'] ?? '') && renewsOn >= 1 && renewsOn <= 31)
  ) {
    throw new UsageError('--renews-on takes a day of the month, 1 to 31.');
  }
  const password = command === 'add' || command === 'passwd' ? await askPassword(name, io) : undefined;
  const verifier = password === undefined ? undefined : verifierFor(password);
  return withSource(io, command, url, v.accounts, async (source) => {
    await edit(source, command, name, { licenses, renewsOn, verifier, on: v.on });
    io.stdout(`${command === 'add' ? 'added' : 'updated'} account ${name} in ${source.description}\n`);
    return 0;
  });
}

/**
 * Runs `work` on the accounts of the database at `url`, or else of `file`; a source that cannot be read
 * or changed (a file that does not load, a database away or on an old schema) is reported: exit status 1.
 */
async function withSource(
  io: CliIo,
  command: string,
  url: string | undefined,
  file: string | undefined,
  work: (source: AccountSource) => Promise<number>,
): Promise<number> {
  let database: PostgresAccounts | undefined;
  try {
    database = url === undefined ? undefined : await PostgresAccounts.connect({ connectionString: url });
    return await work(database ?? accountsFileSource(file as string));
  } catch (err) {
    if (!(err instanceof ConfigError || err instanceof StoreUnavailableError)) throw err;
    io.stderr(`lv-license accounts ${command}: ${err.message}\n`);
    return 1;
  } finally {
    await database?.close();
  }
}

/** `import FILE`: the database's accounts become the file's; says what changed, never a secret. */
async function importFile(file: string, source: AccountSource, io: CliIo): Promise<number> {
  if (!(source instanceof PostgresAccounts)) {
    throw new UsageError('lv-license accounts import loads a file into a database: give --store URL.');
  }
  const accounts = await loadAccountsFile(file);
  const diff = await source.replace(accounts);
  const names = (list: readonly string[]) => (list.length === 0 ? '' : ` (${list.join(', ')})`);
  io.stdout(
    `imported ${file} into ${source.description}: ${diff.added.length} added${names(diff.added)}, ${diff.changed.length} changed${names(diff.changed)}, ${diff.removed.length} removed${names(diff.removed)}, ${diff.unchanged.length} unchanged\n`,
  );
  return 0;
}

interface Change {
  readonly licenses: Record<string, number> | undefined;
  readonly renewsOn: number | undefined;
  readonly verifier: string | undefined;
  readonly on: string | undefined;
}

function edit(source: AccountSource, command: string, name: string, change: Change): Promise<unknown> {
  const { licenses, renewsOn, verifier } = change;
  return source.edit((all) => {
    const existing = all[name];
    if (command === 'add') {
      if (existing !== undefined)
        throw new UsageError(`The account ${name} exists already: use passwd or set.`);
      all[name] = { verifier, licenses: licenses ?? {}, ...(renewsOn === undefined ? {} : { renewsOn }) };
      return;
    }
    if (existing === undefined) throw new UsageError(`There is no account ${name} in ${source.description}.`);
    const account: AccountSpec = { ...existing };
    switch (command) {
      case 'passwd':
        delete account.password;
        account.verifier = verifier;
        break;
      case 'set':
        if (licenses !== undefined) account.licenses = licenses;
        if (renewsOn !== undefined) account.renewsOn = renewsOn;
        break;
      case 'cancel':
        account.cancelledOn = change.on ?? new Date().toISOString().slice(0, 10);
        break;
      case 'disable':
        account.disabled = true;
        break;
      case 'enable':
        delete account.disabled;
        delete account.cancelledOn;
        break;
    }
    all[name] = account;
  });
}

async function list(source: AccountSource, json: boolean, io: CliIo): Promise<number> {
  const all = await source.load();
  const rows = Object.entries(all).map(([name, account]) => {
    const end = subscriptionEnd(account);
    return {
      account: name,
      licenses: account.licenses,
      renewsOn: account.renewsOn ?? DEFAULT_RENEWAL_DAY,
      ...(account.cancelledOn === undefined ? {} : { cancelledOn: account.cancelledOn }),
      ...(end === undefined ? {} : { endsAt: new Date(end).toISOString() }),
      disabled: account.disabled === true,
    };
  });
  if (json) {
    io.stdout(`${JSON.stringify({ accounts: rows }, null, 2)}\n`);
    return 0;
  }
  const lines = ['ACCOUNT\tLICENSES\tRENEWS ON\tENDS\tSTATE'];
  for (const row of rows) {
    const seats =
      Object.entries(row.licenses)
        .map(([f, n]) => `${f}=${n}`)
        .join(',') || '-';
    const state = row.disabled ? 'disabled' : 'endsAt' in row ? 'cancelled' : 'active';
    lines.push(
      `${row.account}\t${seats}\t${row.renewsOn}\t${'endsAt' in row ? String(row.endsAt).slice(0, 10) : '-'}\t${state}`,
    );
  }
  io.stdout(`${lines.join('\n')}\n`);
  return 0;
}

async function askPassword(name: string, io: CliIo): Promise<string> {
  if (io.readSecret === undefined)
    throw new UsageError('No way to read a password here: pipe it to standard input.');
  const password = await io.readSecret(`Password for ${name}: `);
  if (password === '') throw new UsageError('The password is empty.');
  return password;
}
