/**
 * `runDoctor`: the vendor's troubleshooting checklist as one call. Configuration first, then every server
 * in parallel, then the verdict.
 */
import type { ClientProperties, Credentials, ServerAddress, TlsConfig } from '../config/index.js';
import {
  configCandidates,
  ENVIRONMENT,
  type EnvironmentSettings,
  environmentStandsIn,
  loadClientProperties,
  passwordsIn,
  propertiesFromFile,
  type Recovery,
  readConfFile,
  readEnvironment,
  readTlsMaterial,
  recoverParse,
  redactSecrets,
  resolveTlsPaths,
  type TlsMaterial,
} from '../config/index.js';
import { LIBRARY_VERSION } from '../version.js';
import { authFindings } from './auth-findings.js';
import { fileFinding, parseFindings, warningFindings } from './config-findings.js';
import { finding, messageOf } from './finding.js';
import { DEFAULT_STEP_TIMEOUT, probeServer } from './probe.js';
import { serverListFindings } from './server-list-findings.js';
import {
  configSettings,
  describeSettingSource,
  effectiveConnection,
  pointFixesAtSources,
} from './settings.js';
import type { ConfigSetting, DoctorFinding, DoctorOptions, DoctorReport } from './types.js';
import { decideVerdict, restartReminder, verdictFinding } from './verdict.js';

/** The configuration as the doctor understood it. */
interface ConfigState {
  readonly findings: DoctorFinding[];
  readonly path: string | null;
  readonly loads: boolean;
  readonly props: ClientProperties | undefined;
  readonly credentials: Credentials | undefined;
  readonly servers: readonly ServerAddress[];
  readonly pathsTried: DoctorReport['config']['pathsTried'];
  /** Each value a client would use, and where it came from. */
  readonly settings: readonly ConfigSetting[];
  /** The file's password values, which no finding may show, wherever in the file they were pasted. */
  readonly secrets: readonly string[];
}

/**
 * Runs every check of `lv-license doctor`: which configuration file, whether it loads (every error and
 * warning with its line), `LICENSE_SERVERS`, `[AUTHENTICATION]`, then each server in parallel (DNS, TCP,
 * TLS, greeting, authentication, licenses, round trip), and the verdict: can this machine open a port now,
 * and on which server?
 *
 * Never rejects for what it finds: every problem is a finding. Each network step has its own deadline
 * (`timeout`, 3 s by default), so it ends within seconds even when servers never answer. The password is
 * used for the SCRAM exchange only: it is in no finding.
 *
 * @example
 * ```ts
 * const report = await runDoctor({ config: '/etc/lumenvox/client_property.conf' });
 * for (const f of report.findings) console.log(f.status.toUpperCase(), f.title, f.detail, f.fix ?? '');
 * if (!report.verdict.ok) process.exitCode = 1;
 * ```
 */
export async function runDoctor(options: DoctorOptions = {}): Promise<DoctorReport> {
  const timeout = options.timeout ?? DEFAULT_STEP_TIMEOUT;
  const config = await inspectConfig(options.config, options.env ?? process.env);
  const findings = [...config.findings];
  const material = await tlsMaterial(config, findings);
  const licenseType = config.props?.licenseType ?? 'Auto';
  const probes = await Promise.all(
    config.servers.map((server) =>
      probeServer(server, {
        credentials: config.credentials,
        tls: material,
        timeout,
        licenseType,
        signal: options.signal,
      }),
    ),
  );
  for (const probe of probes) findings.push(...pointFixesAtSources(probe.findings, config.settings));
  const verdict = decideVerdict({ configLoads: config.loads, licenseType, probes });
  findings.push(verdictFinding(verdict), restartReminder());
  // One last pass over everything said: a password pasted into a path or a name is never shown back.
  const redact = <T>(value: T): T => redactDeep(value, config.secrets);
  return Object.freeze({
    version: 1,
    tool: 'lv-license doctor',
    library: LIBRARY_VERSION,
    node: process.version,
    config: Object.freeze({
      path: config.path,
      pathsTried: config.pathsTried,
      settings: redact(config.settings),
    }),
    findings: Object.freeze(findings.map(redact)),
    verdict: Object.freeze(redact(verdict)),
  });
}

/** `value` with every string in it (deeply, through plain objects and arrays) redacted of `secrets`. */
function redactDeep<T>(value: T, secrets: readonly string[]): T {
  if (secrets.length === 0) return value;
  if (typeof value === 'string') return redactSecrets(value, secrets) as T;
  if (Array.isArray(value)) return Object.freeze(value.map((v: unknown) => redactDeep(v, secrets))) as T;
  if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    const entries = Object.entries(value).map(([k, v]) => [k, redactDeep(v, secrets)]);
    return Object.freeze(Object.fromEntries(entries)) as T;
  }
  return value;
}

async function inspectConfig(path: string | undefined, env: NodeJS.ProcessEnv): Promise<ConfigState> {
  const environment = inspectEnvironment(env);
  const file = await inspectFile(path, env, environment.settings);
  const connection = effectiveConnection(file.servers, file.credentials, environment.settings);
  // No file and nothing standing in for it: a client would not start, so there are no values to show.
  const settings =
    file.path === null && !file.loads
      ? []
      : configSettings({
          props: file.props,
          fileCredentials: file.credentials,
          path: file.path,
          environment: environment.settings,
        });
  const findings = [...environment.findings, ...file.findings];
  const fromEnvironment = environment.settings;
  if (fromEnvironment.servers !== undefined) {
    replaceFinding(findings, environmentServersFinding(fromEnvironment));
  }
  if (
    (fromEnvironment.username !== undefined || fromEnvironment.password !== undefined) &&
    file.recovery?.pairError === undefined
  ) {
    replaceFinding(findings, environmentPairFinding(connection, settings));
    const section = findings.find((f) => f.id === 'auth.section');
    if (file.credentials === undefined && section?.status === 'pass') {
      // The file's "connects without authentication" is not the whole story any more.
      replaceFinding(
        findings,
        finding(
          'auth.section',
          '[AUTHENTICATION] header',
          'pass',
          'No credentials in the file: they come from the environment (LV_AUTHENTICATION_*).',
          { data: section.data },
        ),
      );
    }
  }
  return {
    ...file,
    findings,
    servers: connection.servers,
    credentials: connection.credentials,
    loads: file.loads && environment.findings.length === 0 && connection.credentialsError === undefined,
    settings,
    // The variable's own value too: it is a secret even when the environment could not be read.
    secrets: [fromEnvironment.password, env[ENVIRONMENT.password], ...file.secrets].filter(
      (s): s is string => s !== undefined && s !== '',
    ),
  };
}

/** The container settings, or a `config.environment` failure when they cannot be read. */
function inspectEnvironment(env: NodeJS.ProcessEnv): {
  settings: EnvironmentSettings;
  findings: DoctorFinding[];
} {
  try {
    return { settings: readEnvironment(env), findings: [] };
  } catch (err) {
    return {
      settings: {},
      findings: [
        finding('config.environment', 'Environment', 'fail', messageOf(err), {
          fix: 'Fix or unset the variable the message names (LV_LICENSE_SERVERS, LV_AUTHENTICATION_*): apps that use LicenseClient.fromConfigFile() fail with ConfigError until then.',
        }),
      ],
    };
  }
}

/** The file as read (or as recovered), with the findings about it, before the environment is applied. */
interface FileState extends Omit<ConfigState, 'settings'> {
  readonly recovery: Recovery | undefined;
}

async function inspectFile(
  path: string | undefined,
  env: NodeJS.ProcessEnv,
  environment: EnvironmentSettings,
): Promise<FileState> {
  const candidates = await configCandidates(path, env);
  const used = candidates[0]?.path ?? '';
  let loaded: ClientProperties | undefined;
  let loadError: unknown;
  const file = await readConfFile(used).catch(() => undefined);
  if (file === undefined && environment.servers !== undefined && (await environmentStandsIn(path, env))) {
    // A container: no client_property.conf, LV_LICENSE_SERVERS stands in (as in fromConfigFile()).
    return {
      findings: [
        finding(
          'config.file',
          'Configuration file',
          'pass',
          `No file at ${used}; ${ENVIRONMENT.servers} is set, so the environment stands in for it (as in LicenseClient.fromConfigFile()), with the defaults for every other setting.`,
          { data: { path: null, origin: 'env', candidates } },
        ),
        finding('config.parse', 'Configuration', 'skip', 'No file to read: the environment stands in.'),
        ...serverListFindings([], undefined),
        finding(
          'auth.section',
          '[AUTHENTICATION] header',
          'skip',
          'No file: credentials come from the environment, if any.',
        ),
        finding('auth.pair', 'Username and password', 'pass', 'Neither is set: unauthenticated mode.'),
        finding('auth.permissions', 'File permissions', 'skip', 'No file.'),
      ],
      path: null,
      loads: true,
      props: undefined,
      credentials: undefined,
      servers: [],
      pathsTried: candidates,
      secrets: [],
      recovery: undefined,
    };
  }
  if (file === undefined) {
    // The loader's own words for a missing or unreadable file (every path tried, the OS reason).
    loadError = await loadClientProperties(path, { env }).then(
      () => new Error(`${used} cannot be read.`),
      (err: unknown) => err,
    );
    return {
      findings: [
        fileFinding(candidates, loadError ?? new Error(`${used} cannot be read.`)),
        ...parseFindings(undefined, undefined),
        ...serverListFindings(undefined, undefined),
      ],
      path: null,
      loads: false,
      props: undefined,
      credentials: undefined,
      servers: [],
      pathsTried: candidates,
      secrets: [],
      recovery: undefined,
    };
  }
  try {
    loaded = propertiesFromFile(used, file.text, file.mode);
  } catch (err) {
    loadError = err;
  }
  const fileMode = process.platform === 'win32' ? undefined : file.mode;
  const recovery: Recovery | undefined =
    loaded === undefined ? recoverParse(file.text, used, fileMode) : undefined;
  const recovered = recovery?.props;
  const props =
    loaded ??
    (recovered === undefined
      ? undefined
      : Object.freeze({ ...recovered, tls: resolveTlsPaths(recovered.tls, used) }));
  const credentials = loaded === undefined ? recovery?.credentials : loaded.authentication;
  const servers = recovery?.serversUnusable === true ? [] : (props?.licenseServers ?? []);
  return {
    findings: [
      fileFinding(candidates, undefined),
      ...parseFindings(loaded, recovery),
      ...warningFindings(props?.warnings ?? []),
      ...serverListFindings(props?.licenseServers, recovery),
      ...authFindings({
        text: file.text,
        path: used,
        mode: fileMode,
        recovery,
        credentials,
        platform: process.platform,
      }),
    ],
    path: used,
    loads: loaded !== undefined,
    props,
    credentials,
    servers,
    pathsTried: candidates,
    secrets: passwordsIn(file.text),
    recovery,
  };
}

/** Puts `replacement` where the finding with its id is (or at the end when there is none). */
function replaceFinding(findings: DoctorFinding[], replacement: DoctorFinding): void {
  const index = findings.findIndex((f) => f.id === replacement.id);
  if (index < 0) findings.push(replacement);
  else findings[index] = replacement;
}

/** `servers.list` when `LV_LICENSE_SERVERS` names the servers. */
function environmentServersFinding(environment: EnvironmentSettings): DoctorFinding {
  const servers = environment.servers ?? [];
  return finding(
    'servers.list',
    'LICENSE_SERVERS',
    'pass',
    `${servers.length} server(s) from ${ENVIRONMENT.servers} (it wins over the file's LICENSE_SERVERS), in priority order: ${servers.map((s) => s.entry).join(', ')}.`,
    { data: { servers: servers.map((s) => s.entry), variable: ENVIRONMENT.servers } },
  );
}

/** `auth.pair` when the environment sets the username or the password. */
function environmentPairFinding(
  connection: ReturnType<typeof effectiveConnection>,
  settings: readonly ConfigSetting[],
): DoctorFinding {
  const title = 'Username and password';
  const where = (key: string): string => {
    const source = settings.find((s) => s.key === key)?.source;
    return source === undefined ? 'nowhere' : describeSettingSource(source);
  };
  const data = {
    usernameFrom: where('AUTHENTICATION_USERNAME'),
    passwordFrom: where('AUTHENTICATION_PASSWORD'),
  };
  if (connection.credentialsError !== undefined) {
    return finding('auth.pair', title, 'fail', connection.credentialsError.message, {
      fix: `Set both ${ENVIRONMENT.username} and ${ENVIRONMENT.password} (or ${ENVIRONMENT.passwordFile}) to authenticate, or neither.`,
      data,
    });
  }
  return finding(
    'auth.pair',
    title,
    'pass',
    `Both are set: account "${connection.credentials?.username ?? ''}" (from ${data.usernameFrom}) and a password (not shown, from ${data.passwordFrom}).`,
    { data: { username: connection.credentials?.username, ...data } },
  );
}

function hasTlsFiles(tls: TlsConfig): boolean {
  return tls.caFile !== undefined || tls.certFile !== undefined || tls.keyFile !== undefined;
}

/** Reads the `[TLS]` files when a server needs them, adding a `tls.files` finding. */
async function tlsMaterial(config: ConfigState, findings: DoctorFinding[]): Promise<TlsMaterial | undefined> {
  const tls = config.props?.tls;
  if (tls === undefined || (!config.servers.some((s) => s.tls) && !hasTlsFiles(tls))) return undefined;
  const named = [
    ['CA_FILE', tls.caFile],
    ['CERT_FILE', tls.certFile],
    ['KEY_FILE', tls.keyFile],
  ].filter(([, path]) => path !== undefined);
  try {
    const material = await readTlsMaterial(tls, config.path ?? undefined);
    findings.push(
      finding(
        'tls.files',
        '[TLS] files',
        'pass',
        named.length === 0
          ? "No [TLS] files: tls:// servers must have certificates from a CA in Node's bundled list."
          : `Read ${named.map(([key, path]) => `${key} ${path}`).join(', ')}.`,
        { data: Object.fromEntries(named) },
      ),
    );
    return material;
  } catch (err) {
    findings.push(
      finding('tls.files', '[TLS] files', 'fail', messageOf(err), {
        fix: 'Fix the path in the [TLS] section, or the permissions of the file, so the user the apps run as can read it.',
      }),
    );
    return {};
  }
}
