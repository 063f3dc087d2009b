/** Two-factor sign-in: the MFA step of a sign-in, re-authentication, my MFA factors, and the "this was not me" link. */
import { Type } from '@sinclair/typebox';
import type { App } from '../../shared/server.js';
import { IdParams, problems } from '../../shared/utils/http_schemas.js';
import type { Authenticator } from '../../shared/middleware/authenticate.js';
import type { MfaController } from '../controllers/mfa_controller.js';
import { TokenPairSchema } from '../models/auth_schemas.js';
import { ActivateBody, MfaStatusSchema, MfaVerifyBody, NotMeBody, ReauthenticateBody, RecoveryCodesSchema, TotpEnrolmentSchema } from '../models/mfa.js';

const bearer = [{ bearerAuth: [] }];
const stepUp = 'Needs a recent sign-in (auth_time within 15 minutes) and, with MFA on, aal2: else 403 `reauthentication_required` (see POST /api/v1/auth/reauthenticate).';

export function mfaRouter(app: App, mfa: MfaController, authn: Authenticator): void {
  app.post('/api/v1/auth/mfa/verify', {
    schema: {
      tags: ['auth'],
      summary: 'Second step of a sign-in with MFA on: the mfaToken of the login answer and a code give the token pair',
      description: 'A TOTP code works once; a wrong, replayed or expired code gets one and the same 401 `invalid_mfa_code`. Tries are limited per mfaToken and per account (429).',
      body: MfaVerifyBody,
      response: { 200: TokenPairSchema, ...problems({ 400: [], 401: ['invalid_mfa_code', 'invalid_mfa_token'], 413: [], 415: [], 429: [] }) },
    },
  }, mfa.verify);

  app.post('/api/v1/auth/reauthenticate', {
    onRequest: authn.requireUser,
    schema: {
      tags: ['auth'],
      summary: 'Prove it is you again (password, or a TOTP code): moves this session\'s auth_time to now and answers a fresh pair',
      description: 'A password gives `aal1`, a code `aal2` (needed for sensitive operations when MFA is on). Limited like a login.',
      security: bearer,
      body: ReauthenticateBody,
      response: { 200: TokenPairSchema, ...problems({ 400: [], 401: [], 403: ['wrong_password', 'invalid_mfa_code'], 413: [], 415: [], 429: [] }) },
    },
  }, mfa.reauthenticate);

  app.post('/api/v1/auth/not-me', {
    schema: {
      tags: ['auth'],
      summary: '"This was not me" from a new-device mail: ends every session of the account and mails a password-reset link',
      body: NotMeBody,
      response: { 204: Type.Null({ description: 'Sessions ended, reset link mailed' }), ...problems({ 400: ['invalid_or_expired_token'], 413: [], 415: [] }) },
    },
  }, mfa.reportNotMe);

  app.get('/api/v1/auth/pages/not-me', {
    schema: {
      tags: ['pages'],
      summary: 'Page behind the "this was not me" link of a new-device mail',
      querystring: Type.Object({ token: Type.Optional(Type.String({ maxLength: 200 })) }),
      produces: ['text/html'],
      response: { 200: { description: 'An HTML page', content: { 'text/html': { schema: { type: 'string' } } } }, ...problems({ 400: [] }) },
    },
  }, mfa.notMePage);

  app.get('/api/v1/users/me/mfa', {
    onRequest: authn.requireUser,
    schema: { tags: ['users'], summary: 'My MFA factors and how many recovery codes are left', security: bearer, response: { 200: MfaStatusSchema, ...problems({ 401: [], 403: [] }) } },
  }, mfa.status);

  app.post('/api/v1/users/me/mfa/totp', {
    onRequest: authn.requireUser,
    schema: {
      tags: ['users'],
      summary: 'Start a TOTP enrolment: a secret and its otpauth URI (shown once); confirm with activate',
      description: stepUp,
      security: bearer,
      response: { 201: TotpEnrolmentSchema, ...problems({ 401: [], 403: ['reauthentication_required'], 409: ['mfa_already_enabled'] }) },
    },
  }, mfa.enrol);

  app.post('/api/v1/users/me/mfa/totp/:id/activate', {
    onRequest: authn.requireUser,
    schema: {
      tags: ['users'],
      summary: 'Turn MFA on with a first code: answers 10 recovery codes (shown once), ends the other sessions, mails a notice',
      description: `${stepUp} This session becomes aal2 (refresh to get a token that says so).`,
      security: bearer,
      params: IdParams,
      body: ActivateBody,
      response: {
        200: RecoveryCodesSchema,
        ...problems({ 400: [], 401: [], 403: ['reauthentication_required', 'invalid_mfa_code'], 404: ['mfa_factor_not_found'], 409: ['mfa_already_enabled'], 413: [], 415: [], 429: [] }),
      },
    },
  }, mfa.activate);

  app.delete('/api/v1/users/me/mfa/totp/:id', {
    onRequest: authn.requireUser,
    schema: {
      tags: ['users'],
      summary: 'Remove a TOTP factor; removing the active one turns MFA off, ends the other sessions and mails a notice',
      description: stepUp,
      security: bearer,
      params: IdParams,
      response: { 204: Type.Null({ description: 'Removed' }), ...problems({ 400: [], 401: [], 403: ['reauthentication_required'], 404: ['mfa_factor_not_found'] }) },
    },
  }, mfa.remove);

  app.post('/api/v1/users/me/mfa/recovery-codes', {
    onRequest: authn.requireUser,
    schema: {
      tags: ['users'],
      summary: 'A new set of 10 recovery codes (shown once); the old set stops working',
      description: stepUp,
      security: bearer,
      response: { 200: RecoveryCodesSchema, ...problems({ 401: [], 403: ['reauthentication_required'], 409: ['mfa_not_enabled'] }) },
    },
  }, mfa.regenerate);
}
