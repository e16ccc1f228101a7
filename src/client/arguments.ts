/**
 * Small checks and helpers of LicenseClient's calls: argument validation and the lease-id prefix.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
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

/** A lease-id prefix unique to this client: host, process and a random part, within the protocol's 64 characters. */
export function leasePrefix(): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9.-]/g, '')
      .slice(0, 24) || 'host';
  return `${host}.${process.pid}.${randomBytes(4).toString('hex')}`;
}
