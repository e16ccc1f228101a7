import { describe, expect, it } from 'vitest';
import { CallDeadlines } from '../src/client/call-deadlines.js';
import { TimeoutError } from '../src/errors.js';
import { LightSignal } from '../src/signal.js';
import { delay } from '../src/timing.js';

describe('LightSignal', () => {
  it('calls each listener once, with the reason set, and none added after it fired', () => {
    const signal = new LightSignal();
    const seen: unknown[] = [];
    const first = () => seen.push(['first', signal.aborted, signal.reason]);
    const removed = () => seen.push('removed');
    signal.addEventListener('abort', first);
    signal.addEventListener('abort', removed);
    signal.removeEventListener('abort', removed);
    signal.abort('why');
    signal.abort('again');
    signal.addEventListener('abort', () => seen.push('late'));
    expect(seen).toEqual([['first', true, 'why']]);
    expect(signal.reason).toBe('why');
    expect(() => signal.throwIfAborted()).toThrow('why');
  });

  it('ends a delay() as an AbortSignal would', async () => {
    const signal = new LightSignal();
    const waiting = delay(60_000, signal);
    signal.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
  });
});

describe('CallDeadlines', () => {
  it("follows the caller's AbortSignal, and stops listening to it when the call is done", () => {
    const calls = new CallDeadlines(() => 60_000);
    const caller = new AbortController();
    const call = calls.start(caller.signal, 0, 'acquire()');
    const reason = new Error('caller');
    caller.abort(reason);
    expect(call.signal.aborted).toBe(true);
    expect(call.signal.reason).toBe(reason);
    call.done();

    const later = new AbortController();
    const done = calls.start(later.signal, 0, 'acquire()');
    done.done();
    later.abort(new Error('after the call'));
    expect(done.signal.aborted).toBe(false);
  });

  it('fires at the deadline with a TimeoutError, and abortAll() reaches calls started afterwards', async () => {
    const calls = new CallDeadlines(() => 1);
    const call = calls.start(undefined, 0, 'acquire()');
    await new Promise<void>((resolve) => call.signal.addEventListener('abort', resolve));
    expect(call.signal.reason).toBeInstanceOf(TimeoutError);
    call.done();
    const closing = new CallDeadlines(() => 60_000);
    const closed = new TimeoutError('closed');
    closing.abortAll(closed);
    expect(closing.start(undefined, 0, 'acquire()').signal.reason).toBe(closed);
  });
});
