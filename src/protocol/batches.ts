/**
 * Splitting lease-id lists across frames: one `renew` or `release` frame carries at most
 * {@link MAX_IDS_PER_FRAME} ids, which stays well inside the 64 KiB frame limit with 64-character ids.
 */

/** Lease ids per `renew` or `release` frame. */
export const MAX_IDS_PER_FRAME = 500;

/** Splits ids into frames of at most {@link MAX_IDS_PER_FRAME}. */
export function idBatches(ids: readonly string[]): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < ids.length; i += MAX_IDS_PER_FRAME) out.push(ids.slice(i, i + MAX_IDS_PER_FRAME));
  return out;
}
