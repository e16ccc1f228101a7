/**
 * The TLS step of a `tls://` server: is its certificate trusted, valid for the name, and in date? The
 * handshake runs without rejecting, so an untrusted certificate can still be described (issuer, dates).
 */
import { isIP } from 'node:net';
import * as tls from 'node:tls';
import { StepTimeoutError, withDeadline } from '../timing.js';
import { classifySocketError } from '../transport/socket-errors.js';
import { finding, reasonOf, serversKey } from './finding.js';
import type { StepContext, StepResult } from './network-steps.js';
import type { ProbeTlsOptions } from './types.js';

const EXPIRY_WARNING_DAYS = 14;
const DAY_MS = 86_400_000;
const UNTRUSTED = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
]);

/** `CN=server, O=Example`: a certificate name for people. */
function formatName(name: unknown): string {
  if (typeof name !== 'object' || name === null) return '(none)';
  return Object.entries(name as Record<string, unknown>)
    .map(([key, value]) => `${key}=${Array.isArray(value) ? value.join('+') : String(value)}`)
    .join(', ');
}

/** Connects with TLS and judges the server's certificate. */
export async function tlsStep(
  ctx: StepContext,
  material: ProbeTlsOptions,
  now: () => number = Date.now,
): Promise<StepResult> {
  const { host, port } = ctx.server;
  const name = material.serverName ?? host;
  const fail = (detail: string, fix: string, data?: Record<string, unknown>): StepResult => ({
    finding: finding('server.tls', 'TLS certificate', 'fail', detail, { server: ctx.label, fix, data }),
    ok: false,
  });
  let socket: tls.TLSSocket | undefined;
  try {
    const opened = tls.connect({
      host,
      port,
      ...(isIP(name) === 0 ? { servername: name } : {}),
      ...(material.ca === undefined ? {} : { ca: material.ca }),
      ...(material.cert === undefined ? {} : { cert: material.cert }),
      ...(material.key === undefined ? {} : { key: material.key }),
      rejectUnauthorized: false,
    });
    socket = opened;
    await withDeadline(
      new Promise<void>((resolve, reject) => {
        opened.once('secureConnect', () => resolve());
        opened.once('error', reject);
      }),
      ctx.timeout,
      { what: `The TLS handshake with ${ctx.label}`, signal: ctx.signal },
    );
    const cert = opened.getPeerCertificate();
    const rawError = opened.authorizationError as unknown;
    const chainError =
      rawError === null || rawError === undefined
        ? undefined
        : typeof rawError === 'string'
          ? rawError
          : reasonOf(rawError);
    const nameError = tls.checkServerIdentity(name, cert);
    const validTo = new Date(cert.valid_to);
    const validFrom = new Date(cert.valid_from);
    const subject = formatName(cert.subject);
    const issuer = formatName(cert.issuer);
    const altNames = cert.subjectaltname ?? '';
    const data = {
      subject,
      issuer,
      subjectAltName: altNames,
      validFrom: validFrom.toISOString(),
      validTo: validTo.toISOString(),
      fingerprint256: cert.fingerprint256,
      ...(chainError === undefined ? {} : { authorizationError: chainError }),
    };
    const expiry = validTo.toISOString().slice(0, 10);
    if (chainError === 'CERT_HAS_EXPIRED' || validTo.getTime() < now()) {
      return fail(
        `The certificate of ${ctx.label} (${subject}, issued by ${issuer}) expired on ${validTo.toISOString()} (CERT_HAS_EXPIRED).`,
        `Renew the license server's TLS certificate: it expired on ${expiry}. Until then this client refuses the server.`,
        data,
      );
    }
    if (chainError === 'CERT_NOT_YET_VALID' || validFrom.getTime() > now()) {
      return fail(
        `The certificate of ${ctx.label} is not valid before ${validFrom.toISOString()} (CERT_NOT_YET_VALID).`,
        "Check the clocks of this machine and of the server (use NTP), or wait until the certificate's start date.",
        data,
      );
    }
    if (chainError !== undefined && chainError !== 'ERR_TLS_CERT_ALTNAME_INVALID') {
      return fail(
        `The certificate of ${ctx.label} (${subject}, issued by ${issuer}) is not trusted (${chainError}).`,
        UNTRUSTED.has(chainError)
          ? `Set CA_FILE in the [TLS] section to the certificate of the CA that signed it (${issuer}).`
          : 'Give the license server a valid certificate from a CA this client trusts (CA_FILE in [TLS]).',
        data,
      );
    }
    if (nameError !== undefined) {
      return fail(
        `The certificate of ${ctx.label} is for ${altNames || subject}, not for ${name}.`,
        `Write the server in ${serversKey(ctx.server)} as a name the certificate carries, or set SERVER_NAME in the [TLS] section to one of them.`,
        data,
      );
    }
    const daysLeft = Math.floor((validTo.getTime() - now()) / DAY_MS);
    const detail = `Trusted certificate for ${name} (${subject}, issued by ${issuer}), valid until ${validTo.toISOString()}.`;
    if (daysLeft < EXPIRY_WARNING_DAYS) {
      return {
        finding: finding(
          'server.tls',
          'TLS certificate',
          'warn',
          `${detail} It expires in ${daysLeft} day${daysLeft === 1 ? '' : 's'}.`,
          {
            server: ctx.label,
            fix: `Renew the license server's TLS certificate before ${expiry}.`,
            data,
          },
        ),
        ok: true,
      };
    }
    return {
      finding: finding('server.tls', 'TLS certificate', 'pass', detail, { server: ctx.label, data }),
      ok: true,
    };
  } catch (err) {
    const timedOut = err instanceof StepTimeoutError;
    if (classifySocketError(err) === 'tls-mismatch') {
      return fail(
        `The server on port ${port} does not speak TLS: it answered in plain TCP (${reasonOf(err)}), while its entry in ${serversKey(ctx.server)} asks for TLS (tls://). One side uses TLS and the other does not.`,
        `If the server speaks plain TCP, remove tls:// from its entry in ${serversKey(ctx.server)}; otherwise turn TLS on at the license server.`,
        { reason: 'tls-mismatch' },
      );
    }
    return fail(
      timedOut
        ? `No TLS handshake within ${ctx.timeout} ms: the server on port ${port} does not seem to speak TLS.`
        : `The TLS handshake failed (${reasonOf(err)}): the server on port ${port} does not seem to speak TLS, or it refused this client.`,
      `If the server speaks plain TCP, remove tls:// from its entry in ${serversKey(ctx.server)}; otherwise point the entry at the server's TLS port, and set CERT_FILE and KEY_FILE in [TLS] if it asks for a client certificate.`,
      { reason: timedOut ? 'timed-out' : reasonOf(err) },
    );
  } finally {
    socket?.on('error', () => {});
    socket?.destroy();
  }
}
