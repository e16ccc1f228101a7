/**
 * Two license servers, the primary dies, its seats move to the secondary; the primary comes back and
 * new work fails back to it. Every client event is printed as it happens.
 *
 *   node --import tsx examples/failover.ts
 */
// In your app: from 'lv-license-client' and 'lv-license-client/testing'.
import { LicenseClient } from '../src/index.js';
import { FakeLicenseServer } from '../src/testing/index.js';

const primary = await FakeLicenseServer.start({ licenses: { FULL: 2 } });
const secondary = await FakeLicenseServer.start({ licenses: { FULL: 4 } });
const name = (server: string) => (server === primary.address ? 'primary' : 'secondary');
const seats = () =>
  `seats: primary ${primary.listening ? primary.inUse() : 'down'}, secondary ${secondary.inUse()}`;
const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const started = Date.now();
const log = (line: string) =>
  console.log(`${`+${((Date.now() - started) / 1_000).toFixed(2)}s`.padStart(7)}  ${line}`);

const client = new LicenseClient({
  servers: `${primary.address};${secondary.address}`, // LICENSE_SERVERS order is priority order
  licenseType: 'SpeechPort',
  gracePeriod: 1_000, // seats wait this long for their server to come back before they move (default 10 s)
  reconnectDelay: { min: 100, max: 500 },
  licenseCachePeriod: 0,
});

client.on('connect', ({ server, reconnected }) =>
  log(`connect          ${name(server)}${reconnected ? ' (reconnected)' : ''}`),
);
client.on('disconnect', ({ server, error }) =>
  log(`disconnect       ${name(server)}: ${error.codeName} (${error.code})`),
);
client.on('retry', ({ server, attempt, operation }) =>
  log(`retry            ${operation} #${attempt}${server === undefined ? '' : ` on ${name(server)}`}`),
);
client.on('failover', ({ from, to, operation, error }) =>
  log(`failover         ${operation}: ${name(from)} -> ${name(to)} (${name(from)} said ${error.code})`),
);
client.on('lease-reclaimed', ({ lease, server }) =>
  log(`lease-reclaimed  ${lease.id} kept on ${name(server)}`),
);
client.on('lease-migrated', ({ lease, from, to }) =>
  log(`lease-migrated   ${lease.id} ${name(from)} -> ${name(to)}`),
);
client.on('lease-lost', ({ lease, error }) => log(`lease-lost       ${lease.id}: ${error.message}`));
client.on('error', (error) => log(`error            ${error.message}`));

try {
  log('opening 3 ports: the primary has 2 licenses, so the third fails over');
  const ports = [await client.openPort(), await client.openPort(), await client.openPort()];
  log(`ports on ${ports.map((p) => name(p.lease?.server ?? '?')).join(', ')}; ${seats()}`);

  log('>>> the primary dies');
  await primary.stop();
  await wait(2_000);
  log(`ports on ${ports.map((p) => name(p.lease?.server ?? '?')).join(', ')}; ${seats()}`);
  for (const port of ports) await client.loadVoiceChannel(port, 1); // still licensed: no call was dropped

  log('>>> the primary is back');
  await primary.restart();
  await wait(1_000);
  const fresh = await client.openPort();
  log(`a new port goes to the ${name(fresh.lease?.server ?? '?')} again (fail back); ${seats()}`);

  for (const port of [...ports, fresh]) await port.close();
  log(`all ports closed; ${seats()}`);
} finally {
  await client.close();
  await Promise.all([primary.close(), secondary.close()]);
}
