/**
 * A small piece of an IVR app: the code that app.test.ts (vitest) and app.node-test.ts (node:test) test
 * with FakeLicenseServer. It answers a call when a license can be had and otherwise picks the prompt
 * the caller hears, from the OpenPortError's status.
 */
// In your app: from 'lv-license-client'.
import { type LicenseClient, OpenPortError, ReturnCode } from '../src/index.js';

/** What the caller hears when no license can be had. */
export type RefusalPrompt = 'all-lines-busy' | 'technical-difficulties' | 'service-misconfigured';

/** A call that got a license, or the prompt to play and the LV_* status behind it. */
export type Answer =
  | { readonly answered: true; readonly server: string; hangUp(): Promise<void> }
  | { readonly answered: false; readonly prompt: RefusalPrompt; readonly status: number };

/** Answers one call: takes a license (a port) and gives the caller's first audio to the engine. */
export async function answerCall(client: LicenseClient, audio: Uint8Array): Promise<Answer> {
  try {
    const port = await client.openPort();
    await client.loadVoiceChannel(port, 0, audio);
    return { answered: true, server: port.lease?.server ?? '', hangUp: () => port.close() };
  } catch (err) {
    if (!(err instanceof OpenPortError)) throw err;
    return { answered: false, prompt: promptFor(err.status), status: err.status };
  }
}

function promptFor(status: number): RefusalPrompt {
  switch (status) {
    case ReturnCode.LV_OPEN_PORT_FAILED__LICENSES_EXCEEDED:
      return 'all-lines-busy';
    case ReturnCode.LV_INVALID_LICENSE: // wrong username or password
    case ReturnCode.LV_OPEN_PORT_FAILED__PRIMARY_SERVER_NOT_COMPATIBLE: // authentication on one side only
    case ReturnCode.LV_INVALID_PROPERTY_VALUE: // a bad option
      return 'service-misconfigured';
    default: // -30 no server responding, -6 time-out...
      return 'technical-difficulties';
  }
}
