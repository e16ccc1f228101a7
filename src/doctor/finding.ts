/**
 * Building findings, and the small phrases many of them share.
 */
import type { ServerAddress } from '../config/index.js';
import type { DoctorFinding, FindingStatus } from './types.js';

/** The optional parts of a finding. */
export interface FindingExtras {
  fix?: string | undefined;
  server?: string | undefined;
  data?: Readonly<Record<string, unknown>> | undefined;
}

/** A frozen finding, without the optional fields that are not set. */
export function finding(
  id: string,
  title: string,
  status: FindingStatus,
  detail: string,
  extras: FindingExtras = {},
): DoctorFinding {
  return Object.freeze({
    id,
    title,
    status,
    detail,
    ...(extras.fix === undefined ? {} : { fix: extras.fix }),
    ...(extras.server === undefined ? {} : { server: extras.server }),
    ...(extras.data === undefined ? {} : { data: extras.data }),
  });
}

/** `LICENSE_SERVERS (line 4)`, or without the line when it is not known. */
export function serversKey(server: Pick<ServerAddress, 'line'>): string {
  return server.line === undefined ? 'LICENSE_SERVERS' : `LICENSE_SERVERS (line ${server.line})`;
}

/** `12 ms`, `0.4 ms`: a duration for people. */
export function formatMs(ms: number): string {
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

/** The `code` of a Node.js error, or its message. */
export function reasonOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  return err instanceof Error ? err.message : String(err);
}

/** The message of an error, for a detail line. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
