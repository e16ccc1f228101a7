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

/** A key of {@link PORT_FEATURES}. */
export type PortFeatureKind = keyof typeof PORT_FEATURES;
