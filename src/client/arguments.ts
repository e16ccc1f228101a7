/**
 * Small checks and helpers of LicenseClient's calls: argument validation, the lease-id prefix, and the
 * conf's TLS material.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { readTlsMaterial, type TlsMaterial } from '../config/tls-files.js';
import type { ClientProperties } from '../config/types.js';
import { InvalidParameterError } from '../errors.js';

/**
 * Checks a `wait` option.
 *
 * @throws {InvalidParameterError} for a negative or non-finite number.
 */
export function checkWait(wait: number | undefined): void {
  if (wait !== undefined && (!Number.isFinite(wait) || wait < 0)) {
    throw new InvalidParameterError(`wait must be a number of milliseconds, 0 or more, not ${String(wait)}.`);
  }
}

/** Whether `audio` is a non-empty Buffer, Uint8Array (any typed array) or ArrayBuffer. */
export function isAudioBuffer(audio: unknown): boolean {
  if (audio instanceof ArrayBuffer) return audio.byteLength > 0;
  return ArrayBuffer.isView(audio) && audio.byteLength > 0;
}

/** The PEM contents named by the conf's `[TLS]` section, or `undefined` when it has none. */
export async function tlsFromProperties(props: ClientProperties): Promise<TlsMaterial | undefined> {
  const { tls } = props;
  if (
    tls.caFile === undefined &&
    tls.certFile === undefined &&
    tls.keyFile === undefined &&
    tls.serverName === undefined
  ) {
    return undefined;
  }
  return readTlsMaterial(tls, props.source);
}

/** A lease-id prefix unique to this client: host, process and a random part, within the protocol's 64 characters. */
export function leasePrefix(): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9.-]/g, '')
      .slice(0, 24) || 'host';
  return `${host}.${process.pid}.${randomBytes(4).toString('hex')}`;
}
