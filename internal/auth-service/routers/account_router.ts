/** Routes of e-mail change (/api/v1/users/me/email, /api/v1/auth/email-change/*) and security activity. */
import { Type } from '@sinclair/typebox';
import type { App } from '../../shared/server.js';
import { problems } from '../../shared/utils/http_schemas.js';
import type { Authenticator } from '../../shared/middleware/authenticate.js';
import type { AccountController } from '../controllers/account_controller.js';
import { AcceptedSchema } from '../models/auth_schemas.js';
import {
  AdminSecurityEventPage,
  AdminSecurityEventQuery,
  EmailChangeBody,
  EmailChangeCancelledSchema,
  EmailChangeStateSchema,
  EmailChangeTokenBody,
  SecurityEventPage,
  SecurityEventQuery,
} from '../models/email_change.js';

const bearer = [{ bearerAuth: [] }];
const notModified = Type.Null({ description: 'Not modified: the If-None-Match ETag still matches' });

export function accountRouter(app: App, account: AccountController, authn: Authenticator): void {
  app.post('/api/v1/users/me/email', {
    onRequest: authn.requireUser,
    schema: {
      tags: ['users'],
      summary: 'Change my e-mail address: both addresses confirm (always 202)',
      description:
        'Needs a recent sign-in (403 `reauthentication_required` otherwise). The answer is the same whether or not the ' +
        'address is free: a free address gets a confirm link, the current one an approve link and a "this was not me" ' +
        'link; a taken address gets a notice and nothing changes. A newer request replaces a pending one.',
      security: bearer,
      body: EmailChangeBody,
      response: {
        202: AcceptedSchema,
        ...problems({ 400: ['email_unchanged'], 401: [], 403: ['reauthentication_required'], 413: [], 415: [], 429: [] }),
      },
    },
  }, account.requestEmailChange);

  app.post('/api/v1/auth/email-change/confirm', {
    schema: {
      tags: ['auth'],
      summary: 'Confirm an e-mail change with the link of either address (new: confirm, old: approve)',
      description: '`awaiting_other` until both addresses have confirmed, in either order; then `completed`: the address is changed and verified, the other sessions end.',
      body: EmailChangeTokenBody,
      response: {
        200: EmailChangeStateSchema,
        ...problems({ 400: ['invalid_or_expired_token'], 409: ['email_taken'], 413: [], 415: [] }),
      },
    },
  }, account.confirmEmailChange);

  app.post('/api/v1/auth/email-change/cancel', {
    schema: {
      tags: ['auth'],
      summary: '"This was not me": cancel an e-mail change from the old address; every session ends',
      body: EmailChangeTokenBody,
      response: { 200: EmailChangeCancelledSchema, ...problems({ 400: ['invalid_or_expired_token'], 413: [], 415: [] }) },
    },
  }, account.cancelEmailChange);

  app.get('/api/v1/users/me/security-events', {
    onRequest: authn.requireUser,
    schema: {
      tags: ['users'],
      summary: 'My security activity of the last 90 days, newest first',
      security: bearer,
      querystring: SecurityEventQuery,
      response: { 200: SecurityEventPage, 304: notModified, ...problems({ 400: ['invalid_cursor'], 401: [], 403: [] }) },
    },
  }, account.mySecurityEvents);

  app.get('/api/v1/admin/security-events', {
    onRequest: authn.requireRole('admin'),
    schema: {
      tags: ['admin'],
      summary: 'Security activity of any user, newest first, by user and event',
      security: bearer,
      querystring: AdminSecurityEventQuery,
      response: { 200: AdminSecurityEventPage, 304: notModified, ...problems({ 400: ['invalid_cursor'], 401: [], 403: [] }) },
    },
  }, account.adminSecurityEvents);
}
