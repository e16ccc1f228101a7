/**
 * One server, checked step by step: DNS, TCP, TLS, greeting, authentication, licenses, round trip. Each
 * step has its own deadline; a failed step marks the later ones as skipped; every socket is destroyed.
 */

import type { ServerAddress } from '../config/index.js';
import { DEFAULTS } from '../defaults.js';
import { formatServer } from '../protocol/address.js';
import type { TransportTlsOptions } from '../transport/dial.js';
import { finding } from './finding.js';
import { greetingStep } from './greeting-step.js';
import { type Connect, dnsStep, type Lookup, type StepContext, tcpStep } from './network-steps.js';
import { sessionSteps } from './session-step.js';
import { tlsStep } from './tls-step.js';
import type { DoctorFinding, ProbeOptions, ServerProbe } from './types.js';

/** The default deadline of each network step, in ms. */
export const DEFAULT_STEP_TIMEOUT: number = DEFAULTS.doctorStepTimeout;

const TITLES = {
  'server.dns': 'DNS',
  'server.tcp': 'TCP connect',
  'server.tls': 'TLS certificate',
  'server.greeting': 'Greeting',
  'server.auth': 'Authentication',
  'server.licenses': 'Licenses',
  'server.rtt': 'Round trip',
} as const;

type StepId = keyof typeof TITLES;

/** Replacements for the system's resolver, socket and clock, for tests. */
export interface ProbeHooks {
  lookup?: Lookup;
  connect?: Connect;
  now?: () => number;
}

/**
 * Checks one license server the way `lv-license doctor` does, and reports every step.
 *
 * Never rejects: every failure is a finding. With the default 3 s per step it ends within a few seconds
 * even for a server that accepts connections and never answers.
 *
 * @param server - One entry of `LICENSE_SERVERS`, as `loadClientProperties()` returns it.
 * @param options - The account, the TLS material, the deadline of each step, the `LICENSE_TYPE`.
 * @example
 * ```ts
 * const props = await loadClientProperties();
 * const probe = await probeServer(props.licenseServers[0]!, { credentials: props.authentication });
 * for (const f of probe.findings) console.log(f.status, f.title, f.detail);
 * ```
 */
export function probeServer(server: ServerAddress, options: ProbeOptions = {}): Promise<ServerProbe> {
  return probeServerWith(server, options, {});
}

/** {@link probeServer} with injected system functions. */
export async function probeServerWith(
  server: ServerAddress,
  options: ProbeOptions,
  hooks: ProbeHooks,
): Promise<ServerProbe> {
  const label = formatServer(server.host, server.port, server.tls);
  const ctx: StepContext = {
    server,
    label,
    timeout: Math.max(1, options.timeout ?? DEFAULT_STEP_TIMEOUT),
    signal: options.signal,
  };
  const planned: StepId[] = [
    'server.dns',
    'server.tcp',
    ...(server.tls ? (['server.tls'] as const) : []),
    'server.greeting',
    'server.auth',
    'server.licenses',
    'server.rtt',
  ];
  const findings: DoctorFinding[] = [];
  const result = (extra: Omit<ServerProbe, 'server' | 'findings' | 'error'>): ServerProbe => {
    const done = new Set(findings.map((f) => f.id));
    const failed = findings.find((f) => f.status === 'fail');
    for (const id of planned) {
      if (done.has(id)) continue;
      const reason = failed === undefined ? 'an earlier step failed' : `the ${failed.title} step failed`;
      findings.push(finding(id, TITLES[id], 'skip', `Skipped: ${reason}.`, { server: label }));
    }
    const stoppedAt = findings.find((f) => f.status === 'fail');
    return Object.freeze({
      server: label,
      findings: Object.freeze(findings),
      ...extra,
      ...(stoppedAt === undefined ? {} : { error: stoppedAt.detail }),
    });
  };
  const unreachable = { reachable: false, licenseServer: false, authenticated: false };

  const dns = await dnsStep(ctx, hooks.lookup);
  findings.push(dns.finding);
  if (!dns.ok) return result(unreachable);
  const tcp = await tcpStep(ctx, hooks.connect);
  findings.push(tcp.finding);
  if (!tcp.ok) return result(unreachable);
  const reached = { ...unreachable, reachable: true };

  let tls: TransportTlsOptions | undefined;
  if (server.tls) {
    const material = options.tls ?? {};
    const checked = await tlsStep(ctx, material, hooks.now);
    findings.push(checked.finding);
    if (!checked.ok) return result(reached);
    tls = { ...material, rejectUnauthorized: true };
  }
  const greeting = await greetingStep(ctx, tls);
  findings.push(greeting.finding);
  if (!greeting.ok || greeting.greeting === undefined) return result(reached);
  const software = greeting.greeting.server;

  const session = await sessionSteps(
    ctx,
    greeting.greeting,
    tls,
    options.credentials,
    options.licenseType ?? 'Auto',
  );
  findings.push(...session.findings);
  return result({
    reachable: true,
    licenseServer: true,
    authenticated: session.authenticated,
    software,
    ...(session.account === undefined ? {} : { account: session.account }),
    ...(session.features === undefined ? {} : { features: session.features }),
    ...(session.rttMs === undefined ? {} : { rttMs: session.rttMs }),
  });
}
