/**
 * Where the configuration file comes from (the argument, `LV_CLIENT_PROPERTY_CONF`, the vendor default),
 * and its raw text. Shared by the loader and by the doctor, which needs the text itself to keep checking
 * past the first error and to write a redacted copy into a support bundle.
 */
import { open, stat } from 'node:fs/promises';
import { posix, win32 } from 'node:path';
import { CONFIG_PATH_ENV, defaultConfigPath } from './defaults.js';
import type { TlsConfig } from './types.js';

/** Where a configuration file could come from, in the order the loader looks. */
export interface ConfigCandidate {
  /** The path looked at. */
  readonly path: string;
  /** `'argument'` (`--config`), `'env'` (`LV_CLIENT_PROPERTY_CONF`) or `'default'` (the vendor's path). */
  readonly origin: 'argument' | 'env' | 'default';
  /** Whether the loader reads this one: the first candidate given wins, the others are not consulted. */
  readonly used: boolean;
  /** Whether a file exists at the path. */
  readonly exists: boolean;
}

/** The text and mode of the file read. */
export interface ConfFile {
  readonly text: string;
  readonly mode: number;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** A place the configuration may come from. */
export type GivenPath = Omit<ConfigCandidate, 'used' | 'exists'>;

/**
 * Every place given for the file, in the loader's order: the argument, `LV_CLIENT_PROPERTY_CONF`, the
 * vendor default. The first is the one read (there is no fall back to the next when it is missing).
 */
export function givenConfigPaths(
  path: string | undefined,
  env: NodeJS.ProcessEnv,
  platform: NodeJS.Platform = process.platform,
): [GivenPath, ...GivenPath[]] {
  const given: GivenPath[] = [];
  if (path !== undefined && path !== '') given.push({ path, origin: 'argument' });
  const fromEnv = env[CONFIG_PATH_ENV]?.trim();
  if (fromEnv !== undefined && fromEnv !== '') given.push({ path: fromEnv, origin: 'env' });
  const fallback: GivenPath = { path: defaultConfigPath(platform), origin: 'default' };
  const [first = fallback, ...rest] = [...given, fallback];
  return [first, ...rest];
}

/** {@link givenConfigPaths}, each with whether it is the one read and whether a file exists there. */
export async function configCandidates(
  path: string | undefined,
  env: NodeJS.ProcessEnv,
  platform: NodeJS.Platform = process.platform,
): Promise<ConfigCandidate[]> {
  const given = givenConfigPaths(path, env, platform);
  return Promise.all(
    given.map(async (candidate, index) =>
      Object.freeze({ ...candidate, used: index === 0, exists: await exists(candidate.path) }),
    ),
  );
}

/**
 * Reads the file's text and mode.
 *
 * @throws the operating system's error (`ENOENT`, `EACCES`, `EISDIR`...), for the caller to explain.
 */
export async function readConfFile(path: string): Promise<ConfFile> {
  const handle = await open(path, 'r');
  try {
    const stats = await handle.stat();
    return { text: await handle.readFile({ encoding: 'utf8' }), mode: stats.mode };
  } finally {
    await handle.close();
  }
}

/** Resolves relative `[TLS]` paths against the file's directory, as the loader does. */
export function resolveTlsPaths(tls: TlsConfig, file: string, platform = process.platform): TlsConfig {
  const paths = platform === 'win32' ? win32 : posix;
  const directory = paths.dirname(paths.resolve(file));
  const resolve = (value: string): string => paths.resolve(directory, value);
  return Object.freeze({
    ...tls,
    ...(tls.caFile === undefined ? {} : { caFile: resolve(tls.caFile) }),
    ...(tls.certFile === undefined ? {} : { certFile: resolve(tls.certFile) }),
    ...(tls.keyFile === undefined ? {} : { keyFile: resolve(tls.keyFile) }),
  });
}
