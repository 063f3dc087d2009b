/**
 * Typed HTTP clients for the two services: openapi-fetch over the types that openapi-typescript
 * generates from swagger/*.yml (clients/auth-service.ts, clients/course-service.ts; regenerate them
 * with `npm run gen-client`). Paths, path and query parameters, bodies and answers are checked at
 * compile time:
 *
 *   const auth = authClient({ baseUrl: 'http://localhost:8081' });
 *   const { data, error, response } = await auth.POST('/api/v1/auth/login', { body: { email, password } });
 *   const courses = courseClient({ baseUrl: 'http://localhost:8082', token: () => data?.accessToken });
 *   await courses.GET('/api/v1/courses/{id}', { params: { path: { id } } });
 *
 * `data` is the typed body of a 2xx answer, `error` the typed body of any other (problem+json).
 */
import createClient, { type Client, type ClientOptions, type Middleware } from 'openapi-fetch';
import type { components as AuthComponents, paths as AuthPaths } from './auth-service.js';
import type { paths as CoursePaths } from './course-service.js';

export type { AuthPaths, CoursePaths };
export type AuthClient = Client<AuthPaths>;
export type CourseClient = Client<CoursePaths>;
/** The RFC 9457 problem both services answer with. */
export type Problem = AuthComponents['schemas']['Problem'];

export interface ServiceClientOptions extends Omit<ClientOptions, 'baseUrl'> {
  /** Where the service is, e.g. http://localhost:8081 (no trailing path). */
  baseUrl: string;
  /** An access token, or a function giving the current one; sent as `Authorization: Bearer ...`. */
  token?: string | (() => string | undefined);
}

/** A middleware that adds the bearer token (unless the call sets its own Authorization). */
export function bearerAuth(token: string | (() => string | undefined)): Middleware {
  return {
    onRequest({ request }) {
      const value = typeof token === 'function' ? token() : token;
      if (value && !request.headers.has('authorization')) request.headers.set('authorization', `Bearer ${value}`);
      return request;
    },
  };
}

function make<Paths extends object>(options: ServiceClientOptions): Client<Paths> {
  const { token, ...rest } = options;
  const client = createClient<Paths>(rest);
  if (token !== undefined) client.use(bearerAuth(token));
  return client;
}

export function authClient(options: ServiceClientOptions): AuthClient {
  return make<AuthPaths>(options);
}

export function courseClient(options: ServiceClientOptions): CourseClient {
  return make<CoursePaths>(options);
}

/** `{ authorization: 'Bearer <token>' }`, for one call: `client.GET(path, { headers: bearer(t) })`. */
export function bearer(token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` };
}

/** The tokens of a login, as `POST /api/v1/auth/login` and `/api/v1/auth/refresh` answer them. */
export interface SessionTokens {
  accessToken: string;
  refreshToken: string;
}

const REFRESH_PATH = '/api/v1/auth/refresh';

/** 401 codes that a new access token cures: expired, signed before a role change, or by a retired key. */
export const REFRESHABLE_CODES: readonly string[] = ['token_expired', 'token_outdated', 'invalid_token'];

/**
 * A logged-in session for the typed clients: holds the tokens and, as a middleware, sends the access
 * token and refreshes it when a call answers 401 with one of REFRESHABLE_CODES, then repeats that call
 * once with the new token. Calls that fail together share one refresh (the refresh token rotates, so
 * two refreshes at once would race). When the refresh itself is refused the session has ended:
 * `tokens` becomes undefined, `onChange(undefined)` runs and the call's 401 is returned (log in again).
 *
 *   const session = new Session(auth, loginAnswer, (tokens) => save(tokens));
 *   const courses = courseClient({ baseUrl }); courses.use(session.middleware());
 */
export class Session {
  private current: SessionTokens | undefined;
  private refreshing: Promise<boolean> | undefined;
  // The request of each call in flight, kept unread so it can be sent again after a refresh.
  private readonly pending = new Map<string, Request>();

  constructor(
    private readonly auth: AuthClient,
    tokens?: SessionTokens,
    private readonly onChange?: (tokens: SessionTokens | undefined) => void,
  ) {
    this.current = tokens && { accessToken: tokens.accessToken, refreshToken: tokens.refreshToken };
  }

  get tokens(): SessionTokens | undefined {
    return this.current;
  }

  set(tokens: SessionTokens | undefined): void {
    this.current = tokens && { accessToken: tokens.accessToken, refreshToken: tokens.refreshToken };
    this.onChange?.(this.current);
  }

  /** Rotates the tokens; false when the session has ended or auth-service could not answer. */
  refresh(): Promise<boolean> {
    this.refreshing ??= this.rotate().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async rotate(): Promise<boolean> {
    const refreshToken = this.current?.refreshToken;
    if (!refreshToken) return false;
    const { data, response } = await this.auth.POST(REFRESH_PATH, { body: { refreshToken } });
    if (data) {
      this.set(data);
      return true;
    }
    // A refused refresh token never works later; a 429 or 5xx may, so the tokens stay for another try.
    if (response.status >= 400 && response.status < 500 && response.status !== 429) this.set(undefined);
    return false;
  }

  middleware(): Middleware {
    return {
      onRequest: ({ request, schemaPath, id }) => {
        const token = this.current?.accessToken;
        // The refresh call carries no access token, so its answer can never ask for another refresh.
        if (!token || request.headers.has('authorization') || schemaPath === REFRESH_PATH) return undefined;
        request.headers.set('authorization', `Bearer ${token}`);
        this.pending.set(id, request.clone());
        return request;
      },
      onResponse: async ({ request, response, id, options }) => {
        const original = this.pending.get(id);
        this.pending.delete(id);
        if (!original || response.status !== 401) return undefined;
        const problem = (await response.clone().json().catch(() => undefined)) as { code?: unknown } | undefined;
        if (typeof problem?.code !== 'string' || !REFRESHABLE_CODES.includes(problem.code)) return undefined;
        // Another call may have refreshed while this one was under way: then its token is already new.
        const sentWith = request.headers.get('authorization');
        const fresh = this.current && `Bearer ${this.current.accessToken}` !== sentWith ? true : await this.refresh();
        if (!fresh || !this.current) return undefined;
        original.headers.set('authorization', `Bearer ${this.current.accessToken}`);
        return options.fetch(original);
      },
      onError: ({ id }) => {
        this.pending.delete(id);
      },
    };
  }
}
