/**
 * The one error type that reaches the wire. Everything the server answers with a non-2xx status
 * is an ApiError; anything else thrown while serving a request becomes ServiceUnavailable when the
 * store failed for now (store/errors.ts), and otherwise is a bug and becomes InternalError.
 */
export class ApiError extends Error {
  readonly httpStatus: number;
  readonly code: string;
  /** Extra top-level envelope fields, e.g. AccessDeniedDetail on RAM denials. */
  readonly extra: Readonly<Record<string, unknown>> | undefined;

  constructor(httpStatus: number, code: string, message: string, extra?: Record<string, unknown>) {
    super(message);
    this.name = 'ApiError';
    this.httpStatus = httpStatus;
    this.code = code;
    this.extra = extra;
  }
}

export function isApiError(e: unknown): e is ApiError {
  return e instanceof ApiError;
}
