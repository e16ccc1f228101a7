import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseClientProperties } from '../../src/config/index.js';
import { configError, fixture, lineOf, SECRET } from './support.js';

describe('whole files shaped like the vendor template', () => {
  it('reads vendor-linux.conf: dozens of ignored keys, every section, credentials at the bottom', () => {
    const text = fixture('vendor-linux.conf');
    const line = lineOf(text, 'LICENSE_SERVERS =');
    const options = parseClientProperties(text, { source: '/etc/lumenvox/client_property.conf' });
    expect(options).toMatchObject({
      licenseServers: [
        { host: '10.20.0.11', port: 7569, tls: false, entry: '10.20.0.11:7569', line },
        { host: '10.20.0.12', port: 4971, tls: false, entry: '10.20.0.12:4971', line },
        { host: 'licsrv3.ivr.example.com', port: 7569, tls: false, entry: 'licsrv3.ivr.example.com', line },
      ],
      licenseCachePeriod: 120,
      licenseType: 'VoxLite',
      delayedLicenseAcquisition: false,
      tls: {},
      warnings: [],
      source: '/etc/lumenvox/client_property.conf',
    });
    expect(line).toBe(16);
    expect(options.authentication?.username).toBe('ivr-prod-01');
    expect(options.authentication?.password).toBe(SECRET);
    expect(inspect(options, { depth: 10 })).not.toContain(SECRET);
  });

  it('reads windows-crlf-bom.conf: BOM, CRLF, ; comments, lower-case names, quotes, tls://, [TLS]', () => {
    const text = fixture('windows-crlf-bom.conf');
    expect(text.startsWith('\uFEFF')).toBe(true);
    expect(text).toContain('\r\n');
    const options = parseClientProperties(text, { source: 'client_property.conf' });
    expect(options.licenseServers).toEqual([
      {
        host: 'licsrv1.corp.example.com',
        port: 7569,
        tls: true,
        entry: 'tls://licsrv1.corp.example.com',
        line: 5,
      },
      { host: '10.0.0.2', port: 4971, tls: false, entry: '10.0.0.2:4971', line: 5 },
      { host: 'fd00::25', port: 7569, tls: false, entry: '[fd00::25]:7569', line: 5 },
    ]);
    expect(options).toMatchObject({
      licenseCachePeriod: 0,
      licenseType: 'SpeechPort',
      delayedLicenseAcquisition: true,
      tls: { caFile: 'certs/corp-root-ca.pem', serverName: 'licsrv.corp.example.com' },
      warnings: [],
    });
    expect(options.authentication?.username).toBe('CORP\\ivr-svc');
    expect(options.authentication?.password).toBe('Xyzzy;Fixture#Secret 7r4q');
    expect(JSON.stringify(options)).not.toContain('Xyzzy');
  });

  it('reads the same settings whatever the line ends', () => {
    const crlf = fixture('windows-crlf-bom.conf');
    const lf = crlf.replace(/^\uFEFF/, '').replace(/\r\n/g, '\n');
    const a = parseClientProperties(crlf);
    const b = parseClientProperties(lf);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(a.authentication?.password).toBe(b.authentication?.password);
  });

  it('rejects auth-without-header.conf (the classic support case) at the first credential line', () => {
    const text = fixture('auth-without-header.conf');
    const error = configError(() => parseClientProperties(text, { source: 'client_property.conf' }));
    const line = lineOf(text, 'AUTHENTICATION_USERNAME');
    expect(error).toMatchObject({ file: 'client_property.conf', line, key: 'AUTHENTICATION_USERNAME' });
    expect(error.message).toMatch(
      new RegExp(
        `^client_property\\.conf:${line}: AUTHENTICATION_USERNAME and AUTHENTICATION_PASSWORD are in the \\[GRAMMAR\\] section`,
      ),
    );
    expect(error.message).toContain(
      `Put an [AUTHENTICATION] header on the line above them (above line ${line}).`,
    );
    expect(error.message).not.toContain(SECRET);
  });

  it('accepts auth-without-header.conf once the header is added above the keys', () => {
    const fixed = fixture('auth-without-header.conf').replace(
      'AUTHENTICATION_USERNAME',
      '[AUTHENTICATION]\nAUTHENTICATION_USERNAME',
    );
    const options = parseClientProperties(fixed);
    expect(options.authentication?.username).toBe('acme-subscriber');
    expect(options.licenseServers.map((server) => server.entry)).toEqual(['licsrv.cloud.example.com:7569']);
  });

  it('reads legacy-9x.conf: LIC_SERVER_HOSTNAME with a legacy-key warning, empty credentials', () => {
    const text = fixture('legacy-9x.conf');
    const options = parseClientProperties(text, { source: 'client_property.conf' });
    expect(options.licenseServers).toEqual([
      { host: '192.168.10.5', port: 7569, tls: false, entry: '192.168.10.5', line: 3 },
    ]);
    expect(options.licenseType).toBe('SpeechPort');
    expect(options.authentication).toBeUndefined();
    expect(options.warnings.map((warning) => [warning.code, warning.line, warning.key])).toEqual([
      ['legacy-key', 3, 'LIC_SERVER_HOSTNAME'],
    ]);
  });

  it('shows why the ini package is not used: it cuts LICENSE_SERVERS at the first ";"', async () => {
    const ini = await import('ini');
    const text = fixture('vendor-linux.conf');
    const parsed = ini.parse(text) as { GLOBAL: { LICENSE_SERVERS: string } };
    expect(parsed.GLOBAL.LICENSE_SERVERS).toBe('10.20.0.11:7569');
    expect(parseClientProperties(text).licenseServers).toHaveLength(3);
  });
});
