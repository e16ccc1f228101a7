/**
 * Runtime checks of decoded frames: each takes `unknown` and returns the typed message or a
 * ProtocolError (reason `invalid-message`) that names the field at fault. Unknown fields are ignored
 * and left out of the returned value, as the versioning rule asks.
 */
import {
  FEATURE_PATTERN,
  LEASE_ID_PATTERN,
  MAX_BATCH_REQUESTS,
  PROTOCOL_NAME,
  SCRAM_MECHANISM,
} from './constants.js';
import {
  collect,
  type FieldContext,
  fieldError,
  isRecord,
  readBoolean,
  readChoice,
  readInteger,
  readObject,
  readObjectArray,
  readOptionalEpochs,
  readOptionalInteger,
  readOptionalString,
  readString,
  readStringArray,
  withOptional,
} from './fields.js';
import {
  AUTH_MODES,
  type Greeting,
  type ParamsByOp,
  type Push,
  REQUEST_OPS,
  type Request,
  type RequestOp,
  type Response,
  type ServerFrame,
} from './messages.js';
import { ProtocolError } from './protocol-error.js';
import { ReturnCode } from './return-codes.js';

// The message functions are imported from here; their code lives in files of their own.
export { errorResponse, okResponse } from './builders.js';
export { parseResult } from './results.js';

const MALFORMED = ReturnCode.LV_UNKNOWN_SERVER_ERROR;
const INCOMPATIBLE = ReturnCode.LV_OPEN_PORT_FAILED__PRIMARY_SERVER_NOT_COMPATIBLE;

function notAnObject(what: string): ProtocolError {
  return new ProtocolError('invalid-message', `${what}: not a JSON object.`);
}

/**
 * Checks the server's greeting. A greeting of another protocol, or with an authentication mode this
 * library does not know, is refused with code -28 (incompatible server). The version is not judged
 * here: see `checkVersion`.
 */
export function parseGreeting(value: unknown): Greeting | ProtocolError {
  if (!isRecord(value)) return notAnObject('greeting');
  return collect(() => {
    const ctx: FieldContext = { what: 'greeting', path: '', id: null, code: MALFORMED };
    const incompatible: FieldContext = { ...ctx, code: INCOMPATIBLE };
    return {
      type: readChoice(value, 'type', ctx, ['greeting'] as const),
      protocol: readChoice(value, 'protocol', incompatible, [PROTOCOL_NAME] as const),
      version: readString(value, 'version', ctx),
      server: readString(value, 'server', ctx),
      auth: readChoice(value, 'auth', incompatible, AUTH_MODES),
      message: readString(value, 'message', ctx),
    };
  });
}

type ParamsReaders = {
  [Op in RequestOp]: (obj: Record<string, unknown>, ctx: FieldContext) => ParamsByOp[Op];
};

const PARAMS: ParamsReaders = {
  hello: (obj, ctx) =>
    withOptional(
      { version: readString(obj, 'version', ctx) },
      'client',
      readOptionalString(obj, 'client', ctx),
    ),
  'auth-start': (obj, ctx) => ({
    mechanism: readChoice(obj, 'mechanism', { ...ctx, code: INCOMPATIBLE }, [SCRAM_MECHANISM] as const),
    message: readString(obj, 'message', ctx),
  }),
  'auth-finish': (obj, ctx) => ({ message: readString(obj, 'message', ctx) }),
  acquire: (obj, ctx) =>
    withOptional(
      {
        lease: readString(obj, 'lease', ctx, LEASE_ID_PATTERN),
        feature: readString(obj, 'feature', ctx, FEATURE_PATTERN),
        count: readInteger(obj, 'count', ctx, 1),
      },
      'wait',
      readOptionalInteger(obj, 'wait', ctx, 0),
    ),
  cancel: (obj, ctx) => ({ lease: readString(obj, 'lease', ctx, LEASE_ID_PATTERN) }),
  renew: (obj, ctx) => ({ leases: readStringArray(obj, 'leases', ctx, LEASE_ID_PATTERN) }),
  release: (obj, ctx) => {
    const leases = readStringArray(obj, 'leases', ctx, LEASE_ID_PATTERN);
    return withOptional({ leases }, 'epochs', readOptionalEpochs(obj, 'epochs', ctx, leases));
  },
  status: (obj, ctx) => withOptional({}, 'feature', readOptionalString(obj, 'feature', ctx, FEATURE_PATTERN)),
  ping: () => ({}),
  // Each request of a batch is checked on its own (parseRequest), so that one bad request is answered
  // alone; here only the envelope is: an array of 1 to MAX_BATCH_REQUESTS objects.
  batch: (obj, ctx) => {
    const requests = readObjectArray(obj, 'requests', ctx, MAX_BATCH_REQUESTS);
    if (requests.length === 0) fieldError(ctx, 'requests', 'must have at least one request');
    return { requests };
  },
};

/**
 * Checks a request (server side). The error carries what the server should answer: the request's id
 * (or `null` when it has none, with code -50), code -13 for an operation it does not know, -28 for an
 * unsupported SASL mechanism, and -54 for a bad field.
 *
 * @example
 * ```ts
 * const request = parseRequest(frame);
 * if (request instanceof ProtocolError) send(errorResponse(request.id, request.code, request.message));
 * ```
 */
export function parseRequest(value: unknown): Request | ProtocolError {
  if (!isRecord(value)) return notAnObject('request');
  let id: number;
  try {
    id = readInteger(value, 'id', REQUEST_ID_CONTEXT, 1);
  } catch (err) {
    return protocolError(err);
  }
  try {
    const op = readString(value, 'op', REQUEST_CONTEXT);
    if (!(REQUEST_OPS as readonly string[]).includes(op)) {
      fieldError(
        { ...REQUEST_CONTEXT, code: ReturnCode.LV_NOT_IMPLEMENTED },
        'op',
        `names an unknown operation ${JSON.stringify(op)}`,
      );
    }
    const params = PARAMS[op as RequestOp](value, PARAMS_CONTEXTS[op as RequestOp]);
    return { id, op, ...params } as Request;
  } catch (err) {
    // The shared contexts carry no id: the error gets the request's own here (the rare path).
    const error = protocolError(err);
    return new ProtocolError(error.reason, error.message, {
      fatal: error.fatal,
      code: error.code,
      id,
      ...(error.field === undefined ? {} : { field: error.field }),
    });
  }
}

/** `err` when it is a ProtocolError; anything else is a bug, thrown on. */
function protocolError(err: unknown): ProtocolError {
  if (err instanceof ProtocolError) return err;
  throw err;
}

/** The field contexts of a request, made once (every request is checked with them). */
const REQUEST_ID_CONTEXT: FieldContext = { what: 'request', path: '', id: null, code: MALFORMED };
const REQUEST_CONTEXT: FieldContext = {
  what: 'request',
  path: '',
  id: null,
  code: ReturnCode.LV_INVALID_API_PARAMETER,
};
const PARAMS_CONTEXTS = Object.fromEntries(
  REQUEST_OPS.map((op): [string, FieldContext] => [op, { ...REQUEST_CONTEXT, what: `${op} request` }]),
) as Record<RequestOp, FieldContext>;

const PUSH_KINDS = ['lease-revoked', 'shutdown', 'queue-position'] as const;

function parsePush(value: Record<string, unknown>): Push | ProtocolError {
  const kind = value.push;
  if (!(PUSH_KINDS as readonly unknown[]).includes(kind)) {
    return new ProtocolError('unexpected-message', `Unknown push ${JSON.stringify(kind)}; ignore it.`, {
      field: 'push',
    });
  }
  return collect((): Push => {
    const ctx: FieldContext = { what: `${String(kind)} push`, path: '', id: null, code: MALFORMED };
    switch (kind as Push['push']) {
      case 'lease-revoked':
        return {
          push: 'lease-revoked',
          leases: readStringArray(value, 'leases', ctx, LEASE_ID_PATTERN),
          code: readInteger(value, 'code', ctx, Number.MIN_SAFE_INTEGER),
          message: readString(value, 'message', ctx),
        };
      case 'shutdown':
        return withOptional(
          { push: 'shutdown', message: readString(value, 'message', ctx) },
          'retryAfter',
          readOptionalInteger(value, 'retryAfter', ctx, 0),
        );
      case 'queue-position':
        return {
          push: 'queue-position',
          lease: readString(value, 'lease', ctx, LEASE_ID_PATTERN),
          position: readInteger(value, 'position', ctx, 1),
        };
    }
  });
}

function parseResponse(value: Record<string, unknown>): Response | ProtocolError {
  const rawId = value.id;
  // A success with a good id and an object result (nearly every frame): nothing to build but the answer.
  const result = value.result;
  if (value.ok === true && Number.isSafeInteger(rawId) && (rawId as number) >= 1 && isRecord(result)) {
    return { id: rawId as number, ok: true, result };
  }
  const idCtx: FieldContext = { what: 'response', path: '', id: null, code: MALFORMED };
  const id = rawId === null ? null : collect(() => readInteger(value, 'id', idCtx, 1));
  if (id instanceof ProtocolError) return id;
  return collect((): Response => {
    const ctx: FieldContext = { ...idCtx, id };
    if (readBoolean(value, 'ok', ctx)) {
      if (id === null) fieldError(ctx, 'id', 'must be a request id in a success response');
      return { id, ok: true, result: readObject(value, 'result', ctx) };
    }
    const error = readObject(value, 'error', ctx);
    const errorCtx: FieldContext = { ...ctx, path: 'error.' };
    return {
      id,
      ok: false,
      error: {
        code: readInteger(error, 'code', errorCtx, Number.MIN_SAFE_INTEGER),
        name: readString(error, 'name', errorCtx),
        message: readString(error, 'message', errorCtx),
      },
    };
  });
}

/**
 * Classifies and checks a frame the client received: the greeting, a response (its envelope: check
 * the result with `parseResult(op, response.result)` once the request's op is known), or a push.
 * An unknown push gives a non-fatal `unexpected-message` error, which a client ignores.
 *
 * @example
 * ```ts
 * const frame = parseServerFrame(item.value);
 * if (frame instanceof ProtocolError) return fail(frame);
 * if (frame.kind === 'response' && frame.response.ok) {
 *   const result = parseResult(pending.op, frame.response.result);
 * }
 * ```
 */
export function parseServerFrame(value: unknown): ServerFrame | ProtocolError {
  if (!isRecord(value)) return notAnObject('server frame');
  if (value.type === 'greeting') {
    const greeting = parseGreeting(value);
    return greeting instanceof ProtocolError ? greeting : { kind: 'greeting', greeting };
  }
  if (Object.hasOwn(value, 'push')) {
    const push = parsePush(value);
    return push instanceof ProtocolError ? push : { kind: 'push', push };
  }
  if (Object.hasOwn(value, 'id')) {
    const response = parseResponse(value);
    return response instanceof ProtocolError ? response : { kind: 'response', response };
  }
  return new ProtocolError(
    'invalid-message',
    'server frame: neither a greeting ("type"), a response ("id") nor a push ("push").',
  );
}
