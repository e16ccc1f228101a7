import { describe, expect, it } from 'vitest';
import { idBatches, idsPerFrame, MAX_IDS_PER_FRAME } from '../../src/protocol/batches.js';
import { encodeFrame } from '../../src/protocol/codec.js';

describe('idBatches', () => {
  it('cuts at 500 ids with the default 64 KiB frames', () => {
    const ids = Array.from({ length: 1_234 }, (_, i) => `id-${i}`);
    expect(idBatches(ids).map((b) => b.length)).toEqual([500, 500, 234]);
    expect(idBatches(ids).flat()).toEqual(ids);
    expect(idBatches([])).toEqual([]);
  });

  it('keeps every frame within a smaller peer limit, even with 64-character ids', () => {
    const id = 'x'.repeat(64);
    for (const limit of [1_024, 4_096, 10_000]) {
      const batches = idBatches(
        Array.from({ length: 300 }, (_, i) => `${id.slice(0, 58)}${String(i).padStart(6, '0')}`),
        limit,
      );
      for (const batch of batches) {
        expect(() =>
          encodeFrame({ id: Number.MAX_SAFE_INTEGER, op: 'release', leases: batch }, limit),
        ).not.toThrow();
      }
    }
    expect(idsPerFrame(200)).toBe(1);
    expect(idsPerFrame(10_000_000)).toBe(MAX_IDS_PER_FRAME);
  });
});
