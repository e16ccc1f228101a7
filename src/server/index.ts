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
export type { LeaseRecord } from './pool-types.js';
