/**
 * What a CLI command may touch of the outside world, injected so commands run in tests in-process.
 */

/** Output streams and the signal that asks a long-running command to stop. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Fires when the command should stop (SIGINT / SIGTERM in the real process). */
  signal?: AbortSignal | undefined;
  env?: NodeJS.ProcessEnv | undefined;
}

/** A command line that cannot be run as given: exit status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
