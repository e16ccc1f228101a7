/**
 * The verdict: can this machine open a port now, and on which server? And the closing reminder.
 */
import type { LicenseType } from '../config/index.js';
import { finding } from './finding.js';
import { featuresOf, firstFree } from './license-features.js';
import type { DoctorFinding, DoctorVerdict, ServerProbe } from './types.js';

/** What the verdict is drawn from. */
export interface VerdictInput {
  /** The file loads as it is (no ConfigError). */
  readonly configLoads: boolean;
  readonly licenseType: LicenseType;
  /** One per server, in priority order. */
  readonly probes: readonly ServerProbe[];
}

/** `an Auto`, `a SpeechPort`. */
function article(type: LicenseType): string {
  return `${type === 'Auto' ? 'an' : 'a'} ${type}`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The first server, in priority order, that passed and has a free license of the conf's type. */
export function decideVerdict(input: VerdictInput): DoctorVerdict {
  const { licenseType, probes } = input;
  const types = featuresOf(licenseType).join(' or ');
  const chosen = probes
    .map((probe) => ({ probe, feature: probe.features && firstFree(licenseType, probe.features) }))
    .find((c) => c.feature !== undefined);
  const base = { licenseType };
  if (chosen?.feature !== undefined) {
    const count = chosen.probe.features?.[chosen.feature];
    const free = `${count?.free ?? 0} of ${count?.total ?? 0} ${chosen.feature} licenses free`;
    if (!input.configLoads) {
      return {
        ...base,
        ok: false,
        reason: `The configuration file does not load, so apps that read it cannot open a port; once it is fixed, ${article(licenseType)} port would open on ${chosen.probe.server} (${free}).`,
      };
    }
    return {
      ...base,
      ok: true,
      server: chosen.probe.server,
      feature: chosen.feature,
      reason: `${capitalize(article(licenseType))} port can be opened now on ${chosen.probe.server} (${free}).`,
    };
  }
  if (probes.length === 0) {
    return {
      ...base,
      ok: false,
      reason: input.configLoads
        ? 'No license server is configured.'
        : 'The configuration file could not be read or lists no usable server, so no port can be opened.',
    };
  }
  return { ...base, ok: false, reason: whyNot(probes, types) };
}

function whyNot(probes: readonly ServerProbe[], types: string): string {
  if (probes.some((p) => p.features !== undefined)) {
    return `Every server that answered is out of ${types} licenses for this account: openPort() would fail with -1 (status -26, LV_OPEN_PORT_FAILED__LICENSES_EXCEEDED).`;
  }
  // The server that got furthest says most about what to fix.
  const closest = probes.find((p) => p.licenseServer) ?? probes.find((p) => p.reachable);
  if (closest !== undefined) {
    const failed = closest.findings.find((f) => f.status === 'fail');
    const why = failed === undefined ? '' : ` (${failed.title}: ${failed.detail.replace(/\.$/, '')})`;
    return `No license server could be used; ${closest.server} came closest${why}. openPort() would fail with -1.`;
  }
  return 'No license server could be reached: openPort() would fail with -1 (status -30, LV_NO_SERVER_RESPONDING).';
}

/** The `verdict` finding. */
export function verdictFinding(verdict: DoctorVerdict): DoctorFinding {
  return finding('verdict', 'Verdict', verdict.ok ? 'pass' : 'fail', verdict.reason, {
    ...(verdict.ok
      ? {}
      : {
          fix: 'Fix the first FAIL above (servers are tried in the order listed), then run lv-license doctor again.',
        }),
    ...(verdict.server === undefined ? {} : { server: verdict.server }),
  });
}

/** The `reminder.restart` finding: edits reach an app only when it re-reads the file. */
export function restartReminder(): DoctorFinding {
  return finding(
    'reminder.restart',
    'Restart after editing',
    'info',
    'Apps read client_property.conf when they start: restart every app that uses it after an edit, unless it was started with LicenseClient.fromConfigFile(path, { watch: true }), which reloads the file by itself.',
  );
}
