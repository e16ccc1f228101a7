/**
 * The `lv-license` command: dispatches to its subcommands.
 */

import { LIBRARY_VERSION } from '../version.js';
import { ACCOUNTS_USAGE, accounts } from './accounts.js';
import { ADMIN_USAGE, admin } from './admin.js';
import { DOCTOR_USAGE, doctor } from './doctor.js';
import { type CliIo, UsageError } from './io.js';
import { REPORT_USAGE, report } from './report.js';
import { SERVE_USAGE, serve } from './serve.js';
import { STATUS_USAGE, status } from './status.js';
import { STORE_USAGE, store } from './store.js';

export const USAGE = `Usage: lv-license <command> [options]

Commands:
  serve     run a license server (lv-license-client/server) in the foreground
  doctor    check client_property.conf and every license server, and say what to fix
  status    show each license server and this account's licenses: total, in use, queued, free
  admin     pools, leases, revoke, set, reload and drain on a running server's admin API
  accounts  add, passwd, set, cancel, disable, enable, list the accounts file of a server
  report    usage per account and license type from a server's event log: peaks, seat-hours, denials
  store     migrate: create or update the tables of a PostgreSQL store (serve --store URL)

Run "lv-license <command> --help" for a command's options; "lv-license --version" for the version.
`;

const COMMAND_USAGE: Readonly<Record<string, string>> = {
  serve: SERVE_USAGE,
  doctor: DOCTOR_USAGE,
  status: STATUS_USAGE,
  admin: ADMIN_USAGE,
  accounts: ACCOUNTS_USAGE,
  report: REPORT_USAGE,
  store: STORE_USAGE,
};

/** Runs one command line; resolves with the exit status (0 ok, 1 failure, 2 usage error). */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'serve':
        return await serve(rest, io);
      case 'doctor':
        return await doctor(rest, io);
      case 'status':
        return await status(rest, io);
      case 'admin':
        return await admin(rest, io);
      case 'accounts':
        return await accounts(rest, io);
      case 'report':
        return await report(rest, io);
      case 'store':
        return await store(rest, io);
      case '--version':
      case '-v':
        io.stdout(`${LIBRARY_VERSION}\n`);
        return 0;
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        io.stdout(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`Unknown command "${command}".`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      // The usage of the command that was misused, not the list of commands.
      io.stderr(`lv-license: ${err.message}\n\n${COMMAND_USAGE[command ?? ''] ?? USAGE}`);
      return 2;
    }
    throw err;
  }
}
