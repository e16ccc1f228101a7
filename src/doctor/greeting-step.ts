/**
 * The greeting step: a license server speaks first, at once. Silence, or anything else, means this is not
 * a license server (an HTTP server, another service on the port) or it is hung.
 */
import { IncompatibleServerError, isLicenseError } from '../errors.js';
import { PROTOCOL_VERSION } from '../protocol/constants.js';
import type { Greeting } from '../protocol/messages.js';
import { ReturnCode } from '../protocol/return-codes.js';
import { checkVersion } from '../protocol/versioning.js';
import { StepTimeoutError, withDeadline } from '../timing.js';
import { Connection } from '../transport/connection.js';
import { defaultSocketFactory, dial, type TransportTlsOptions } from '../transport/dial.js';
import { speaksTls } from '../transport/tls-probe.js';
import { finding, messageOf, serversKey } from './finding.js';
import type { StepContext, StepResult } from './network-steps.js';

/** The greeting step's result, with the greeting when one came. */
export interface GreetingResult extends StepResult {
  readonly greeting?: Greeting;
}

/** Connects (with TLS for `tls://` entries), waits for the greeting, and judges it. */
export async function greetingStep(
  ctx: StepContext,
  tls: TransportTlsOptions | undefined,
): Promise<GreetingResult> {
  const { host, port } = ctx.server;
  const fail = (detail: string, fix: string, reason: string): GreetingResult => ({
    finding: finding('server.greeting', 'Greeting', 'fail', detail, {
      server: ctx.label,
      fix,
      data: { reason },
    }),
    ok: false,
  });
  const checkPort = `Check the port in ${serversKey(ctx.server)}: license servers listen on 7569 unless configured otherwise, and greet at once ("telnet ${host} ${port}" shows a line with "type":"greeting").`;
  let connection: Connection | undefined;
  let greeting: Greeting;
  try {
    const socket = await dial({ host, port, tls, connectTimeout: ctx.timeout, signal: ctx.signal });
    const opened = new Connection(socket, { server: ctx.label, requestTimeout: ctx.timeout });
    connection = opened;
    greeting = await withDeadline(opened.greeting(), ctx.timeout, {
      what: `The greeting of ${ctx.label}`,
      signal: ctx.signal,
      onGiveUp: () => opened.destroy(),
    });
  } catch (err) {
    if (err instanceof StepTimeoutError && tls === undefined) {
      if (await speaksTls(ctx.server, defaultSocketFactory, ctx.timeout, ctx.signal)) {
        return fail(
          `Connected, but nothing was said within ${ctx.timeout} ms, and a TLS handshake with the same port succeeds: the server speaks TLS, while its entry in ${serversKey(ctx.server)} is plain TCP. One side uses TLS and the other does not.`,
          `Write the entry as tls://${ctx.label} in ${serversKey(ctx.server)} (and set CA_FILE in [TLS] if its certificate is not from a public CA), or turn TLS off at the server.`,
          'tls-mismatch',
        );
      }
    }
    if (isLicenseError(err) && err.code === ReturnCode.LV_NO_SERVER_AVAILABLE) {
      return fail(
        'The license server is full: it turned this connection away before greeting it, because it has as many connections as its limit allows (LV_NO_SERVER_AVAILABLE, -22).',
        "Raise the license server's connection limit (maxConnections), or find what holds its connections (a client that leaks them, a scan); clients retry with backoff meanwhile.",
        'server-full',
      );
    }
    if (err instanceof StepTimeoutError) {
      return fail(
        `Connected, but nothing was said within ${ctx.timeout} ms. A license server greets at once: this is not one (an HTTP server or another service?), or it is hung.`,
        `${checkPort} If it is the license server, it is not answering: check its log and restart it.`,
        'no-greeting',
      );
    }
    if (err instanceof IncompatibleServerError) {
      return fail(`${messageOf(err)}`, checkPort, 'not-a-license-server');
    }
    return fail(
      `No greeting: ${messageOf(err)}`,
      'Check the license server: its log says why it closed the connection (too many connections, this address refused...).',
      'closed',
    );
  } finally {
    connection?.destroy();
  }
  const version = checkVersion(greeting.version);
  const data = { software: greeting.server, version: greeting.version, auth: greeting.auth };
  if (!version.compatible) {
    return {
      finding: finding(
        'server.greeting',
        'Greeting',
        'fail',
        `A license server (${greeting.server}), but it speaks protocol ${greeting.version} and this client speaks ${PROTOCOL_VERSION}: ${version.reason ?? 'incompatible'}`,
        {
          server: ctx.label,
          fix: 'Upgrade the client or the server so that their major protocol versions match.',
          data,
        },
      ),
      ok: false,
      greeting,
    };
  }
  return {
    finding: finding(
      'server.greeting',
      'Greeting',
      'pass',
      `A license server: ${greeting.server}, protocol ${greeting.version} (compatible), authentication ${greeting.auth === 'none' ? 'off' : `on (${greeting.auth})`}.`,
      { server: ctx.label, data },
    ),
    ok: true,
    greeting,
  };
}
