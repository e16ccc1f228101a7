/**
 * Reads the PEM files that `[TLS]` names. Part of the config layer, the one that reads the file system.
 */
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../errors.js';
import { redactSecrets } from './redact.js';
import type { TlsConfig } from './types.js';

/** The contents of the `[TLS]` files, ready for a TLS connection. */
export interface TlsMaterial {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly serverName?: string;
}

async function read(
  path: string,
  key: string,
  source: string | undefined,
  secrets: readonly string[],
): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? String(err);
    const message = `${source === undefined ? '' : `${source}: `}[TLS] ${key} names ${path}, which cannot be read (${reason}). Fix the path or the file's permissions.`;
    throw new ConfigError(redactSecrets(message, secrets), { key, file: source, cause: err });
  }
}

/**
 * Reads `CA_FILE`, `CERT_FILE` and `KEY_FILE`.
 *
 * @throws {ConfigError} naming the key and the path of a file that cannot be read (never one of `secrets`).
 */
export async function readTlsMaterial(
  tls: TlsConfig,
  source?: string,
  secrets: readonly string[] = [],
): Promise<TlsMaterial> {
  const [ca, cert, key] = await Promise.all([
    tls.caFile === undefined ? undefined : read(tls.caFile, 'CA_FILE', source, secrets),
    tls.certFile === undefined ? undefined : read(tls.certFile, 'CERT_FILE', source, secrets),
    tls.keyFile === undefined ? undefined : read(tls.keyFile, 'KEY_FILE', source, secrets),
  ]);
  return {
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
    ...(tls.serverName === undefined ? {} : { serverName: tls.serverName }),
  };
}
