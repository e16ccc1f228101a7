/**
 * Reads the PEM files that `[TLS]` names. Part of the config layer, the one that reads the file system.
 */
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../errors.js';
import type { TlsConfig } from './types.js';

/** The contents of the `[TLS]` files, ready for a TLS connection. */
export interface TlsMaterial {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly serverName?: string;
}

async function read(path: string, key: string, source: string | undefined): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new ConfigError(
      `${source === undefined ? '' : `${source}: `}[TLS] ${key} names ${path}, which cannot be read (${reason}). Fix the path or the file's permissions.`,
      { key, file: source, cause: err },
    );
  }
}

/**
 * Reads `CA_FILE`, `CERT_FILE` and `KEY_FILE`.
 *
 * @throws {ConfigError} naming the key and the path of a file that cannot be read.
 */
export async function readTlsMaterial(tls: TlsConfig, source?: string): Promise<TlsMaterial> {
  const [ca, cert, key] = await Promise.all([
    tls.caFile === undefined ? undefined : read(tls.caFile, 'CA_FILE', source),
    tls.certFile === undefined ? undefined : read(tls.certFile, 'CERT_FILE', source),
    tls.keyFile === undefined ? undefined : read(tls.keyFile, 'KEY_FILE', source),
  ]);
  return {
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
    ...(tls.serverName === undefined ? {} : { serverName: tls.serverName }),
  };
}
