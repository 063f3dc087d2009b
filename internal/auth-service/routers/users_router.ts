/** Routes under /api/v1/users (own profile) and /api/v1/admin/users (user management). */
import type { App } from '../../shared/server.js';
import { IdParams, IfMatchHeader, Page, missingBodyAsEmpty, problems } from '../../shared/utils/http_schemas.js';
import type { Authenticator } from '../../shared/middleware/authenticate.js';
import type { UserController } from '../controllers/user_controller.js';
import { Type } from '@sinclair/typebox';
import { AcceptedSchema, AdminUserPatchBody, AdminUserQuery, ProfilePatchBody, RevokedSchema } from '../models/auth_schemas.js';
import { AdminUserSchema, ProfileSchema } from '../models/user.js';

const bearer = [{ bearerAuth: [] }];

export function usersRouter(app: App, users: UserController, authn: Authenticator): void {
  app.get('/api/v1/users/me', {
    onRequest: authn.requireUser,
    schema: { tags: ['users'], summary: 'My profile', security: bearer, response: { 200: ProfileSchema, 304: Type.Null({ description: 'Not modified: the If-None-Match ETag still matches' }), ...problems({ 401: [], 403: [] }) } },
  }, users.me);

  app.patch('/api/v1/users/me', {
    onRequest: authn.requireUser,
    schema: {
      tags: ['users'],
      summary: 'Change my name, language or mail preferences',
      security: bearer,
      body: ProfilePatchBody,
      headers: IfMatchHeader,
      response: { 200: ProfileSchema, ...problems({ 400: [], 401: [], 403: [], 412: [], 413: [], 415: [] }) },
    },
  }, users.updateMe);

  app.post('/api/v1/users/unsubscribe', {
    // Mail clients send `List-Unsubscribe=One-Click` (RFC 8058); a bare POST is as good.
    preValidation: missingBodyAsEmpty,
    schema: {
      tags: ['users'],
      summary: 'Turn review mails or course announcements off from a mail link (RFC 8058 one-click; no login)',
      consumes: ['application/x-www-form-urlencoded', 'application/json'],
      querystring: Type.Object({ token: Type.String({ minLength: 10, maxLength: 200 }) }),
      body: Type.Object({ 'List-Unsubscribe': Type.Optional(Type.Literal('One-Click')) }, { additionalProperties: false }),
      response: { 200: AcceptedSchema, ...problems({ 400: ['invalid_or_expired_token'], 413: [], 415: [] }) },
    },
  }, users.unsubscribe);

  const admin = authn.requireRole('admin');
  app.get('/api/v1/admin/users', {
    onRequest: admin,
    schema: {
      tags: ['admin'],
      summary: 'Search users by e-mail or name, and role',
      security: bearer,
      querystring: AdminUserQuery,
      response: { 200: Page(AdminUserSchema), 304: Type.Null({ description: 'Not modified: the If-None-Match ETag still matches' }), ...problems({ 400: [], 401: [], 403: [] }) },
    },
  }, users.adminList);

  app.patch('/api/v1/admin/users/:id', {
    onRequest: admin,
    schema: {
      tags: ['admin'],
      summary: 'Change a role, or disable an account (ends its sessions)',
      security: bearer,
      params: IdParams,
      body: AdminUserPatchBody,
      headers: IfMatchHeader,
      response: { 200: AdminUserSchema, ...problems({ 400: [], 401: [], 403: [], 404: ['user_not_found'], 409: ['last_admin'], 412: [], 413: [], 415: [] }) },
    },
  }, users.adminUpdate);

  app.delete('/api/v1/admin/users/:id/sessions', {
    onRequest: admin,
    schema: {
      tags: ['admin'],
      summary: "End all of a user's sessions",
      security: bearer,
      params: IdParams,
      response: { 200: RevokedSchema, ...problems({ 400: [], 401: [], 403: [], 404: ['user_not_found'] }) },
    },
  }, users.adminRevokeSessions);
}
