/** Routes of course announcements: the instructor posts to the course's active learners (mailed once each). */
import { Type } from '@sinclair/typebox';
import type { App } from '../../shared/server.js';
import { IdParams, problems } from '../../shared/utils/http_schemas.js';
import type { Authenticator } from '../../shared/middleware/authenticate.js';
import type { AnnouncementController } from '../controllers/announcement_controller.js';
import { AnnouncementCreateBody, AnnouncementSchema } from '../models/announcement.js';
import { bearer } from './route_schemas.js';

export function announcementRouter(app: App, announcements: AnnouncementController, authn: Authenticator): void {
  const tags = ['courses'];

  app.post('/api/v1/courses/:id/announcements', {
    onRequest: authn.requireUser,
    schema: {
      tags,
      summary: "Post an announcement to the course's active learners (its instructor; mailed once to each)",
      description:
        'Answers 202 at once; the mails are queued in batches (`status` `sending`, then `sent` with `recipients`). Each learner ' +
        'gets one mail in their language unless they turned announcements off (the mail has an unsubscribe link). At most 5 ' +
        'per course in 24 hours (429). A draft has no learners (409 `course_not_published`).',
      security: bearer,
      params: IdParams,
      body: AnnouncementCreateBody,
      response: {
        202: AnnouncementSchema,
        ...problems({
          400: [],
          401: [],
          403: ['email_not_verified', 'not_course_owner'],
          404: ['course_not_found'],
          409: ['course_not_published'],
          413: [],
          415: [],
          429: [],
        }),
      },
    },
  }, announcements.post);

  app.get('/api/v1/courses/:id/announcements', {
    onRequest: authn.requireUser,
    schema: {
      tags,
      summary: "A course's announcements, newest first, with their sending progress (its instructor and admins)",
      security: bearer,
      params: IdParams,
      response: {
        200: Type.Object({ items: Type.Array(AnnouncementSchema) }),
        ...problems({ 400: [], 401: [], 403: ['not_course_owner'], 404: ['course_not_found'] }),
      },
    },
  }, announcements.list);
}
