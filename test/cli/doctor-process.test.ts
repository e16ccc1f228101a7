/**
 * `lv-license doctor` as a real process in a container-like environment: LV_LICENSE_SERVERS and
 * LV_AUTHENTICATION_* over (or instead of) client_property.conf. The report says where each value came
 * from, in text and JSON, and no password reaches stdout, stderr or the support bundle. Loopback only.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeLicenseServer } from '../../src/testing/index.js';
import { tempDir } from '../doctor/support.js';
import { closedPort } from '../helpers/raw-client.js';

const ROOT = join(import.meta.dirname, '../..');
const FILE_PASSWORD = 'Proc-File-Pw-Canary-2Jd8';
const ENV_PASSWORD = 'Proc-Env-Pw-Canary-7Lm4';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

interface Run {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `lv-license doctor ...args` in a child process with only `env` (and PATH) in its environment. */
async function doctorProcess(args: readonly string[], env: NodeJS.ProcessEnv): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'src/cli/index.ts', 'doctor', '--timeout', '2000', ...args],
      { cwd: ROOT, env: { PATH: process.env.PATH, NO_COLOR: '1', ...env }, encoding: 'utf8' },
    );
    return { status: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code?: number; stdout?: string; stderr?: string };
    return { status: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

function expectNoPassword(...texts: string[]): void {
  for (const text of texts) {
    expect(text).not.toContain(FILE_PASSWORD);
    expect(text).not.toContain(ENV_PASSWORD);
  }
}

describe('lv-license doctor (a process) with settings from the environment', () => {
  it('prints where each value came from: the file and line, the variable, the _FILE path, the default', async () => {
    await using server = await FakeLicenseServer.start({
      accounts: { ivr: { password: ENV_PASSWORD, licenses: { FULL: 1 } } },
    });
    const config = tmp.write(
      'client_property.conf',
      `[GLOBAL]\nLICENSE_SERVERS = 127.0.0.1:${await closedPort()}\n[SRE]\nLICENSE_TYPE = SpeechPort\n[AUTHENTICATION]\nAUTHENTICATION_USERNAME = ivr\nAUTHENTICATION_PASSWORD = ${FILE_PASSWORD}\n`,
    );
    const secret = tmp.write('lv-password', `${ENV_PASSWORD}\n`);
    const env = {
      LV_CLIENT_PROPERTY_CONF: config,
      LV_LICENSE_SERVERS: server.address,
      LV_AUTHENTICATION_PASSWORD_FILE: secret,
    };

    const text = await doctorProcess([], env);
    expect(text.status).toBe(0);
    const rows = text.stdout
      .split('\n')
      .filter((line) => /^ {2}[A-Z_]+ {2}/.test(line))
      .map((line) => line.trim().split(/\s{2,}/));
    expect(rows).toEqual([
      ['LICENSE_SERVERS', server.address, 'from LV_LICENSE_SERVERS'],
      ['LICENSE_CACHE_PERIOD', '30', 'from default'],
      ['LICENSE_TYPE', 'SpeechPort', `from ${config}:4`],
      ['DELAYED_LICENSE_ACQUISITION', '0', 'from default'],
      ['AUTHENTICATION_USERNAME', 'ivr', `from ${config}:6`],
      ['AUTHENTICATION_PASSWORD', '[redacted]', `from LV_AUTHENTICATION_PASSWORD_FILE (${secret})`],
    ]);
    expect(text.stdout).toMatch(/PASS {2}Verdict: /);

    const bundle = join(tmp.dir, 'bundle.json');
    const json = await doctorProcess(['--json', '--bundle', bundle], env);
    expect(json.status).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report.config.settings).toContainEqual({
      key: 'AUTHENTICATION_PASSWORD',
      value: '[redacted]',
      source: { kind: 'env', variable: 'LV_AUTHENTICATION_PASSWORD_FILE', file: secret },
    });
    expect(report.config.settings).toContainEqual({
      key: 'LICENSE_TYPE',
      value: 'SpeechPort',
      source: { kind: 'file', path: config, line: 4 },
    });
    expect(report.verdict).toMatchObject({ ok: true, server: server.address });
    expectNoPassword(text.stdout, text.stderr, json.stdout, json.stderr, readFileSync(bundle, 'utf8'));
  });

  it('runs with no client_property.conf at all, the environment standing in, the password named by its variable only', async () => {
    await using server = await FakeLicenseServer.start({
      accounts: { ivr: { password: ENV_PASSWORD, licenses: { LITE: 1 } } },
    });
    const env = {
      LV_CLIENT_PROPERTY_CONF: join(tmp.dir, 'no-such.conf'),
      LV_LICENSE_SERVERS: server.address,
      LV_AUTHENTICATION_USERNAME: 'ivr',
      LV_AUTHENTICATION_PASSWORD: ENV_PASSWORD,
    };
    const text = await doctorProcess([], env);
    expect(text.status).toBe(0);
    expect(text.stdout).toContain('configuration: (none: the environment stands in)');
    expect(text.stdout).toMatch(/AUTHENTICATION_PASSWORD\s+\[redacted\]\s+from LV_AUTHENTICATION_PASSWORD\n/);
    const json = await doctorProcess(['--json'], env);
    expect(JSON.parse(json.stdout).verdict).toMatchObject({ ok: true, feature: 'LITE' });
    expectNoPassword(text.stdout, text.stderr, json.stdout, json.stderr);

    // Only a password, no username: the process fails (exit 1) and says so, still without the password.
    const half = await doctorProcess([], { ...env, LV_AUTHENTICATION_USERNAME: '' });
    expect(half.status).toBe(1);
    expect(half.stdout).toMatch(/FAIL {2}Username and password: A password is set/);
    expectNoPassword(half.stdout, half.stderr);
  });
});
