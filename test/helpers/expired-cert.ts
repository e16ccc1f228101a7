/**
 * A throw-away CA and a server certificate for localhost / 127.0.0.1 that expired on 2020-01-02, made
 * with the openssl command line. `openssl x509 -req -days` cannot date a certificate in the past on
 * OpenSSL 3.0 (no -not_before / -not_after), so `openssl ca` signs it with explicit dates.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ExpiredPki {
  readonly dir: string;
  /** The CA's certificate (trusted by the test's conf, so only the dates are wrong). */
  readonly caCert: string;
  readonly caFile: string;
  readonly serverCert: string;
  readonly serverKey: string;
  /** The notAfter of the server certificate. */
  readonly notAfter: string;
  cleanup(): void;
}

const CA_CONFIG = `[ ca ]
default_ca = test_ca

[ test_ca ]
dir = .
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
x509_extensions = server_ext

[ policy_any ]
commonName = supplied

[ server_ext ]
basicConstraints = CA:FALSE
subjectAltName = DNS:localhost,IP:127.0.0.1
`;

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

/** Makes the CA and the expired certificate in a temporary directory. */
export function makeExpiredPki(): ExpiredPki {
  const dir = mkdtempSync(join(tmpdir(), 'lv-license-expired-'));
  openssl(dir, [
    'req',
    '-x509',
    ...EC,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '2',
    '-subj',
    '/CN=doctor-test-ca',
  ]);
  openssl(dir, ['req', ...EC, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost']);
  writeFileSync(join(dir, 'ca.cnf'), CA_CONFIG);
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '01\n');
  openssl(dir, [
    'ca',
    '-batch',
    '-config',
    'ca.cnf',
    '-cert',
    'ca.crt',
    '-keyfile',
    'ca.key',
    '-in',
    'server.csr',
    '-out',
    'server.crt',
    '-startdate',
    '20200101000000Z',
    '-enddate',
    '20200102000000Z',
    '-notext',
  ]);
  const read = (file: string) => readFileSync(join(dir, file), 'utf8');
  return {
    dir,
    caCert: read('ca.crt'),
    caFile: join(dir, 'ca.crt'),
    serverCert: read('server.crt'),
    serverKey: read('server.key'),
    notAfter: '2020-01-02T00:00:00.000Z',
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
