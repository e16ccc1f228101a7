/**
 * Port license types and the license features (pools) each one draws from.
 */
import { PORT_FEATURES } from '../protocol/features.js';

/** What a port holds: the conf's `LICENSE_TYPE` values, plus TTS and AMD ports. */
export type PortLicenseType = 'SpeechPort' | 'VoxLite' | 'Auto' | 'TTS' | 'AMD';

const FEATURES: Readonly<Record<PortLicenseType, readonly string[]>> = PORT_FEATURES;

/** Every port license type. */
export const PORT_LICENSE_TYPES: readonly PortLicenseType[] = Object.freeze(
  Object.keys(FEATURES) as PortLicenseType[],
);

/** Whether `value` is a port license type. */
export function isPortLicenseType(value: unknown): value is PortLicenseType {
  return typeof value === 'string' && Object.hasOwn(FEATURES, value);
}

/** The features a port of this type tries, in order: `Auto` tries FULL, then LITE. */
export function featuresFor(type: PortLicenseType): readonly string[] {
  return FEATURES[type];
}
