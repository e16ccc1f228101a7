/**
 * Splitting lease-id lists across frames: one `renew` or `release` frame carries at most
 * {@link MAX_IDS_PER_FRAME} ids, and never more than fit in the peer's frame limit (`maxFrameBytes` of
 * its `hello` answer) with 64-character ids.
 */
import { DEFAULT_MAX_FRAME_BYTES } from './constants.js';

/** Lease ids per `renew` or `release` frame, at most. */
export const MAX_IDS_PER_FRAME = 500;

/** Bytes one id can take in a frame: 64 characters, two quotes and a comma. */
const BYTES_PER_ID = 67;
/** Room for the rest of the frame: `{"id":...,"op":"release","leases":[]}`. */
const FRAME_OVERHEAD = 128;

/** How many ids fit in one frame of a peer whose frame limit is `maxFrameBytes`. */
export function idsPerFrame(maxFrameBytes: number = DEFAULT_MAX_FRAME_BYTES): number {
  return Math.max(
    1,
    Math.min(MAX_IDS_PER_FRAME, Math.floor((maxFrameBytes - FRAME_OVERHEAD) / BYTES_PER_ID)),
  );
}

/** Splits ids into frames that fit the peer's frame limit. */
export function idBatches(ids: readonly string[], maxFrameBytes?: number): string[][] {
  const size = idsPerFrame(maxFrameBytes);
  const out: string[][] = [];
  for (let i = 0; i < ids.length; i += size) out.push(ids.slice(i, i + size));
  return out;
}
