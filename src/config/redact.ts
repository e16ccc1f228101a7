/**
 * Keeping a password out of text: every message about a configuration goes through here, so that a
 * password pasted where it does not belong (a server list, a file path) is never shown back.
 */

/** What a redacted secret reads as. */
export const REDACTED = '[redacted]';

const WORD = /[\p{L}\p{N}]/u;

/** How long a value {@link quote}-like helpers show before cutting it with "...". */
const SHOWN_PREFIX_MIN = 8;

/**
 * `text` with every secret replaced by `[redacted]`. A secret of four characters or more is replaced
 * wherever it stands, also as JSON escapes it and where a message cut it short ("Hunter2Sec..."); a shorter
 * one only where it stands alone (not inside a longer word), so that a two-letter password does not eat
 * the letters of every message.
 */
export function redactSecrets(text: string, secrets: Iterable<string>): string {
  let out = text;
  for (const secret of secrets) {
    if (secret === '') continue;
    for (const form of new Set([secret, JSON.stringify(secret).slice(1, -1)])) {
      out = replaceOne(out, form);
      for (let k = form.length - 1; k >= SHOWN_PREFIX_MIN; k--)
        out = out.split(`${form.slice(0, k)}...`).join(`${REDACTED}...`);
    }
  }
  return out;
}

/** Whether a server list entry's host is one of the secrets: a password pasted into the list. */
export function isPastedSecret(host: string, secrets: Iterable<string>): boolean {
  const lower = host.toLowerCase();
  for (const secret of secrets) if (secret !== '' && secret.toLowerCase() === lower) return true;
  return false;
}

function replaceOne(text: string, secret: string): string {
  if (secret.length >= 4) return text.split(secret).join(REDACTED);
  let out = '';
  let from = 0;
  for (let at = text.indexOf(secret); at >= 0; at = text.indexOf(secret, at + secret.length)) {
    const before = text.slice(Math.max(0, at - 1), at);
    const after = text.slice(at + secret.length, at + secret.length + 1);
    if (WORD.test(before) || WORD.test(after)) continue;
    out += text.slice(from, at) + REDACTED;
    from = at + secret.length;
  }
  return out + text.slice(from);
}
