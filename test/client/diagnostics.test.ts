/**
 * The client on node:diagnostics_channel: the tracing channels of each call and the event channels, with
 * their payloads, against the real fake server.
 */
import { channel, tracingChannel } from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import type { CallContext } from '../../src/index.js';
import { makeClient, startServer } from '../helpers/cluster.js';

const unsubscribe: Array<() => void> = [];
afterEach(() => {
  for (const stop of unsubscribe.splice(0)) stop();
});

function trace(name: string) {
  const seen: Array<{ phase: string; context: CallContext }> = [];
  const handlers = {
    start: (context: unknown) => seen.push({ phase: 'start', context: { ...(context as CallContext) } }),
    asyncEnd: (context: unknown) =>
      seen.push({ phase: 'asyncEnd', context: { ...(context as CallContext) } }),
    error: (context: unknown) => seen.push({ phase: 'error', context: { ...(context as CallContext) } }),
  };
  const tracer = tracingChannel(`lv-license:${name}`);
  tracer.subscribe(handlers as never);
  unsubscribe.push(() => tracer.unsubscribe(handlers as never));
  return seen;
}

function listen(name: string) {
  const seen: unknown[] = [];
  const handler = (message: unknown) => seen.push(message);
  channel(`lv-license:${name}`).subscribe(handler);
  unsubscribe.push(() => channel(`lv-license:${name}`).unsubscribe(handler));
  return seen;
}

describe('diagnostics_channel', () => {
  it('traces openPort, loadVoiceChannel, acquire and release with their lease, server and codes', async () => {
    const server = await startServer({ licenses: { FULL: 1, TTS: 1 } });
    const client = makeClient([server]);
    const openPort = trace('openPort');
    const acquire = trace('acquire');
    const release = trace('release');
    const load = trace('loadVoiceChannel');
    const port = await client.openPort();
    await client.loadVoiceChannel(port, 1);
    const tts = await client.acquire('TTS');
    await tts.release();
    await expect(client.acquire('TTS', { count: 2 })).rejects.toMatchObject({ code: -54 });
    expect(openPort.map((e) => e.phase)).toEqual(['start', 'asyncEnd']);
    expect(openPort[0]?.context).toMatchObject({ operation: 'openPort', feature: 'Auto', count: 1 });
    expect(openPort[1]?.context).toMatchObject({
      lease: port.lease?.id,
      server: server.address,
      port: port.id,
    });
    expect(load[1]?.context).toMatchObject({
      operation: 'loadVoiceChannel',
      lease: port.lease?.id,
      server: server.address,
    });
    expect(acquire[1]?.context).toMatchObject({
      operation: 'acquire',
      feature: 'TTS',
      lease: tts.id,
      server: server.address,
    });
    expect(release[0]?.context).toMatchObject({
      operation: 'release',
      lease: tts.id,
      feature: 'TTS',
      server: server.address,
    });
    const failed = acquire.filter((e) => e.phase === 'error');
    expect(failed).toHaveLength(1);
    expect(failed[0]?.context).toMatchObject({ operation: 'acquire', feature: 'TTS', count: 2, code: -54 });
  });

  it('publishes connect, disconnect, failover, reclaim, migrate and lost events', async () => {
    const a = await startServer({ licenses: { FULL: 1 } });
    const b = await startServer({ licenses: { FULL: 1 } });
    const seen = {
      connect: listen('connect'),
      disconnect: listen('disconnect'),
      failover: listen('failover'),
      reclaim: listen('reclaim'),
      migrate: listen('migrate'),
      lost: listen('lost'),
    };
    const client = makeClient([a, b]);
    const first = await client.acquire('FULL');
    await client.acquire('FULL'); // a is full: the call fails over to b
    expect(seen.connect).toContainEqual({ server: a.address, reconnected: false });
    expect(seen.failover).toContainEqual({ from: a.address, to: b.address, operation: 'acquire', code: -26 });
    a.dropConnections();
    await expect.poll(() => seen.reclaim.length).toBeGreaterThan(0);
    expect(seen.disconnect).toContainEqual({ server: a.address, code: expect.any(Number) });
    expect(seen.reclaim).toContainEqual({ lease: first.id, server: a.address });
    await a.stop();
    await expect.poll(() => seen.lost.length + seen.migrate.length, { timeout: 5_000 }).toBeGreaterThan(0);
    const moved = [...seen.migrate, ...seen.lost] as Array<{ lease: string }>;
    expect(moved[0]?.lease).toBe(first.id);
    expect(JSON.stringify(seen)).not.toMatch(/password|secret/i);
  });
});
