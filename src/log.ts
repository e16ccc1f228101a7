/**
 * How the library's layers log: one function type, so the lease keeper (leases/) and the client
 * (client/) write through the same sink. The client builds it from the user's logger (client/logger.ts).
 */

/** The levels the library logs at. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** A log sink: a message and an object of fields (never a secret). It never throws. */
export type LogFn = (level: LogLevel, message: string, fields?: object) => void;
