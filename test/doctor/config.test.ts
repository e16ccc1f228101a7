import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recoverParse } from '../../src/config/recover.js';
import { runDoctor } from '../../src/index.js';
import { FakeLicenseServer } from '../../src/testing/index.js';
import { closedPort } from '../helpers/raw-client.js';
import { expectFixesEverywhere, findingOf, findingsOf, tempDir } from './support.js';

const FIXTURE = readFileSync(join(import.meta.dirname, '../fixtures/conf/auth-without-header.conf'), 'utf8');
const TIMEOUT = 500;

let tmp: ReturnType<typeof tempDir>;
let down: number;
beforeEach(async () => {
  tmp = tempDir();
  down = await closedPort();
});
afterEach(() => tmp.cleanup());

const doctor = (config: string, env: NodeJS.ProcessEnv = {}) => runDoctor({ config, env, timeout: TIMEOUT });

describe('runDoctor: the configuration file', () => {
  it('reports the [AUTHENTICATION] header missing as a FAIL with the fix, and probes as if it were fixed', async () => {
    await using server = await FakeLicenseServer.start({
      accounts: { 'acme-subscriber': { password: 'Xyzzy-Fixture-Secret-7r4q', licenses: { FULL: 2 } } },
    });
    const text = FIXTURE.replace('licsrv.cloud.example.com:7569', server.address);
    const report = await doctor(tmp.write('client_property.conf', text));

    const header = findingOf(report, 'auth.section');
    expect(header).toMatchObject({ status: 'fail', title: '[AUTHENTICATION] header' });
    expect(header.detail).toContain('The [AUTHENTICATION] header is missing');
    expect(header.detail).toContain('[GRAMMAR] section');
    expect(header.fix).toBe('Put an [AUTHENTICATION] header on the line above them (above line 32).');
    expect(header.data).toMatchObject({ line: 32, section: 'GRAMMAR', headerLine: null });
    expect(findingOf(report, 'config.parse').status).toBe('fail');
    expect(findingOf(report, 'auth.pair').status).toBe('pass');
    // The stranded credentials are the ones meant: with the header added, they would work.
    expect(findingOf(report, 'server.auth').status).toBe('pass');
    expect(report.verdict.ok).toBe(false);
    expect(report.verdict.reason).toMatch(
      /does not load.*once it is fixed, an Auto port would open on 127\.0\.0\.1/,
    );
    expectFixesEverywhere(report);
  });

  it('reports credentials stranded in another section when the header stands elsewhere', async () => {
    const text = `[GLOBAL]\nLICENSE_SERVERS = 127.0.0.1:${down}\n[AUTHENTICATION]\n[SRE]\nLICENSE_TYPE = Auto\nAUTHENTICATION_USERNAME = bob\nAUTHENTICATION_PASSWORD = pw-bob-123\n`;
    const report = await doctor(tmp.write('c.conf', text));
    const section = findingOf(report, 'auth.section');
    expect(section.status).toBe('fail');
    expect(section.detail).toContain('outside [AUTHENTICATION] (its header is on line 3)');
    expect(section.detail).toContain('[SRE] section');
    expect(section.fix).toContain('Put an [AUTHENTICATION] header on the line above them (above line 6)');
    expect(section.fix).toContain('move them under the header on line 3');
  });

  it('reports a username without a password', async () => {
    const text = `LICENSE_SERVERS = 127.0.0.1:${down}\n[AUTHENTICATION]\nAUTHENTICATION_USERNAME = carol\n`;
    const report = await doctor(tmp.write('c.conf', text));
    const pair = findingOf(report, 'auth.pair');
    expect(pair.status).toBe('fail');
    expect(pair.detail).toContain('AUTHENTICATION_PASSWORD is missing');
    expect(pair.fix).toContain('Set both AUTHENTICATION_USERNAME and AUTHENTICATION_PASSWORD');
    expectFixesEverywhere(report);
  });

  it('reports each bad LICENSE_SERVERS entry and still probes the good ones', async () => {
    const text = `[GLOBAL]\nLICENSE_SERVERS = 127.0.0.1:${down};10.0.0.1:99999;http://x\n`;
    const report = await doctor(tmp.write('c.conf', text));
    expect(findingOf(report, 'servers.list')).toMatchObject({ status: 'fail', data: { invalid: 2 } });
    const entries = findingsOf(report, 'servers.entry');
    expect(entries.map((f) => f.detail)).toEqual([
      expect.stringContaining('"10.0.0.1:99999" has port 99999'),
      expect.stringContaining('"http://x" starts with "http://"'),
    ]);
    expect(entries.every((f) => f.detail.includes(':2:'))).toBe(true);
    expect(findingOf(report, 'server.tcp', `127.0.0.1:${down}`).status).toBe('fail');
    expectFixesEverywhere(report);
  });

  it('warns about the legacy key name and a duplicate server', async () => {
    const text = `[GLOBAL]\nLIC_SERVER_HOSTNAME = 127.0.0.1:${down};127.0.0.1:${down}\n`;
    const report = await doctor(tmp.write('c.conf', text));
    expect(findingOf(report, 'config.parse').status).toBe('pass');
    expect(findingOf(report, 'servers.legacy-key')).toMatchObject({
      status: 'warn',
      fix: 'Rename LIC_SERVER_HOSTNAME to LICENSE_SERVERS (line 2).',
    });
    expect(findingOf(report, 'servers.duplicate').status).toBe('warn');
    expect(findingsOf(report, 'server.tcp')).toHaveLength(1);
    expectFixesEverywhere(report);
  });

  it('lists every ConfigError with its line, not only the first', async () => {
    const text = `[GLOBAL]\nLICENSE_SERVERS = 127.0.0.1:${down}\nthis is not a key\n[SRE]\nLICENSE_TYPE = Full\n`;
    const report = await doctor(tmp.write('c.conf', text));
    const errors = findingsOf(report, 'config.error');
    expect(errors.map((f) => f.data?.line)).toEqual([3, 5]);
    expect(errors[1]?.detail).toContain('LICENSE_TYPE is "Full"');
    expect(findingOf(report, 'config.parse').detail).toContain('2 problem(s)');
    expectFixesEverywhere(report);
  });

  it('names every path tried when the file is missing', async () => {
    const present = tmp.write('present.conf', `LICENSE_SERVERS = 127.0.0.1:${down}\n`);
    const missing = join(tmp.dir, 'missing.conf');
    const report = await doctor(missing, { LV_CLIENT_PROPERTY_CONF: present });
    const file = findingOf(report, 'config.file');
    expect(file.status).toBe('fail');
    expect(file.detail).toContain(`No file at ${missing} (given with --config)`);
    expect(file.detail).toContain(`A file exists at ${present}`);
    expect(report.config).toEqual({
      path: null,
      pathsTried: [
        { path: missing, origin: 'argument', used: true, exists: false },
        { path: present, origin: 'env', used: false, exists: true },
        {
          path: '/etc/lumenvox/client_property.conf',
          origin: 'default',
          used: false,
          exists: expect.any(Boolean),
        },
      ],
      settings: [],
    });
    expect(report.verdict).toMatchObject({ ok: false, licenseType: 'Auto' });
    expect(findingsOf(report, 'server.tcp')).toHaveLength(0);
    expectFixesEverywhere(report);
  });

  it('uses LV_CLIENT_PROPERTY_CONF when no path is given', async () => {
    const path = tmp.write('env.conf', `LICENSE_SERVERS = 127.0.0.1:${down}\n`);
    const report = await runDoctor({ env: { LV_CLIENT_PROPERTY_CONF: path }, timeout: TIMEOUT });
    expect(report.config.path).toBe(path);
    expect(findingOf(report, 'config.file').detail).toContain('named by LV_CLIENT_PROPERTY_CONF');
  });

  it('warns when a file holding a password can be read by others, and passes at 0600', async () => {
    const text = `LICENSE_SERVERS = 127.0.0.1:${down}\n[AUTHENTICATION]\nAUTHENTICATION_USERNAME = dan\nAUTHENTICATION_PASSWORD = pw-dan-123\n`;
    const open = await doctor(tmp.write('open.conf', text, 0o644));
    expect(findingOf(open, 'auth.permissions')).toMatchObject({
      status: 'warn',
      fix: `chmod 600 ${join(tmp.dir, 'open.conf')} (and make the user the apps run as its owner).`,
      data: { mode: '0644' },
    });
    const closed = await doctor(tmp.write('closed.conf', text, 0o600));
    expect(findingOf(closed, 'auth.permissions')).toMatchObject({ status: 'pass', data: { mode: '0600' } });
    expect(findingOf(closed, 'auth.section').detail).toBe(
      'The credentials (lines 3 and 4) are under the [AUTHENTICATION] header (line 2).',
    );
  });
});

describe('recoverParse', () => {
  it('keeps line numbers while it repairs, and keeps the stranded credentials', () => {
    const recovery = recoverParse(FIXTURE, 'client_property.conf');
    expect(recovery.stranded).toMatchObject({ line: 32, section: 'GRAMMAR', headerLine: undefined });
    expect(recovery.credentials?.username).toBe('acme-subscriber');
    expect(recovery.props?.licenseServers.map((s) => s.line)).toEqual([6]);
    expect(recovery.errors).toEqual([]);
  });

  it('marks a list without a valid entry as unusable instead of falling back to the default', () => {
    const recovery = recoverParse('LICENSE_SERVERS = 10.0.0.1:0\n', 'c.conf');
    expect(recovery.serversUnusable).toBe(true);
    expect(recovery.serverErrors).toHaveLength(1);
  });
});
