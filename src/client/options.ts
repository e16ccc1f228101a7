/**
 * LicenseClient's options: what a user passes, the defaults, and their validation.
 */

import type { PoolServer } from '../cluster/pool-types.js';
import type { ConnectionSettings } from '../cluster/server-link.js';
import {
  type ClientProperties,
  Credentials,
  DEFAULT_LICENSE_CACHE_PERIOD,
  DEFAULT_LICENSE_SERVERS,
  isPastedSecret,
  LICENSE_TYPES,
  type LicenseType,
  MAX_LICENSE_CACHE_PERIOD,
  parseServerList,
  readTlsMaterial,
  redactSecrets,
  type ServerAddress,
  type TlsMaterial,
} from '../config/index.js';
import { DEFAULTS } from '../defaults.js';
import { ConfigError } from '../errors.js';
import { formatServer } from '../protocol/address.js';
import { MAX_TIMER_MS } from '../timing.js';
import type { SocketFactory, TransportTlsOptions } from '../transport/dial.js';
import { LIBRARY_VERSION } from '../version.js';
import { describeValue } from './arguments.js';
import { optionsFromEnvironment } from './environment.js';
import type { Logger } from './logger.js';

/** Options of {@link LicenseClient}. Durations are milliseconds, except the conf-mirroring `licenseCachePeriod`. */
export interface LicenseClientOptions {
  /**
   * License servers in priority order: a `LICENSE_SERVERS` value (`'10.0.0.1:7569;10.0.0.2'`) or a list of
   * `{ host, port, tls? }`.
   *
   * @defaultValue `'127.0.0.1:7569'`
   */
  servers?:
    | string
    | readonly {
        /** Host name, IPv4 or IPv6 address. */
        host: string;
        /** TCP port, 1 to 65535 (the vendor's default is 7569). */
        port: number;
        /** Connect with TLS (the `tls://` prefix of a `LICENSE_SERVERS` entry). @defaultValue false */
        tls?: boolean;
      }[]
    | undefined;
  /** Account name, for servers in authentication mode (with `password`). */
  username?: string | undefined;
  /** Account password (with `username`). Never logged, never in an error or an event. */
  password?: string | undefined;
  /** The license type of `openPort()` when the call names none. @defaultValue `'Auto'` */
  licenseType?: LicenseType | undefined;
  /** Seconds a closed port's license is kept for the next port (`LICENSE_CACHE_PERIOD`); 0 = off. @defaultValue 30 */
  licenseCachePeriod?: number | undefined;
  /** Take a port's license at its first `loadVoiceChannel()` instead of at `openPort()`. @defaultValue false */
  delayedLicenseAcquisition?: boolean | undefined;
  /** TLS settings for `tls://` servers (PEM contents). */
  tls?: TransportTlsOptions | undefined;
  /** Give up a TCP/TLS connect after this long. @defaultValue 3000 */
  connectTimeout?: number | undefined;
  /** A server that does not answer a request within this long is treated as dead. @defaultValue 3000 */
  requestTimeout?: number | undefined;
  /** The longest `openPort()` / `acquire()` may take, retries included, not counting `wait` (and `connect()`, which tries each server once). @defaultValue 15000 */
  operationTimeout?: number | undefined;
  /** Renew held leases this often; by default a third of the server's lease TTL. */
  heartbeatInterval?: number | undefined;
  /** How long seats wait for their lost server to come back before they migrate. @defaultValue 10000 */
  gracePeriod?: number | undefined;
  /** The longest `close()` waits for servers to take seats back. @defaultValue 2000 */
  closeTimeout?: number | undefined;
  /** Voice channels per port: `loadVoiceChannel` accepts 0 to this minus 1. @defaultValue 64 */
  maxVoiceChannels?: number | undefined;
  /** Bounds of the jittered exponential backoff between reconnect attempts. @defaultValue `{ min: 100, max: 5000 }` */
  reconnectDelay?:
    | {
        /** The first delay, in ms. */
        min: number;
        /** The longest delay, in ms. */
        max: number;
      }
    | undefined;
  /** Where to log connection, retry, failover and lease lines (console, pino...). Silent by default. */
  logger?: Logger | undefined;
  /** Sent to servers in `hello`, for their logs. */
  clientName?: string | undefined;
  /**
   * Send the acquires (without `wait`) and releases made in the same turn of the event loop together, in
   * `batch` frames, to servers that take them (protocol 1.2): they leave at the end of the turn, after its
   * I/O callbacks, and a call made alone leaves then in a frame of its own, waiting for no timer and no
   * company. false sends one frame per call, at once, as to a server without batching. @defaultValue true
   */
  batching?: boolean | undefined;
  /** Makes sockets; for tests that inject their own. */
  socketFactory?: SocketFactory | undefined;
}

/** Options after defaults and validation. */
export interface ResolvedOptions {
  readonly servers: readonly PoolServer[];
  readonly credentials: Credentials | undefined;
  readonly licenseType: LicenseType;
  readonly licenseCachePeriod: number;
  readonly delayedLicenseAcquisition: boolean;
  readonly tls: TransportTlsOptions | undefined;
  readonly connectTimeout: number;
  readonly requestTimeout: number;
  readonly operationTimeout: number;
  readonly heartbeatInterval: number | undefined;
  readonly gracePeriod: number;
  readonly closeTimeout: number;
  readonly maxVoiceChannels: number;
  readonly reconnectDelay: { readonly min: number; readonly max: number };
  readonly logger: Logger | undefined;
  readonly clientName: string;
  readonly batching: boolean;
  readonly socketFactory: SocketFactory | undefined;
}

function duration(name: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > MAX_TIMER_MS) {
    throw new ConfigError(
      `The ${name} option must be a number of milliseconds from ${min} to ${MAX_TIMER_MS} (about 24.8 days), not ${describeValue(value)}.`,
      {
        key: name,
      },
    );
  }
  return value;
}

/**
 * The servers option, checked. `secrets` (the password) never appear in its messages: a password pasted
 * into the list by mistake is not echoed back.
 */
function servers(
  value: LicenseClientOptions['servers'] = DEFAULT_LICENSE_SERVERS,
  secrets: readonly string[] = [],
): PoolServer[] {
  const listOptions = { source: 'the servers option', key: 'servers', secrets };
  const refusePasted = (list: readonly ServerAddress[]): readonly ServerAddress[] => {
    if (list.some((server) => isPastedSecret(server.host, secrets))) {
      throw new ConfigError(
        'The servers option has an entry that is the password: it was pasted into the server list by mistake. Remove it.',
        { key: 'servers' },
      );
    }
    return list;
  };
  if (typeof value === 'string') {
    return refusePasted(parseServerList(value, listOptions)).map((s) => ({
      host: s.host,
      port: s.port,
      tls: s.tls,
    }));
  }
  if (value.length === 0) throw new ConfigError('The servers option lists no server.', { key: 'servers' });
  return value.map(({ host, port, tls }) => {
    const shown = (text: string) => redactSecrets(text, secrets);
    if (typeof host !== 'string' || host === '' || !Number.isInteger(port) || port < 1 || port > 65_535) {
      throw new ConfigError(
        `The servers option has a bad entry ${shown(JSON.stringify({ host, port }))}: give a host and a port 1 to 65535.`,
        { key: 'servers' },
      );
    }
    // The same checks as a LICENSE_SERVERS entry, so a list and a string accept the same hosts.
    const [parsed] = refusePasted(parseServerList(formatServer(host, port, tls === true), listOptions));
    if (parsed === undefined || parsed.host !== host) {
      throw new ConfigError(`The servers option has a bad host ${shown(JSON.stringify(host))}.`, {
        key: 'servers',
      });
    }
    return { host, port, tls: tls === true };
  });
}

function reconnectDelay(value: { min: number; max: number }): { min: number; max: number } {
  const min = duration('reconnectDelay.min', value.min, DEFAULTS.reconnectDelay.min);
  const max = duration('reconnectDelay.max', value.max, DEFAULTS.reconnectDelay.max);
  if (min > max) {
    throw new ConfigError(`reconnectDelay.min (${min}) must not exceed reconnectDelay.max (${max}).`, {
      key: 'reconnectDelay',
    });
  }
  return { min, max };
}

/**
 * Applies the defaults and checks every option.
 *
 * @throws {ConfigError} naming the option that is wrong.
 */
export function resolveOptions(options: LicenseClientOptions): ResolvedOptions {
  const { username, password } = options;
  for (const [key, value] of [
    ['username', username],
    ['password', password],
  ] as const) {
    if (value !== undefined && typeof value !== 'string') {
      // The value is not shown: it may be the password.
      throw new ConfigError(
        `The ${key} option must be a string, not a ${Array.isArray(value) ? 'array' : typeof value}.`,
        {
          key,
        },
      );
    }
  }
  if ((username === undefined || username === '') !== (password === undefined || password === '')) {
    throw new ConfigError(
      'Give both username and password to authenticate, or neither to connect without authentication.',
      {
        key: username === undefined || username === '' ? 'username' : 'password',
      },
    );
  }
  const licenseType = options.licenseType ?? 'Auto';
  if (!LICENSE_TYPES.includes(licenseType)) {
    throw new ConfigError(
      `The licenseType option must be Auto, SpeechPort or VoxLite, not ${JSON.stringify(licenseType)}.`,
      {
        key: 'licenseType',
      },
    );
  }
  const cache = options.licenseCachePeriod ?? DEFAULT_LICENSE_CACHE_PERIOD;
  if (!Number.isInteger(cache) || cache < 0 || cache > MAX_LICENSE_CACHE_PERIOD) {
    throw new ConfigError(
      `The licenseCachePeriod option is in seconds, 0 to ${MAX_LICENSE_CACHE_PERIOD}, not ${describeValue(cache)}.`,
      {
        key: 'licenseCachePeriod',
      },
    );
  }
  const batching = options.batching ?? true;
  if (typeof batching !== 'boolean') {
    throw new ConfigError(`The batching option must be true or false, not ${describeValue(batching)}.`, {
      key: 'batching',
    });
  }
  const reconnect = options.reconnectDelay ?? DEFAULTS.reconnectDelay;
  const maxVoiceChannels = options.maxVoiceChannels ?? DEFAULTS.maxVoiceChannels;
  if (!Number.isInteger(maxVoiceChannels) || maxVoiceChannels < 1) {
    throw new ConfigError(
      `The maxVoiceChannels option must be a whole number of at least 1, not ${describeValue(maxVoiceChannels)}.`,
      {
        key: 'maxVoiceChannels',
      },
    );
  }
  return {
    servers: servers(options.servers, typeof password === 'string' && password !== '' ? [password] : []),
    credentials:
      username === undefined || username === '' || password === undefined
        ? undefined
        : new Credentials(username, password),
    licenseType,
    licenseCachePeriod: cache,
    delayedLicenseAcquisition: options.delayedLicenseAcquisition ?? false,
    tls: options.tls,
    connectTimeout: duration('connectTimeout', options.connectTimeout, DEFAULTS.connectTimeout),
    requestTimeout: duration('requestTimeout', options.requestTimeout, DEFAULTS.requestTimeout),
    operationTimeout: duration('operationTimeout', options.operationTimeout, DEFAULTS.operationTimeout),
    heartbeatInterval:
      options.heartbeatInterval === undefined
        ? undefined
        : duration('heartbeatInterval', options.heartbeatInterval, 0, 10),
    gracePeriod: duration('gracePeriod', options.gracePeriod, DEFAULTS.gracePeriod, 0),
    closeTimeout: duration('closeTimeout', options.closeTimeout, DEFAULTS.closeTimeout, 0),
    maxVoiceChannels,
    reconnectDelay: reconnectDelay(reconnect),
    logger: options.logger,
    clientName: options.clientName ?? `lv-license-client/${LIBRARY_VERSION}`,
    batching,
    socketFactory: options.socketFactory,
  };
}

/**
 * How every connection of a client is made: built once from the resolved options, frozen, and passed
 * down to each server link (a reload changes servers and credentials, not these).
 */
export function connectionSettings(options: ResolvedOptions): ConnectionSettings {
  return Object.freeze({
    connectTimeout: options.connectTimeout,
    requestTimeout: options.requestTimeout,
    clientName: options.clientName,
    batching: options.batching,
    socketFactory: options.socketFactory,
    tls: options.tls,
    reconnectDelay: Object.freeze({ ...options.reconnectDelay }),
    misconfiguredCoolDown: DEFAULTS.misconfiguredCoolDown,
    now: Date.now,
  });
}

/**
 * The client options a `client_property.conf` gives (servers, credentials, license settings, and the
 * PEM contents its `[TLS]` section names), with the caller's `overrides` on top.
 *
 * @throws {ConfigError} when a `[TLS]` file cannot be read.
 */
export async function optionsFromProperties(
  props: ClientProperties,
  overrides: LicenseClientOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<LicenseClientOptions> {
  const tls = overrides.tls ?? (await tlsFromProperties(props));
  return {
    servers: props.licenseServers.map((s) => ({ host: s.host, port: s.port, tls: s.tls })),
    ...(props.authentication === undefined
      ? {}
      : { username: props.authentication.username, password: props.authentication.password }),
    licenseType: props.licenseType,
    licenseCachePeriod: props.licenseCachePeriod,
    delayedLicenseAcquisition: props.delayedLicenseAcquisition,
    ...(tls === undefined ? {} : { tls }),
    // A container's environment wins over the file; the caller's options win over both.
    ...optionsFromEnvironment(env),
    ...overrides,
  };
}

/** The PEM contents named by the conf's `[TLS]` section, or `undefined` when it has none. */
async function tlsFromProperties(props: ClientProperties): Promise<TlsMaterial | undefined> {
  const { tls } = props;
  const none =
    tls.caFile === undefined &&
    tls.certFile === undefined &&
    tls.keyFile === undefined &&
    tls.serverName === undefined;
  const secrets = props.authentication === undefined ? [] : [props.authentication.password];
  return none ? undefined : readTlsMaterial(tls, props.source, secrets);
}
