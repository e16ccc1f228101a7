/**
 * `lv-license-client/server`: the license server this library's clients talk to, for running (`lv-license
 * serve`) or embedding. Importing `lv-license-client` loads nothing of it.
 *
 * @packageDocumentation
 * @module lv-license-client/server
 */
export { isLicenseError, LicenseError } from '../errors.js';
export { MAX_BATCH_REQUESTS } from '../protocol/constants.js';
export type { Feature } from '../protocol/features.js';
export type { AuthMode } from '../protocol/messages.js';
export { type AccountSource, accountsFileSource } from './account-source.js';
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
export { EventLog, type EventLogOptions, eventLine } from './event-log.js';
export {
  type AdminEvent,
  type DenialEvent,
  type DenialReason,
  describeEvent,
  type ExpiryEvent,
  type GrantEvent,
  type LeaseEventBase,
  LOGGED_EVENT_TYPES,
  type LoginFailureEvent,
  type LoginFailureReason,
  type QueuedEvent,
  type ReleaseEvent,
  type RequestEvent,
  type RevocationEvent,
  type RevocationReason,
  type ServerEvent,
} from './events.js';
export {
  LicenseServer,
  type LicenseServerOptions,
  type PoolStatus,
  type ReloadSummary,
  type ServerTlsOptions,
} from './license-server.js';
export { MemoryStore, type MemoryStoreOptions } from './memory-store.js';
export { ALL_ACCOUNTS, OTHER_FEATURE, ServerMetrics, type ServerMetricsOptions } from './metrics.js';
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
export { type AccountsDiff, PostgresAccounts, type PostgresAccountsOptions } from './postgres/accounts.js';
export { PostgresStore, type PostgresStoreOptions } from './postgres/store.js';
export {
  type EventLogLine,
  type ReportPeriod,
  readLineBatches,
  reportFromFile,
  UsageReport,
  type UsageReportOptions,
  type UsageRow,
} from './report.js';
export {
  type HolderNotice,
  type LeaseFilter,
  type LicenseStore,
  type ReleaseResult,
  type RenewResult,
  type RevocationNotice,
  StoreUnavailableError,
} from './store.js';
