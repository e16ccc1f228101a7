/**
 * The SCRAM verifiers of the fake server's accounts. Accounts given with a plain password get their
 * verifier derived once at start; the server keeps only verifiers, never the passwords.
 */
import { deriveScramCredentials, parseScramVerifier, type ScramCredentials } from '../protocol/scram.js';
import type { AccountsSpec } from './accounts.js';

/** A lookup from account name to its stored SCRAM credentials. */
export function buildCredentialLookup(
  accounts: AccountsSpec,
  iterations = 4096,
): (username: string) => ScramCredentials | undefined {
  const verifiers = new Map<string, ScramCredentials>();
  for (const [name, spec] of Object.entries(accounts)) {
    const credentials =
      spec.verifier !== undefined
        ? parseScramVerifier(spec.verifier)
        : deriveScramCredentials(spec.password ?? '', { iterations });
    verifiers.set(name.normalize('NFKC'), credentials);
  }
  return (username) => verifiers.get(username.normalize('NFKC'));
}
