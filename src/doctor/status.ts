/**
 * `getServerStatus`: for `lv-license status`, each server's reachability and this account's seat counts,
 * from the same probe the doctor runs.
 */

import type { LicenseType } from '../config/index.js';
import {
  environmentStandsIn,
  loadClientProperties,
  readEnvironment,
  readTlsMaterial,
} from '../config/index.js';
import { LIBRARY_VERSION } from '../version.js';
import { DEFAULT_STEP_TIMEOUT, probeServer } from './probe.js';
import { effectiveConnection } from './settings.js';
import type { FeatureCount } from './types.js';

/** Options of {@link getServerStatus}. */
export interface StatusOptions {
  /** The configuration file; without it `LV_CLIENT_PROPERTY_CONF`, then the vendor's default path. */
  config?: string | undefined;
  /**
   * Where `LV_CLIENT_PROPERTY_CONF`, `LV_LICENSE_SERVERS` and `LV_AUTHENTICATION_*` are looked up.
   * @defaultValue `process.env`
   */
  env?: NodeJS.ProcessEnv | undefined;
  /** The deadline of each network step, in ms. @defaultValue 3000 */
  timeout?: number | undefined;
  /** Stops the run: requests in flight end, their sockets destroyed. */
  signal?: AbortSignal | undefined;
}

/** One server's state, as `lv-license status --json` prints it. */
export interface ServerStatus {
  /** `host:port` or `tls://host:port`. */
  readonly server: string;
  /** A TCP connection could be opened. */
  readonly reachable: boolean;
  /** It answered the `status` request: {@link ServerStatus.features} holds its counts. */
  readonly answered: boolean;
  /** The server software, from its greeting. */
  readonly software?: string;
  /** The account the counts are for; absent in unauthenticated mode. */
  readonly account?: string;
  /** Seat counts per license type for this account. */
  readonly features?: Readonly<Record<string, FeatureCount>>;
  /** Round-trip time of one `ping`, in ms. */
  readonly rttMs?: number;
  /** Why it did not answer. */
  readonly error?: string;
}

/** What `lv-license status --json` prints. */
export interface StatusReport {
  /** The version of this document's shape. */
  readonly version: 1;
  /** The command that made it. */
  readonly tool: 'lv-license status';
  /** The version of lv-license-client. */
  readonly library: string;
  /** The configuration file read. */
  readonly config: {
    /** Its path; `null` when no file exists and `LV_LICENSE_SERVERS` stands in for it. */
    readonly path: string | null;
  };
  /** The conf's `LICENSE_TYPE`. */
  readonly licenseType: LicenseType;
  /** In priority order. */
  readonly servers: readonly ServerStatus[];
}

/**
 * Asks every configured server, in parallel, for this account's seat counts. The servers and credentials
 * are the ones `LicenseClient.fromConfigFile()` would use: `LV_LICENSE_SERVERS` and `LV_AUTHENTICATION_*`
 * over the file's, or instead of a file that does not exist.
 *
 * @throws {ConfigError} when the configuration cannot be loaded (the file, or the environment variables),
 *   or a `[TLS]` file cannot be read.
 * @example
 * ```ts
 * const status = await getServerStatus();
 * for (const s of status.servers) console.log(s.server, s.answered ? s.features : s.error);
 * ```
 */
export async function getServerStatus(options: StatusOptions = {}): Promise<StatusReport> {
  const env = options.env ?? process.env;
  const environment = readEnvironment(env);
  const props = (await environmentStandsIn(options.config, env))
    ? undefined
    : await loadClientProperties(options.config, { env });
  const connection = effectiveConnection(props?.licenseServers ?? [], props?.authentication, environment);
  if (connection.credentialsError !== undefined) throw connection.credentialsError;
  const tls =
    props !== undefined && connection.servers.some((s) => s.tls)
      ? await readTlsMaterial(props.tls, props.source)
      : undefined;
  const licenseType = props?.licenseType ?? 'Auto';
  const probes = await Promise.all(
    connection.servers.map((server) =>
      probeServer(server, {
        credentials: connection.credentials,
        tls,
        timeout: options.timeout ?? DEFAULT_STEP_TIMEOUT,
        licenseType,
        signal: options.signal,
      }),
    ),
  );
  return Object.freeze({
    version: 1,
    tool: 'lv-license status',
    library: LIBRARY_VERSION,
    config: Object.freeze({ path: props?.source ?? null }),
    licenseType,
    servers: Object.freeze(
      probes.map(
        (probe): ServerStatus =>
          Object.freeze({
            server: probe.server,
            reachable: probe.reachable,
            answered: probe.features !== undefined,
            ...(probe.software === undefined ? {} : { software: probe.software }),
            ...(probe.account === undefined ? {} : { account: probe.account }),
            ...(probe.features === undefined ? {} : { features: probe.features }),
            ...(probe.rttMs === undefined ? {} : { rttMs: probe.rttMs }),
            ...(probe.error === undefined ? {} : { error: probe.error }),
          }),
      ),
    ),
  });
}
