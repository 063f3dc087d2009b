/** HTTP side of signing in with an OpenID Connect provider and of the caller's linked identities. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { principalOf } from '../../shared/middleware/authenticate.js';
import type { CallbackQuery, ExchangeBody, LinkBody, ProviderParams, StartQuery } from '../models/identity.js';
import type { RequestMeta } from '../services/auth_service.js';
import { BROWSER_COOKIE, COOKIE_PATH, type OidcService } from '../services/oidc_service.js';

function meta(request: FastifyRequest): RequestMeta {
  const ua = request.headers['user-agent'];
  return { ip: request.ip, userAgent: typeof ua === 'string' ? ua : null };
}

function cookie(request: FastifyRequest, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export class OidcController {
  constructor(
    private readonly oidc: OidcService,
    /** Secure cookies when auth-service is served over https. */
    private readonly secureCookies: boolean,
    private readonly stateTtlSec: number,
  ) {}

  providers = async () => ({ items: this.oidc.providers() });

  start = async (request: FastifyRequest<{ Params: ProviderParams; Querystring: StartQuery }>, reply: FastifyReply) => {
    const started = await this.oidc.startLogin(request.params.provider, request.query.redirectTo, cookie(request, BROWSER_COOKIE), meta(request));
    // SameSite=Lax: sent on the provider's top-level redirect back to the callback, not on cross-site subrequests.
    const attrs = [`${BROWSER_COOKIE}=${started.browserCookie}`, `Path=${COOKIE_PATH}`, `Max-Age=${this.stateTtlSec}`, 'HttpOnly', 'SameSite=Lax'];
    if (this.secureCookies) attrs.push('Secure');
    return reply.header('set-cookie', attrs.join('; ')).header('cache-control', 'no-store').redirect(started.location, 302);
  };

  callback = async (request: FastifyRequest<{ Params: ProviderParams; Querystring: CallbackQuery }>, reply: FastifyReply) => {
    const q = request.url.indexOf('?');
    const result = await this.oidc.callback(
      {
        provider: request.params.provider,
        query: q >= 0 ? request.url.slice(q + 1) : '',
        state: typeof request.query.state === 'string' ? request.query.state : undefined,
        browserCookie: cookie(request, BROWSER_COOKIE),
      },
      meta(request),
    );
    // The code in the Location must not reach other sites as a Referer from the page it opens.
    return reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer').redirect(result.location, 302);
  };

  exchange = async (request: FastifyRequest<{ Body: ExchangeBody }>, reply: FastifyReply) => {
    reply.header('cache-control', 'no-store');
    return this.oidc.exchange(request.body.code, meta(request));
  };

  startLink = async (request: FastifyRequest<{ Body: LinkBody }>, reply: FastifyReply) => {
    reply.header('cache-control', 'no-store');
    return this.oidc.startLink(principalOf(request), request.body.provider, request.body.redirectTo, meta(request));
  };

  identities = async (request: FastifyRequest) => ({ items: await this.oidc.list(principalOf(request)) });

  unlink = async (request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
    await this.oidc.unlink(principalOf(request), request.params.id, meta(request));
    return reply.code(204).send();
  };
}
