import { mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
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
    const log = await EventLog.open(path);
    log.start('memory');
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

  it('drops lines rather than buffer without bound, and marks the gap in the file once it writes again', async () => {
    const dir = await tempDir();
    const path = join(dir, 'events.ndjson');
    const warnings: string[] = [];
    const log = await EventLog.open(path, { maxBufferedBytes: 1, warn: (l) => warnings.push(l) });
    for (let i = 0; i < 50; i += 1) log.write(grant(`l${i}`));
    const lost = log.dropped;
    expect(lost).toBeGreaterThan(0);
    expect(warnings).toEqual([expect.stringContaining('lines are being lost')]);
    await new Promise((resolve) => setTimeout(resolve, 50)); // the buffer is written out
    log.write(grant('after'));
    await log.close();
    const lines = (await readFile(path, 'utf8'))
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.at(-2)).toMatchObject({ type: 'gap', lost });
    expect(lines.at(-1)).toMatchObject({ lease: 'after' });
    expect(warnings.at(-1)).toContain(`${lost} line(s) were lost`);
  });

  it('ends a cut last line before appending, so that the next line stays whole', async () => {
    const dir = await tempDir();
    const path = join(dir, 'events.ndjson');
    await writeFile(path, '{"time":"2026-11-30T10:00:00.000Z","type":"grant","acc');
    const log = await EventLog.open(path);
    log.start('memory');
    await log.close();
    const lines = (await readFile(path, 'utf8')).split('\n');
    expect(JSON.parse(lines[1] as string)).toMatchObject({ type: 'start', store: 'memory' });
  });

  it('counts the lines a failing file loses, and tries to reopen it by itself', async () => {
    const warnings: string[] = [];
    const log = await EventLog.open('/dev/full', { warn: (l) => warnings.push(l) });
    log.write(grant('a'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    log.write(grant('b'));
    log.write(grant('c'));
    expect(log.dropped).toBe(2);
    expect(warnings.join('\n')).toMatch(/ENOSPC|no space/i);
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
