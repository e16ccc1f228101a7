/**
 * `lv-license-client/testing`: a real license server for the tests of applications that use
 * lv-license-client, with fault injection.
 *
 * @packageDocumentation
 * @module lv-license-client/testing
 */
export { isLicenseError, LicenseError } from '../errors.js';
export type { AuthMode } from '../protocol/messages.js';
export {
  type AccountSpec,
  type AccountsSpec,
  loadAccountsFile,
  parseAccountsFile,
  redactAccounts,
  validateAccounts,
} from '../server/accounts.js';
export type { LeaseRecord } from '../server/pool-types.js';
export {
  FakeLicenseServer,
  type FakeLicenseServerOptions,
  type FakeServerTlsOptions,
  type ReceivedRequest,
} from './server.js';
