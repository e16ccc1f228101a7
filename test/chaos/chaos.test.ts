/**
 * Chaos: three fake servers with small pools, twenty clients opening and closing ports and acquiring and
 * releasing at random, while the servers are stopped, restarted, paused, resumed and have their
 * connections dropped. Replay a failing run with CHAOS_SEED=<seed>; run longer with CHAOS_DURATION_MS
 * (`npm run soak`).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import {
  clientViolations,
  holdingViolations,
  leftovers,
  openSockets,
  poolViolations,
  resourceCounts,
} from './invariants.js';
import { chaosSeed, makeRng } from './prng.js';
import { ChaosWorld, LEASE_TTL } from './world.js';

const SEED = chaosSeed();
const DURATION_MS = Number(process.env.CHAOS_DURATION_MS ?? 12_000);
/** How long the clients get, after the faults stop, to reconnect, reclaim and release orphans. */
const SETTLE_MS = 4 * LEASE_TTL + 2_000;
const POLL_MS = 50;

// Servers that batch (protocol 1.2), and the same with one that does not (1.1): same seed, same checks.
describe.each(['all', 'all but one'] as const)('chaos (%s of the servers batch)', (batching) => {
  it(
    `keeps every invariant under random faults (seed ${SEED}; replay with CHAOS_SEED=${SEED})`,
    async () => {
      const tag = `[chaos seed=${SEED}; replay: CHAOS_SEED=${SEED} npx vitest run test/chaos]`;
      const rejections: unknown[] = [];
      const onRejection = (reason: unknown) => rejections.push(reason);
      process.on('unhandledRejection', onRejection);
      const baseline = resourceCounts();
      const world = new ChaosWorld(makeRng(SEED), batching);
      const report = (phase: string) =>
        [
          `${tag} INVARIANT VIOLATED (${phase}):`,
          ...world.violations.slice(0, 25).map((v) => `  - ${v}`),
          `  auth mode: ${world.authMode}; stats: ${JSON.stringify(world.stats)}`,
        ].join('\n');

      let polling = true;
      try {
        await world.start(3, 20);
        const check = (when: string) => {
          for (const v of poolViolations(world.serverSnapshots())) world.violations.push(`${when}: ${v}`);
          for (const v of clientViolations(world.clientSnapshots())) world.violations.push(`${when}: ${v}`);
        };
        const poller = (async () => {
          while (polling) {
            check('poll');
            await sleep(POLL_MS);
          }
        })();

        const workers = world.work();
        const faults = world.faults((fault) => check(`after ${fault}`));
        await sleep(DURATION_MS);
        await world.stopFaults(faults);
        world.stopWork();
        await Promise.all(workers);
        check('after the faults stopped');

        // Settle: heartbeats find what the servers lost, reclaims and migrations finish, orphans are
        // released and the leases nobody renews expire.
        let holding: string[] = [];
        let stable = 0;
        const settleBy = Date.now() + SETTLE_MS;
        while (Date.now() < settleBy && stable < 3) {
          await sleep(100);
          holding = holdingViolations(world.serverSnapshots(), world.clientSnapshots());
          stable = holding.length === 0 ? stable + 1 : 0;
        }
        polling = false;
        await poller;
        for (const v of holding) world.violations.push(`after settling ${SETTLE_MS} ms: ${v}`);
        world.stats.settledIn = SETTLE_MS - (settleBy - Date.now());
        world.stats.heldAtEnd = world.servers.map((s) => s.server.inUse());
        world.stats.batches = world.batchesReceived();
        expect(world.violations, report('during the run or after settling')).toEqual([]);

        // Liveness: once the application gives everything back, the seats return to the servers, and
        // every client can still reach a server and open a port.
        await world.releaseEverything();
        const freeBy = Date.now() + 2 * LEASE_TTL + 1_000;
        while (Date.now() < freeBy && world.servers.some((s) => s.server.inUse() > 0)) await sleep(POLL_MS);
        for (const s of world.servers) {
          if (s.server.inUse() > 0) {
            world.violations.push(
              `${s.name} still holds ${s.server.inUse()} seats after the clients gave everything back`,
            );
          }
        }
        world.violations.push(...(await world.stillWorking()));
        check('after the liveness check');
        expect(world.violations, report('liveness after the chaos')).toEqual([]);

        await world.close();
        // Seats the clients could not give back in time expire after one TTL.
        const emptyBy = Date.now() + 2 * LEASE_TTL + 1_000;
        while (Date.now() < emptyBy && world.servers.some((s) => s.server.inUse() > 0)) await sleep(POLL_MS);
        for (const s of world.servers) {
          if (s.server.inUse() > 0)
            world.violations.push(
              `${s.name} still holds ${s.server.inUse()} seats after every client closed`,
            );
        }
        expect(world.violations, report('after closing the clients')).toEqual([]);
      } finally {
        polling = false;
        await world.close().catch(() => {});
        await world.closeServers();
        process.off('unhandledRejection', onRejection);
      }

      let left: string[] = [];
      const cleanBy = Date.now() + 3_000;
      do {
        await sleep(POLL_MS);
        left = leftovers(baseline, resourceCounts());
      } while (left.length > 0 && Date.now() < cleanBy);
      expect(
        left,
        `${tag} handles left open after closing every client and server; sockets: ${openSockets(world.serverPorts()).join('; ')}`,
      ).toEqual([]);
      expect(rejections.map(String), `${tag} unhandled rejections`).toEqual([]);
      console.log(
        `${tag} ok (auth mode: ${world.authMode}; batching: ${batching}): ${JSON.stringify(world.stats)}`,
      );
    },
    DURATION_MS + 60_000,
  );
});
