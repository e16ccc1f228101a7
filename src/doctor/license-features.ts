/**
 * Which license features a port of each `LICENSE_TYPE` takes, and seat counts turned into "free".
 */
import type { LicenseType } from '../config/index.js';
import { PORT_FEATURES } from '../protocol/features.js';
import type { FeatureStatus } from '../protocol/messages.js';
import type { FeatureCount } from './types.js';

/** The features a port of `type` takes, in the order it tries them (the client's table). */
export function featuresOf(type: LicenseType): readonly string[] {
  return PORT_FEATURES[type];
}

/** Adds `free` (total minus in use, never below 0) to each feature's counts. */
export function countFeatures(
  features: Readonly<Record<string, FeatureStatus>>,
): Record<string, FeatureCount> {
  const counts: Record<string, FeatureCount> = {};
  for (const [feature, status] of Object.entries(features)) {
    counts[feature] = Object.freeze({
      total: status.total,
      inUse: status.inUse,
      queued: status.queued,
      free: Math.max(0, status.total - status.inUse),
    });
  }
  return counts;
}

/** The first feature of `type` with a free seat, if any. */
export function firstFree(
  type: LicenseType,
  features: Readonly<Record<string, FeatureCount>>,
): string | undefined {
  return featuresOf(type).find((feature) => (features[feature]?.free ?? 0) > 0);
}

/** `FULL 3 of 4 free (1 in use, 0 queued)`. */
export function describeFeature(feature: string, count: FeatureCount | undefined): string {
  if (count === undefined) return `${feature}: none on this account`;
  return `${feature} ${count.free} of ${count.total} free (${count.inUse} in use, ${count.queued} queued)`;
}
