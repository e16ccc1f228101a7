/**
 * The server's numbers from outside: a scripted sequence against a real `lv-license serve` child (grants,
 * a reclaim after a dropped connection, a denial of each reason, an operator's revocation, an expiry, a bad
 * login), then the exact metric values on /metrics, the event log's lines, `lv-license report` over that
 * log, /readyz while draining, and no secret in any JSON log line. Loopback only.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { ScramClient } from '../../src/protocol/scram.js';
import { type RawClient, rawConnect } from '../helpers/raw-client.js';

const ROOT = join(import.meta.dirname, '../..');
const ALICE_PASSWORD = 'alice-pw-7d2c91';
const WRONG_PASSWORD = 'not-alices-pw-55e1';
const BOB_PASSWORD = 'bob-pw-03bb4f';
const ADMIN_TOKEN = 'admin-token-0123456789abcdef';
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function login(port: number, username: string, password: string): Promise<RawClient> {
  const raw = await rawConnect(port);
  cleanups.push(() => raw.close());
  await raw.next((f) => f.type === 'greeting');
  expect((await raw.request('hello', { version: '1.1' })).ok).toBe(true);
  const scram = new ScramClient(username, password);
  const first = await raw.request('auth-start', {
    mechanism: 'SCRAM-SHA-256',
    message: scram.firstMessage(),
  });
  const serverFirst = (first.result as { message: string }).message;
  const final = await raw.request('auth-finish', { message: scram.finalMessage(serverFirst) });
  if (password === WRONG_PASSWORD) expect(final.ok).toBe(false);
  else expect(final.ok).toBe(true);
  return raw;
}

const code = (frame: Record<string, unknown>) => (frame.error as { code?: number } | undefined)?.code;

/** One sample of the Prometheus text: `name{labels} value`, or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const found = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1] as string, m[2] as string]),
    );
    if (
      Object.entries(labels).every(([k, v]) => found[k] === v) &&
      Object.keys(found).length === Object.keys(labels).length
    ) {
      return Number(match[3]);
    }
  }
  return undefined;
}

describe('lv-license serve: metrics, events, report', () => {
  it('counts a scripted sequence exactly, logs each event, reports it, and says when it drains', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lv-observe-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const accounts = join(dir, 'license_authentication.conf');
    await writeFile(
      accounts,
      `[alice]\nPASSWORD = ${ALICE_PASSWORD}\nFULL = 2\nTTS = 1\n\n[bob]\nPASSWORD = ${BOB_PASSWORD}\nFULL = 1\nCANCELLED = 2020-01-01\n`,
      { mode: 0o600 },
    );
    const tokens = join(dir, 'tokens');
    await writeFile(tokens, `admin ${ADMIN_TOKEN}\n`, { mode: 0o600 });
    const eventsPath = join(dir, 'events.ndjson');
    const child: ChildProcess = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli/index.ts',
        'serve',
        '--port',
        '0',
        '--accounts',
        accounts,
        '--lease-ttl',
        '1500',
        '--admin',
        '127.0.0.1:0',
        '--admin-token-file',
        tokens,
        '--events',
        eventsPath,
        '--drain-timeout',
        '3000',
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString('utf8');
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    cleanups.push(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    await expect
      .poll(() => /admin API on (http:\/\/[\d.:]+)/.exec(out)?.[1], { timeout: 15_000 })
      .toBeTruthy();
    const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
    const adminUrl = /admin API on (http:\/\/[\d.:]+)/.exec(out)?.[1] as string;

    // ---- the script ----
    const a = await login(port, 'alice', ALICE_PASSWORD);
    const acquire = (raw: RawClient, lease: string, feature = 'FULL', extra: object = {}) =>
      raw.request('acquire', { lease, feature, count: 1, ...extra });
    expect((await acquire(a, 'a1')).ok).toBe(true);
    expect((await acquire(a, 'a2')).ok).toBe(true);
    expect(code(await acquire(a, 'a3'))).toBe(-26); // exhausted
    expect(code(await acquire(a, 'x1', 'XYZ'))).toBe(-69); // not licensed (LV_FUNCTION_DISABLED)
    expect(code(await a.request('acquire', { lease: 'a1', feature: 'FULL', count: 2 }))).toBe(-54); // invalid
    expect(code(await acquire(a, 'q1', 'FULL', { wait: 150 }))).toBe(-6); // queue timeout
    a.close();
    const b = await login(port, 'alice', ALICE_PASSWORD);
    expect((await acquire(b, 'a1')).result).toMatchObject({ reclaimed: true });
    expect((await b.request('renew', { leases: ['a2'] })).ok).toBe(true);
    expect((await b.request('release', { leases: ['a1'] })).result).toEqual({
      released: ['a1'],
      unknown: [],
    });
    const revoked = await fetch(`${adminUrl}/leases/a2/revoke?account=alice`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(revoked.status).toBe(200);
    expect((await acquire(b, 'e1', 'TTS')).ok).toBe(true);
    // e1 is not renewed: it expires after the 1.5 s TTL.
    await b.next((f) => f.push === 'lease-revoked' && (f.leases as string[]).includes('e1'), 6_000);
    await login(port, 'alice', WRONG_PASSWORD);
    const bob = await login(port, 'bob', BOB_PASSWORD);
    expect(code(await acquire(bob, 'b1'))).toBe(-59); // expired subscription

    // ---- the metrics ----
    const metrics = await (await fetch(`${adminUrl}/metrics`)).text();
    const value = (name: string, labels: Record<string, string>) => sample(metrics, name, labels);
    const alice = { account: 'alice', feature: 'FULL' };
    expect(value('lv_license_grants_total', { ...alice, kind: 'new' })).toBe(2);
    expect(value('lv_license_grants_total', { ...alice, kind: 'reclaimed' })).toBe(1);
    expect(value('lv_license_grants_total', { account: 'alice', feature: 'TTS', kind: 'new' })).toBe(1);
    expect(value('lv_license_denials_total', { account: 'alice', feature: 'other', reason: 'invalid' })).toBe(
      1,
    );
    for (const reason of ['exhausted', 'queue-timeout']) {
      expect(value('lv_license_denials_total', { ...alice, reason })).toBe(1);
    }
    expect(
      value('lv_license_denials_total', { account: 'alice', feature: 'other', reason: 'not-licensed' }),
    ).toBe(1);
    expect(value('lv_license_denials_total', { account: 'bob', feature: 'other', reason: 'expired' })).toBe(
      1,
    );
    expect(value('lv_license_revocations_total', { ...alice, reason: 'operator' })).toBe(1);
    expect(value('lv_license_expirations_total', { account: 'alice', feature: 'TTS' })).toBe(1);
    expect(value('lv_license_releases_total', alice)).toBe(1);
    expect(value('lv_license_auth_failures_total', { reason: 'bad-credentials' })).toBe(1);
    expect(value('lv_license_seats_total', alice)).toBe(2);
    expect(value('lv_license_seats_in_use', alice)).toBe(0);
    expect(value('lv_license_queue_depth', alice)).toBe(0);
    expect(value('lv_license_connections', {})).toBe(3); // b, the failed login's and bob's (a's is gone)
    expect(value('lv_license_subscription_end_timestamp_seconds', { account: 'bob' })).toBe(
      Date.parse('2020-01-25T00:00:00Z') / 1000,
    );
    expect(value('lv_license_request_duration_seconds_count', { op: 'acquire' })).toBe(9);
    expect(metrics).toMatch(/^lv_license_build_info\{version="[^"]+"\} 1$/m);
    expect(metrics).toContain('nodejs_eventloop_lag_seconds');
    expect(metrics).not.toMatch(/lease="|client="|127\.0\.0\.1/);

    // ---- readiness, and the drain ----
    const ready = await fetch(`${adminUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, listening: true, draining: false, store: 'ok' });
    expect((await fetch(`${adminUrl}/livez`)).status).toBe(200);
    child.kill('SIGTERM');
    // b is still connected, so the drain waits: meanwhile the server says it is not ready.
    await expect
      .poll(async () => (await fetch(`${adminUrl}/readyz`).catch(() => undefined))?.status, {
        timeout: 5_000,
      })
      .toBe(503);
    b.close();
    bob.close();
    expect(await exited).toBe(0);

    // ---- the event log ----
    const lines = (await readFile(eventsPath, 'utf8'))
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    const summary = lines.map((e) =>
      [e.type, e.kind ?? e.reason ?? e.store ?? '', e.account ?? '', e.feature ?? '', e.lease ?? ''].join(
        ' ',
      ),
    );
    expect(summary).toEqual([
      'start memory   ',
      'grant new alice FULL a1',
      'grant new alice FULL a2',
      'denial exhausted alice FULL a3',
      'denial not-licensed alice XYZ x1',
      'denial invalid alice FULL a1',
      'queued  alice FULL q1',
      'denial queue-timeout alice FULL q1',
      'grant reclaimed alice FULL a1',
      'release  alice FULL a1',
      'revocation operator alice FULL a2',
      expect.stringMatching(/^admin /),
      'grant new alice TTS e1',
      'expiry  alice TTS e1',
      'login-failure bad-credentials   ',
      'denial expired bob FULL b1',
    ]);
    for (const line of lines) {
      expect(Number.isFinite(Date.parse(line.time))).toBe(true);
      if (line.type === 'grant' || line.type === 'denial') expect(line.client).toBe('127.0.0.1');
    }
    expect(lines.find((l) => l.type === 'denial' && l.reason === 'exhausted')).toMatchObject({ code: -26 });
    expect(lines.find((l) => l.type === 'admin')).toMatchObject({
      who: expect.stringMatching(/^admin:[0-9a-f]{8}$/),
      status: 200,
    });

    // ---- the report, as a process ----
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'src/cli/index.ts', 'report', '--events', eventsPath, '--format', 'json'],
      { cwd: ROOT },
    );
    const rows = JSON.parse(stdout) as Array<Record<string, unknown>>;
    const at = (type: string) =>
      Date.parse(lines.find((l) => l.type === type.split(' ')[0] && l.lease === type.split(' ')[1])?.time);
    // FULL seats: 1 from a1's grant, 2 from a2's, 1 from a1's release, 0 from a2's revocation.
    const fullMs =
      at('grant a2') -
      at('grant a1') +
      2 * (at('release a1') - at('grant a2')) +
      (at('revocation a2') - at('release a1'));
    const ttsMs = at('expiry e1') - at('grant e1');
    expect(rows).toEqual([
      {
        period: 'all',
        account: 'alice',
        feature: 'FULL',
        peak: 2,
        seatHours: round(fullMs),
        grants: 2,
        denials: 3,
        turnedAway: 0,
      },
      {
        period: 'all',
        account: 'alice',
        feature: 'TTS',
        peak: 1,
        seatHours: round(ttsMs),
        grants: 1,
        denials: 0,
        turnedAway: 0,
      },
      {
        period: 'all',
        account: 'alice',
        feature: 'XYZ',
        peak: 0,
        seatHours: 0,
        grants: 0,
        denials: 1,
        turnedAway: 1,
      },
      {
        period: 'all',
        account: 'bob',
        feature: 'FULL',
        peak: 0,
        seatHours: 0,
        grants: 0,
        denials: 1,
        turnedAway: 1,
      },
    ]);

    // ---- no secret in any log line; every line is JSON ----
    const logLines = out.trimEnd().split('\n');
    for (const line of logLines) expect(() => JSON.parse(line)).not.toThrow();
    expect(logLines.some((l) => JSON.parse(l).event?.type === 'grant')).toBe(true);
    for (const secret of [ALICE_PASSWORD, WRONG_PASSWORD, BOB_PASSWORD, ADMIN_TOKEN]) {
      expect(out + err).not.toContain(secret);
      expect(await readFile(eventsPath, 'utf8')).not.toContain(secret);
    }
    expect(out).not.toMatch(/SCRAM-SHA-256\$|c=biws|,p=/);
  }, 60_000);
});

function round(ms: number): number {
  return Math.round((ms / 3_600_000) * 1000) / 1000;
}
