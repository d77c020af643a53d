/**
 * The closed set of error codes (SPEC §9, R-ERR). Each code is data: whether a retry can help,
 * which CLI exit code it maps to, and what the user can do about it. Messages are written at the
 * throw site; `hint` is the generic advice shown when the site gives none.
 */
export const ERROR_CODES = {
  INPUT_UNREADABLE: {
    retryable: false,
    exitCode: 10,
    hint: 'The file is not a readable video container; check that it is a complete, supported video.',
  },
  INPUT_TOO_SHORT: {
    retryable: false,
    exitCode: 11,
    hint: 'The video is shorter than the minimum duration; use a longer video or lower it with `--set segmenter.min_duration_sec=N`.',
  },
  INPUT_TOO_LONG: {
    retryable: false,
    exitCode: 11,
    hint: 'The video is longer than the maximum duration; trim it or raise it with `--set segmenter.max_duration_sec=N`.',
  },
  INPUT_INVALID: {
    retryable: false,
    exitCode: 2,
    hint: 'An argument or input is invalid; fix the value named in the message.',
  },
  TOOL_MISSING: {
    retryable: false,
    exitCode: 3,
    hint: 'A required program is missing; install ffmpeg (which provides ffprobe), e.g. `apt-get install ffmpeg`.',
  },
  DEPENDENCY_MISSING: {
    retryable: false,
    exitCode: 1,
    hint: 'A component ran without an artifact it depends on; run its dependency first or fix the profile.',
  },
  DEPENDENCY_TIMEOUT: {
    retryable: true,
    exitCode: 1,
    hint: 'A dependency did not arrive in time; check the worker producing it and retry.',
  },
  MODEL_NOT_FOUND: {
    retryable: false,
    exitCode: 4,
    hint: 'A model is not installed; install it with `dataprocessor models install <name>`.',
  },
  MODEL_DIGEST_MISMATCH: {
    retryable: false,
    exitCode: 4,
    hint: 'A model file does not match its registered digest; reinstall it with `dataprocessor models install <name>`.',
  },
  DEVICE_UNAVAILABLE: {
    retryable: false,
    exitCode: 5,
    hint: 'The requested device is not available; request another device (e.g. cpu) explicitly.',
  },
  OOM: {
    retryable: true,
    exitCode: 1,
    hint: 'Out of memory even at the smallest batch; free memory or lower the analysis resolution (`--set segmenter.analysis_height=N`).',
  },
  CONTRACT_VIOLATION: {
    retryable: false,
    exitCode: 1,
    hint: 'Data broke the artifact contract; this is a bug, please report it with the run directory.',
  },
  STORAGE_IO: {
    retryable: true,
    exitCode: 6,
    hint: 'Reading or writing the result store failed; check disk space and permissions.',
  },
  TIMEOUT: {
    retryable: true,
    exitCode: 7,
    hint: 'An operation took longer than its limit; retry or raise the limit.',
  },
  VIDEO_DELETED: {
    retryable: false,
    exitCode: 8,
    hint: 'The video was deleted (dataprocessor delete) while this run was in progress; its results were removed. Start a new run to process it again.',
  },
  INTERNAL: { retryable: false, exitCode: 1, hint: 'An unexpected internal error; please report it.' },
} as const satisfies Record<string, { retryable: boolean; exitCode: number; hint: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;
export const ERROR_CODE_NAMES = Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]];

export interface DataProcessorErrorOptions {
  cause?: unknown;
  /** Structured evidence (paths, values) for logs and the manifest; never raw user text. */
  details?: Record<string, unknown>;
}

/** The one error type of DataProcessor: a stable `code`, its `retryable` flag, and a message for users. */
export class DataProcessorError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: DataProcessorErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = ERROR_CODES[code].retryable;
    this.details = options.details ?? {};
  }

  get exitCode(): number {
    return ERROR_CODES[this.code].exitCode;
  }

  get hint(): string {
    return ERROR_CODES[this.code].hint;
  }
}

/** Input problems detected before a run exists (R-SEG-1/2). */
export class InputError extends DataProcessorError {}
/** A required external program or library is missing (fail fast, R-SEG-2). */
export class ToolMissingError extends DataProcessorError {
  constructor(tool: string, options: DataProcessorErrorOptions = {}) {
    super(
      'TOOL_MISSING',
      `${tool} was not found on PATH (or at $DATAPROCESSOR_${tool.toUpperCase()}).`,
      options,
    );
  }
}
/** A component's input artifact is missing (R-DEP-1). */
export class DependencyError extends DataProcessorError {}
/** Data does not match its declared schema (R-NPZ-4). */
export class ContractViolationError extends DataProcessorError {
  constructor(message: string, options: DataProcessorErrorOptions = {}) {
    super('CONTRACT_VIOLATION', message, options);
  }
}
/** Result-store I/O failure. */
export class StorageError extends DataProcessorError {
  constructor(message: string, options: DataProcessorErrorOptions = {}) {
    super('STORAGE_IO', message, options);
  }
}

/** Wraps anything thrown into a DataProcessorError (unknown errors become INTERNAL, never lost). */
export function toDataProcessorError(error: unknown): DataProcessorError {
  if (error instanceof DataProcessorError) return error;
  if (error instanceof Error) {
    const errno = (error as NodeJS.ErrnoException).code;
    if (errno === 'ENOSPC' || errno === 'EIO' || errno === 'EACCES' || errno === 'EROFS') {
      return new StorageError(error.message, { cause: error });
    }
    if (error instanceof RangeError && /allocation failed|Array buffer allocation/i.test(error.message)) {
      return new DataProcessorError('OOM', error.message, { cause: error });
    }
    return new DataProcessorError('INTERNAL', error.message, { cause: error });
  }
  return new DataProcessorError('INTERNAL', String(error));
}
