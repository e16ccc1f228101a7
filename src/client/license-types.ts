/**
 * Port license types and the license features (pools) each one draws from.
 */

/** What a port holds: the conf's `LICENSE_TYPE` values, plus TTS and AMD ports. */
export type PortLicenseType = 'SpeechPort' | 'VoxLite' | 'Auto' | 'TTS' | 'AMD';

const FEATURES: Readonly<Record<PortLicenseType, readonly string[]>> = Object.freeze({
  SpeechPort: Object.freeze(['FULL']),
  VoxLite: Object.freeze(['LITE']),
  Auto: Object.freeze(['FULL', 'LITE']),
  TTS: Object.freeze(['TTS']),
  AMD: Object.freeze(['AMD']),
});

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
