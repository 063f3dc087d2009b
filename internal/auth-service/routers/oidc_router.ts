/** Routes of signing in with an OpenID Connect provider (/api/v1/auth/...) and of my identities (/api/v1/users/me/identities). */
import { Type } from '@sinclair/typebox';
import type { App } from '../../shared/server.js';
import { IdParams, problems } from '../../shared/utils/http_schemas.js';
import type { Authenticator } from '../../shared/middleware/authenticate.js';
import type { OidcController } from '../controllers/oidc_controller.js';
import { LoginResultSchema } from '../models/mfa.js';
import { CallbackQuery, ExchangeBody, IdentitySchema, LinkBody, LinkStartSchema, ProviderParams, ProviderSchema, StartQuery } from '../models/identity.js';

const bearer = [{ bearerAuth: [] }];

export function oidcRouter(app: App, oidc: OidcController, authn: Authenticator): void {
  app.get('/api/v1/auth/providers', {
    schema: {
      tags: ['auth'],
      summary: 'The identity providers one can sign in with (for sign-in buttons)',
      response: { 200: Type.Object({ items: Type.Array(ProviderSchema) }), 304: Type.Null({ description: 'Not modified: the If-None-Match ETag still matches' }) },
    },
  }, oidc.providers);

  app.get('/api/v1/auth/oidc/:provider/start', {
    schema: {
      tags: ['auth'],
      summary: 'Sign in with a provider: redirects the browser to it (code flow, PKCE S256, state and nonce)',
      description:
        'Open in the browser (a link or `location.assign`, not `fetch`). Sets a short-lived cookie that binds the sign-in to this ' +
        'browser, then redirects to the provider; the provider returns to the callback, which redirects to `redirectTo` with ' +
        '`code` (for POST /api/v1/auth/oidc/exchange) or `error`.',
      params: ProviderParams,
      querystring: StartQuery,
      response: {
        302: Type.Null({ description: 'To the provider\'s authorization endpoint' }),
        ...problems({ 400: ['redirect_not_allowed'], 404: ['oidc_provider_not_found'], 429: [], 503: ['provider_unavailable'] }),
      },
    },
  }, oidc.start);

  app.get('/api/v1/auth/oidc/:provider/callback', {
    schema: {
      tags: ['auth'],
      summary: 'Where the provider returns (register <publicUrl>/api/v1/auth/oidc/{id}/callback as the redirect URI)',
      description:
        'Redirects to the `redirectTo` of the sign-in with `code` (60 s, single use) or `error` = access_denied, invalid_state, ' +
        'invalid_response, provider_error, provider_unavailable, account_link_required, email_not_verified, account_disabled, ' +
        'identity_in_use or server_error; a link ends with `linked=<provider>`. Never a token. Without a known `state` there ' +
        'is no page to return to: 400 `invalid_state`.',
      params: ProviderParams,
      querystring: CallbackQuery,
      response: {
        302: Type.Null({ description: 'To the front end\'s page, with `code`, `linked` or `error`' }),
        ...problems({ 400: ['invalid_state'], 404: ['oidc_provider_not_found'] }),
      },
    },
  }, oidc.callback);

  app.post('/api/v1/auth/oidc/exchange', {
    schema: {
      tags: ['auth'],
      summary: 'Turn the callback\'s one-time code into what a password login answers',
      body: ExchangeBody,
      response: { 200: LoginResultSchema, ...problems({ 400: ['invalid_oidc_code'], 403: ['account_disabled', 'account_deletion_pending'], 413: [], 415: [] }) },
    },
  }, oidc.exchange);

  app.get('/api/v1/users/me/identities', {
    onRequest: authn.requireUser,
    schema: {
      tags: ['users'],
      summary: 'My identities at providers',
      security: bearer,
      response: { 200: Type.Object({ items: Type.Array(IdentitySchema) }), 304: Type.Null({ description: 'Not modified: the If-None-Match ETag still matches' }), ...problems({ 401: [], 403: [] }) },
    },
  }, oidc.identities);

  app.post('/api/v1/users/me/identities', {
    onRequest: authn.requireUser,
    schema: {
      tags: ['users'],
      summary: 'Link a provider to my account: answers the URL to send the browser to',
      description: 'The same flow as a sign-in, bound to the caller; it returns to `redirectTo` with `linked=<provider>` or `error` (identity_in_use when the identity belongs to another account).',
      security: bearer,
      body: LinkBody,
      response: { 200: LinkStartSchema, ...problems({ 400: ['redirect_not_allowed'], 401: [], 403: [], 404: ['oidc_provider_not_found'], 413: [], 415: [], 429: [], 503: ['provider_unavailable'] }) },
    },
  }, oidc.startLink);

  app.delete('/api/v1/users/me/identities/:id', {
    onRequest: authn.requireUser,
    schema: {
      tags: ['users'],
      summary: 'Unlink one of my identities (never the last way to sign in)',
      security: bearer,
      params: IdParams,
      response: { 204: Type.Null({ description: 'Unlinked' }), ...problems({ 400: [], 401: [], 403: [], 404: ['identity_not_found'], 409: ['last_sign_in_method'] }) },
    },
  }, oidc.unlink);
}
