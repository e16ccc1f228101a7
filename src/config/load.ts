/**
 * Finding and reading `client_property.conf`: the only code of the library that touches the file system.
 */
import { ConfigError } from '../errors.js';
import { CONFIG_PATH_ENV } from './defaults.js';
import { parseClientProperties } from './parse.js';
import { givenConfigPaths, readConfFile, resolveTlsPaths } from './source.js';
import type { ClientProperties, LoadClientPropertiesOptions } from './types.js';

interface Candidate {
  readonly path: string;
  readonly origin: string;
}

/**
 * Reads, parses and validates a `client_property.conf`.
 *
 * The file is the one at `path` if given, else the one named by the environment variable
 * `LV_CLIENT_PROPERTY_CONF`, else the platform's default ({@link defaultConfigPath}). Relative paths in the
 * `[TLS]` section are resolved against the file's directory. On POSIX, a file that holds a password and can
 * be read by group or others gives a `world-readable` warning.
 *
 * @param path - The file to read; an empty string counts as not given.
 * @param options - `env` (default `process.env`) and `platform` (default `process.platform`).
 * @returns The options, deeply frozen; {@link ClientProperties.source} is the path read.
 * @throws {@link ConfigError} (code -11) when no file is found (`pathsTried` lists every path tried, and the
 *   message says how to point at the right one), when the file cannot be read (the OS reason in the message,
 *   the OS error as `cause`), or when its contents are not valid (see {@link parseClientProperties}).
 * @example
 * ```ts
 * const options = await loadClientProperties(); // LV_CLIENT_PROPERTY_CONF, or /etc/lumenvox/client_property.conf
 * for (const warning of options.warnings) console.warn(warning.message);
 * ```
 */
export async function loadClientProperties(
  path?: string,
  options: LoadClientPropertiesOptions = {},
): Promise<ClientProperties> {
  const env = options.env ?? process.env;
  const platform = options.platform ?? process.platform;
  const candidate = pickPath(path, env, platform);
  const { text, mode } = await readConfFile(candidate.path).catch((error: unknown) => {
    throw readError(error, candidate);
  });
  return propertiesFromFile(candidate.path, text, mode, platform);
}

/**
 * What {@link loadClientProperties} makes of a file already read: its options, with the file's mode
 * checked (POSIX) and `[TLS]` paths resolved against its directory.
 *
 * @throws {@link ConfigError} when the contents are not valid.
 */
export function propertiesFromFile(
  path: string,
  text: string,
  mode: number,
  platform: NodeJS.Platform = process.platform,
): ClientProperties {
  const parsed = parseClientProperties(text, {
    source: path,
    ...(platform === 'win32' ? {} : { fileMode: mode }),
  });
  return Object.freeze({ ...parsed, tls: resolveTlsPaths(parsed.tls, path, platform) });
}

function pickPath(path: string | undefined, env: NodeJS.ProcessEnv, platform: NodeJS.Platform): Candidate {
  const [first] = givenConfigPaths(path, env, platform);
  const origin =
    first.origin === 'argument'
      ? 'the path passed to loadClientProperties'
      : first.origin === 'env'
        ? CONFIG_PATH_ENV
        : `the default path on ${platform}`;
  return { path: first.path, origin };
}

function readError(error: unknown, candidate: Candidate): ConfigError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const file = candidate.path;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new ConfigError(
      `No client_property.conf found. Tried: ${file} (${candidate.origin}). Pass the file's path to ` +
        `loadClientProperties(path), or set ${CONFIG_PATH_ENV}=/path/to/client_property.conf.`,
      { file, pathsTried: Object.freeze([file]), cause: error },
    );
  }
  const fix =
    code === 'EACCES' || code === 'EPERM'
      ? `Make it readable by the user this process runs as, and by nobody else (chmod 600), or set ${CONFIG_PATH_ENV} to a readable copy.`
      : code === 'EISDIR'
        ? 'It is a directory: name the client_property.conf file inside it.'
        : code === 'ENOTREG'
          ? `Only a regular file is read: name the client_property.conf file itself, or set ${CONFIG_PATH_ENV} to it.`
          : code === 'EFBIG'
            ? `This is not a client_property.conf: name the right file, or set ${CONFIG_PATH_ENV} to it.`
            : `Check the file, or set ${CONFIG_PATH_ENV} to another copy.`;
  const detail = error instanceof Error ? error.message : String(error);
  return new ConfigError(
    `${file}: cannot read the configuration file (${candidate.origin}): ${detail}. ${fix}`,
    {
      file,
      pathsTried: Object.freeze([file]),
      cause: error,
    },
  );
}
