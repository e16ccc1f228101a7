/**
 * What a change of accounts does to the pools, over any {@link LicenseStore}.
 */
import type { AccountsSpec } from './accounts.js';
import type { LeaseRecord } from './pool-types.js';
import type { LicenseStore } from './store.js';

/** What {@link applyAccounts} changed. */
export interface AppliedAccounts {
  /** Accounts that are gone. */
  readonly removed: string[];
  /** Leases taken back because their pool shrank or went away (newest first, per pool). */
  readonly revoked: LeaseRecord[];
}

/**
 * Sets every pool to what `next` says: a license type an account no longer has, or an account that is
 * gone, goes to 0; shrinking revokes the newest leases. The caller tells the holders of `revoked`, which
 * it may pass in: when the store fails half-way, it holds what was revoked until then.
 */
export async function applyAccounts(
  store: LicenseStore,
  current: readonly string[],
  next: AccountsSpec,
  revoked: LeaseRecord[] = [],
): Promise<AppliedAccounts> {
  const removed = current.filter((name) => !Object.hasOwn(next, name));
  for (const account of [...Object.keys(next), ...removed]) {
    const licenses = next[account]?.licenses ?? {};
    for (const { feature } of await store.counts(account)) {
      if (!Object.hasOwn(licenses, feature)) revoked.push(...(await store.setTotal(account, feature, 0)));
    }
    for (const [feature, total] of Object.entries(licenses)) {
      revoked.push(...(await store.setTotal(account, feature, total)));
    }
  }
  return { removed, revoked };
}
