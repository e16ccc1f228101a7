/** The message of whatever was thrown, for a log line or an answer: an Error's message, else its text. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
