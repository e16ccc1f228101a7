/**
 * An IVR's call flow on a speech engine, with the engine's licensing done by lv-license-client.
 *
 *   node --import tsx examples/ivr-call-flow.ts
 *
 * `SpeechEngine` stands for the binding of a speech engine whose calls return the vendor's LV_* codes
 * (OpenPort, LoadGrammar, ActivateGrammar, LoadVoiceChannel, Decode, ClosePort). It takes its licenses
 * through the license client, so an app written against the C API keeps its flow and its return codes.
 * First one call goes through with the license servers up; then the same call runs with every license
 * server down, and the log shows the vendor's cascade, line by line:
 *
 *   License failure. No license server responding at address: ...
 *   OpenPort() failed, errorcode returned -1
 *   LoadVoiceChannel failed, errorcode returned -12
 *   ActivateGrammar() failed, errorcode returned -12
 */
// In your app: from 'lv-license-client' and 'lv-license-client/testing'.
import {
  InvalidPortError,
  isLicenseError,
  LicenseClient,
  type Port,
  ReturnCode,
  toReturnCode,
} from '../src/index.js';
import { FakeLicenseServer } from '../src/testing/index.js';

/** A port handle, as the C API hands them out; 0 is "no port" (a failed OpenPort). */
type HPORT = number;

/** The log lines an IVR writes, in the words the vendor's field logs show. */
const CALL_NAMES = {
  OpenPort: 'OpenPort()',
  LoadVoiceChannel: 'LoadVoiceChannel',
  ActivateGrammar: 'ActivateGrammar()',
  Decode: 'Decode()',
  ClosePort: 'ClosePort()',
} as const;

/** A simulated speech engine whose ports are licensed by the license client. */
class SpeechEngine {
  readonly #license: LicenseClient;
  readonly #log: (line: string) => void;
  readonly #ports = new Map<HPORT, Port>();
  readonly #grammars = new Map<string, string>();
  readonly #active = new Map<HPORT, Set<string>>();

  constructor(license: LicenseClient, log: (line: string) => void) {
    this.#license = license;
    this.#log = log;
  }

  /** Loads a grammar for every port (a global grammar: no port, no license needed). */
  LoadGrammar(label: string, uri: string): number {
    this.#grammars.set(label, uri);
    return ReturnCode.LV_SUCCESS;
  }

  /** Takes a license and returns the port handle; 0 and LV_FAILURE (-1) when no license could be had. */
  async OpenPort(): Promise<{ rc: number; hport: HPORT }> {
    try {
      const port = await this.#license.openPort();
      this.#ports.set(port.id, port);
      return { rc: ReturnCode.LV_SUCCESS, hport: port.id };
    } catch (err) {
      // OpenPortError: its message is the vendor's "License failure. ..." line; err.status has the detail.
      if (isLicenseError(err)) this.#log(err.message);
      return { rc: this.#failed('OpenPort', err), hport: 0 };
    }
  }

  /** The license gate, then the audio goes to the engine. */
  LoadVoiceChannel(hport: HPORT, channel: number, audio: Uint8Array): Promise<number> {
    return this.#call('LoadVoiceChannel', async () => {
      await this.#license.loadVoiceChannel(this.#port(hport), channel, audio);
      return ReturnCode.LV_SUCCESS;
    });
  }

  ActivateGrammar(hport: HPORT, label: string): Promise<number> {
    return this.#call('ActivateGrammar', async () => {
      await this.#licensed(hport);
      if (!this.#grammars.has(label)) return ReturnCode.LV_INVALID_GRAMMAR_LABEL;
      const active = this.#active.get(hport) ?? new Set<string>();
      this.#active.set(hport, active.add(label));
      return ReturnCode.LV_SUCCESS;
    });
  }

  /** Recognizes the channel's audio against the active grammars; a count of results (0 or more) on success. */
  Decode(hport: HPORT, channel: number): Promise<number> {
    return this.#call('Decode', async () => {
      await this.#licensed(hport, channel);
      return this.#active.get(hport)?.size ?? 0;
    });
  }

  /** Gives the license back (to the license cache, or to the server). */
  ClosePort(hport: HPORT): Promise<number> {
    return this.#call('ClosePort', async () => {
      const port = this.#port(hport);
      this.#ports.delete(hport);
      this.#active.delete(hport);
      await port.close();
      return ReturnCode.LV_SUCCESS;
    });
  }

  /**
   * The handle's Port. A handle the engine never gave out (0 after a failed OpenPort) or already closed
   * is LV_INVALID_HPORT (-12), as in the C API.
   */
  #port(hport: HPORT): Port {
    const port = this.#ports.get(hport);
    if (port === undefined) {
      throw new InvalidPortError(`Port ${hport} is not valid: it failed to open or is already closed.`);
    }
    return port;
  }

  /**
   * The license check before engine work: -12 for a bad port, -41 for a license lost while in use (and,
   * with DELAYED_LICENSE_ACQUISITION = 1, the license is taken here, at the first call that needs it).
   */
  async #licensed(hport: HPORT, channel = 0): Promise<void> {
    await this.#license.loadVoiceChannel(this.#port(hport), channel);
  }

  async #call(name: keyof typeof CALL_NAMES, body: () => Promise<number>): Promise<number> {
    try {
      return await body();
    } catch (err) {
      return this.#failed(name, err);
    }
  }

  #failed(name: keyof typeof CALL_NAMES, err: unknown): number {
    const rc = toReturnCode(err);
    this.#log(`${CALL_NAMES[name]} failed, errorcode returned ${rc}`);
    return rc;
  }
}

/**
 * One call of the IVR, written as against the C API: the engine logs each failure, and (as in many
 * field apps) the flow goes on after one, which is what makes the cascade.
 */
async function answerCall(engine: SpeechEngine, log: (line: string) => void): Promise<void> {
  const audio = new Uint8Array(8_000); // a second of 8 kHz audio from the caller
  const ok = (call: string, rc: number) => {
    if (rc >= 0) log(`${call} returned ${rc}`);
  };
  const { rc, hport } = await engine.OpenPort();
  if (rc === ReturnCode.LV_SUCCESS) log(`OpenPort() returned port ${hport}`);
  ok('LoadVoiceChannel', await engine.LoadVoiceChannel(hport, 1, audio));
  ok('ActivateGrammar()', await engine.ActivateGrammar(hport, 'yesno'));
  ok('Decode()', await engine.Decode(hport, 1));
  ok('ClosePort()', await engine.ClosePort(hport));
}

const log = (line: string) => console.log(line);
const servers = [await FakeLicenseServer.start(), await FakeLicenseServer.start()];
const license = new LicenseClient({
  servers: servers.map((s) => s.address).join(';'),
  // Shorter than the 15 s default, so that the example finishes quickly: with no server answering,
  // openPort() keeps trying every server, with backoff, until this deadline.
  operationTimeout: 1_500,
  connectTimeout: 500,
  requestTimeout: 500,
  // Off here: otherwise the second call reuses the license the first one released (LICENSE_CACHE_PERIOD,
  // 30 s by default) and opens its port with no server at all.
  licenseCachePeriod: 0,
});
try {
  const engine = new SpeechEngine(license, log);
  engine.LoadGrammar('yesno', 'builtin:grammar/boolean');

  log(
    `== A call, license servers up (${license
      .status()
      .servers.map((s) => s.server)
      .join(', ')})`,
  );
  await answerCall(engine, log);

  await Promise.all(servers.map((s) => s.stop()));
  log('');
  log('== The same call, every license server down');
  await answerCall(engine, log);
} finally {
  await license.close();
  await Promise.all(servers.map((s) => s.close()));
}
