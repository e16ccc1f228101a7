/**
 * npm run demo:server: the license server as its operator sees it, in one process, in about 8 s.
 *
 * A hosted license server has two customers: "acme" with 4 FULL seats and "globex" with 2, whose IVR
 * takes more calls than it has seats for. Calls arrive on timers for a few seconds; each takes a FULL
 * seat, holds the call, and hangs up. The server writes its event log, the admin listener serves
 * /metrics and /readyz, and at the end the demo prints a few metrics and the usage report
 * (`lv-license report --events FILE` does the same from the command line).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// In your app: from 'lv-license-client' and 'lv-license-client/server'.
import { LicenseClient, LicenseError } from '../src/index.js';
import { EventLog, LicenseServer, reportFromFile, startAdmin } from '../src/server/index.js';

const CALLS_FOR_MS = 5_000;
const TOKEN = 'demo-read-token-7f3a9c21';

const dir = await mkdtemp(join(tmpdir(), 'lv-server-demo-'));
const eventsPath = join(dir, 'events.ndjson');
const events = await EventLog.open(eventsPath);
const server = await LicenseServer.start({
  accounts: {
    acme: { password: 'acme-demo-password', licenses: { FULL: 4 } },
    globex: { password: 'globex-demo-password', licenses: { FULL: 2 } },
  },
});
events.start('memory');
server.onEvent((event) => events.write(event));
const admin = await startAdmin(server, { port: 0, tokens: { read: [TOKEN], admin: [] } });
console.log(`license server on ${server.address}, admin API on ${admin.url}, event log ${eventsPath}`);

/** One customer's IVR: a call every `everyMs`, each holding its seat for `holdMs`. */
async function ivr(account: string, password: string, everyMs: number, holdMs: number) {
  const client = new LicenseClient({
    servers: server.address,
    username: account,
    password,
    licenseCachePeriod: 0,
  });
  let served = 0;
  let busy = 0;
  const calls: Promise<void>[] = [];
  const started = Date.now();
  while (Date.now() - started < CALLS_FOR_MS) {
    calls.push(
      (async () => {
        try {
          const lease = await client.acquire('FULL');
          served += 1;
          await new Promise((resolve) => setTimeout(resolve, holdMs));
          await lease.release();
        } catch (err) {
          if (!(err instanceof LicenseError)) throw err;
          busy += 1; // the IVR plays its busy prompt
        }
      })(),
    );
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  await Promise.all(calls);
  await client.close();
  console.log(`${account.padEnd(7)} calls served ${served}, turned away ${busy}`);
}

await Promise.all([
  ivr('acme', 'acme-demo-password', 250, 700),
  ivr('globex', 'globex-demo-password', 150, 900),
]);

const ready = await fetch(`${admin.url}/readyz`);
console.log(`\nGET /readyz: ${ready.status} ${JSON.stringify(await ready.json())}`);
const metrics = await (await fetch(`${admin.url}/metrics`)).text();
console.log('GET /metrics (the license series):');
for (const line of metrics.split('\n')) {
  if (/^lv_license_(grants|denials|seats_total|seats_in_use)/.test(line)) console.log(`  ${line}`);
}

await admin.close();
await server.close();
await events.close();
const report = await reportFromFile(eventsPath);
console.log('\nusage report (lv-license report --events FILE):');
console.table(report.rows());
console.log(
  'Every IVR here connects from 127.0.0.1, so a grant to one counts as serving the denials before it: on a\n' +
    'real network each node has its own address, and "turned away" counts the callers who got no seat.',
);
await rm(dir, { recursive: true, force: true });
