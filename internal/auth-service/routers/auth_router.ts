/** Routes under /api/v1/auth: schemas, auth requirements and the controller method of each. */
import { Type } from '@sinclair/typebox';
import type { App } from '../../shared/server.js';
import { missingBodyAsEmpty, problems } from '../../shared/utils/http_schemas.js';
import type { Authenticator } from '../../shared/middleware/authenticate.js';
import type { AuthController } from '../controllers/auth_controller.js';
import type { UserController } from '../controllers/user_controller.js';
import {
  AcceptedSchema,
  ChangePasswordBody,
  ClientCredentialsBody,
  ClientTokenSchema,
  EmailBody,
  LoginBody,
  LogoutBody,
  RefreshBody,
  RegisterBody,
  ResetBody,
  SessionIdParams,
  TokenBody,
  TokenPairSchema,
} from '../models/auth_schemas.js';
import { SessionSchema } from '../models/session.js';
import { LoginResultSchema } from '../models/mfa.js';
import { UserSchema } from '../models/user.js';

const tags = ['auth'];
const bearer = [{ bearerAuth: [] }];

export function authRouter(app: App, auth: AuthController, users: UserController, authn: Authenticator): void {
  app.post('/api/v1/auth/register', {
    schema: {
      tags,
      summary: 'Register; the same 202 whether or not the address is taken',
      body: RegisterBody,
      response: { 202: AcceptedSchema, ...problems({ 400: ['weak_password'], 413: [], 415: [], 429: [] }) },
    },
  }, auth.register);

  app.post('/api/v1/auth/login', {
    schema: {
      tags,
      summary: 'Log in with e-mail and password',
      description: 'Answers the token pair, or, when the account uses two-factor sign-in, `{mfaRequired: true, mfaToken, methods, expiresIn}` and no token: finish with POST /api/v1/auth/mfa/verify.',
      body: LoginBody,
      response: { 200: LoginResultSchema, ...problems({ 400: [], 401: ['invalid_credentials'], 403: ['account_disabled', 'email_not_verified', 'account_deletion_pending'], 413: [], 415: [], 429: [] }) },
    },
  }, auth.login);

  app.post('/api/v1/auth/refresh', {
    schema: {
      tags,
      summary: 'Rotate a refresh token; reusing an old one ends the session',
      body: RefreshBody,
      response: { 200: TokenPairSchema, ...problems({ 400: [], 401: ['invalid_refresh_token', 'refresh_token_reused'], 413: [], 415: [] }) },
    },
  }, auth.refresh);

  app.post('/api/v1/auth/logout', {
    // The body is optional: a bare POST ends this session.
    preValidation: missingBodyAsEmpty,
    // The access token is optional: the refresh token alone proves the session, so a session does not
    // outlive a lost or expired access token.
    onRequest: authn.userIfValid,
    schema: {
      tags,
      summary: 'End this session (local), the others, or all (global)',
      description:
        'Proof of the session: a valid access token, or the session\'s current `refreshToken` in the body (an expired or ' +
        'missing access token is then ignored). With neither, 401. `local` ends the session named by the refresh token ' +
        '(else the access token\'s); `others` and `global` act on the sessions of its user.',
      security: [{}, ...bearer],
      body: LogoutBody,
      response: { 204: Type.Null({ description: 'Logged out' }), ...problems({ 400: [], 401: ['unauthorized', 'invalid_refresh_token'], 403: ['forbidden'], 413: [], 415: [] }) },
    },
  }, auth.logout);

  app.post('/api/v1/auth/token', {
    schema: {
      tags,
      summary: 'OAuth2 client_credentials grant for services (RFC 6749 4.4); form or JSON',
      consumes: ['application/x-www-form-urlencoded', 'application/json'],
      body: ClientCredentialsBody,
      response: { 200: ClientTokenSchema, ...problems({ 400: ['invalid_request', 'unsupported_grant_type'], 401: ['invalid_client'], 413: [], 415: [] }) },
    },
  }, auth.token);

  app.post('/api/v1/auth/verify-email', {
    schema: { tags, summary: 'Confirm an e-mail address with the token from the mail', body: TokenBody, response: { 200: UserSchema, ...problems({ 400: ['invalid_or_expired_token'], 413: [], 415: [] }) } },
  }, auth.verifyEmail);

  app.post('/api/v1/auth/verify-email/resend', {
    schema: { tags, summary: 'Send the verification mail again (always 202)', body: EmailBody, response: { 202: AcceptedSchema, ...problems({ 400: [], 413: [], 415: [], 429: [] }) } },
  }, auth.resendVerification);

  app.post('/api/v1/auth/password/forgot', {
    schema: { tags, summary: 'Mail a password-reset link (always 202)', body: EmailBody, response: { 202: AcceptedSchema, ...problems({ 400: [], 413: [], 415: [], 429: [] }) } },
  }, auth.forgotPassword);

  app.post('/api/v1/auth/password/reset', {
    schema: {
      tags,
      summary: 'Set a new password with the token from the mail; ends every session',
      body: ResetBody,
      response: { 204: Type.Null({ description: 'Password changed' }), ...problems({ 400: ['invalid_or_expired_token', 'weak_password'], 413: [], 415: [] }) },
    },
  }, auth.resetPassword);

  app.post('/api/v1/auth/password/change', {
    onRequest: authn.requireUser,
    schema: {
      tags,
      summary: 'Change the password; ends the other sessions',
      security: bearer,
      body: ChangePasswordBody,
      response: { 204: Type.Null({ description: 'Password changed' }), ...problems({ 400: ['weak_password'], 401: [], 403: ['wrong_password'], 413: [], 415: [], 429: [] }) },
    },
  }, auth.changePassword);

  app.get('/api/v1/auth/sessions', {
    onRequest: authn.requireUser,
    schema: {
      tags,
      summary: 'My active sessions',
      security: bearer,
      response: { 200: Type.Object({ items: Type.Array(SessionSchema) }), 304: Type.Null({ description: 'Not modified: the If-None-Match ETag still matches' }), ...problems({ 401: [], 403: [] }) },
    },
  }, users.sessions);

  app.delete('/api/v1/auth/sessions/:id', {
    onRequest: authn.requireUser,
    schema: {
      tags,
      summary: 'End one of my sessions',
      security: bearer,
      params: SessionIdParams,
      response: { 204: Type.Null({ description: 'Session ended' }), ...problems({ 400: [], 401: [], 403: [], 404: ['session_not_found'] }) },
    },
  }, users.revokeSession);
}
