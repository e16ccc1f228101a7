/**
 * Which license features (the server's pools) each kind of port draws from: the conf's `LICENSE_TYPE`
 * values, plus TTS and AMD ports. One table for the client and the doctor.
 */

/** The features each port license type tries, in order: `Auto` takes FULL first, then LITE. */
export const PORT_FEATURES = Object.freeze({
  SpeechPort: Object.freeze(['FULL']),
  VoxLite: Object.freeze(['LITE']),
  Auto: Object.freeze(['FULL', 'LITE']),
  TTS: Object.freeze(['TTS']),
  AMD: Object.freeze(['AMD']),
} as const satisfies Record<string, readonly string[]>);

/**
 * A license feature (a server's pool): the four the vendor sells, which editors complete, or any other
 * name a server has (`string & {}` keeps the completion while accepting any string).
 */
export type Feature = 'FULL' | 'LITE' | 'TTS' | 'AMD' | (string & {});

/** A key of {@link PORT_FEATURES}. */
export type PortFeatureKind = keyof typeof PORT_FEATURES;
