import { describe, expect, it } from 'vitest';
import { createSupportBundle, redactConf, runDoctor } from '../../src/index.js';
import { closedPort } from '../helpers/raw-client.js';
import { tempDir } from './support.js';

describe('redactConf', () => {
  it('redacts the password wherever it stands, and keeps everything else line for line', () => {
    const text = [
      '[GLOBAL]',
      'LICENSE_SERVERS = 10.0.0.1',
      '# AUTHENTICATION_PASSWORD = old-Secret-1',
      '[GRAMMAR]',
      'AUTHENTICATION_PASSWORD = stranded-Secret-2',
      '[AUTHENTICATION]',
      'AUTHENTICATION_USERNAME = ivr-1',
      'AUTHENTICATION_PASSWORD = "quoted-Secret-3"',
      'hunter2-Secret-4',
      'AUTH_TOKEN = token-Secret-5',
      '[TLS]',
      'KEY_FILE = /etc/lumenvox/client.key',
      'DB_PASSWORD = db-Secret-6',
      'AUTHENTICATION_PASSWORD =',
    ].join('\r\n');
    const redacted = redactConf(text);
    expect(redacted).not.toMatch(/Secret-\d/);
    expect(redacted.split('\r\n')).toEqual([
      '[GLOBAL]',
      'LICENSE_SERVERS = 10.0.0.1',
      '# [redacted] (a comment that mentioned a secret)',
      '[GRAMMAR]',
      'AUTHENTICATION_PASSWORD = [redacted]',
      '[AUTHENTICATION]',
      'AUTHENTICATION_USERNAME = ivr-1',
      'AUTHENTICATION_PASSWORD = [redacted]',
      '# [redacted] (a malformed line)',
      'AUTH_TOKEN = [redacted]',
      '[TLS]',
      'KEY_FILE = /etc/lumenvox/client.key',
      'DB_PASSWORD = [redacted]',
      'AUTHENTICATION_PASSWORD =',
    ]);
  });

  it('also replaces the literal secrets it is given, wherever they appear', () => {
    expect(redactConf('[SRE]\nNOTE = the pw is Zq-Unique-77\n', ['Zq-Unique-77'])).toBe(
      '[SRE]\nNOTE = the pw is [redacted]\n',
    );
  });
});

describe('createSupportBundle', () => {
  it('holds the redacted conf, the report and the versions, and never the password or the key', async () => {
    const tmp = tempDir();
    try {
      tmp.write('client.key', '-----BEGIN PRIVATE KEY-----\nKEY-MATERIAL-XYZ\n-----END PRIVATE KEY-----\n');
      const config = tmp.write(
        'client_property.conf',
        `LICENSE_SERVERS = 127.0.0.1:${await closedPort()}\n[AUTHENTICATION]\nAUTHENTICATION_USERNAME = eve\nAUTHENTICATION_PASSWORD = Bundle-Pw-9931\n[TLS]\nCERT_FILE = client.key\nKEY_FILE = client.key\n`,
      );
      const report = await runDoctor({ config, env: {}, timeout: 300 });
      const bundle = await createSupportBundle(report);
      const bytes = JSON.stringify(bundle);
      expect(bytes).not.toContain('Bundle-Pw-9931');
      expect(bytes).not.toContain('KEY-MATERIAL-XYZ');
      expect(bundle).toMatchObject({
        bundle: 1,
        library: '0.1.0',
        node: process.version,
        platform: { os: process.platform, arch: process.arch },
        config: { path: config, text: expect.stringContaining('AUTHENTICATION_PASSWORD = [redacted]') },
        report: { tool: 'lv-license doctor', version: 1 },
      });
      expect(bundle.config.text).toContain('KEY_FILE = client.key');
      expect(Number.isNaN(Date.parse(bundle.createdAt))).toBe(false);
    } finally {
      tmp.cleanup();
    }
  });
});
