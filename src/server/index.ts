/**
 * `lv-license-client/server`: the license server this library's clients talk to, for running (`lv-license
 * serve`) or embedding. Importing `lv-license-client` loads nothing of it.
 *
 * @packageDocumentation
 * @module lv-license-client/server
 */
export { isLicenseError, LicenseError } from '../errors.js';
export type { AuthMode } from '../protocol/messages.js';
export {
  type AccountSpec,
  type AccountsSpec,
  DEFAULT_RENEWAL_DAY,
  loadAccountsFile,
  parseAccountsFile,
  redactAccounts,
  subscriptionEnd,
  validateAccounts,
} from './accounts.js';
export { editAccountsFile, formatAccount, verifierFor } from './accounts-writer.js';
export {
  type AdminListener,
  type AdminOptions,
  type AdminRole,
  type AdminTokens,
  loadAdminTokens,
  startAdmin,
} from './admin.js';
export {
  LicenseServer,
  type LicenseServerOptions,
  type PoolStatus,
  type ReloadSummary,
  type ServerTlsOptions,
} from './license-server.js';
export { MemoryStore, type MemoryStoreOptions } from './memory-store.js';
export type {
  AcquireDecision,
  AcquireOutcome,
  AcquireRequest,
  DrainResult,
  ExpireResult,
  LeaseRecord,
  Waiter,
} from './pool-types.js';
export { ANONYMOUS_ACCOUNT } from './pools.js';
export {
  type LeaseFilter,
  type LicenseStore,
  type ReleaseResult,
  type RenewResult,
  StoreUnavailableError,
} from './store.js';
