/** The HTML pages that mail links open, and the public signing keys. */
import { Type } from '@sinclair/typebox';
import type { App } from '../../shared/server.js';
import { problems } from '../../shared/utils/http_schemas.js';
import type { PagesController } from '../controllers/pages_controller.js';
import type { KeyStore } from '../services/signing_keys.js';

// A token longer than the schema allows (or given twice) is a 400 problem, like any bad query.
const Html = { 200: { description: 'An HTML page', content: { 'text/html': { schema: { type: 'string' } } } }, ...problems({ 400: [] }) };
// Only `token` is read (by the page's script); other parameters are ignored, not refused.
const PageQuery = Type.Object({ token: Type.Optional(Type.String({ maxLength: 200 })) });

export function pagesRouter(app: App, pages: PagesController, keys: KeyStore): void {
  app.get('/api/v1/auth/pages/verify-email', {
    schema: { tags: ['pages'], summary: 'Page behind the verification link', querystring: PageQuery, produces: ['text/html'], response: Html },
  }, pages.verifyEmail);
  app.get('/api/v1/auth/pages/reset-password', {
    schema: { tags: ['pages'], summary: 'Page behind the password-reset link', querystring: PageQuery, produces: ['text/html'], response: Html },
  }, pages.resetPassword);
  app.get('/api/v1/auth/pages/unsubscribe', {
    schema: { tags: ['pages'], summary: 'Page behind the unsubscribe link of review mails', querystring: PageQuery, produces: ['text/html'], response: Html },
  }, pages.unsubscribe);
  app.get('/api/v1/auth/pages/email-change', {
    schema: { tags: ['pages'], summary: 'Page behind the confirm and approve links of an e-mail change', querystring: PageQuery, produces: ['text/html'], response: Html },
  }, pages.emailChange);
  app.get('/api/v1/auth/pages/email-change-cancel', {
    schema: { tags: ['pages'], summary: 'Page behind the "this was not me" link of an e-mail change', querystring: PageQuery, produces: ['text/html'], response: Html },
  }, pages.emailChangeCancel);

  const Jwk = Type.Object({ kty: Type.String(), crv: Type.String(), x: Type.String(), kid: Type.String(), alg: Type.String(), use: Type.String() });
  app.get('/.well-known/jwks.json', {
    schema: { tags: ['keys'], summary: 'Public keys that verify access tokens', response: { 200: Type.Object({ keys: Type.Array(Jwk) }), 304: Type.Null({ description: 'Not modified: the If-None-Match ETag still matches' }) } },
  }, async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=300');
    return keys.jwks() as { keys: { kty: string; crv: string; x: string; kid: string; alg: string; use: string }[] };
  });
}
