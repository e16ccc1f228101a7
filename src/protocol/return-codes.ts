/**
 * The LumenVox LV_* return codes: the one table that names every code, says what it means and
 * whether trying again (perhaps on another server) can help. The error classes, `describeReturnCode`,
 * the docs and the retry decisions are all built from it.
 */

/** One row of the table: `[code, meaning, retryable]`. */
type Row = readonly [code: number, meaning: string, retryable: boolean];

const TABLE = {
  LV_SUCCESS: [0, 'The call succeeded.', false],
  LV_FAILURE: [-1, 'The call failed; for OpenPort, no license could be had (see the status for why).', true],
  LV_SYSTEM_ERROR: [-2, 'An operating-system call failed.', true],
  LV_RESET: [-3, 'The operation was reset before it finished.', true],
  LV_BAD_SOUND_DATA: [-4, 'The audio data is not valid.', false],
  LV_INVALID_SOUND_FORMAT: [-5, 'The audio format is not supported.', false],
  LV_TIME_OUT: [-6, 'The operation did not finish within its deadline.', true],
  LV_GRAMMAR_SET_OUT_OF_RANGE: [-7, 'The grammar set index is out of range.', false],
  LV_SOUND_CHANNEL_OUT_OF_RANGE: [-8, 'The voice channel number is out of range.', false],
  LV_STANDARD_GRAMMAR_ALREADY_LOADED: [-9, 'That standard grammar is already loaded.', false],
  LV_STANDARD_GRAMMAR_OUT_OF_RANGE: [-10, 'The standard grammar index is out of range.', false],
  LV_INVALID_PROPERTY_VALUE: [-11, 'A configuration property has a value that is not allowed.', false],
  LV_INVALID_HPORT: [-12, 'The port is not valid: never opened, failed to open, or already closed.', false],
  LV_NOT_IMPLEMENTED: [-13, 'The function is not implemented.', false],
  LV_SOCKETS_ERROR: [-14, 'A network (socket) error occurred talking to a server.', true],
  LV_INVALID_PROPERTY_TARGET: [-15, 'The property target is not valid.', false],
  LV_INVALID_PROPERTY_VALUE_TYPE: [-16, 'The property value has the wrong type.', false],
  LV_INVALID_PROPERTY: [-17, 'The property is not known.', false],
  LV_INVALID_PROPERTY_TARGET_NDX: [-18, 'The property target index is not valid.', false],
  LV_STREAM_NOT_ACCEPTED: [-19, 'The audio stream was not accepted.', false],
  LV_FUNCTION_NOT_FOUND: [-20, 'The function was not found.', false],
  LV_STRING_BUFFER_TOO_SMALL: [-21, 'The string buffer is too small for the result.', false],
  LV_NO_SERVER_AVAILABLE: [-22, 'No server is available to take the request.', true],
  LV_GRAMMAR_SYNTAX_WARNING: [-23, 'The grammar loaded with syntax warnings.', false],
  LV_GRAMMAR_SYNTAX_ERROR: [-24, 'The grammar has a syntax error.', false],
  LV_GRAMMAR_LOADING_ERROR: [-25, 'The grammar could not be loaded.', false],
  LV_OPEN_PORT_FAILED__LICENSES_EXCEEDED: [
    -26,
    'Every license of the requested type is in use; close a port or add licenses.',
    true,
  ],
  LV_OPEN_PORT_FAILED__PRIMARY_SERVER_NOT_RESPONDING: [
    -27,
    'The primary license server did not respond.',
    true,
  ],
  LV_OPEN_PORT_FAILED__PRIMARY_SERVER_NOT_COMPATIBLE: [
    -28,
    'The license server speaks an incompatible protocol or authentication mode.',
    false,
  ],
  LV_OPEN_PORT_FAILED__OPEN_PORT_NOT_CALLED_YET: [-29, 'OpenPort has not been called yet.', false],
  LV_NO_SERVER_RESPONDING: [-30, 'No license server responded at any configured address.', true],
  LV_GLOBAL_GRAMMAR_TRANSACTION_PARTIAL_ERROR: [-31, 'A global grammar transaction partly failed.', false],
  LV_GLOBAL_GRAMMAR_TRANSACTION_ERROR: [-32, 'A global grammar transaction failed.', false],
  LV_ACTIVE_GRAMMAR_VOCAB_SIZE_EXCEEDS_LIMIT: [
    -33,
    'The active grammars exceed the vocabulary size the license allows.',
    false,
  ],
  LV_INVALID_LICENSE: [-34, 'The license or the credentials presented for it were rejected.', false],
  LV_ACTIVE_GRAMMAR_LANGUAGE_CONFLICT: [-35, 'The active grammars use conflicting languages.', false],
  LV_ACTIVE_GRAMMAR_INVALID_LANGUAGE: [-36, 'An active grammar uses a language that is not valid.', false],
  LV_LOAD_GRAMMAR_TIMEOUT: [-37, 'Loading the grammar timed out.', true],
  LV_INVALID_DICTIONARY_LANGUAGE: [-38, 'The dictionary language is not valid.', false],
  LV_WORDS_NOT_IN_DICTIONARY: [-39, 'Some words are not in the dictionary.', false],
  LV_LVLANG_UNDEFINED: [-40, 'LVLANG is not defined.', false],
  LV_LICENSES_EXPIRED: [-41, "The port's license was lost or invalidated while in use.", false],
  LV_NO_ANSWERS_AVAILABLE: [-42, 'No answers are available.', false],
  LV_INVALID_INDEX: [-43, 'The index is not valid.', false],
  LV_INVALID_GRAMMAR_LABEL: [-44, 'The grammar label is not valid.', false],
  LV_INVALID_SOUND_CHANNEL: [-45, 'The voice channel is not valid.', false],
  LV_INVALID_EVENT: [-46, 'The event is not valid.', false],
  LV_INVALID_BUFFER: [-47, 'The audio buffer is not valid.', false],
  LV_INVALID_GRAMMAR_OBJECT: [-48, 'The grammar object is not valid.', false],
  LV_INCOMPATIBLE_SRE_SERVER: [-49, 'The speech server is not compatible with this client.', false],
  LV_UNKNOWN_SERVER_ERROR: [-50, 'The server reported an error it did not explain.', true],
  LV_INVALID_TTS_HANDLE: [-51, 'The TTS handle is not valid.', false],
  LV_NO_TTS_SERVERS: [-52, 'No TTS server is available.', true],
  LV_INVALID_CLIENT_OBJECT: [-53, 'The client object is not valid.', false],
  LV_INVALID_API_PARAMETER: [-54, 'A parameter passed to the call is not valid.', false],
  LV_NO_COMPATIBLE_TTS_SERVERS: [-55, 'No compatible TTS server is available.', false],
  LV_SSML_ERROR: [-56, 'The SSML is not valid.', false],
  LV_NO_RESULT_AVAILABLE: [-57, 'No result is available.', false],
  LV_ACQUIRING_LICENSE_FAILED: [-58, 'No license could be obtained.', true],
  LV_EXPIRED_LICENSE: [-59, 'The license has expired.', false],
  LV_INVALID_LICENSE_MAINT_DATE: [-60, "The license's maintenance date does not cover this release.", false],
  LV_RESOURCE_ERROR: [-61, 'A resource (memory, handles) ran out.', true],
  LV_FAILED_VOICE_LOAD: [-62, 'The TTS voice could not be loaded.', false],
  LV_FAILED_NO_VOICE_SPECIFIED: [-63, 'No TTS voice was specified.', false],
  LV_FAILED_STREAMER: [-64, 'The audio streamer failed.', false],
  LV_FAILED_SYNTHESIS: [-65, 'Speech synthesis failed.', false],
  LV_FAILED_AUDIO_RESAMPLING: [-66, 'Audio resampling failed.', false],
  LV_FAILED_AUDIO_CONVERSION: [-67, 'Audio conversion failed.', false],
  LV_EXCEPTION: [-68, 'An unexpected exception occurred.', false],
  LV_FUNCTION_DISABLED: [-69, 'The function is disabled.', false],
  LV_FAILED_LOAD_SPEECHPORT: [-70, 'The speech port library could not be loaded.', false],
} as const satisfies Record<string, Row>;

type Table = typeof TABLE;

/** The vendor name of an LV_* return code, such as `'LV_INVALID_HPORT'`. */
export type ReturnCodeName = keyof Table;

/** The numeric value of an LV_* return code, such as `-12`. */
export type ReturnCodeValue = Table[ReturnCodeName][0];

type CodeMap = { readonly [K in ReturnCodeName]: Table[K][0] };

/**
 * Every LumenVox return code by its vendor name.
 *
 * @example
 * ```ts
 * import { ReturnCode } from 'lv-license-client';
 * if (err.code === ReturnCode.LV_INVALID_HPORT) reopenPort();
 * ```
 */
export const ReturnCode: CodeMap = Object.freeze(
  Object.fromEntries(Object.entries(TABLE).map(([name, row]) => [name, row[0]])) as unknown as CodeMap,
);

const NAME_BY_CODE: ReadonlyMap<number, ReturnCodeName> = new Map(
  (Object.keys(TABLE) as ReturnCodeName[]).map((name) => [TABLE[name][0], name]),
);

/**
 * The vendor name of a return code: the reverse lookup of {@link ReturnCode}.
 *
 * Non-negative values are success (a decode returns a count of results), so they name `LV_SUCCESS`.
 * A negative value outside the table has no name and gives `undefined`.
 *
 * @example
 * ```ts
 * returnCodeName(-12); // 'LV_INVALID_HPORT'
 * ```
 */
export function returnCodeName(code: number): ReturnCodeName | undefined {
  if (!Number.isInteger(code)) return undefined;
  if (code >= 0) return 'LV_SUCCESS';
  return NAME_BY_CODE.get(code);
}

/** What {@link describeReturnCode} tells about one code. */
export interface ReturnCodeDescription {
  /** The numeric code, as given. */
  readonly code: number;
  /** The vendor name, or `'UNKNOWN'` for a value that is not in the LV_* table. */
  readonly name: ReturnCodeName | 'UNKNOWN';
  /** One line on what the code means. */
  readonly meaning: string;
  /** Whether trying again, perhaps on another server, can succeed. */
  readonly retryable: boolean;
}

/**
 * The name and a one-line meaning of a return code.
 *
 * @example
 * ```ts
 * describeReturnCode(-30);
 * // { code: -30, name: 'LV_NO_SERVER_RESPONDING',
 * //   meaning: 'No license server responded at any configured address.', retryable: true }
 * ```
 */
export function describeReturnCode(code: number): ReturnCodeDescription {
  const name = returnCodeName(code);
  if (name === undefined) {
    return {
      code,
      name: 'UNKNOWN',
      meaning: `${code} is not a LumenVox LV_* return code.`,
      retryable: false,
    };
  }
  const [, meaning, retryable] = TABLE[name];
  return { code, name, meaning: code > 0 ? `Success (${code}).` : meaning, retryable };
}

/** Every code of the table, in table order, with its name, meaning and retry flag. */
export function allReturnCodes(): ReturnCodeDescription[] {
  return (Object.keys(TABLE) as ReturnCodeName[])
    .map((name) => describeReturnCode(TABLE[name][0]))
    .sort((a, b) => b.code - a.code);
}

/** Whether `value` is one of the LV_* codes of the table (0 to -70). */
export function isReturnCode(value: unknown): value is ReturnCodeValue {
  return typeof value === 'number' && NAME_BY_CODE.has(value);
}
