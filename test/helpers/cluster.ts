/**
 * Helpers for client tests: several fake servers at once, clients that are always closed, and a
 * recorder of client events.
 */
import { afterEach } from 'vitest';
import { LicenseClient, type LicenseClientEvents, type LicenseClientOptions } from '../../src/index.js';
import { FakeLicenseServer, type FakeLicenseServerOptions } from '../../src/testing/index.js';

const servers: FakeLicenseServer[] = [];
const clients: LicenseClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

export async function startServer(options: FakeLicenseServerOptions = {}): Promise<FakeLicenseServer> {
  const server = await FakeLicenseServer.start({ port: 0, host: '127.0.0.1', ...options });
  servers.push(server);
  return server;
}

/** Two servers with the same options: a primary and a secondary. */
export async function startPair(
  options: FakeLicenseServerOptions = {},
): Promise<[FakeLicenseServer, FakeLicenseServer]> {
  return [await startServer(options), await startServer(options)];
}

/** Fast settings so that failure paths finish quickly in tests. */
export const FAST: LicenseClientOptions = {
  connectTimeout: 500,
  requestTimeout: 500,
  operationTimeout: 3_000,
  gracePeriod: 300,
  reconnectDelay: { min: 20, max: 100 },
  licenseCachePeriod: 0,
};

export function makeClient(
  servers: readonly FakeLicenseServer[],
  options: LicenseClientOptions = {},
): LicenseClient {
  const client = new LicenseClient({ servers: servers.map((s) => s.address).join(';'), ...FAST, ...options });
  clients.push(client);
  return client;
}

export function track(client: LicenseClient): LicenseClient {
  clients.push(client);
  return client;
}

type EventName = keyof LicenseClientEvents;

/** Records every event a client emits, in order. */
export function recordEvents(client: LicenseClient) {
  const events: Array<{ name: EventName; payload: unknown }> = [];
  const names: EventName[] = [
    'connect',
    'disconnect',
    'retry',
    'failover',
    'lease-reclaimed',
    'lease-migrated',
    'lease-lost',
    'queue-position',
    'error',
  ];
  for (const name of names) client.on(name, (payload: unknown) => events.push({ name, payload }));
  return {
    events,
    named: (name: EventName) =>
      events.filter((e) => e.name === name).map((e) => e.payload as Record<string, unknown>),
  };
}
