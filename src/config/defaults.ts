/**
 * The built-in defaults of `client_property.conf`, and where the file lives.
 */

// The license server's TCP port when an entry gives none (also for `tls://` entries): the protocol's own.
export { DEFAULT_LICENSE_PORT } from '../protocol/constants.js';

/** `LICENSE_SERVERS` when the key is absent or `default`. */
export const DEFAULT_LICENSE_SERVERS = '127.0.0.1:7569';

/** `LICENSE_CACHE_PERIOD` (seconds) when the key is absent or `default`. */
export const DEFAULT_LICENSE_CACHE_PERIOD = 30;

/** The largest `LICENSE_CACHE_PERIOD` (seconds) the vendor allows. */
export const MAX_LICENSE_CACHE_PERIOD = 3600;

/** The environment variable that names the configuration file, when no path is passed. */
export const CONFIG_PATH_ENV = 'LV_CLIENT_PROPERTY_CONF';

const POSIX_PATH = '/etc/lumenvox/client_property.conf';
const WINDOWS_PATH = 'C:\\Program Files\\LumenVox\\Engine\\config\\client_property.conf';

/**
 * Where the vendor's client reads `client_property.conf` on a platform.
 *
 * @param platform - `process.platform` by default.
 * @returns `C:\Program Files\LumenVox\Engine\config\client_property.conf` on `win32`,
 *   `/etc/lumenvox/client_property.conf` everywhere else.
 * @example
 * ```ts
 * defaultConfigPath('linux'); // '/etc/lumenvox/client_property.conf'
 * ```
 */
export function defaultConfigPath(platform: NodeJS.Platform = process.platform): string {
  return platform === 'win32' ? WINDOWS_PATH : POSIX_PATH;
}
