/** LeaseRun: which requests of one connection may go to the store together, and when a run ends. */
import { describe, expect, it } from 'vitest';
import { LeaseRun } from '../../src/server/lease-run.js';
import { acquireRequest, releaseRequest } from '../helpers/frames.js';

const acquire = acquireRequest;
const release = releaseRequest;

describe('LeaseRun', () => {
  it('is started by an acquire or a release, never by another operation', () => {
    expect(LeaseRun.startedBy(acquire(1, 'a'))?.op).toBe('acquire');
    expect(LeaseRun.startedBy(release(1, 'a'))?.op).toBe('release');
    expect(LeaseRun.startedBy({ id: 1, op: 'renew', leases: ['a'] })).toBeUndefined();
    expect(LeaseRun.startedBy({ id: 1, op: 'ping' })).toBeUndefined();
  });

  it('admits requests of its own operation that name other leases, and nothing else', () => {
    const first = acquire(1, 'a');
    const run = LeaseRun.startedBy(first);
    if (run === undefined) throw new Error('no run');
    run.add(first, new Promise(() => {}));
    expect(run.admits(acquire(2, 'b'))).toBe(true);
    expect(run.admits(acquire(3, 'a'))).toBe(false); // the same lease: its answer depends on the first's
    expect(run.admits(release(4, 'b'))).toBe(false); // another operation
    expect(run.admits({ id: 5, op: 'status' })).toBe(false);

    const releases = LeaseRun.startedBy(release(6, 'x', 'y'));
    if (releases === undefined) throw new Error('no run');
    releases.add(release(6, 'x', 'y'), new Promise(() => {}));
    expect(releases.admits(release(7, 'z'))).toBe(true);
    expect(releases.admits(release(8, 'z', 'y'))).toBe(false);
    expect(releases.admits(acquire(9, 'z'))).toBe(false);
  });

  it('ends when the last of its requests is answered, whichever way, and says so synchronously', async () => {
    const first = acquire(1, 'a');
    const run = LeaseRun.startedBy(first);
    if (run === undefined) throw new Error('no run');
    let answerA: () => void = () => {};
    let failB: (err: Error) => void = () => {};
    run.add(first, new Promise<void>((resolve) => (answerA = resolve)));
    run.add(acquire(2, 'b'), new Promise<void>((_, reject) => (failB = reject)));
    const ended: string[] = [];
    run.onIdle(() => ended.push(run.idle ? 'idle' : 'busy'));
    const whenIdle = run.whenIdle().then(() => ended.push('whenIdle'));
    answerA();
    await Promise.resolve();
    expect(ended).toEqual([]);
    expect(run.idle).toBe(false);
    failB(new Error('the store failed'));
    await whenIdle;
    expect(ended).toEqual(['idle', 'whenIdle']);
    // A listener added once the run is idle is called at once.
    run.onIdle(() => ended.push('late'));
    expect(ended.at(-1)).toBe('late');
  });
});
