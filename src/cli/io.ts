/**
 * What a CLI command may touch of the outside world, injected so commands run in tests in-process.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';

/** Output streams and the signal that asks a long-running command to stop. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Fires when the command should stop (SIGINT / SIGTERM in the real process). */
  signal?: AbortSignal | undefined;
  /**
   * Subscribes to requests to re-read configuration (SIGHUP in the real process); returns the function
   * that unsubscribes.
   */
  onReload?: ((listener: () => void) => () => void) | undefined;
  /** Reads a secret: without echo from a terminal, or the first line of standard input. */
  readSecret?: ((prompt: string) => Promise<string>) | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  /**
   * Whether stdout is a terminal, which allows colour (never with `NO_COLOR` set). Unset: ask
   * `process.stdout.isTTY`.
   */
  isTTY?: boolean | undefined;
}

/** Whether a command may colour its output: on a terminal, and never with `NO_COLOR` set (no-color.org). */
export function useColor(io: CliIo): boolean {
  const env = io.env ?? process.env;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return io.isTTY ?? process.stdout.isTTY === true;
}

/** A command line that cannot be run as given: exit status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The values {@link parseFlags} returns for the flags `O`. */
export type Flags<O extends NonNullable<ParseArgsConfig['options']>> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: false }>
>['values'];

/**
 * Parses a subcommand's flags (no positionals, unknown flags refused); a malformed command line is a
 * {@link UsageError} (exit status 2).
 */
export function parseFlags<const O extends NonNullable<ParseArgsConfig['options']>>(
  args: readonly string[],
  options: O,
): Flags<O> {
  try {
    return parseArgs({ args: [...args], strict: true, allowPositionals: false, options }).values;
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}
