/** Account deletion (GDPR art. 17), its cancel link and page, and the data export (art. 20). */
import { Type } from '@sinclair/typebox';
import type { App } from '../../shared/server.js';
import { missingBodyAsEmpty, problems } from '../../shared/utils/http_schemas.js';
import type { Authenticator } from '../../shared/middleware/authenticate.js';
import type { GdprController } from '../controllers/gdpr_controller.js';
import { CancelDeletionBody, DeletionRequestBody, DeletionScheduledSchema, ExportSchema } from '../models/gdpr_schemas.js';

const bearer = [{ bearerAuth: [] }];
const Html = { 200: { description: 'An HTML page', content: { 'text/html': { schema: { type: 'string' } } } }, ...problems({ 400: [] }) };

export function gdprRouter(app: App, gdpr: GdprController, authn: Authenticator): void {
  app.post('/api/v1/users/me/deletion', {
    onRequest: authn.requireUser,
    preValidation: missingBodyAsEmpty,
    schema: {
      tags: ['users'],
      summary: 'Delete my account after the grace period (needs a sign-in within 15 minutes)',
      description:
        'Every session ends at once and a mail carries a link that cancels the deletion until `purgeAt`; until then the ' +
        'account cannot sign in (403 `account_deletion_pending`). At `purgeAt` the account and everything auth-service holds ' +
        'about it are deleted, and course-service is told: reviews stay as "Deleted user" (or, with `eraseReviews`, are ' +
        "deleted), enrolments, progress and certificates go, the user's courses are archived. With a grace period of 0 " +
        'hours (`ACCOUNT_DELETION_GRACE_HOURS`) the account is deleted during the request.',
      security: bearer,
      body: DeletionRequestBody,
      response: {
        202: DeletionScheduledSchema,
        ...problems({ 400: [], 401: [], 403: ['reauthentication_required'], 409: ['account_deletion_pending', 'last_admin'], 413: [], 415: [] }),
      },
    },
  }, gdpr.requestDeletion);

  app.post('/api/v1/auth/deletion/cancel', {
    schema: {
      tags: ['auth'],
      summary: 'Cancel a pending account deletion with the token from the mail',
      body: CancelDeletionBody,
      response: { 204: Type.Null({ description: 'The deletion is cancelled; sign in again' }), ...problems({ 400: ['invalid_or_expired_token'], 413: [], 415: [] }) },
    },
  }, gdpr.cancelDeletion);

  app.get('/api/v1/auth/pages/cancel-deletion', {
    schema: {
      tags: ['pages'],
      summary: 'Page behind the cancel link of the deletion mail',
      querystring: Type.Object({ token: Type.Optional(Type.String({ maxLength: 200 })) }),
      produces: ['text/html'],
      response: Html,
    },
  }, gdpr.cancelPage);

  app.get('/api/v1/users/me/export', {
    onRequest: authn.requireUser,
    schema: {
      tags: ['users'],
      summary: 'Everything both services hold about me, as one JSON document (needs a sign-in within 15 minutes)',
      description:
        'Profile and preferences, sessions (never their secrets), security events, the mails sent to me (not their links), and ' +
        "course-service's part (my reviews, enrolments, progress, certificates, own courses). When course-service cannot " +
        'answer, 503 `course_service_unavailable` and no document: never a partial export.',
      security: bearer,
      // No parameters: an unknown one is a 400 before course-service is asked for anything.
      querystring: Type.Object({}, { additionalProperties: false }),
      response: {
        200: ExportSchema,
        ...problems({ 400: [], 401: [], 403: ['reauthentication_required'], 503: ['course_service_unavailable'] }),
      },
    },
  }, gdpr.exportData);
}
