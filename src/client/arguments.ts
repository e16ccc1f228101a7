/**
 * The argument checks of LicenseClient's calls, and the lease-id prefix.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { InvalidParameterError } from '../errors.js';
import { FEATURE_PATTERN } from '../protocol/constants.js';
import { ReturnCode } from '../protocol/return-codes.js';
import { isPortLicenseType, type PortLicenseType } from './license-types.js';

/**
 * Checks a `wait` option.
 *
 * @throws {InvalidParameterError} for a negative or non-finite number.
 */
export function checkWait(wait: number | undefined): void {
  if (wait !== undefined && (!Number.isFinite(wait) || wait < 0)) {
    throw new InvalidParameterError(
      `wait must be a number of milliseconds, 0 or more, not ${describeValue(wait)}.`,
    );
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

/**
 * Checks the license type of `openPort()`.
 *
 * @throws {InvalidParameterError} for a type that is not one of {@link PORT_LICENSE_TYPES}.
 */
export function checkLicenseType(type: unknown): asserts type is PortLicenseType {
  if (!isPortLicenseType(type)) {
    throw new InvalidParameterError(
      `licenseType ${JSON.stringify(type)} is not one of SpeechPort, VoxLite, Auto, TTS, AMD.`,
    );
  }
}

/**
 * Checks the feature and count of `acquire()`.
 *
 * @throws {InvalidParameterError} for a feature that is not a license type name, or a bad count.
 */
export function checkAcquire(feature: unknown, count: unknown): void {
  if (typeof feature !== 'string' || !FEATURE_PATTERN.test(feature)) {
    throw new InvalidParameterError(
      `Feature ${JSON.stringify(feature)} is not a license type name: use upper-case letters, digits and _, such as TTS.`,
    );
  }
  if (!Number.isInteger(count) || (count as number) < 1) {
    throw new InvalidParameterError(
      `count must be a whole number of at least 1, not ${describeValue(count)}.`,
    );
  }
}

/**
 * Checks the channel and audio of `loadVoiceChannel()`.
 *
 * @throws {InvalidParameterError} -8 (`LV_SOUND_CHANNEL_OUT_OF_RANGE`) for a bad channel, -47
 * (`LV_INVALID_BUFFER`) for audio that is not a non-empty Buffer, Uint8Array or ArrayBuffer.
 */
export function checkVoiceChannel(channel: unknown, maxVoiceChannels: number, audio: unknown): void {
  if (!Number.isInteger(channel) || (channel as number) < 0 || (channel as number) >= maxVoiceChannels) {
    throw new InvalidParameterError(
      `Voice channel ${String(channel)} is out of range: use 0 to ${maxVoiceChannels - 1}.`,
      { code: ReturnCode.LV_SOUND_CHANNEL_OUT_OF_RANGE },
    );
  }
  if (audio !== undefined && !isAudioBuffer(audio)) {
    throw new InvalidParameterError('The audio must be a non-empty Buffer, Uint8Array or ArrayBuffer.', {
      code: ReturnCode.LV_INVALID_BUFFER,
    });
  }
}

/**
 * A value as an error message names it, with its type when that is what is wrong: `5000`, but
 * `the string "5000"` (a string, not a number), `true (a boolean)`, `an object`.
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return `${value} (a boolean)`;
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  return `a value of type ${typeof value === 'object' ? 'object' : typeof value}`;
}
