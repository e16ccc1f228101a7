/**
 * The client on `node:diagnostics_channel`, for APM tools and OpenTelemetry (docs/observability.md), as
 * undici does: a tracing channel per call (`lv-license:openPort`, `:acquire`, `:release`,
 * `:loadVoiceChannel`) and a plain channel per event (`lv-license:connect`, `:disconnect`, `:failover`,
 * `:reclaim`, `:migrate`, `:lost`). Payloads are stable and never hold a secret. Nothing is built or
 * published while nobody subscribes.
 */
import { channel, tracingChannel } from 'node:diagnostics_channel';
import { isLicenseError } from '../errors.js';

/** The calls traced, each on `lv-license:<name>`. */
export type TracedCall = 'openPort' | 'acquire' | 'release' | 'loadVoiceChannel';

/**
 * The context of one traced call, as the tracing channel's subscribers get it (`start`, `end`,
 * `asyncStart`, `asyncEnd`, `error`). Fields are filled in as the call learns them; `result` and `error`
 * are set by the channel itself.
 */
export interface CallContext {
  /** Which call. */
  readonly operation: TracedCall;
  /** The license type (`FULL`, `TTS`...). */
  feature?: string | undefined;
  /** Seats. */
  count?: number | undefined;
  /** The lease id, once known. */
  lease?: string | undefined;
  /** The server (`host:port`) that holds it, once known. */
  server?: string | undefined;
  /** The port's id (`openPort`, `loadVoiceChannel`). */
  port?: number | undefined;
  /** When the call failed: the LV_* code (`OpenPortError` -1 ...). */
  code?: number | undefined;
  /** When the call failed with a status besides its code (`OpenPortError`: -26, -30...). */
  status?: number | undefined;
  /** What the call resolved with (set by the channel). */
  result?: unknown;
  /** What the call rejected with (set by the channel). */
  error?: unknown;
}

/** The event channels: `lv-license:<name>`, with their payloads. */
export interface ChannelPayloads {
  /** A connection to a server is up. */
  connect: {
    /** `host:port` */
    server: string;
    /** Whether it had been up before. */
    reconnected: boolean;
  };
  /** A connection was lost. */
  disconnect: {
    /** `host:port` */
    server: string;
    /** The LV_* code of why. */
    code: number;
  };
  /** A call went to the next server. */
  failover: {
    /** The server that failed or was full. */
    from: string;
    /** The server asked next. */
    to: string;
    /** `openPort`, `acquire`... */
    operation: string;
    /** The LV_* code `from` failed with. */
    code: number;
  };
  /** A lease was taken again on its server, by its id. */
  reclaim: {
    /** The lease id. */
    lease: string;
    /** `host:port` */
    server: string;
  };
  /** A lease moved to another server. */
  migrate: {
    /** The lease id. */
    lease: string;
    /** The server it left. */
    from: string;
    /** The server that holds it now. */
    to: string;
  };
  /** A lease could not be kept anywhere. */
  lost: {
    /** The lease id. */
    lease: string;
    /** The server it was on, when known. */
    server: string | undefined;
    /** The LV_* code (-41). */
    code: number;
  };
}

const tracers = {
  openPort: tracingChannel<unknown, CallContext>('lv-license:openPort'),
  acquire: tracingChannel<unknown, CallContext>('lv-license:acquire'),
  release: tracingChannel<unknown, CallContext>('lv-license:release'),
  loadVoiceChannel: tracingChannel<unknown, CallContext>('lv-license:loadVoiceChannel'),
};

const channels: { [K in keyof ChannelPayloads]: ReturnType<typeof channel> } = {
  connect: channel('lv-license:connect'),
  disconnect: channel('lv-license:disconnect'),
  failover: channel('lv-license:failover'),
  reclaim: channel('lv-license:reclaim'),
  migrate: channel('lv-license:migrate'),
  lost: channel('lv-license:lost'),
};

/**
 * Whether anyone subscribes to the tracing channel of `operation`: when nobody does, a caller on a hot
 * path skips building what {@link traced} would take.
 */
export function isTraced(operation: TracedCall): boolean {
  return tracers[operation].hasSubscribers;
}

/**
 * Runs `call` traced on its channel when someone subscribes (else just runs it). `learn` fills in what the
 * result tells (lease, server) before the subscribers hear of the end.
 */
export function traced<T>(
  operation: TracedCall,
  fields: Omit<CallContext, 'operation'>,
  call: () => Promise<T>,
  learn?: (context: CallContext, result: T) => void,
): Promise<T> {
  const tracer = tracers[operation];
  if (!tracer.hasSubscribers) return call();
  const context: CallContext = { operation, ...fields };
  return tracer.tracePromise(async () => {
    try {
      const result = await call();
      learn?.(context, result);
      return result;
    } catch (err) {
      if (isLicenseError(err)) {
        context.code = err.code;
        const status = (err as { status?: unknown }).status;
        if (typeof status === 'number') context.status = status;
        context.server ??= err.server;
      }
      throw err;
    }
  }, context);
}

/** Publishes an event on its channel, building its payload only when someone subscribes. */
export function publish<K extends keyof ChannelPayloads>(name: K, payload: () => ChannelPayloads[K]): void {
  const target = channels[name];
  if (target.hasSubscribers) target.publish(payload());
}
