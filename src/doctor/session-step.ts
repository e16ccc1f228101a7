/**
 * The steps that need a whole session: authentication (or the mode mismatch that prevents it), the
 * licenses this account has on the server, and one round trip.
 */
import type { LicenseType } from '../config/index.js';
import { AuthenticationError } from '../errors.js';
import type { Greeting } from '../protocol/messages.js';
import { ScramError } from '../protocol/protocol-error.js';
import { authModeMismatch } from '../protocol/versioning.js';
import type { Connection } from '../transport/connection.js';
import type { TransportTlsOptions } from '../transport/dial.js';
import { type ConnectionCredentials, openConnection } from '../transport/handshake.js';
import { LIBRARY_VERSION } from '../version.js';
import { finding, formatMs, messageOf } from './finding.js';
import { countFeatures, describeFeature, featuresOf, firstFree } from './license-features.js';
import type { StepContext } from './network-steps.js';
import type { DoctorFinding, FeatureCount } from './types.js';

/** What the session steps found. */
export interface SessionResult {
  readonly findings: readonly DoctorFinding[];
  readonly authenticated: boolean;
  readonly account?: string;
  readonly features?: Readonly<Record<string, FeatureCount>>;
  readonly rttMs?: number;
}

const SLOW_RTT_MS = 500;

/** Authenticates (or finds the mode mismatch), then reads the license counts and times a `ping`. */
export async function sessionSteps(
  ctx: StepContext,
  greeting: Greeting,
  tls: TransportTlsOptions | undefined,
  credentials: ConnectionCredentials | undefined,
  licenseType: LicenseType,
): Promise<SessionResult> {
  const auth = (status: 'pass' | 'fail', detail: string, fix?: string, data?: Record<string, unknown>) =>
    finding('server.auth', 'Authentication', status, detail, { server: ctx.label, fix, data });
  const mismatch = modeMismatch(greeting, credentials);
  if (mismatch !== undefined) {
    return {
      findings: [auth('fail', mismatch.detail, mismatch.fix, { reason: 'mode-mismatch' })],
      authenticated: false,
    };
  }
  let connection: Connection;
  let account: string | undefined;
  try {
    const opened = await openConnection({
      host: ctx.server.host,
      port: ctx.server.port,
      tls,
      credentials,
      connectTimeout: ctx.timeout,
      requestTimeout: ctx.timeout,
      clientName: `lv-license-doctor/${LIBRARY_VERSION}`,
      signal: ctx.signal,
    });
    connection = opened.connection;
    account = opened.account;
  } catch (err) {
    return { findings: [authFailure(ctx, err, credentials, auth)], authenticated: false };
  }
  const findings: DoctorFinding[] = [
    account === undefined
      ? auth('pass', 'Unauthenticated mode on both sides: no credentials needed.')
      : auth(
          'pass',
          `Accepted as account "${account}"; the server proved it knows the account too (SCRAM-SHA-256).`,
          undefined,
          { account },
        ),
  ];
  try {
    const request = { signal: ctx.signal };
    let features: Record<string, FeatureCount> | undefined;
    try {
      features = countFeatures((await connection.request('status', {}, request)).features);
      findings.push(licensesFinding(ctx, features, licenseType));
    } catch (err) {
      findings.push(
        finding('server.licenses', 'Licenses', 'fail', `The status request failed: ${messageOf(err)}`, {
          server: ctx.label,
          fix: "Check the license server's log; it answered the handshake but not the status request.",
        }),
      );
    }
    let rttMs: number | undefined;
    try {
      const started = performance.now();
      await connection.request('ping', {}, request);
      rttMs = performance.now() - started;
      findings.push(rttFinding(ctx, rttMs));
    } catch (err) {
      findings.push(
        finding('server.rtt', 'Round trip', 'fail', `The ping failed: ${messageOf(err)}`, {
          server: ctx.label,
          fix: 'The server stopped answering: check its log and load.',
        }),
      );
    }
    return {
      findings,
      authenticated: true,
      ...(account === undefined ? {} : { account }),
      ...(features === undefined ? {} : { features }),
      ...(rttMs === undefined ? {} : { rttMs }),
    };
  } finally {
    connection.destroy();
  }
}

function modeMismatch(
  greeting: Greeting,
  credentials: ConnectionCredentials | undefined,
): { detail: string; fix: string } | undefined {
  const mismatch = authModeMismatch(greeting.auth, credentials !== undefined);
  if (mismatch === 'client-has-credentials' && credentials !== undefined) {
    return {
      detail: `Authentication mode mismatch: this client has credentials (account "${credentials.username}"), but the server runs without authentication.`,
      fix: 'Remove AUTHENTICATION_USERNAME and AUTHENTICATION_PASSWORD from [AUTHENTICATION], or turn authentication on at the license server: one side alone cannot talk to the other.',
    };
  }
  if (mismatch === 'server-requires-auth') {
    return {
      detail: `Authentication mode mismatch: the server requires authentication (${greeting.auth}), but this client has no credentials.`,
      fix: 'Set AUTHENTICATION_USERNAME and AUTHENTICATION_PASSWORD (the account on the license server) under an [AUTHENTICATION] header, as the last section of the file.',
    };
  }
  return undefined;
}

function authFailure(
  ctx: StepContext,
  err: unknown,
  credentials: ConnectionCredentials | undefined,
  auth: (status: 'fail', detail: string, fix: string, data: Record<string, unknown>) => DoctorFinding,
): DoctorFinding {
  const username = credentials?.username ?? '';
  if (err instanceof AuthenticationError) {
    if (err.cause instanceof ScramError && err.cause.kind === 'server-signature-mismatch') {
      return auth(
        'fail',
        `${ctx.label} could not prove that it knows the password of account "${username}".`,
        'This is not the server the account lives on, or its account database differs: check LICENSE_SERVERS, and that the password is the same on both sides.',
        { reason: 'server-not-proven' },
      );
    }
    return auth(
      'fail',
      `The server rejected the credentials of account "${username}".`,
      'The username and password must match the account on the server: check AUTHENTICATION_USERNAME and AUTHENTICATION_PASSWORD under [AUTHENTICATION], or reset the password on the server.',
      { reason: 'rejected' },
    );
  }
  return auth(
    'fail',
    `The handshake failed: ${messageOf(err)}`,
    "The server stopped answering during the handshake: check the license server's log and load.",
    { reason: 'handshake' },
  );
}

function licensesFinding(
  ctx: StepContext,
  features: Readonly<Record<string, FeatureCount>>,
  licenseType: LicenseType,
): DoctorFinding {
  const wanted = featuresOf(licenseType);
  const others = Object.keys(features).filter((feature) => !wanted.includes(feature));
  const detail = [...wanted, ...others].map((f) => describeFeature(f, features[f])).join('; ');
  const data = { licenseType, features };
  if (firstFree(licenseType, features) !== undefined) {
    return finding('server.licenses', 'Licenses', 'pass', `${detail}.`, { server: ctx.label, data });
  }
  const types = wanted.join(' or ');
  const none = wanted.every((feature) => (features[feature]?.total ?? 0) === 0);
  return finding(
    'server.licenses',
    'Licenses',
    'warn',
    `No ${types} license free for LICENSE_TYPE ${licenseType}: ${detail}.`,
    {
      server: ctx.label,
      fix: none
        ? `This account has no ${types} licenses on this server: ask the license administrator to add some, or change LICENSE_TYPE in [SRE].`
        : `Every ${types} license of this account is in use: close idle ports of other apps, wait for their leases to end, or add licenses.`,
      data,
    },
  );
}

function rttFinding(ctx: StepContext, ms: number): DoctorFinding {
  if (ms > SLOW_RTT_MS) {
    return finding('server.rtt', 'Round trip', 'warn', `A ping took ${formatMs(ms)}.`, {
      server: ctx.label,
      fix: 'The network or the server is slow: requests may time out. Check the load of the server and the network path.',
      data: { ms },
    });
  }
  return finding('server.rtt', 'Round trip', 'pass', `A ping took ${formatMs(ms)}.`, {
    server: ctx.label,
    data: { ms },
  });
}
