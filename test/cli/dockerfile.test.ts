/**
 * examples/Dockerfile builds and serves, where a Docker engine runs (`docker info` answers); elsewhere this
 * test is skipped and says so. The container's port is published on 127.0.0.1 only.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rawConnect } from '../helpers/raw-client.js';

const ROOT = join(import.meta.dirname, '../..');
const docker = spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 10_000 }).status === 0;

describe.skipIf(!docker)('examples/Dockerfile (needs a Docker engine)', () => {
  it('builds from the packed tarball and serves the protocol', { timeout: 600_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lv-docker-'));
    const tag = `lv-license-test:${process.pid}`;
    try {
      execFileSync('npm', ['pack', '--pack-destination', dir], { cwd: ROOT, stdio: 'ignore' });
      execFileSync('cp', [join(ROOT, 'examples/Dockerfile'), join(dir, 'Dockerfile')]);
      execFileSync('docker', ['build', '-t', tag, dir], { stdio: 'ignore' });
      const id = execFileSync(
        'docker',
        ['run', '-d', '--rm', '-p', '127.0.0.1::7569', tag, '--licenses', 'FULL=2'],
        { encoding: 'utf8' },
      ).trim();
      try {
        const port = Number(
          execFileSync('docker', ['port', id, '7569'], { encoding: 'utf8' }).split(':').pop(),
        );
        await expect
          .poll(
            async () =>
              rawConnect(port).then(
                (c) => {
                  c.close();
                  return true;
                },
                () => false,
              ),
            { timeout: 30_000 },
          )
          .toBe(true);
        const client = await rawConnect(port);
        expect((await client.next((f) => f.type === 'greeting')).version).toBeDefined();
        client.close();
      } finally {
        execFileSync('docker', ['stop', id], { stdio: 'ignore' });
      }
    } finally {
      spawnSync('docker', ['rmi', tag], { stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
