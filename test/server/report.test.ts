import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readLineBatches, reportFromFile, UsageReport } from '../../src/server/index.js';

const T0 = Date.parse('2026-11-30T10:00:00Z');
const MIN = 60_000;
const HOUR = 60 * MIN;

/** One event-log line at T0 + `at` ms. */
function line(at: number, fields: Record<string, unknown>): string {
  return JSON.stringify({
    time: new Date(T0 + at).toISOString(),
    account: 'alice',
    feature: 'FULL',
    count: 1,
    client: '10.0.0.1',
    ...fields,
  });
}

function run(lines: string[], options: ConstructorParameters<typeof UsageReport>[0] = {}) {
  const report = new UsageReport(options);
  for (const l of lines) report.addLine(l);
  return report.rows();
}

describe('UsageReport', () => {
  it('finds the peak and integrates seat-hours between events', () => {
    const rows = run([
      line(0, { type: 'grant', kind: 'new', lease: 'a' }),
      line(30 * MIN, { type: 'grant', kind: 'new', lease: 'b', count: 2 }),
      line(60 * MIN, { type: 'release', lease: 'a' }),
      line(90 * MIN, { type: 'expiry', lease: 'b', count: 2 }),
    ]);
    // 1 seat for 30 min, 3 for 30 min, 2 for 30 min: 0.5 + 1.5 + 1 seat-hours.
    expect(rows).toEqual([
      {
        period: 'all',
        account: 'alice',
        feature: 'FULL',
        peak: 3,
        seatHours: 3,
        grants: 2,
        denials: 0,
        turnedAway: 0,
      },
    ]);
  });

  it('splits seat-hours across the periods a lease spans, with each period its own peak', () => {
    const rows = run(
      [
        line(30 * MIN, { type: 'grant', kind: 'new', lease: 'a' }),
        line(150 * MIN, { type: 'revocation', reason: 'operator', lease: 'a' }),
      ],
      { by: 'hour' },
    );
    expect(rows.map((r) => [r.period, r.peak, r.seatHours, r.grants])).toEqual([
      ['2026-11-30T10:00:00.000Z', 1, 0.5, 1],
      ['2026-11-30T11:00:00.000Z', 1, 1, 0],
      ['2026-11-30T12:00:00.000Z', 1, 0.5, 0],
    ]);
    expect(
      run(
        [line(0, { type: 'grant', kind: 'new', lease: 'a' }), line(HOUR, { type: 'release', lease: 'a' })],
        { by: 'day' },
      ),
    ).toEqual([expect.objectContaining({ period: '2026-11-30T00:00:00.000Z', seatHours: 1 })]);
  });

  it('counts a reclaim as no new seat and no new grant', () => {
    const rows = run([
      line(0, { type: 'grant', kind: 'new', lease: 'a' }),
      line(MIN, { type: 'grant', kind: 'reclaimed', lease: 'a' }),
      line(2 * MIN, { type: 'release', lease: 'a' }),
    ]);
    expect(rows[0]).toMatchObject({ peak: 1, grants: 1 });
  });

  it('counts as turned away only the denials no grant to the same client follows within a minute', () => {
    const rows = run([
      line(0, { type: 'denial', reason: 'exhausted', lease: 'x' }),
      line(30_000, { type: 'denial', reason: 'queue-timeout', lease: 'x' }),
      line(50_000, { type: 'grant', kind: 'new', lease: 'x' }), // serves both
      line(60_000, { type: 'denial', reason: 'exhausted', lease: 'y', client: '10.0.0.2' }),
      line(60_000 + 61_000, { type: 'grant', kind: 'new', lease: 'y', client: '10.0.0.2' }), // too late
      line(200_000, { type: 'denial', reason: 'exhausted', lease: 'z', client: '10.0.0.3' }),
      line(210_000, { type: 'grant', kind: 'new', lease: 'z', client: '10.0.0.4' }), // someone else
      line(300_000, { type: 'denial', reason: 'draining', lease: 'w' }), // went to another server
      line(301_000, { type: 'denial', reason: 'invalid', lease: 'v' }),
      line(302_000, { type: 'denial', reason: 'expired', lease: 'u', account: 'bob' }),
    ]);
    expect(rows.map((r) => [r.account, r.denials, r.turnedAway])).toEqual([
      ['alice', 6, 2],
      ['bob', 1, 1],
    ]);
  });

  it('counts only within [from, to), with the seats held before `from` still known', () => {
    const rows = run(
      [
        line(0, { type: 'grant', kind: 'new', lease: 'a' }),
        line(2 * HOUR, { type: 'grant', kind: 'new', lease: 'b' }),
        line(2 * HOUR + 1, { type: 'denial', reason: 'exhausted', lease: 'c' }),
        line(4 * HOUR, { type: 'release', lease: 'a' }),
        line(5 * HOUR, { type: 'release', lease: 'b' }),
      ],
      { from: T0 + HOUR, to: T0 + 3 * HOUR },
    );
    // a is held through the window (2 h), b for its last hour: 3 seat-hours, peak 2, one grant, one denial.
    expect(rows).toEqual([
      {
        period: 'all',
        account: 'alice',
        feature: 'FULL',
        peak: 2,
        seatHours: 3,
        grants: 1,
        denials: 1,
        turnedAway: 1,
      },
    ]);
  });

  it('takes a memory-store server start as every seat given back, and skips lines that are not events', () => {
    const report = new UsageReport();
    for (const l of [
      line(0, { type: 'grant', kind: 'new', lease: 'a' }),
      JSON.stringify({ time: new Date(T0 + HOUR).toISOString(), type: 'start', store: 'memory' }),
      line(2 * HOUR, { type: 'grant', kind: 'new', lease: 'a' }),
      line(3 * HOUR, { type: 'release', lease: 'a' }),
      'not json',
      '{"time":"yesterday","type":"grant"}',
      '',
    ])
      report.addLine(l);
    expect(report.rows()[0]).toMatchObject({ peak: 1, seatHours: 2, grants: 2 });
    expect(report.skipped).toBe(2);
  });

  it('reads a file in batches of lines, whatever the chunk boundaries and characters', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lv-report-'));
    try {
      const path = join(dir, 'events.ndjson');
      const lines = Array.from({ length: 5_000 }, (_, i) =>
        line(i * 1000, {
          type: i % 2 === 0 ? 'grant' : 'release',
          kind: 'new',
          lease: `lease-é-${i}`,
          account: 'ünï',
        }),
      );
      await writeFile(path, `${lines.join('\n')}\n`);
      const read: string[] = [];
      for await (const batch of readLineBatches(path)) read.push(...batch);
      expect(read.filter((l) => l !== '')).toEqual(lines);
      const report = await reportFromFile(path);
      expect(report.rows()).toEqual([expect.objectContaining({ account: 'ünï', peak: 1, grants: 2_500 })]);
      await expect(reportFromFile(join(dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('UsageReport, edges', () => {
  it('counts seats held at the end until the last event, not until a `to` in the future', () => {
    const rows = run(
      [
        line(0, { type: 'grant', kind: 'new', lease: 'a' }),
        line(HOUR, { type: 'denial', reason: 'exhausted', lease: 'b' }),
      ],
      {
        to: T0 + 1_000 * 24 * HOUR,
        by: 'hour',
      },
    );
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ seatHours: 1, peak: 1 });
  });

  it('reads a queued request as a caller that waits, and lines out of order as if in order', () => {
    const report = new UsageReport();
    for (const l of [
      line(0, { type: 'grant', kind: 'new', lease: 'h' }),
      line(1_000, { type: 'denial', reason: 'exhausted', lease: 'w' }), // the client's first, no-wait pass
      line(1_010, { type: 'queued', lease: 'w', position: 1 }),
      line(120_000, { type: 'release', lease: 'h' }),
      line(120_001, { type: 'grant', kind: 'new', lease: 'w', waited: true }),
      line(60_000, { type: 'release', lease: 'w' }), // out of order
    ])
      report.addLine(l);
    expect(report.rows()[0]).toMatchObject({ denials: 1, turnedAway: 0, grants: 2 });
    expect(report.outOfOrder).toBe(1);
  });
});
