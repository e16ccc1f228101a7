/**
 * Emitting events to the application safely. The client emits from inside reconnects, reclaims and
 * migrations: a listener that throws must not break any of them.
 */
import type { EventEmitter } from 'eventemitter3';
import { LicenseError } from '../errors.js';
import { ReturnCode } from '../protocol/return-codes.js';
import type { LicenseClientEvents } from './events.js';
import type { LogFn } from './logger.js';

/**
 * Emits `event`; if a listener throws, the error is logged and reported as an `error` event on the next
 * microtask (an `error` listener that throws is only logged).
 */
export function safeEmit<K extends keyof LicenseClientEvents>(
  emitter: EventEmitter<LicenseClientEvents>,
  log: LogFn,
  event: K,
  args: LicenseClientEvents[K],
): void {
  try {
    (emitter.emit as (e: K, ...a: LicenseClientEvents[K]) => boolean).call(emitter, event, ...args);
  } catch (err) {
    log('error', `a "${event}" event listener threw; the client carries on`, { error: String(err) });
    if (event === 'error') return;
    const error = new LicenseError(`A "${event}" event listener threw: ${String(err)}`, {
      code: ReturnCode.LV_EXCEPTION,
      cause: err,
    });
    queueMicrotask(() => {
      try {
        emitter.emit('error', error);
      } catch {
        // An error listener that throws too: it was logged above.
      }
    });
  }
}
