/**
 * `lv-license doctor`: the vendor's troubleshooting checklist as one command. Argument parsing, output
 * and exit status only; the checks are `runDoctor()` of the library.
 */
import { writeFile } from 'node:fs/promises';
import { createSupportBundle, runDoctor } from '../index.js';
import { type CliIo, parseFlags, UsageError, useColor } from './io.js';
import { renderDoctor } from './render-doctor.js';

export const DOCTOR_USAGE = `Usage: lv-license doctor [options]

Checks client_property.conf, every license server it lists and this account's licenses, and says what
to fix. LV_LICENSE_SERVERS and LV_AUTHENTICATION_* apply over the file as they do for the client; the
report says where each value came from. Exit status: 0 nothing failed (warnings allowed), 1 something
failed, 2 usage error.

Options:
  --config PATH     the client_property.conf to check (default: $LV_CLIENT_PROPERTY_CONF, then
                    /etc/lumenvox/client_property.conf)
  --json            print the findings as one JSON document (see docs/doctor.md)
  --timeout MS      deadline of each network step (default 3000)
  --bundle FILE     also write a support bundle (JSON, the password redacted) to FILE
  -h, --help        show this help
`;

/** `--timeout MS`: a whole number of milliseconds, 1 to 600000. */
export function parseTimeout(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Number(value);
  if (!/^\d+$/.test(value) || ms < 1 || ms > 600_000) {
    throw new UsageError(
      `--timeout must be a whole number of milliseconds from 1 to 600000, not "${value}".`,
    );
  }
  return ms;
}

function parseDoctorArgs(args: readonly string[]) {
  return parseFlags(args, {
    config: { type: 'string' },
    json: { type: 'boolean' },
    timeout: { type: 'string' },
    bundle: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
}

/** Runs the checks and prints them; resolves with the exit status. */
export async function doctor(args: readonly string[], io: CliIo): Promise<number> {
  const values = parseDoctorArgs(args);
  if (values.help === true) {
    io.stdout(DOCTOR_USAGE);
    return 0;
  }
  const timeout = parseTimeout(values.timeout);
  const report = await runDoctor({
    config: values.config,
    env: io.env,
    timeout,
    signal: io.signal,
  });
  io.stdout(
    values.json === true ? `${JSON.stringify(report, null, 2)}\n` : renderDoctor(report, useColor(io)),
  );
  let status = report.findings.some((f) => f.status === 'fail') ? 1 : 0;
  if (values.bundle !== undefined) {
    const notice = values.json === true ? io.stderr : io.stdout;
    try {
      const bundle = await createSupportBundle(report);
      await writeFile(values.bundle, `${JSON.stringify(bundle, null, 2)}\n`, { mode: 0o600 });
      notice(`Support bundle written to ${values.bundle} (secrets redacted).\n`);
    } catch (err) {
      io.stderr(
        `lv-license doctor: cannot write the support bundle to ${values.bundle}: ${err instanceof Error ? err.message : String(err)}\n`,
      );
      status = 1;
    }
  }
  return status;
}
