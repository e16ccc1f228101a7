export type { ServerHealthSnapshot, ServerState } from '../cluster/health.js';
export type { LeaseState } from '../leases/lease-table.js';
export type { LicenseClientEvents } from './events.js';
export { Lease } from './lease.js';
export {
  type AcquireOptions,
  type ClientStatus,
  type FromConfigFileOptions,
  LicenseClient,
  type OpenPortOptions,
} from './license-client.js';
export { PORT_LICENSE_TYPES, type PortLicenseType } from './license-types.js';
export type { Logger } from './logger.js';
export type { LicenseClientOptions } from './options.js';
export { Port } from './port.js';
