/**
 * Where the configuration file comes from (the argument, `LV_CLIENT_PROPERTY_CONF`, the vendor default),
 * and its raw text. Shared by the loader and by the doctor, which needs the text itself to keep checking
 * past the first error and to write a redacted copy into a support bundle.
 */
import { constants, type Stats } from 'node:fs';
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
 * The most a configuration file may hold. The vendor's template is about 10 KB; anything near this is not
 * a client_property.conf (a log, a disk image, `/dev/zero`).
 */
export const MAX_CONF_FILE_BYTES = 1024 * 1024;

/** An error in the shape of the operating system's, for what `open` accepts but a conf file must not be. */
function fileError(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

/**
 * Reads the file's text and mode. Only a regular file of at most {@link MAX_CONF_FILE_BYTES} is read: a
 * FIFO (which would block until a writer comes), a device or a directory fails at once, without reading.
 *
 * @throws the operating system's error (`ENOENT`, `EACCES`, `EISDIR`...), `ENOTREG` for another kind of
 * file or `EFBIG` for a file too large, for the caller to explain.
 */
export async function readConfFile(path: string): Promise<ConfFile> {
  // O_NONBLOCK: opening a FIFO for reading does not wait for a writer (it is refused just below). It does
  // nothing to a regular file. Windows has no such flag and no FIFO at a path.
  const handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const stats = await handle.stat();
    if (stats.isDirectory()) throw fileError('EISDIR', `EISDIR: ${path} is a directory`);
    if (!stats.isFile()) {
      throw fileError('ENOTREG', `${path} is ${describeFileKind(stats)}, not a regular file`);
    }
    // The size a file reports is not trusted (/proc files say 0, a file may grow): at most one byte more
    // than the limit is read.
    const tooLarge = () =>
      fileError(
        'EFBIG',
        `${path} holds ${Math.max(stats.size, MAX_CONF_FILE_BYTES + 1)} bytes, more than the ${MAX_CONF_FILE_BYTES} a configuration file may`,
      );
    if (stats.size > MAX_CONF_FILE_BYTES) throw tooLarge();
    const buffer = Buffer.alloc(MAX_CONF_FILE_BYTES + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > MAX_CONF_FILE_BYTES) throw tooLarge();
    }
    return { text: buffer.toString('utf8', 0, length), mode: stats.mode };
  } finally {
    await handle.close();
  }
}

function describeFileKind(stats: Stats): string {
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  return 'not a regular file';
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
