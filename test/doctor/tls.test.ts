import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runDoctor } from '../../src/index.js';
import { FakeLicenseServer } from '../../src/testing/index.js';
import { makeTestPki, type TestPki } from '../helpers/certs.js';
import { type ExpiredPki, makeExpiredPki } from '../helpers/expired-cert.js';
import { expectFixesEverywhere, findingOf, tempDir } from './support.js';

let pki: TestPki;
let expired: ExpiredPki;
beforeAll(() => {
  pki = makeTestPki();
  expired = makeExpiredPki();
});
afterAll(() => {
  pki.cleanup();
  expired.cleanup();
});

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

function doctor(servers: string, tls: string) {
  const config = tmp.write('client_property.conf', `LICENSE_SERVERS = ${servers}\n[TLS]\n${tls}`);
  return runDoctor({ config, env: {}, timeout: 1_000 });
}

describe('runDoctor: TLS', () => {
  it('passes a trusted certificate (warning that it expires soon) and opens a port over TLS', async () => {
    await using server = await FakeLicenseServer.start({ tls: { cert: pki.serverCert, key: pki.serverKey } });
    tmp.write('ca.crt', pki.caCert);
    const report = await doctor(`tls://localhost:${server.port}`, 'CA_FILE = ca.crt\n');
    const tls = findingOf(report, 'server.tls');
    // The test CA signs for two days: a real certificate this close to its end gets a warning.
    expect(tls.status).toBe('warn');
    expect(tls.detail).toMatch(
      /^Trusted certificate for localhost \(CN=server, issued by CN=ca\), valid until \d{4}-/,
    );
    expect(tls.detail).toContain('It expires in 1 day.');
    expect(tls.fix).toMatch(/^Renew the license server's TLS certificate before \d{4}-\d\d-\d\d\.$/);
    expect(findingOf(report, 'tls.files').status).toBe('pass');
    expect(report.verdict).toMatchObject({ ok: true, server: `tls://localhost:${server.port}` });
  });

  it('fails an expired certificate with the reason and its notAfter date', async () => {
    await using server = await FakeLicenseServer.start({
      tls: { cert: expired.serverCert, key: expired.serverKey },
    });
    const report = await doctor(`tls://127.0.0.1:${server.port}`, `CA_FILE = ${expired.caFile}\n`);
    const tls = findingOf(report, 'server.tls');
    expect(tls.status).toBe('fail');
    expect(tls.detail).toContain('expired on 2020-01-02T00:00:00.000Z (CERT_HAS_EXPIRED)');
    expect(tls.detail).toContain('issued by CN=doctor-test-ca');
    expect(tls.fix).toContain('Renew the license server');
    expect(tls.data).toMatchObject({ validTo: expired.notAfter, authorizationError: 'CERT_HAS_EXPIRED' });
    expect(findingOf(report, 'server.greeting').status).toBe('skip');
    expect(report.verdict.ok).toBe(false);
    expectFixesEverywhere(report);
  });

  it('fails a certificate from a CA it does not trust, naming the issuer', async () => {
    await using server = await FakeLicenseServer.start({ tls: { cert: pki.serverCert, key: pki.serverKey } });
    tmp.write('other.crt', pki.otherCaCert);
    const report = await doctor(`tls://127.0.0.1:${server.port}`, 'CA_FILE = other.crt\n');
    const tls = findingOf(report, 'server.tls');
    expect(tls.status).toBe('fail');
    expect(tls.detail).toContain('is not trusted (UNABLE_TO_VERIFY_LEAF_SIGNATURE)');
    expect(tls.fix).toBe(
      'Set CA_FILE in the [TLS] section to the certificate of the CA that signed it (CN=ca).',
    );
  });

  it('fails a certificate that is not for the name', async () => {
    await using server = await FakeLicenseServer.start({ tls: { cert: pki.serverCert, key: pki.serverKey } });
    tmp.write('ca.crt', pki.caCert);
    const report = await doctor(
      `tls://127.0.0.1:${server.port}`,
      'CA_FILE = ca.crt\nSERVER_NAME = licsrv.example.com\n',
    );
    const tls = findingOf(report, 'server.tls');
    expect(tls.status).toBe('fail');
    expect(tls.detail).toContain('is for DNS:localhost, IP Address:127.0.0.1, not for licsrv.example.com');
    expect(tls.fix).toContain('SERVER_NAME');
  });

  it('fails tls:// against a server that speaks plain TCP', async () => {
    await using server = await FakeLicenseServer.start({});
    const report = await doctor(`tls://127.0.0.1:${server.port}`, '');
    const tls = findingOf(report, 'server.tls');
    expect(tls.status).toBe('fail');
    expect(tls.detail).toContain('does not speak TLS: it answered in plain TCP');
    expect(tls.detail).toContain('One side uses TLS and the other does not');
    expect(tls.fix).toContain('remove tls:// from its entry');
    expect(tls.data).toMatchObject({ reason: 'tls-mismatch' });
  });

  it('fails when a [TLS] file cannot be read', async () => {
    const report = await doctor('tls://127.0.0.1:1', 'CA_FILE = missing-ca.crt\n');
    const files = findingOf(report, 'tls.files');
    expect(files.status).toBe('fail');
    expect(files.detail).toContain('CA_FILE names');
  });
});
