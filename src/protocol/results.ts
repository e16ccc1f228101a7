/**
 * Runtime checks of the `result` of a success response, by the operation it answers (the client knows
 * the op from the request id it sent).
 */
import { FEATURE_PATTERN, LEASE_ID_PATTERN } from './constants.js';
import {
  type FieldContext,
  fieldError,
  isRecord,
  readBoolean,
  readChoice,
  readInteger,
  readObject,
  readObjectArray,
  readOptionalEpochMap,
  readOptionalInteger,
  readOptionalIntegerArray,
  readOptionalString,
  readString,
  readStringArray,
  withOptional,
} from './fields.js';
import {
  AUTH_MODES,
  type FeatureStatus,
  type RequestOp,
  type ResultByOp,
  type ResultOf,
} from './messages.js';
import { ProtocolError } from './protocol-error.js';
import { ReturnCode } from './return-codes.js';

type ResultReaders = {
  [Op in RequestOp]: (obj: Record<string, unknown>, ctx: FieldContext) => ResultByOp[Op];
};

const RESULTS: ResultReaders = {
  hello: (obj, ctx) => {
    const cluster = readOptionalString(obj, 'cluster', ctx);
    const batch = readOptionalInteger(obj, 'batch', ctx, 1);
    return {
      version: readString(obj, 'version', ctx),
      server: readString(obj, 'server', ctx),
      auth: readChoice(obj, 'auth', ctx, AUTH_MODES),
      leaseTtl: readInteger(obj, 'leaseTtl', ctx, 1),
      maxFrameBytes: readInteger(obj, 'maxFrameBytes', ctx, 1),
      ...(cluster === undefined ? {} : { cluster }),
      ...(batch === undefined ? {} : { batch }),
    };
  },
  'auth-start': (obj, ctx) => ({ message: readString(obj, 'message', ctx) }),
  'auth-finish': (obj, ctx) => ({
    message: readString(obj, 'message', ctx),
    account: readString(obj, 'account', ctx),
  }),
  acquire: (obj, ctx) =>
    withOptional(
      {
        lease: readString(obj, 'lease', ctx, LEASE_ID_PATTERN),
        feature: readString(obj, 'feature', ctx, FEATURE_PATTERN),
        count: readInteger(obj, 'count', ctx, 1),
        ttl: readInteger(obj, 'ttl', ctx, 1),
        reclaimed: readBoolean(obj, 'reclaimed', ctx),
      },
      'epoch',
      readOptionalInteger(obj, 'epoch', ctx, 1),
    ),
  cancel: (obj, ctx) => ({
    lease: readString(obj, 'lease', ctx, LEASE_ID_PATTERN),
    cancelled: readBoolean(obj, 'cancelled', ctx),
  }),
  renew: (obj, ctx) => {
    const epochs = readOptionalEpochMap(obj, 'epochs', ctx, LEASE_ID_PATTERN);
    return withOptional(
      {
        renewed: readStringArray(obj, 'renewed', ctx, LEASE_ID_PATTERN),
        unknown: readStringArray(obj, 'unknown', ctx, LEASE_ID_PATTERN),
        ttl: readInteger(obj, 'ttl', ctx, 1),
      },
      'epochs',
      epochs === undefined ? undefined : Object.fromEntries(epochs),
    );
  },
  release: (obj, ctx) => ({
    released: readStringArray(obj, 'released', ctx, LEASE_ID_PATTERN),
    unknown: readStringArray(obj, 'unknown', ctx, LEASE_ID_PATTERN),
  }),
  status: (obj, ctx) => ({ features: readFeatures(readObject(obj, 'features', ctx), ctx) }),
  ping: (obj, ctx) => ({ time: readInteger(obj, 'time', ctx, 0) }),
  // Each response is checked as a frame of its own would be (parseServerFrame) by the connection.
  batch: (obj, ctx) => {
    const responses = readObjectArray(obj, 'responses', ctx);
    const granted = readOptionalIntegerArray(obj, 'granted', ctx, 0);
    const released = readOptionalIntegerArray(obj, 'released', ctx, 0);
    if (granted === undefined || granted.length === 0) {
      return released === undefined ? { responses } : { responses, released };
    }
    const ttl = readInteger(obj, 'ttl', ctx, 1);
    const epochs = readOptionalIntegerArray(obj, 'epochs', ctx, 1);
    if (epochs !== undefined && epochs.length !== granted.length) {
      fieldError(ctx, 'epochs', `must have one epoch per granted id (${granted.length})`);
    }
    const result: ResultOf<'batch'> = { responses, granted, ttl };
    if (epochs !== undefined) result.epochs = epochs;
    if (released !== undefined) result.released = released;
    return result;
  },
};

function readFeatures(obj: Record<string, unknown>, ctx: FieldContext): Record<string, FeatureStatus> {
  const features: Record<string, FeatureStatus> = {};
  for (const [name, value] of Object.entries(obj)) {
    if (!FEATURE_PATTERN.test(name))
      fieldError(ctx, `features.${name}`, `is not a feature name (${FEATURE_PATTERN})`);
    const featureCtx: FieldContext = { ...ctx, path: `${ctx.path}features.${name}.` };
    if (!isRecord(value)) fieldError(ctx, `features.${name}`, 'must be an object');
    const endsAt = readOptionalString(value, 'endsAt', featureCtx);
    features[name] = {
      total: readInteger(value, 'total', featureCtx, 0),
      inUse: readInteger(value, 'inUse', featureCtx, 0),
      queued: readInteger(value, 'queued', featureCtx, 0),
      ...(endsAt === undefined ? {} : { endsAt }),
    };
  }
  return features;
}

/**
 * Checks the `result` of a success response to a request of operation `op`. Errors carry code -50
 * (LV_UNKNOWN_SERVER_ERROR) and name the field, such as `result.ttl`.
 *
 * @example
 * ```ts
 * const result = parseResult('acquire', response.result);
 * if (result instanceof ProtocolError) reject(result);
 * else resolve(result.ttl);
 * ```
 */
export function parseResult<Op extends RequestOp>(op: Op, value: unknown): ResultOf<Op> | ProtocolError {
  if (!isRecord(value))
    return new ProtocolError('invalid-message', `${op} result: not a JSON object.`, { field: 'result' });
  const read = RESULTS[op] as (obj: Record<string, unknown>, ctx: FieldContext) => ResultOf<Op>;
  try {
    return read(value, CONTEXTS[op]);
  } catch (err) {
    if (err instanceof ProtocolError) return err;
    throw err;
  }
}

/** The field context of each op's result, made once (every answer is checked with one). */
const CONTEXTS = Object.fromEntries(
  Object.keys(RESULTS).map((op): [string, FieldContext] => [
    op,
    { what: `${op} result`, path: 'result.', id: null, code: ReturnCode.LV_UNKNOWN_SERVER_ERROR },
  ]),
) as Record<RequestOp, FieldContext>;
