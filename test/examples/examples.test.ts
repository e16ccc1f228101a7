/**
 * Runs every runnable example the way its header says (`node --import tsx examples/X.ts`) and checks the
 * lines that make its point, so no example can rot. (examples/app.test.ts runs in this vitest run too.)
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');

interface Run {
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
}

function run(args: readonly string[], timeout: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
      cwd: root,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.stderr.on('data', (chunk) => {
      err += chunk;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${args.join(' ')} did not finish within ${timeout} ms:\n${out}\n${err}`));
    }, timeout);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

/** The lines of `text` that contain each of `needles`, in that order. */
function inOrder(text: string, needles: readonly string[]): boolean {
  let at = 0;
  for (const needle of needles) {
    const found = text.indexOf(needle, at);
    if (found < 0) return false;
    at = found + needle.length;
  }
  return true;
}

describe.concurrent('examples', () => {
  it('ivr-call-flow.ts: one call goes through, then the vendor cascade line by line', {
    timeout: 30_000,
  }, async () => {
    const { code, out, err } = await run(['examples/ivr-call-flow.ts'], 25_000);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toContain(
      'OpenPort() returned port 1\nLoadVoiceChannel returned 0\nActivateGrammar() returned 0',
    );
    const lines = out.split('\n');
    const first = lines.findIndex((l) =>
      l.startsWith('License failure. No license server responding at address: 127.0.0.1:'),
    );
    expect(first).toBeGreaterThan(0);
    expect(lines.slice(first + 1, first + 4)).toEqual([
      'OpenPort() failed, errorcode returned -1',
      'LoadVoiceChannel failed, errorcode returned -12',
      'ActivateGrammar() failed, errorcode returned -12',
    ]);
  });

  it('failover.ts: the primary dies, its seats move, new work fails back', { timeout: 30_000 }, async () => {
    const { code, out, err } = await run(['examples/failover.ts'], 25_000);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(
      inOrder(out, [
        'failover         openPort: primary -> secondary',
        'disconnect       primary',
        'lease-migrated',
        'ports on secondary, secondary, secondary',
        'connect          primary (reconnected)',
        'a new port goes to the primary again',
        'all ports closed; seats: primary 0, secondary 0',
      ]),
    ).toBe(true);
  });

  it('tts-pool.ts: queueing, abort and wait limits', { timeout: 30_000 }, async () => {
    const { code, out, err } = await run(['examples/tts-pool.ts'], 25_000);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(
      inOrder(out, [
        'prompt without wait: LicensesExceededError -26',
        'queue-position:',
        'caller hung up: AbortError -3 LV_RESET',
        'job with a 400 ms deadline:',
        'waiting prompt granted: 1 seat',
        '2 seats with wait 300 ms: TimeoutError -6 LV_TIME_OUT',
        'all released; in use: 0',
      ]),
    ).toBe(true);
  });

  it('app.node-test.ts passes in node:test', { timeout: 30_000 }, async () => {
    const { code, out } = await run(['--test', 'examples/app.node-test.ts'], 25_000);
    expect(out).toContain('# fail 0');
    expect(code).toBe(0);
  });

  it('server-demo.ts (npm run demo:server) shows metrics and ends with a usage report', {
    timeout: 40_000,
  }, async () => {
    const { code, out, err } = await run(['examples/server-demo.ts'], 35_000);
    expect(err).toBe('');
    expect(out).toMatch(/acme\s+calls served [1-9]\d*, turned away 0/);
    expect(out).toMatch(/globex\s+calls served [1-9]\d*, turned away [1-9]/);
    expect(out).toContain('GET /readyz: 200');
    expect(out).toMatch(
      /lv_license_denials_total\{account="globex",feature="FULL",reason="exhausted"\} [1-9]/,
    );
    expect(out).toMatch(/'globex'\s*│\s*'FULL'\s*│\s*2\s*│/); // the peak is globex's two seats
    expect(code).toBe(0);
  });

  it('otel.ts: one OpenTelemetry span per call, with the server and the LV_* code', {
    timeout: 30_000,
  }, async () => {
    const { code, out, err } = await run(['examples/otel.ts'], 25_000);
    expect(err).toBe('');
    expect(out).toMatch(
      /^lv-license openPort \{.*"lv\.feature":"FULL".*"server\.address":"127\.0\.0\.1:\d+"\} OK$/m,
    );
    expect(out).toMatch(/^lv-license release \{.*"lv\.lease":/m);
    expect(out).toMatch(/^lv-license acquire \{.*"lv\.code":-54.*\} ERROR /m);
    expect(code).toBe(0);
  });

  it('demo.ts (npm run demo) finishes by itself with no seat leaked', { timeout: 90_000 }, async () => {
    const { code, out, err } = await run(['examples/demo.ts'], 80_000);
    expect(err).toBe('');
    expect(out).toContain('A is killed');
    expect(out).toContain('A is restarted');
    expect(out).toContain('(reclaimed by id)');
    expect(out).toMatch(/calls served\s+[1-9]/);
    expect(out).toMatch(/seats leaked\s+0\s/);
    expect(code).toBe(0);
  });
});
