/**
 * npm run demo: a simulated IVR against two bundled license servers, in one process, in about 20 s.
 *
 * Calls arrive on timers; each opens a port (one license), loads its voice channel, holds the call and
 * hangs up. Along the way the primary server's connections are reset (the client reclaims its seats),
 * then the primary is killed (seats move to the secondary, new calls fail over) and restarted (new calls
 * fail back). The summary counts calls served and refused, and the seats left on the servers after
 * client.close(): seats leaked must be 0 (the exit status is 1 otherwise).
 */
import { rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// In your app: from 'lv-license-client' and 'lv-license-client/testing'.
import { describeReturnCode, LicenseClient, OpenPortError, type Port, toReturnCode } from '../src/index.js';
import { FakeLicenseServer } from '../src/testing/index.js';

const CALLS_UNTIL = 15_000;
const BLIP_AT = 3_000;
const KILL_AT = 5_500;
const RESTART_AT = 10_000;
const RUSH_AT = 13_000;
const RUSH_CALLS = 8;
const SEATS = { A: 4, B: 8 } as const;

const color = process.stdout.isTTY === true && (process.env.NO_COLOR ?? '') === '';
type Style = (text: string) => string;
const paint =
  (code: number): Style =>
  (text) =>
    color ? `\x1b[${code}m${text}\x1b[0m` : text;
const bold = paint(1);
const dim = paint(2);
const red = paint(31);
const green = paint(32);
const yellow = paint(33);
const cyan = paint(36);
const plain: Style = (text) => text;

/** A seeded random generator, so every run offers the same calls. */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const started = Date.now();
const primary = await FakeLicenseServer.start({ licenses: { FULL: SEATS.A }, leaseTtl: 4_000 });
const secondary = await FakeLicenseServer.start({ licenses: { FULL: SEATS.B }, leaseTtl: 4_000 });
const names = new Map([
  [primary.address, 'A'],
  [secondary.address, 'B'],
]);
const nameOf = (server: string) => names.get(server) ?? server;

function bar(server: FakeLicenseServer, total: number): string {
  const name = nameOf(server.address);
  if (!server.listening) return `${name} ${red('×'.repeat(total))} down`;
  const used = server.inUse();
  return `${name} ${'█'.repeat(used)}${'░'.repeat(Math.max(0, total - used))} ${used}/${total}`;
}

/** One line: the time, what happened, and the seats in use on each server right now. */
function say(symbol: string, text: string, style: Style = plain): void {
  const at = `+${((Date.now() - started) / 1_000).toFixed(1)}s`.padStart(6);
  const seats = `${bar(primary, SEATS.A)}  ${bar(secondary, SEATS.B)}`;
  console.log(`${dim(at)} ${symbol} ${style(text.padEnd(58))} ${dim(seats)}`);
}

const dir = await mkdtemp(join(tmpdir(), 'lv-license-demo-'));
// Removed at the end below; this also removes it if the demo crashes.
process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
const confPath = join(dir, 'client_property.conf');
await writeFile(
  confPath,
  [
    '# Written by npm run demo; removed when it ends.',
    '[GLOBAL]',
    `LICENSE_SERVERS = ${primary.address};${secondary.address}`,
    'LICENSE_CACHE_PERIOD = 0',
    '',
    '[SRE]',
    'LICENSE_TYPE = SpeechPort',
    '',
  ].join('\n'),
);

console.log(bold('lv-license-client demo: a simulated IVR on two license servers'));
console.log(`  A (primary)   ${primary.address}  ${SEATS.A} FULL licenses`);
console.log(`  B (secondary) ${secondary.address}  ${SEATS.B} FULL licenses`);
console.log(`  ${confPath}: LICENSE_SERVERS = ${primary.address};${secondary.address}`);
console.log(dim('  (timeouts shortened so that the demo takes about 20 seconds)\n'));

const client = await LicenseClient.fromConfigFile(confPath, {
  connectTimeout: 500,
  requestTimeout: 500,
  operationTimeout: 2_000,
  gracePeriod: 1_000,
  reconnectDelay: { min: 100, max: 500 },
});

const callOf = new Map<string, number>();
const counts = {
  offered: 0,
  served: 0,
  refused: 0,
  dropped: 0,
  failovers: 0,
  reclaimed: 0,
  migrated: 0,
  lost: 0,
};
const refusals = new Map<string, number>();

client.on('connect', ({ server, reconnected }) =>
  say(green('●'), `${reconnected ? 'reconnected' : 'connected'} to ${nameOf(server)}`),
);
client.on('disconnect', ({ server, error }) =>
  say(red('✖'), `lost ${nameOf(server)}: ${error.codeName} (${error.code})`),
);
client.on('failover', ({ from, to, operation, error }) => {
  counts.failovers++;
  say(
    yellow('↪'),
    `failover ${nameOf(from)} → ${nameOf(to)} for ${operation} (${nameOf(from)}: ${error.code})`,
  );
});
client.on('lease-reclaimed', ({ lease, server }) => {
  counts.reclaimed++;
  say(cyan('↺'), `call ${callOf.get(lease.id) ?? '?'} kept its seat on ${nameOf(server)} (reclaimed by id)`);
});
client.on('lease-migrated', ({ lease, from, to }) => {
  counts.migrated++;
  say(cyan('⇢'), `call ${callOf.get(lease.id) ?? '?'} seat moved ${nameOf(from)} → ${nameOf(to)}`);
});
client.on('lease-lost', ({ lease, error }) => {
  counts.lost++;
  say(red('✖'), `call ${callOf.get(lease.id) ?? '?'} lost its license (${error.code})`);
});
client.on('error', (error) => say(red('!'), error.message));

let lastCall = 0;

/** One call: open a port, load the voice channel, talk, load it again (the next prompt), hang up. */
async function call(holdMs: number): Promise<void> {
  const n = ++lastCall;
  counts.offered++;
  let port: Port;
  try {
    port = await client.openPort();
  } catch (err) {
    counts.refused++;
    const status = err instanceof OpenPortError ? err.status : toReturnCode(err);
    const key = `${toReturnCode(err)}, status ${status} ${describeReturnCode(status).name}`;
    refusals.set(key, (refusals.get(key) ?? 0) + 1);
    say(red('☎'), `call ${n} refused (OpenPort ${toReturnCode(err)}, status ${status}): busy prompt`);
    return;
  }
  const lease = port.lease;
  if (lease !== undefined) callOf.set(lease.id, n);
  try {
    await client.loadVoiceChannel(port, 0, new Uint8Array(160));
    say(green('☎'), `call ${n} answered on ${nameOf(lease?.server ?? '?')}`);
    await sleep(holdMs / 2);
    await client.loadVoiceChannel(port, 0, new Uint8Array(160));
    await sleep(holdMs / 2);
    await port.close();
    counts.served++;
    say(dim('☎'), `call ${n} hung up after ${(holdMs / 1_000).toFixed(1)}s`, dim);
  } catch (err) {
    await port.close();
    counts.dropped++;
    say(red('☎'), `call ${n} dropped: ${toReturnCode(err)} ${err instanceof Error ? err.name : ''}`);
  }
}

async function operator(): Promise<void> {
  await sleep(BLIP_AT);
  say(yellow('⚡'), 'network blip: A resets every connection', bold);
  primary.dropConnections();
  await sleep(KILL_AT - BLIP_AT);
  say(red('✝'), 'A is killed', bold);
  await primary.stop();
  await sleep(RESTART_AT - KILL_AT);
  say(green('✚'), 'A is restarted', bold);
  await primary.restart();
}

/** A rush: many calls at once, more than the servers have licenses for. */
async function rush(calls: Promise<void>[], next: () => number): Promise<void> {
  await sleep(RUSH_AT);
  say(yellow('☎'), `rush: ${RUSH_CALLS} calls at once`, bold);
  for (let i = 0; i < RUSH_CALLS; i++) calls.push(call(2_000 + next() * 2_000));
}

let exitCode = 0;
try {
  const next = random(7569);
  const calls: Promise<void>[] = [];
  const ops = operator();
  const burst = rush(calls, random(5730));
  while (Date.now() - started < CALLS_UNTIL) {
    calls.push(call(2_000 + next() * 2_500));
    await sleep(400 + next() * 400);
  }
  await Promise.all([ops, burst]);
  await Promise.all(calls);
  await client.close();
  const leaked = primary.inUse() + secondary.inUse();
  exitCode = leaked === 0 ? 0 : 1;

  const line = (label: string, value: number, note = '') =>
    console.log(`  ${label.padEnd(16)} ${String(value).padStart(3)}${note === '' ? '' : `  ${dim(note)}`}`);
  console.log(`\n${bold('Summary')}`);
  line('calls offered', counts.offered);
  line('calls served', counts.served);
  line('calls refused', counts.refused, [...refusals].map(([k, v]) => `${v} × OpenPort ${k}`).join('; '));
  line('calls dropped', counts.dropped, 'license lost mid-call');
  line('failovers', counts.failovers);
  line('seats reclaimed', counts.reclaimed, 'after the blip, same server, same lease id');
  line('seats migrated', counts.migrated, 'off the dead primary after the grace period');
  line('seats lost', counts.lost);
  console.log(
    `  ${'seats leaked'.padEnd(16)} ${(leaked === 0 ? green : red)(String(leaked).padStart(3))}  ${dim('seats still held on the servers after client.close()')}`,
  );
} catch (err) {
  exitCode = 1;
  console.error(red('The demo failed:'), err);
} finally {
  await client.close();
  await Promise.all([primary.close(), secondary.close()]);
  await rm(dir, { recursive: true, force: true });
}
process.exitCode = exitCode;
