/**
 * Bearer-token authentication for both services: `authenticate` sets `request.principal` from a
 * verified access token (or leaves it undefined when there is none); `requireUser` and `requireRole`
 * refuse with 401/403. Routers run them as `onRequest` hooks, before the body is read or validated, so
 * a caller without the right token learns nothing about the schema and costs no body parsing.
 */
import type { FastifyRequest } from 'fastify';
import { HttpError } from '../utils/errors.js';
import { bearerToken, type Principal, type Role, type TokenVerifier } from '../utils/jwt.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | undefined;
  }
}

/**
 * Called after a token verifies, e.g. to refuse a session that has been revoked. It may answer at once
 * (return nothing, or throw): course-service's revocation list is a lookup in memory, and costs no promise.
 */
export type PrincipalCheck = (principal: Principal) => Promise<void> | void;

/**
 * A pre-handler that does not pin the route's generics (Fastify's own hook type would make every route
 * that uses it lose its schema-derived request type).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type PreHandler = (request: FastifyRequest<any, any, any, any, any, any, any, any>) => Promise<void>;

/** The same in callback style (no promise for a request that has nothing to check). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type CallbackHook = (request: FastifyRequest<any, any, any, any, any, any, any, any>, reply: unknown, done: (err?: Error) => void) => void;

export function authenticator(verifier: TokenVerifier, check?: PrincipalCheck) {
  async function authenticate(request: FastifyRequest): Promise<Principal | undefined> {
    const token = bearerToken(request.headers.authorization);
    if (!token) return undefined;
    const principal = await verifier.verify(token);
    if (check) {
      const pending = check(principal);
      if (pending) await pending;
    }
    request.principal = principal;
    return principal;
  }

  /**
   * Any valid token; anonymous callers are let through with `principal` undefined. Callback style: an
   * anonymous read (the cached catalogue) goes on in the same turn, without a promise.
   */
  const optionalUser: CallbackHook = function (request, _reply, done) {
    if (request.headers.authorization === undefined) return done();
    authenticate(request).then(() => done(), done);
  };

  /** A valid token of one of the roles (any role when none are given). */
  function requireRole(...roles: Role[]): PreHandler {
    return async function (request) {
      const principal = await authenticate(request);
      if (!principal) {
        throw new HttpError(401, 'unauthorized', { detail: 'Sign in first', headers: { 'www-authenticate': 'Bearer' } });
      }
      if (roles.length && !roles.includes(principal.role)) throw HttpError.forbidden('forbidden', 'Your role may not do this');
    };
  }

  const requireUser = requireRole('student', 'instructor', 'admin');

  /**
   * A user's token when a valid one is sent; a missing, expired or refused one leaves `principal`
   * undefined and the refusal in `authProblem(request)`, for a handler that takes another proof instead
   * (logout with the session's refresh token, when the access token is lost or expired).
   */
  const userIfValid: PreHandler = async function (request) {
    try {
      await requireUser(request);
    } catch (err) {
      request.principal = undefined;
      refusals.set(request, err as Error);
    }
  };
  return { optionalUser, requireUser, requireRole, userIfValid };
}

const refusals = new WeakMap<FastifyRequest, Error>();

/** Why `userIfValid` found no principal (undefined when it did). */
export function authProblem(request: FastifyRequest): Error | undefined {
  return refusals.get(request);
}

export type Authenticator = ReturnType<typeof authenticator>;

/** The principal set by a `requireUser`/`requireRole` pre-handler. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new HttpError(401, 'unauthorized', { detail: 'Sign in first' });
  return request.principal;
}
