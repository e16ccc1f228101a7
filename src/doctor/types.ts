/**
 * The shapes `lv-license doctor` and `lv-license status` report in. Field names are stable: the JSON
 * output (`--json`) is these objects, documented in docs/doctor.md.
 */
import type { ConfigCandidate, LicenseType } from '../config/index.js';

/** How one check came out. Only `fail` makes `lv-license doctor` exit with status 1. */
export type FindingStatus = 'pass' | 'warn' | 'fail' | 'skip' | 'info';

/** The result of one check. */
export interface DoctorFinding {
  /**
   * What was checked, a stable dotted id such as `'config.file'` or `'server.tcp'`. Checks made once per
   * server or per warning repeat their id; {@link DoctorFinding.server} and `data` tell them apart.
   */
  readonly id: string;
  /** A short name of the check, for people: `'TCP connect'`. */
  readonly title: string;
  /** `pass`, `warn`, `fail`, `skip` or `info`. */
  readonly status: FindingStatus;
  /** What was found, one sentence or two. Never holds a password. */
  readonly detail: string;
  /** What to do about it, in plain words; present on every `warn` and `fail`. */
  readonly fix?: string;
  /** The server (`host:port`, `tls://host:port`) a per-server check is about. */
  readonly server?: string;
  /** Machine-readable facts behind the finding (line numbers, counts, dates...). */
  readonly data?: Readonly<Record<string, unknown>>;
}

/** Seat counts of one license type (feature) for this account on one server. */
export interface FeatureCount {
  /** Seats in the pool. */
  readonly total: number;
  /** Seats held by leases. */
  readonly inUse: number;
  /** Seats asked for by acquires waiting in the queue. */
  readonly queued: number;
  /** `total - inUse`, never below 0. */
  readonly free: number;
}

/** What {@link probeServer} learned about one server. */
export interface ServerProbe {
  /** `host:port`, or `tls://host:port` for a TLS entry. */
  readonly server: string;
  /** The checks made, in order: `server.dns`, `server.tcp`, `server.tls`, `server.greeting`, `server.auth`, `server.licenses`, `server.rtt`. */
  readonly findings: readonly DoctorFinding[];
  /** A TCP connection could be opened. */
  readonly reachable: boolean;
  /** The server greeted as an lv-license server speaking a compatible protocol version. */
  readonly licenseServer: boolean;
  /** The whole handshake (hello, and authentication when configured) succeeded. */
  readonly authenticated: boolean;
  /** The authenticated account; `undefined` in unauthenticated mode or when authentication failed. */
  readonly account?: string;
  /** The software the server names in its greeting, such as `lv-license-client-fake/0.1.0`. */
  readonly software?: string;
  /** Seat counts per license type for this account, when the server answered `status`. */
  readonly features?: Readonly<Record<string, FeatureCount>>;
  /** Round-trip time of one `ping`, in milliseconds. */
  readonly rttMs?: number;
  /** The detail of the first failed step, when a step failed. */
  readonly error?: string;
}

/** The answer to "can this machine open a port now, and where?" */
export interface DoctorVerdict {
  /** `true` when a port of {@link DoctorVerdict.licenseType} can be opened now. */
  readonly ok: boolean;
  /** The server a port would be opened on: the first, in priority order, that passed and has a free license. */
  readonly server?: string;
  /** The license feature it would take (`FULL` or `LITE`). */
  readonly feature?: string;
  /** The conf's `LICENSE_TYPE`. */
  readonly licenseType: LicenseType;
  /** Why, in one sentence. */
  readonly reason: string;
}

export type { ConfigCandidate } from '../config/index.js';

/** A value read from the configuration file. */
export interface FileSource {
  /** Where the value came from: the file. */
  readonly kind: 'file';
  /** The file's path. */
  readonly path: string;
  /** The 1-based line; absent only for credentials recovered from outside `[AUTHENTICATION]`. */
  readonly line?: number;
}

/** A value an environment variable set (it wins over the file). */
export interface EnvironmentSource {
  /** Where the value came from: the environment. */
  readonly kind: 'env';
  /** The variable's name, such as `LV_LICENSE_SERVERS`; never its value. */
  readonly variable: string;
  /** For `LV_AUTHENTICATION_PASSWORD_FILE`: the path of the file the password was read from. */
  readonly file?: string;
}

/** A value neither the file nor the environment sets: the built-in default. */
export interface DefaultSource {
  /** Where the value came from: the built-in default. */
  readonly kind: 'default';
}

/** Where one configuration value came from. */
export type SettingSource = FileSource | EnvironmentSource | DefaultSource;

/** One configuration value as a client on this machine would use it, and where it came from. */
export interface ConfigSetting {
  /**
   * The conf key: `LICENSE_SERVERS`, `LICENSE_CACHE_PERIOD`, `LICENSE_TYPE`, `DELAYED_LICENSE_ACQUISITION`,
   * `AUTHENTICATION_USERNAME`, `AUTHENTICATION_PASSWORD`, and the `[TLS]` keys that are set.
   */
  readonly key: string;
  /**
   * The value used, as text (servers joined with `;`); `null` when not set (no authentication). The
   * password is never shown: its value is `'[redacted]'` when one is set.
   */
  readonly value: string | null;
  /** The file and line, the environment variable, or the default. */
  readonly source: SettingSource;
}

/** Everything `lv-license doctor` found, as printed by `--json`. */
export interface DoctorReport {
  /** The version of this document's shape. */
  readonly version: 1;
  /** The command that made it. */
  readonly tool: 'lv-license doctor';
  /** The version of lv-license-client. */
  readonly library: string;
  /** `process.version`. */
  readonly node: string;
  /** The configuration file checked. */
  readonly config: {
    /** The file read, or `null` when none could be read. */
    readonly path: string | null;
    /** Every place a file was looked for: the argument, `LV_CLIENT_PROPERTY_CONF`, the vendor default. */
    readonly pathsTried: readonly ConfigCandidate[];
    /**
     * Each value a client would use, with where it came from: the file (path and line), an environment
     * variable (`LV_LICENSE_SERVERS`, `LV_AUTHENTICATION_*`), or the default. Never a password.
     */
    readonly settings: readonly ConfigSetting[];
  };
  /** Every check, in order: configuration, servers, authentication, each server, the verdict, reminders. */
  readonly findings: readonly DoctorFinding[];
  /** The conclusion: whether a port can be opened now, where, and why (not). */
  readonly verdict: DoctorVerdict;
}

/** Options of {@link runDoctor}. */
export interface DoctorOptions {
  /** The configuration file to check; without it `LV_CLIENT_PROPERTY_CONF`, then the vendor's default path. */
  config?: string | undefined;
  /**
   * Where `LV_CLIENT_PROPERTY_CONF`, `LV_LICENSE_SERVERS` and `LV_AUTHENTICATION_*` are looked up.
   * @defaultValue `process.env`
   */
  env?: NodeJS.ProcessEnv | undefined;
  /** The deadline of each network step (DNS, connect, TLS, greeting, each request), in ms. @defaultValue 3000 */
  timeout?: number | undefined;
  /** Stops the run: steps in flight end as failed, their sockets destroyed. */
  signal?: AbortSignal | undefined;
}

/** TLS material for {@link probeServer}, as read from the `[TLS]` files. */
export interface ProbeTlsOptions {
  /** PEM CA certificate(s) to trust instead of Node's bundled roots. */
  readonly ca?: string;
  /** PEM client certificate. */
  readonly cert?: string;
  /** PEM private key of `cert`. */
  readonly key?: string;
  /** The name the server certificate must carry, when it differs from the host. */
  readonly serverName?: string;
}

/** Options of {@link probeServer}. */
export interface ProbeOptions {
  /** The account; without it the server must be in unauthenticated mode. */
  credentials?:
    | {
        /** The account name. */
        readonly username: string;
        /** Its password; used for SCRAM only, never shown. */
        readonly password: string;
      }
    | undefined;
  /** TLS material for `tls://` entries. */
  tls?: ProbeTlsOptions | undefined;
  /** The deadline of each step, in ms. @defaultValue 3000 */
  timeout?: number | undefined;
  /** The `LICENSE_TYPE` whose licenses count as "free" in the `server.licenses` check. @defaultValue `'Auto'` */
  licenseType?: LicenseType | undefined;
  /** Stops the probe. */
  signal?: AbortSignal | undefined;
}
