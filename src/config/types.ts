/**
 * The shapes `client_property.conf` is turned into. Everything the loader returns is frozen.
 */
import type { Credentials } from './credentials.js';

/** The three values `[SRE] LICENSE_TYPE` takes, in the vendor's spelling. */
export const LICENSE_TYPES = Object.freeze(['Auto', 'SpeechPort', 'VoxLite'] as const);

/**
 * Which license pool a port draws from: `SpeechPort` (Full), `VoxLite` (Lite) or `Auto` (Full first, then Lite).
 *
 * @defaultValue `'Auto'`
 */
export type LicenseType = (typeof LICENSE_TYPES)[number];

/** One entry of `LICENSE_SERVERS`, parsed. */
export interface ServerAddress {
  /** Host name, IPv4 address or IPv6 address (without brackets), as written. */
  readonly host: string;
  /**
   * TCP port, 1 to 65535.
   *
   * @defaultValue `7569` (also for `tls://` entries)
   */
  readonly port: number;
  /** Whether the entry was written with the `tls://` prefix. */
  readonly tls: boolean;
  /** The entry exactly as written (trimmed), for messages: `tls://ls1.example.com:7569`. */
  readonly entry: string;
  /** The 1-based line of the configuration file the entry came from, when it came from one. */
  readonly line?: number;
}

/** The stable ids of the warnings the loader gives. */
export type ConfigWarningCode =
  /** The same host and port is listed twice in LICENSE_SERVERS; the repeat is dropped. */
  | 'duplicate-server'
  /** The same key appears twice in one section; the last one wins. */
  | 'duplicate-key'
  /** `LIC_SERVER_HOSTNAME`, the name `LICENSE_SERVERS` had before release 10.0. */
  | 'legacy-key'
  /** A key the library reads sits in the wrong section, where it is ignored. */
  | 'misplaced-key'
  /** A key the library reads has an empty value; its built-in default is used. */
  | 'empty-value'
  /** The file holds a password and can be read by group or others. */
  | 'world-readable'
  /** A value starts with a double quote and does not end with one (or the reverse); the quote is kept. */
  | 'unbalanced-quote';

/** Something in the configuration that works but is probably not what was meant. */
export interface ConfigWarning {
  /** A stable kebab-case id, such as `'duplicate-server'`. */
  readonly code: ConfigWarningCode;
  /** A full sentence that names the file, line and key and says how to fix it. Never holds a secret. */
  readonly message: string;
  /** The 1-based line the warning is about, when there is one. */
  readonly line?: number;
  /** The key the warning is about, when there is one. */
  readonly key?: string;
}

/**
 * TLS files and names from the `[TLS]` section (an extension of this library; the vendor file has none).
 * When the file was loaded from disk, relative paths are resolved against the file's directory.
 */
export interface TlsConfig {
  /** `CA_FILE`: PEM bundle of the certificate authorities to trust instead of the system's. */
  readonly caFile?: string;
  /** `CERT_FILE`: PEM client certificate, for servers that ask for one. Needs {@link TlsConfig.keyFile}. */
  readonly certFile?: string;
  /** `KEY_FILE`: PEM private key of {@link TlsConfig.certFile}. */
  readonly keyFile?: string;
  /** `SERVER_NAME`: the name to expect in the servers' certificates (SNI), instead of each entry's host. */
  readonly serverName?: string;
}

/**
 * The 1-based line of the file each setting was read from. A setting that is absent here took its built-in
 * default (its key is missing, empty, or says `default`). Only line numbers: never a value.
 */
export interface ConfigLines {
  /** `LICENSE_SERVERS` (or the legacy `LIC_SERVER_HOSTNAME` it was read from). */
  readonly licenseServers?: number;
  /** `LICENSE_CACHE_PERIOD`. */
  readonly licenseCachePeriod?: number;
  /** `LICENSE_TYPE`. */
  readonly licenseType?: number;
  /** `DELAYED_LICENSE_ACQUISITION`. */
  readonly delayedLicenseAcquisition?: number;
  /** `AUTHENTICATION_USERNAME`. */
  readonly username?: number;
  /** `AUTHENTICATION_PASSWORD` (the line, not the value). */
  readonly password?: number;
  /** `[TLS] CA_FILE`. */
  readonly caFile?: number;
  /** `[TLS] CERT_FILE`. */
  readonly certFile?: number;
  /** `[TLS] KEY_FILE`. */
  readonly keyFile?: number;
  /** `[TLS] SERVER_NAME`. */
  readonly serverName?: number;
}

/** The validated contents of a `client_property.conf`. Frozen. */
export interface ClientProperties {
  /**
   * `[GLOBAL] LICENSE_SERVERS`, in priority order, duplicates removed.
   *
   * @defaultValue one entry, `127.0.0.1:7569`
   */
  readonly licenseServers: readonly ServerAddress[];
  /**
   * `[GLOBAL] LICENSE_CACHE_PERIOD`: seconds a released license is kept for reuse, 0 to 3600; 0 turns the cache off.
   *
   * @defaultValue `30`
   */
  readonly licenseCachePeriod: number;
  /**
   * `[SRE] LICENSE_TYPE`, in canonical spelling.
   *
   * @defaultValue `'Auto'`
   */
  readonly licenseType: LicenseType;
  /**
   * `[SRE] DELAYED_LICENSE_ACQUISITION`: take the license at the first grammar load instead of at port open.
   *
   * @defaultValue `false`
   */
  readonly delayedLicenseAcquisition: boolean;
  /** `[AUTHENTICATION]` username and password, or `undefined` when the client does not authenticate. */
  readonly authentication: Credentials | undefined;
  /** The `[TLS]` section; empty when there is none. */
  readonly tls: TlsConfig;
  /** What looked wrong but did not stop the file from loading. */
  readonly warnings: readonly ConfigWarning[];
  /** The line each setting was read from; a setting not listed took its default. */
  readonly lines: ConfigLines;
  /** The file's path, or the label given to `parseClientProperties`; `'<string>'` by default. */
  readonly source: string;
}

/** Options of `parseClientProperties`. */
export interface ParseClientPropertiesOptions {
  /**
   * The name used in messages and in {@link ClientProperties.source}.
   *
   * @defaultValue `'<string>'`
   */
  source?: string;
  /** The file's mode (`fs.Stats.mode`), to warn when a file holding a password is readable by others. */
  fileMode?: number;
}

/** Options of `loadClientProperties`. */
export interface LoadClientPropertiesOptions {
  /**
   * Where `LV_CLIENT_PROPERTY_CONF` is looked up.
   *
   * @defaultValue `process.env`
   */
  env?: NodeJS.ProcessEnv;
  /**
   * The platform whose default path and path rules apply.
   *
   * @defaultValue `process.platform`
   */
  platform?: NodeJS.Platform;
}

/** Options of `parseServerList`. */
export interface ParseServerListOptions {
  /**
   * The port of entries that give none.
   *
   * @defaultValue `7569`
   */
  defaultPort?: number;
  /** The file or label named in messages (`client_property.conf`); none by default. */
  source?: string;
  /** The 1-based line the list is on, for messages and {@link ServerAddress.line}. */
  line?: number;
  /**
   * The key named in messages.
   *
   * @defaultValue `'LICENSE_SERVERS'`
   */
  key?: string;
  /** Called with each warning (such as `duplicate-server`); warnings are dropped without it. */
  onWarning?: (warning: ConfigWarning) => void;
  /**
   * Values that must never appear in a message, such as the password of the same configuration (pasted
   * into the server list by mistake, it would otherwise be quoted back in the error).
   */
  secrets?: readonly string[];
}
