// A reload that removes a server while acquires and releases are in flight there: once the client lets
// go of the removed server, that server holds no seat of the client (seen on both sides).
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Lease, LicenseClient, type Logger } from '../../src/index.js';
import { FAST, startServer, track } from '../helpers/cluster.js';

const cleanups: Array<() => Promise<void>> = [];
const rejections: unknown[] = [];
const onRejection = (reason: unknown) => rejections.push(reason);
beforeEach(() => {
  rejections.length = 0;
  process.on('unhandledRejection', onRejection);
});
afterEach(async () => {
  process.off('unhandledRejection', onRejection);
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

describe('a reload with calls in flight', () => {
  // Without a logger, a release takes the client's fast path; with one, the path that logs it.
  for (const logger of [undefined, quiet]) {
    it(`leaves no seat on the server it removed (256 acquire/release pairs running, logger: ${logger !== undefined})`, async () => {
      const a = await startServer({ licenses: { TTS: 300 } });
      const b = await startServer({ licenses: { TTS: 300 } });
      const dir = await mkdtemp(join(tmpdir(), 'lv-reload-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      const file = join(dir, 'client_property.conf');
      const conf = (servers: string) => `[GLOBAL]\nLICENSE_SERVERS = ${servers}\nLICENSE_CACHE_PERIOD = 0\n`;
      writeFileSync(file, conf(a.address), { mode: 0o600 });
      const client = track(await LicenseClient.fromConfigFile(file, { ...FAST, watch: true, logger }));
      await client.connect();
      let stopping = false;
      let pairs = 0;
      const failures: unknown[] = [];
      const run = async () => {
        while (!stopping) {
          let lease: Lease;
          try {
            lease = await client.acquire('TTS');
          } catch (err) {
            failures.push(err);
            continue;
          }
          await lease.release();
          pairs++;
        }
      };
      const runners = Array.from({ length: 256 }, run);
      while (pairs < 1_000) await nextTurn();
      // The only server is replaced while its grants and releases are in flight.
      writeFileSync(file, conf(b.address), { mode: 0o600 });
      const active = () =>
        client
          .status()
          .servers.filter((s) => s.removed !== true)
          .map((s) => s.server);
      await expect.poll(active, { timeout: 5_000 }).toEqual([b.address]);
      const onB = pairs;
      while (pairs < onB + 1_000) await nextTurn();
      stopping = true;
      await Promise.all(runners);
      expect(failures).toEqual([]);
      // The removed server is let go once nothing of the client is held there...
      await expect
        .poll(() => client.status().servers.map((s) => s.server), { timeout: 5_000 })
        .toEqual([b.address]);
      expect(client.status().leases).toEqual([]);
      // ...and by then it has every seat back (none waits for its TTL).
      expect(a.inUse()).toBe(0);
      expect(b.inUse()).toBe(0);
      expect(rejections).toEqual([]);
    });
  }
});
