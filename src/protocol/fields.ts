/**
 * Small readers that check one field of a decoded frame and say exactly which field is wrong.
 * They throw a ProtocolError that the parse functions catch and return.
 */
import { ProtocolError } from './protocol-error.js';

/** Where a field is read: what is being read, the path prefix, and what the error should carry. */
export interface FieldContext {
  /** What is being read, such as `acquire request` or `renew result`. */
  readonly what: string;
  /** Prefix of field names in messages, such as `result.` or `error.`. */
  readonly path: string;
  /** The request id to carry, if known. */
  readonly id: number | null;
  /** The LV_* code to carry. */
  readonly code: number;
}

/** Whether `value` is a JSON object (not an array, not null). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Runs `read`, returning a thrown ProtocolError instead of throwing it. */
export function collect<T>(read: () => T): T | ProtocolError {
  try {
    return read();
  } catch (err) {
    if (err instanceof ProtocolError) return err;
    throw err;
  }
}

/** Throws the `invalid-message` error for field `name`. */
export function fieldError(ctx: FieldContext, name: string, problem: string): never {
  const field = `${ctx.path}${name}`;
  throw new ProtocolError('invalid-message', `${ctx.what}: "${field}" ${problem}.`, {
    id: ctx.id,
    code: ctx.code,
    field,
  });
}

function has(obj: Record<string, unknown>, name: string): boolean {
  return Object.hasOwn(obj, name) && obj[name] !== undefined;
}

function required(obj: Record<string, unknown>, name: string, ctx: FieldContext): unknown {
  if (!has(obj, name)) fieldError(ctx, name, 'is missing');
  return obj[name];
}

/** A string field, optionally matching `pattern`. */
export function readString(
  obj: Record<string, unknown>,
  name: string,
  ctx: FieldContext,
  pattern?: RegExp,
): string {
  const value = required(obj, name, ctx);
  if (typeof value !== 'string') fieldError(ctx, name, 'must be a string');
  if (pattern !== undefined && !pattern.test(value)) fieldError(ctx, name, `must match ${pattern}`);
  return value;
}

/** A string field that may be absent. */
export function readOptionalString(
  obj: Record<string, unknown>,
  name: string,
  ctx: FieldContext,
  pattern?: RegExp,
): string | undefined {
  return has(obj, name) ? readString(obj, name, ctx, pattern) : undefined;
}

/** A field that must hold one of `allowed`. */
export function readChoice<T extends string>(
  obj: Record<string, unknown>,
  name: string,
  ctx: FieldContext,
  allowed: readonly T[],
): T {
  const value = required(obj, name, ctx);
  if (!allowed.includes(value as T)) {
    fieldError(ctx, name, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
  }
  return value as T;
}

/** A safe-integer field of at least `min`. */
export function readInteger(
  obj: Record<string, unknown>,
  name: string,
  ctx: FieldContext,
  min: number,
): number {
  const value = required(obj, name, ctx);
  if (!Number.isSafeInteger(value) || (value as number) < min) {
    fieldError(ctx, name, `must be an integer >= ${min}`);
  }
  return value as number;
}

/** A safe-integer field of at least `min` that may be absent. */
export function readOptionalInteger(
  obj: Record<string, unknown>,
  name: string,
  ctx: FieldContext,
  min: number,
): number | undefined {
  return has(obj, name) ? readInteger(obj, name, ctx, min) : undefined;
}

/** A boolean field. */
export function readBoolean(obj: Record<string, unknown>, name: string, ctx: FieldContext): boolean {
  const value = required(obj, name, ctx);
  if (typeof value !== 'boolean') fieldError(ctx, name, 'must be true or false');
  return value;
}

/** An array-of-strings field, each matching `pattern`. */
export function readStringArray(
  obj: Record<string, unknown>,
  name: string,
  ctx: FieldContext,
  pattern: RegExp,
): string[] {
  const value = required(obj, name, ctx);
  if (!Array.isArray(value)) fieldError(ctx, name, 'must be an array of strings');
  // Checked in place: the array is the decoder's own (no copy per answer).
  for (let index = 0; index < value.length; index++) {
    const item: unknown = value[index];
    if (typeof item !== 'string' || !pattern.test(item)) {
      fieldError(ctx, `${name}[${index}]`, `must be a string matching ${pattern}`);
    }
  }
  return value as string[];
}

/** An optional array-of-integers field, each at least `min` (checked in place, as strings are). */
export function readOptionalIntegerArray(
  obj: Record<string, unknown>,
  name: string,
  ctx: FieldContext,
  min: number,
): number[] | undefined {
  if (!has(obj, name)) return undefined;
  const value = obj[name];
  if (!Array.isArray(value)) fieldError(ctx, name, `must be an array of integers >= ${min}`);
  for (let index = 0; index < value.length; index++) {
    const item: unknown = value[index];
    if (!Number.isSafeInteger(item) || (item as number) < min) {
      fieldError(ctx, `${name}[${index}]`, `must be an integer >= ${min}`);
    }
  }
  return value as number[];
}

/** An array-of-objects field, of at most `max` items. */
export function readObjectArray(
  obj: Record<string, unknown>,
  name: string,
  ctx: FieldContext,
  max: number = Number.POSITIVE_INFINITY,
): Array<Record<string, unknown>> {
  const value = required(obj, name, ctx);
  if (!Array.isArray(value)) fieldError(ctx, name, 'must be an array of objects');
  if (value.length > max) fieldError(ctx, name, `must have at most ${max} items`);
  value.forEach((item: unknown, index) => {
    if (!isRecord(item)) fieldError(ctx, `${name}[${index}]`, 'must be an object');
  });
  return value as Array<Record<string, unknown>>;
}

/**
 * An optional array of fencing epochs, one per id of `ids` (an integer >= 1, or `null` for an id whose
 * epoch the sender does not know).
 */
export function readOptionalEpochs(
  obj: Record<string, unknown>,
  name: string,
  ctx: FieldContext,
  ids: readonly string[],
): Array<number | null> | undefined {
  if (!has(obj, name)) return undefined;
  const value = obj[name];
  if (!Array.isArray(value) || value.length !== ids.length) {
    fieldError(ctx, name, `must be an array of ${ids.length} epochs (integers >= 1 or null), one per lease`);
  }
  return value.map((item: unknown, index) => {
    if (item !== null && !(Number.isSafeInteger(item) && (item as number) >= 1)) {
      fieldError(ctx, `${name}[${index}]`, 'must be an integer >= 1 or null');
    }
    return item as number | null;
  });
}

/** An optional object of lease id to fencing epoch (an integer >= 1); a map, so no id is a prototype key. */
export function readOptionalEpochMap(
  obj: Record<string, unknown>,
  name: string,
  ctx: FieldContext,
  pattern: RegExp,
): Map<string, number> | undefined {
  if (!has(obj, name)) return undefined;
  const value = obj[name];
  if (!isRecord(value)) fieldError(ctx, name, 'must be an object of lease id to epoch');
  const epochs = new Map<string, number>();
  for (const [id, epoch] of Object.entries(value)) {
    if (!pattern.test(id)) fieldError(ctx, `${name} key`, `must be a lease id matching ${pattern}`);
    if (!(Number.isSafeInteger(epoch) && (epoch as number) >= 1)) {
      fieldError(ctx, `${name}.${id}`, 'must be an integer >= 1');
    }
    epochs.set(id, epoch as number);
  }
  return epochs;
}

/** An object field. */
export function readObject(
  obj: Record<string, unknown>,
  name: string,
  ctx: FieldContext,
): Record<string, unknown> {
  const value = required(obj, name, ctx);
  if (!isRecord(value)) fieldError(ctx, name, 'must be an object');
  return value;
}

/** `base` plus `key: value` when `value` is defined (for exactOptionalPropertyTypes). */
export function withOptional<T extends object, K extends string, V>(
  base: T,
  key: K,
  value: V | undefined,
): T & { [P in K]?: V } {
  return value === undefined ? base : { ...base, [key]: value };
}
