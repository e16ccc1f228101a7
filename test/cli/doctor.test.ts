import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { FakeLicenseServer } from '../../src/testing/index.js';
import { blackHole, tempDir } from '../doctor/support.js';
import { closedPort } from '../helpers/raw-client.js';

const PASSWORD = 'Pw-Leak-Canary-5Zt9Q';
const ACCOUNTS = { ivr: { password: PASSWORD, licenses: { FULL: 2, LITE: 1 } } };
const AUTH = `[AUTHENTICATION]\nAUTHENTICATION_USERNAME = ivr\nAUTHENTICATION_PASSWORD = ${PASSWORD}\n`;

function capture(extra: Partial<CliIo> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    env: {},
    isTTY: false,
    ...extra,
  };
  return { io, stdout: () => out.join(''), stderr: () => err.join('') };
}

let tmp: ReturnType<typeof tempDir>;
const cleanups: Array<() => Promise<void>> = [];
beforeEach(() => {
  tmp = tempDir();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
  tmp.cleanup();
});

async function healthyConf(): Promise<{ config: string; server: FakeLicenseServer }> {
  const server = await FakeLicenseServer.start({ accounts: ACCOUNTS });
  cleanups.push(() => server.close());
  return {
    server,
    config: tmp.write('client_property.conf', `LICENSE_SERVERS = ${server.address}\n${AUTH}`),
  };
}

describe('lv-license doctor', () => {
  it('exits 0 on a healthy setup and prints the documented JSON shape', async () => {
    const { config, server } = await healthyConf();
    const { io, stdout } = capture();
    expect(await main(['doctor', '--config', config, '--json'], io)).toBe(0);
    const report = JSON.parse(stdout());
    expect(Object.keys(report)).toEqual([
      'version',
      'tool',
      'library',
      'node',
      'config',
      'findings',
      'verdict',
    ]);
    expect(report).toMatchObject({
      version: 1,
      tool: 'lv-license doctor',
      library: '0.1.0',
      node: process.version,
      config: {
        path: config,
        pathsTried: [{ path: config, origin: 'argument', used: true, exists: true }, expect.anything()],
      },
      verdict: {
        ok: true,
        server: server.address,
        feature: 'FULL',
        licenseType: 'Auto',
        reason: expect.any(String),
      },
    });
    for (const finding of report.findings) {
      expect(['id', 'title', 'status', 'detail', 'fix', 'server', 'data']).toEqual(
        expect.arrayContaining(Object.keys(finding)),
      );
      expect(['pass', 'warn', 'fail', 'skip', 'info']).toContain(finding.status);
      expect(typeof finding.id).toBe('string');
    }
    expect(report.findings.map((f: { id: string }) => f.id)).toEqual([
      'config.file',
      'config.parse',
      'servers.list',
      'auth.section',
      'auth.pair',
      'auth.permissions',
      'server.dns',
      'server.tcp',
      'server.greeting',
      'server.auth',
      'server.licenses',
      'server.rtt',
      'verdict',
      'reminder.restart',
    ]);
  });

  it('prints one line per check and a fix under each failure (snapshot), exiting 1', async () => {
    const server = await FakeLicenseServer.start({
      accounts: { ivr: { password: 'another-one', licenses: { FULL: 1 } } },
    });
    cleanups.push(() => server.close());
    const hole = await blackHole();
    cleanups.push(() => hole.close());
    const down = await closedPort();
    const text = `[GLOBAL]\nLICENSE_SERVERS = 127.0.0.1:${down};127.0.0.1:${hole.port};${server.address}\n\n[GRAMMAR]\nLANGUAGE = default\nAUTHENTICATION_USERNAME = ivr\nAUTHENTICATION_PASSWORD = ${PASSWORD}\n`;
    const config = tmp.write('client_property.conf', text, 0o644);
    const { io, stdout } = capture();
    expect(await main(['doctor', '--config', config, '--timeout', '300'], io)).toBe(1);
    const shown = stdout()
      .replaceAll(tmp.dir, '<dir>')
      .replaceAll(process.version, '<node>')
      .replaceAll(String(down), '<closed>')
      .replaceAll(String(hole.port), '<hole>')
      .replaceAll(String(server.port), '<server>')
      .replace(/\d+(\.\d+)? ms/g, '<n> ms');
    expect(shown).not.toContain(PASSWORD);
    expect(shown).toMatchInlineSnapshot(`
      "lv-license doctor 0.1.0 (Node <node>)
      configuration: <dir>/client_property.conf
      settings:
        LICENSE_SERVERS              127.0.0.1:<closed>;127.0.0.1:<hole>;127.0.0.1:<server>  from <dir>/client_property.conf:2
        LICENSE_CACHE_PERIOD         30                                               from default
        LICENSE_TYPE                 Auto                                             from default
        DELAYED_LICENSE_ACQUISITION  0                                                from default
        AUTHENTICATION_USERNAME      ivr                                              from <dir>/client_property.conf
        AUTHENTICATION_PASSWORD      [redacted]                                       from <dir>/client_property.conf

      PASS  Configuration file: Using <dir>/client_property.conf (given with --config).
      FAIL  Configuration: Does not load: 1 problem(s), listed below. Apps that read it fail with ConfigError (-11, LV_INVALID_PROPERTY_VALUE) and take no license until it is fixed. The checks below use the file as if those problems were fixed.
            fix: Fix each problem below, then restart the apps that use the file.
      PASS  LICENSE_SERVERS: 3 server(s), in priority order: 127.0.0.1:<closed>, 127.0.0.1:<hole>, 127.0.0.1:<server> (line 2).
      FAIL  [AUTHENTICATION] header: The [AUTHENTICATION] header is missing. <dir>/client_property.conf:6: AUTHENTICATION_USERNAME and AUTHENTICATION_PASSWORD are in the [GRAMMAR] section, not in [AUTHENTICATION], so the client would ignore them and not authenticate (INI scoping puts a key under the last header above it).
            fix: Put an [AUTHENTICATION] header on the line above them (above line 6).
      PASS  Username and password: Both are set: account "ivr" and a password (not shown).
      WARN  File permissions: The file holds a password and its mode is 0644: other users of this machine can read it.
            fix: chmod 600 <dir>/client_property.conf (and make the user the apps run as its owner).
      SKIP  [127.0.0.1:<closed>] DNS: 127.0.0.1 is an IP address: nothing to resolve.
      FAIL  [127.0.0.1:<closed>] TCP connect: Connection refused: nothing is listening on port <closed> of 127.0.0.1.
            fix: Check the host and port in LICENSE_SERVERS (line 2), and that the license server is running there (it listens on 7569 unless configured otherwise).
      SKIP  [127.0.0.1:<closed>] Greeting, Authentication, Licenses, Round trip: Skipped: the TCP connect step failed.
      SKIP  [127.0.0.1:<hole>] DNS: 127.0.0.1 is an IP address: nothing to resolve.
      PASS  [127.0.0.1:<hole>] TCP connect: Connected to port <hole> in <n> ms.
      FAIL  [127.0.0.1:<hole>] Greeting: Connected, but nothing was said within <n> ms. A license server greets at once: this is not one (an HTTP server or another service?), or it is hung.
            fix: Check the port in LICENSE_SERVERS (line 2): license servers listen on 7569 unless configured otherwise, and greet at once ("telnet 127.0.0.1 <hole>" shows a line with "type":"greeting"). If it is the license server, it is not answering: check its log and restart it.
      SKIP  [127.0.0.1:<hole>] Authentication, Licenses, Round trip: Skipped: the Greeting step failed.
      SKIP  [127.0.0.1:<server>] DNS: 127.0.0.1 is an IP address: nothing to resolve.
      PASS  [127.0.0.1:<server>] TCP connect: Connected to port <server> in <n> ms.
      PASS  [127.0.0.1:<server>] Greeting: A license server: lv-license-client-fake/0.1.0, protocol 1.3 (compatible), authentication on (scram-sha-256).
      FAIL  [127.0.0.1:<server>] Authentication: The server rejected the credentials of account "ivr".
            fix: The username and password must match the account on the server: check AUTHENTICATION_USERNAME and AUTHENTICATION_PASSWORD under [AUTHENTICATION], or reset the password on the server.
      SKIP  [127.0.0.1:<server>] Licenses, Round trip: Skipped: the Authentication step failed.
      FAIL  Verdict: No license server could be used; 127.0.0.1:<server> came closest (Authentication: The server rejected the credentials of account "ivr"). openPort() would fail with -1.
            fix: Fix the first FAIL above (servers are tried in the order listed), then run lv-license doctor again.
      INFO  Restart after editing: Apps read client_property.conf when they start: restart every app that uses it after an edit, unless it was started with LicenseClient.fromConfigFile(path, { watch: true }), which reloads the file by itself.

      6 passed, 1 warning(s), 6 failed, 12 skipped.
      "
    `);
  });

  it('colours only on a terminal, and never with NO_COLOR', async () => {
    const { config } = await healthyConf();
    const tty = capture({ isTTY: true });
    await main(['doctor', '--config', config], tty.io);
    expect(tty.stdout()).toContain('\u001b[32mPASS');
    const noColor = capture({ isTTY: true, env: { NO_COLOR: '1' } });
    await main(['doctor', '--config', config], noColor.io);
    expect(noColor.stdout()).not.toContain('\u001b[');
    const pipe = capture({ isTTY: false });
    await main(['doctor', '--config', config], pipe.io);
    expect(pipe.stdout()).not.toContain('\u001b[');
  });

  it('writes a support bundle, and never prints, logs or bundles the password', async () => {
    const server = await FakeLicenseServer.start({
      accounts: { ivr: { password: 'wrong-on-purpose', licenses: { FULL: 1 } } },
    });
    cleanups.push(() => server.close());
    // The header is missing and the password is wrong: the two paths that handle it most.
    const text = `LICENSE_SERVERS = ${server.address}\n[GRAMMAR]\nAUTHENTICATION_USERNAME = ivr\nAUTHENTICATION_PASSWORD = ${PASSWORD}\n# old: AUTHENTICATION_PASSWORD = ${PASSWORD}\n`;
    const config = tmp.write('client_property.conf', text, 0o644);
    for (const json of [false, true]) {
      const bundlePath = join(tmp.dir, `bundle-${json}.json`);
      const { io, stdout, stderr } = capture();
      const args = ['doctor', '--config', config, '--bundle', bundlePath, ...(json ? ['--json'] : [])];
      expect(await main(args, io)).toBe(1);
      const bytes = readFileSync(bundlePath);
      for (const output of [stdout(), stderr(), bytes.toString('utf8'), bytes.toString('latin1')]) {
        expect(output).not.toContain(PASSWORD);
      }
      expect(statSync(bundlePath).mode & 0o777).toBe(0o600);
      const bundle = JSON.parse(bytes.toString('utf8'));
      expect(bundle.config.text).toContain('AUTHENTICATION_PASSWORD = [redacted]');
      expect(bundle.report.findings.length).toBeGreaterThan(5);
      expect(json ? stderr() : stdout()).toContain(`Support bundle written to ${bundlePath}`);
      if (json) expect(() => JSON.parse(stdout())).not.toThrow();
    }
  });

  it('exits 1 when the bundle cannot be written', async () => {
    const { config } = await healthyConf();
    const { io, stderr } = capture();
    expect(
      await main(['doctor', '--config', config, '--bundle', join(tmp.dir, 'no/such/dir/b.json')], io),
    ).toBe(1);
    expect(stderr()).toContain('cannot write the support bundle');
  });

  it.each([
    [['--timeout', '0'], '--timeout must be a whole number of milliseconds'],
    [['--timeout', 'soon'], '--timeout must be a whole number of milliseconds'],
    [['--bogus'], "Unknown option '--bogus'"],
    [['stray'], 'stray'],
  ])('exits 2 on a usage error: %j', async (args, message) => {
    const { io, stderr } = capture();
    expect(await main(['doctor', ...args], io)).toBe(2);
    expect(stderr()).toContain(message);
  });

  it('prints its help', async () => {
    const { io, stdout } = capture();
    expect(await main(['doctor', '--help'], io)).toBe(0);
    expect(stdout()).toContain('--bundle FILE');
  });
});
