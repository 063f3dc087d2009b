/**
 * One error type for every service (RFC 9457 problem details). The `code` is part of the API contract:
 * clients switch on it, so never rename one. `cause` is for logs only and never reaches a client.
 */
export interface FieldError {
  path: string;
  message: string;
}

export interface HttpErrorOptions {
  detail?: string;
  errors?: FieldError[];
  cause?: unknown;
  headers?: Record<string, string>;
  /**
   * RFC 9457 extension members sent with the problem (e.g. `reviewId` of `review_exists`). Each must be
   * a property of ProblemSchema (http_schemas.ts): the serialiser drops members the schema does not name.
   */
  extensions?: Record<string, string>;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  410: 'Gone',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  428: 'Precondition Required',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

export function titleFor(status: number): string {
  return TITLES[status] ?? (status >= 500 ? 'Server Error' : 'Client Error');
}

export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly detail: string | undefined;
  readonly errors: FieldError[] | undefined;
  readonly headers: Record<string, string> | undefined;
  readonly extensions: Record<string, string> | undefined;

  constructor(status: number, code: string, options: HttpErrorOptions = {}) {
    super(options.detail ?? code, { cause: options.cause });
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
    this.detail = options.detail;
    this.errors = options.errors;
    this.headers = options.headers;
    this.extensions = options.extensions;
  }

  static badRequest(code: string, detail?: string, errors?: FieldError[]): HttpError {
    return new HttpError(400, code, { detail, errors });
  }
  static unauthorized(code = 'unauthorized', detail?: string): HttpError {
    return new HttpError(401, code, { detail });
  }
  static forbidden(code = 'forbidden', detail?: string): HttpError {
    return new HttpError(403, code, { detail });
  }
  static notFound(code = 'not_found', detail?: string): HttpError {
    return new HttpError(404, code, { detail });
  }
  static conflict(code: string, detail?: string, extensions?: Record<string, string>): HttpError {
    return new HttpError(409, code, { detail, extensions });
  }
  static preconditionFailed(detail = 'The resource has changed since you read it'): HttpError {
    return new HttpError(412, 'precondition_failed', { detail });
  }
  static tooManyRequests(retryAfterSeconds: number): HttpError {
    const seconds = Math.max(1, Math.ceil(retryAfterSeconds));
    return new HttpError(429, 'rate_limited', {
      detail: `Too many requests; try again in ${seconds} s`,
      headers: { 'retry-after': String(seconds) },
    });
  }
  static unavailable(code = 'service_unavailable', retryAfterSeconds = 5, cause?: unknown): HttpError {
    return new HttpError(503, code, {
      detail: 'A dependency is unavailable; try again shortly',
      headers: { 'retry-after': String(retryAfterSeconds) },
      cause,
    });
  }
}

/** The body of an `application/problem+json` answer. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  code: string;
  requestId: string;
  errors?: FieldError[];
  /** Extension members (HttpErrorOptions.extensions). */
  [extension: string]: unknown;
}

export function problemType(code: string): string {
  return `https://errors.course-platform.dev/${code}`;
}
