export type { ServerHealthSnapshot, ServerState } from '../cluster/health.js';
export type { LeaseState } from '../leases/lease-table.js';
export type {
  AcquireOptions,
  ClientStatus,
  FromConfigFileOptions,
  OpenPortOptions,
} from './call-options.js';
export type { CallContext, ChannelPayloads, TracedCall } from './diagnostics.js';
export type { LicenseClientEvents } from './events.js';
export { Lease } from './lease.js';
export { LicenseClient } from './license-client.js';
export { PORT_LICENSE_TYPES, type PortLicenseType } from './license-types.js';
export type { Logger } from './logger.js';
export type { ClientMetrics, LatencySummary } from './metrics.js';
export type { LicenseClientOptions } from './options.js';
export { Port } from './port.js';
