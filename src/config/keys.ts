/**
 * The keys this library reads, and the section each belongs to. Every other key and section of the
 * vendor's file (SRE_SERVERS, LOGGING_VERBOSITY, [STREAM], ...) is ignored.
 */
import { AUTHENTICATION_SECTION, GLOBAL_SECTION } from './lines.js';

/** The `[TLS]` section: this library's extension, unknown to the vendor's client. */
export const TLS_SECTION = 'TLS';

export const KEYS = {
  licenseServers: 'LICENSE_SERVERS',
  legacyLicenseServers: 'LIC_SERVER_HOSTNAME',
  licenseCachePeriod: 'LICENSE_CACHE_PERIOD',
  licenseType: 'LICENSE_TYPE',
  delayedLicenseAcquisition: 'DELAYED_LICENSE_ACQUISITION',
  username: 'AUTHENTICATION_USERNAME',
  password: 'AUTHENTICATION_PASSWORD',
  caFile: 'CA_FILE',
  certFile: 'CERT_FILE',
  keyFile: 'KEY_FILE',
  serverName: 'SERVER_NAME',
} as const;

/** The section each known key is read from; in any other section it is ignored, as the vendor does. */
export const HOME_SECTION: ReadonlyMap<string, string> = new Map([
  [KEYS.licenseServers, GLOBAL_SECTION],
  [KEYS.legacyLicenseServers, GLOBAL_SECTION],
  [KEYS.licenseCachePeriod, GLOBAL_SECTION],
  [KEYS.licenseType, 'SRE'],
  [KEYS.delayedLicenseAcquisition, 'SRE'],
  [KEYS.username, AUTHENTICATION_SECTION],
  [KEYS.password, AUTHENTICATION_SECTION],
  [KEYS.caFile, TLS_SECTION],
  [KEYS.certFile, TLS_SECTION],
  [KEYS.keyFile, TLS_SECTION],
  [KEYS.serverName, TLS_SECTION],
]);

/** The keys whose misplacement is an error rather than a warning: a silent fall-back to no authentication. */
export const CREDENTIAL_KEYS: ReadonlySet<string> = new Set([KEYS.username, KEYS.password]);
