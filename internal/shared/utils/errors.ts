/**
 * One error type for every service (RFC 9457 problem details). The `code` is part of the API contract:
 * clients switch on it, so never rename one. `cause` is for logs only and never reaches a client.
 */

/**
 * Every error code either service sends, each documented once. A closed list: `HttpError` takes only
 * these (a typo is a type error), the OpenAPI `Problem.code` is this enum, and a new code is added here
 * first, with its meaning. Database errors never reach it raw: the repository that ran the statement
 * turns a constraint it expects into one of these (e.g. `slug_taken`).
 */
export const ERROR_CODES = {
  // Generic: the request itself
  bad_request: 'The request is malformed (a bad URL, Content-Length or content type)',
  malformed_json: 'The body is not valid JSON, or is empty while declared as JSON',
  payload_too_large: 'The body is larger than allowed',
  unsupported_media_type: 'The Content-Type is not one the route accepts',
  validation_failed: 'The request does not match the schema; `errors` lists the fields',
  invalid_cursor: 'The page cursor is malformed, or was made for another list or sort',
  precondition_failed: '`If-Match` names a version the resource no longer has',
  not_found: 'No route for this method and path',
  rate_limited: 'Too many requests; `Retry-After` says when to try again',
  service_unavailable: 'A dependency (the database) is unavailable; retry after `Retry-After`',
  internal_error: 'A fault on our side; the request id finds it in the logs',
  // Authentication and access
  unauthorized: 'No credentials were sent; sign in first',
  forbidden: 'The caller\'s role may not do this',
  invalid_token: 'The access token is not valid (signature, claims, or its account is gone)',
  token_expired: 'The access token has expired; refresh it',
  token_outdated: 'The account\'s role changed since the token was issued; refresh it',
  session_revoked: 'The token\'s session has ended; log in again',
  email_not_verified: 'The account\'s e-mail address is not verified yet',
  // auth-service
  invalid_credentials: 'E-mail or password is wrong',
  invalid_refresh_token: 'The refresh token is not valid',
  refresh_token_reused: 'A refresh token was used twice; its session has been ended',
  account_disabled: 'The account is disabled',
  wrong_password: 'The current password given is wrong',
  weak_password: 'The new password is too short, too long, too common or too simple, or is the e-mail or name',
  reauthentication_required: 'The operation needs a recent sign-in (within 15 minutes, with the second factor when MFA is on); call /api/v1/auth/reauthenticate',
  invalid_mfa_code: 'The code is wrong, was already used, or is too old (one answer for all three)',
  invalid_mfa_token: 'The mfaToken is unknown, used or expired; sign in again',
  mfa_factor_not_found: 'No MFA factor of the caller with this id',
  mfa_already_enabled: 'Two-factor sign-in is already on (one authenticator app per account)',
  mfa_not_enabled: 'Two-factor sign-in is off: there is no active factor',
  invalid_or_expired_token: 'A one-time link (verification, reset, unsubscribe) is not valid or has expired',
  invalid_request: 'The OAuth2 token request lacks or garbles client credentials',
  invalid_client: 'Unknown client or wrong client secret',
  unsupported_grant_type: 'Only `grant_type=client_credentials` is supported',
  account_deletion_pending: 'The account is scheduled for deletion: it cannot sign in (the mailed link cancels the deletion), nor ask again',
  course_service_unavailable: 'course-service did not answer (the data export needs its part); nothing partial is sent; retry after `Retry-After`',
  user_not_found: 'No user with this id',
  session_not_found: 'No live session of the caller with this id',
  last_admin: 'The last active admin cannot be demoted or disabled',
  invalid_template: 'Unknown mail template',
  invalid_locale: 'Unknown mail locale',
  invalid_recipient: 'A mail needs a recipient',
  invalid_notification_data: 'The mail\'s data does not fit its template',
  template_not_allowed: 'This mail template cannot be sent through the API',
  invalid_status: 'Unknown notification status filter',
  notification_not_found: 'No notification with this id',
  notification_not_failed: 'Only a failed mail can be retried',
  // auth-service: sign in with an OpenID Connect provider
  oidc_provider_not_found: 'No identity provider with this id is configured',
  provider_unavailable: 'The identity provider cannot be reached now (discovery or token endpoint); try again later',
  redirect_not_allowed: '`redirectTo` is not an absolute URL on an allowed front-end origin (oidc.redirectOrigins)',
  invalid_state: 'The provider\'s callback carries no state, or one that is unknown, expired, already used or started in another browser',
  invalid_oidc_code: 'The sign-in code is unknown, expired or already used; sign in again',
  identity_not_found: 'No identity of the caller with this id',
  last_sign_in_method: 'This identity is the account\'s only way to sign in (no password, no other identity); set a password or link another first',
  // E-mail change (issue 18)
  email_unchanged: 'The new e-mail address is the account\'s current one',
  email_taken: 'The new e-mail address was taken by another account before the change completed',
  // course-service
  course_not_found: 'No such course, or not one the caller may see',
  course_not_published: 'Only a published course can be reviewed',
  slug_taken: 'Another course already uses this slug',
  not_course_owner: 'Only the course\'s instructor or an admin may change it',
  not_course_instructor: 'Only the course\'s instructor may respond to its reviews',
  review_not_found: 'No such review, or not one the caller may see',
  review_exists: 'The caller has already reviewed this course; `reviewId` names that review',
  own_course: 'An instructor cannot review, or enrol in, their own course',
  not_review_author: 'Only the review\'s author (or an admin, to delete) may do this',
  // course-service: curriculum
  section_not_found: 'No such section, or not one the caller may see',
  lesson_not_found: 'No such lesson, or not one the caller may see',
  enrolment_required: 'Only active learners of the course (and its instructor and admins) may do this',
  curriculum_mismatch: 'A reorder must name exactly the course\'s current sections and lessons, each once',
  curriculum_incomplete: 'A course needs at least one lesson and no empty section to be published',
  section_not_empty: 'A section that still has lessons cannot be deleted; delete or move its lessons first',
  last_lesson: 'The last lesson of a published course cannot be deleted',
  // course-service: learning
  not_enrolled: 'The caller has never enrolled in this course',
  certificate_not_found: 'No certificate with this verification id',
} as const satisfies Record<string, string>;

export type ErrorCode = keyof typeof ERROR_CODES;

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
  readonly code: ErrorCode;
  readonly detail: string | undefined;
  readonly errors: FieldError[] | undefined;
  readonly headers: Record<string, string> | undefined;
  readonly extensions: Record<string, string> | undefined;

  constructor(status: number, code: ErrorCode, options: HttpErrorOptions = {}) {
    super(options.detail ?? code, { cause: options.cause });
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
    this.detail = options.detail;
    this.errors = options.errors;
    this.headers = options.headers;
    this.extensions = options.extensions;
  }

  static badRequest(code: ErrorCode, detail?: string, errors?: FieldError[]): HttpError {
    return new HttpError(400, code, { detail, errors });
  }
  static unauthorized(code: ErrorCode = 'unauthorized', detail?: string): HttpError {
    return new HttpError(401, code, { detail });
  }
  static forbidden(code: ErrorCode = 'forbidden', detail?: string): HttpError {
    return new HttpError(403, code, { detail });
  }
  static notFound(code: ErrorCode = 'not_found', detail?: string): HttpError {
    return new HttpError(404, code, { detail });
  }
  static conflict(code: ErrorCode, detail?: string, extensions?: Record<string, string>): HttpError {
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
  static unavailable(code: ErrorCode = 'service_unavailable', retryAfterSeconds = 5, cause?: unknown): HttpError {
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
  code: ErrorCode;
  requestId: string;
  errors?: FieldError[];
  /** Extension members (HttpErrorOptions.extensions). */
  [extension: string]: unknown;
}

export function problemType(code: ErrorCode): string {
  return `https://errors.course-platform.dev/${code}`;
}
