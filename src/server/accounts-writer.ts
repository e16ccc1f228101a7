/**
 * Changing a `license_authentication.conf` from code (`lv-license accounts`): the file is read, the
 * change applied to its accounts, validated whole, and written atomically (a temporary file beside it,
 * mode 0600, then a rename), so a server watching it never sees half a file. Sections the change does not
 * touch keep their text, comments included; a changed section is written anew.
 */
import { randomBytes } from 'node:crypto';
import { chmod, chown, open, readFile, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ConfigError } from '../errors.js';
import { deriveScramCredentials, formatScramVerifier } from '../protocol/scram.js';
import { type AccountSpec, type AccountsSpec, parseAccountsFile } from './accounts.js';

/** A SCRAM-SHA-256 verifier for `password`: what the file stores instead of it. */
export function verifierFor(password: string, iterations = 4096): string {
  return formatScramVerifier(deriveScramCredentials(password, { iterations }));
}

/** One account's section, as the writer writes it: the verifier (or, given one, the password) first. */
export function formatAccount(name: string, account: AccountSpec): string {
  const lines = [`[${name}]`];
  if (account.verifier !== undefined) lines.push(`VERIFIER = ${account.verifier}`);
  else if (account.password !== undefined) lines.push(`PASSWORD = ${JSON.stringify(account.password)}`);
  for (const [feature, count] of Object.entries(account.licenses)) lines.push(`${feature} = ${count}`);
  if (account.renewsOn !== undefined) lines.push(`RENEWS_ON = ${account.renewsOn}`);
  if (account.cancelledOn !== undefined) lines.push(`CANCELLED = ${account.cancelledOn}`);
  if (account.disabled === true) lines.push('DISABLED = yes');
  return `${lines.join('\n')}\n`;
}

/** The text of a file cut at its section headers: what comes before the first, then one chunk each. */
function sectionsOf(text: string): { prelude: string; chunks: Map<string, string> } {
  const lines = text.split(/(?<=\n)/);
  const chunks = new Map<string, string>();
  let prelude = '';
  let current: string | undefined;
  for (const line of lines) {
    const header = /^\s*\[([^\]]+)\]/.exec(line);
    if (header !== null) current = (header[1] as string).trim();
    if (current === undefined) prelude += line;
    else chunks.set(current, (chunks.get(current) ?? '') + line);
  }
  return { prelude, chunks };
}

/**
 * Applies `change` to the accounts of the file at `path` (a missing file is an empty one) and writes the
 * result back atomically with mode 0600. Returns the new accounts.
 *
 * @throws {ConfigError} when the file does not parse, or the changed accounts do not validate (the file is
 * then left as it was).
 */
export async function editAccountsFile(
  given: string,
  change: (accounts: Record<string, AccountSpec>) => void,
): Promise<AccountsSpec> {
  // Through a symbolic link to the file itself, so that the link stays a link.
  const path = await realpath(given).catch(() => given);
  const unlock = await lock(path);
  try {
    return await edit(path, change);
  } finally {
    await unlock();
  }
}

/** How long an edit waits for another one to finish, and when a lock is taken for abandoned. */
const LOCK_WAIT_MS = 10_000;
const STALE_LOCK_MS = 30_000;

/**
 * Takes `<file>.lock` (created exclusively), so that two edits at once do not lose each other's change;
 * waits up to {@link LOCK_WAIT_MS} for another edit, and breaks a lock older than {@link STALE_LOCK_MS}
 * (a crashed editor). Resolves with the function that gives it back.
 *
 * @throws {ConfigError} when another edit holds it too long.
 */
async function lock(path: string): Promise<() => Promise<void>> {
  const lockPath = `${path}.lock`;
  const started = Date.now();
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx', 0o600);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return () => rm(lockPath, { force: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') {
        throw new ConfigError(
          `${path}: cannot take ${lockPath} to edit the accounts file (${code ?? err}).`,
          {
            file: path,
            cause: err,
          },
        );
      }
      const held = await stat(lockPath).catch(() => undefined);
      if (held !== undefined && Date.now() - held.mtimeMs > STALE_LOCK_MS) {
        await rm(lockPath, { force: true });
        continue;
      }
      if (Date.now() - started > LOCK_WAIT_MS) {
        throw new ConfigError(
          `${path}: another edit of the accounts file holds ${lockPath}; try again (or remove the lock if no edit is running).`,
          { file: path },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 30));
    }
  }
}

async function edit(
  path: string,
  change: (accounts: Record<string, AccountSpec>) => void,
): Promise<AccountsSpec> {
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return '';
    throw new ConfigError(`${path}: the accounts file cannot be read (${err.code ?? err.message}).`, {
      file: path,
      cause: err,
    });
  });
  const before = text.trim() === '' ? {} : parseAccountsFile(text, path);
  const after: Record<string, AccountSpec> = structuredClone({ ...before }) as Record<string, AccountSpec>;
  change(after);
  const { prelude, chunks } = sectionsOf(text);
  let out =
    prelude === '' && text === ''
      ? '# license_authentication.conf: accounts of lv-license serve.\n'
      : prelude;
  for (const [name, account] of Object.entries(after)) {
    const kept = chunks.get(name);
    const same = kept !== undefined && JSON.stringify(before[name]) === JSON.stringify(account);
    if (same) {
      // As it was written, with its comments and the blank lines around it.
      out += `${out === '' || out.endsWith('\n') ? '' : '\n'}${kept}`;
    } else {
      // A section the command rewrites never keeps a plaintext password: it becomes a verifier.
      const { password, ...rest } = account;
      const stored = password === undefined ? account : { ...rest, verifier: verifierFor(password) };
      const section = formatAccount(name, stored);
      out += out === '' || out.endsWith('\n\n') ? section : `${out.endsWith('\n') ? '' : '\n'}\n${section}`;
    }
  }
  // Validated whole before it replaces anything.
  const validated = parseAccountsFile(out, path);
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(temporary, 'wx', 0o600);
    try {
      await handle.writeFile(out, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await chmod(temporary, 0o600);
    // The file keeps its owner (an administrator edits the file the server's user reads).
    const before = await stat(path).catch(() => undefined);
    if (before !== undefined) await chown(temporary, before.uid, before.gid).catch(() => {});
    await rename(temporary, path);
  } catch (err) {
    await rm(temporary, { force: true });
    throw new ConfigError(
      `${path}: the accounts file could not be written (${(err as NodeJS.ErrnoException).code ?? err}).`,
      {
        file: path,
        cause: err,
      },
    );
  }
  return validated;
}
