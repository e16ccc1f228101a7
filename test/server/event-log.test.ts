import { mkdtemp, readFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EventLog, eventLine, type ServerEvent } from '../../src/server/index.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lv-events-'));
  dirs.push(dir);
  return dir;
}

const grant = (lease: string): ServerEvent => ({
  type: 'grant',
  time: Date.parse('2026-11-30T10:00:00Z'),
  account: 'alice',
  feature: 'FULL',
  count: 1,
  lease,
  client: '127.0.0.1',
  connection: 3,
  kind: 'new',
  waited: false,
});

describe('EventLog', () => {
  it('writes one JSON line per event, time first as ISO 8601, and no request events', () => {
    expect(eventLine(grant('a'))).toBe(
      '{"time":"2026-11-30T10:00:00.000Z","type":"grant","account":"alice","feature":"FULL","count":1,"lease":"a","client":"127.0.0.1","connection":3,"kind":"new","waited":false}\n',
    );
    expect(eventLine({ type: 'request', time: 0, op: 'acquire', seconds: 0.001 })).toBeUndefined();
  });

  it('appends (mode 0640), starts with a start line when asked, and reopens after logrotate moved it', async () => {
    const dir = await tempDir();
    const path = join(dir, 'events.ndjson');
    const log = await EventLog.open(path, { startStore: 'memory' });
    log.write(grant('a'));
    log.write({ type: 'request', time: 0, op: 'acquire', seconds: 0.001 });
    await rename(path, `${path}.1`);
    log.write(grant('b')); // still to the old file: it is open
    await log.reopen();
    log.write(grant('c'));
    await log.close();
    log.write(grant('d')); // closed: ignored
    const old = (await readFile(`${path}.1`, 'utf8')).trimEnd().split('\n');
    expect(old.map((l) => JSON.parse(l).lease ?? JSON.parse(l).type)).toEqual(['start', 'a', 'b']);
    expect(
      (await readFile(path, 'utf8'))
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l).lease),
    ).toEqual(['c']);
    expect((await stat(path)).mode & 0o777).toBe(0o640);
  });

  it('drops lines, counted and told once, rather than buffer without bound', async () => {
    const dir = await tempDir();
    const warnings: string[] = [];
    const log = await EventLog.open(join(dir, 'events.ndjson'), {
      maxBufferedBytes: 1,
      warn: (l) => warnings.push(l),
    });
    for (let i = 0; i < 50; i += 1) log.write(grant(`l${i}`));
    expect(log.dropped).toBeGreaterThan(0);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('not keeping up');
    await log.close();
  });

  it('refuses a path it cannot open, and keeps the file in force when a reopen fails', async () => {
    const dir = await tempDir();
    await expect(EventLog.open(join(dir, 'missing', 'events.ndjson'))).rejects.toMatchObject({
      code: 'ENOENT',
    });
    const path = join(dir, 'events.ndjson');
    const log = await EventLog.open(path);
    await rm(dir, { recursive: true, force: true });
    await expect(log.reopen()).rejects.toMatchObject({ code: 'ENOENT' });
    await log.close();
  });
});
