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
