import { describe, expect, it } from 'vitest';
import { InOrder } from '../../src/server/in-order.js';

describe('InOrder', () => {
  it('starts a step at once when none is under way, else after the ones asked for before it', async () => {
    const queue = new InOrder();
    const seen: string[] = [];
    let release: () => void = () => {};
    const first = queue.run(async () => {
      seen.push('first starts');
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      seen.push('first ends');
    });
    // Started before run() returned.
    expect(seen).toEqual(['first starts']);
    const second = queue.run(async () => {
      seen.push('second');
      return 2;
    });
    expect(seen).toEqual(['first starts']);
    release();
    await first;
    expect(await second).toBe(2);
    expect(seen).toEqual(['first starts', 'first ends', 'second']);
  });

  it('goes on after a step that failed, and the failure reaches only its caller', async () => {
    const queue = new InOrder();
    const failed = queue.run(() => Promise.reject(new Error('no')));
    const next = queue.run(async () => 'ran');
    await expect(failed).rejects.toThrow('no');
    await expect(next).resolves.toBe('ran');
    // Idle again: the next step starts at once.
    let started = false;
    const last = queue.run(async () => {
      started = true;
    });
    expect(started).toBe(true);
    await last;
  });
});
