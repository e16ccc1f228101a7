/**
 * InboundFrames alone: the share of a read handled per turn, and a handler that asks for the rest at once
 * (a connection closing from inside its own handling) handles each frame once.
 */
import { describe, expect, it } from 'vitest';
import type { DecodedItem } from '../../src/protocol/codec.js';
import { ANSWERS_PER_TURN, InboundFrames } from '../../src/transport/inbound.js';

function frames(count: number): DecodedItem[] {
  return Array.from({ length: count }, (_, i) => ({ kind: 'frame', value: { id: i + 1 } }));
}

describe('InboundFrames', () => {
  it('handles a share of a read now and the rest on a later turn, each frame once and in order', async () => {
    const handled: number[] = [];
    let pending = 1_000;
    const inbound = new InboundFrames({
      handle: (item) => {
        if (item.kind === 'frame') handled.push(item.value.id as number);
        pending -= 1;
      },
      pending: () => pending,
      open: () => true,
    });
    inbound.receive(frames(ANSWERS_PER_TURN * 2 + 5));
    expect(handled).toHaveLength(ANSWERS_PER_TURN);
    expect(inbound.waiting).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(handled).toEqual(Array.from({ length: ANSWERS_PER_TURN * 2 + 5 }, (_, i) => i + 1));
    expect(inbound.waiting).toBe(false);
  });

  it('a handler that handles everything from inside (a close) leaves no frame handled twice', () => {
    const handled: number[] = [];
    const inbound: InboundFrames = new InboundFrames({
      handle: (item) => {
        if (item.kind !== 'frame') return;
        handled.push(item.value.id as number);
        if (item.value.id === 2) inbound.handleAll();
      },
      pending: () => 1_000,
      open: () => true,
    });
    inbound.receive(frames(6));
    expect(handled).toEqual([1, 2, 3, 4, 5, 6]);
    expect(inbound.waiting).toBe(false);
  });
});
