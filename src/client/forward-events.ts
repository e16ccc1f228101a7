/**
 * Forwards what the pool of servers and the lease keeper report as the client's events and log lines.
 */
import type { ServerPool } from '../cluster/server-pool.js';
import type { LeaseKeeper } from '../leases/lease-keeper.js';
import { publish } from './diagnostics.js';
import type { LicenseClientEvents } from './events.js';
import type { Lease } from './lease.js';
import type { LogFn } from './logger.js';
import type { Port } from './port.js';

/** What the wiring needs from the client. */
export interface EventContext {
  readonly servers: ServerPool;
  readonly keeper: LeaseKeeper;
  readonly log: LogFn;
  emit<K extends keyof LicenseClientEvents>(event: K, ...args: LicenseClientEvents[K]): void;
  /** A server put the acquire under lease `id` in its queue: its feature, if the acquire still waits. */
  queued(id: string): string | undefined;
  /** The application's handle of a lease, if it has one. */
  lease(id: string): Lease | undefined;
  /** The port that holds a lease, if one does. */
  portOf(id: string): Port | undefined;
  /** A lease was lost: if it sat in the license cache, forget it there. */
  lostFromCache(id: string): void;
}

/** Subscribes the client to its servers and lease keeper. */
export function forwardEvents(ctx: EventContext): void {
  const { servers, keeper, log } = ctx;
  servers.on('connect', (info) => {
    log('info', info.reconnected ? 'reconnected' : 'connected', info);
    publish('connect', () => ({ server: info.server, reconnected: info.reconnected }));
    ctx.emit('connect', info);
  });
  servers.on('disconnect', (info) => {
    log('warn', 'disconnected', { server: info.server, error: info.error.message });
    publish('disconnect', () => ({ server: info.server, code: info.error.code }));
    ctx.emit('disconnect', info);
  });
  servers.on('retry', (info) => {
    log('debug', 'retrying', { ...info, error: info.error.message });
    ctx.emit('retry', info);
  });
  servers.on('failover', (info) => {
    log('warn', 'failover', { ...info, error: info.error.message });
    publish('failover', () => ({
      from: info.from,
      to: info.to,
      operation: info.operation,
      code: info.error.code,
    }));
    ctx.emit('failover', info);
  });
  servers.on('push', (push, server) => {
    if (push.push !== 'queue-position') return;
    const feature = ctx.queued(push.lease);
    if (feature !== undefined) {
      ctx.emit('queue-position', { lease: push.lease, feature, position: push.position, server });
    }
  });
  keeper.on('reclaimed', ({ record, server }) => {
    log('info', 'lease reclaimed', { lease: record.id, server });
    publish('reclaim', () => ({ lease: record.id, server }));
    const lease = ctx.lease(record.id);
    if (lease !== undefined) ctx.emit('lease-reclaimed', { lease, server });
  });
  keeper.on('migrated', ({ record, from, to }) => {
    log('warn', 'lease migrated', { lease: record.id, from, to });
    publish('migrate', () => ({ lease: record.id, from, to }));
    const lease = ctx.lease(record.id);
    if (lease !== undefined) ctx.emit('lease-migrated', { lease, from, to });
  });
  keeper.on('lost', ({ record, error }) => {
    const lease = ctx.lease(record.id);
    ctx.lostFromCache(record.id);
    log('error', 'lease lost', { lease: record.id, error: error.message });
    publish('lost', () => ({ lease: record.id, server: error.server, code: error.code }));
    if (lease !== undefined) ctx.emit('lease-lost', { lease, error, port: ctx.portOf(record.id) });
  });
}
