/** Routes for notifications: POST /api/v1/notifications (services, admins) and the admin outbox. */
import type { App } from '../../shared/server.js';
import { IdParams, Page, problems } from '../../shared/utils/http_schemas.js';
import type { Authenticator } from '../../shared/middleware/authenticate.js';
import type { NotificationController } from '../controllers/notification_controller.js';
import { NotificationListQuery, NotifyBody, NotifyResultSchema } from '../models/notification_schemas.js';
import { NotificationSchema } from '../models/notification.js';

const bearer = [{ bearerAuth: [] }];

export function notificationRouter(app: App, controller: NotificationController, authn: Authenticator): void {
  app.post('/api/v1/notifications', {
    onRequest: authn.requireRole('service', 'admin'),
    schema: {
      tags: ['notifications'],
      summary: 'Queue a mail to a user (service or admin token); the same idempotencyKey makes one mail',
      security: bearer,
      body: NotifyBody,
      response: { 202: NotifyResultSchema, ...problems({
        400: ['invalid_template', 'invalid_locale', 'invalid_recipient', 'template_not_allowed', 'invalid_notification_data'],
        401: [],
        403: [],
        404: ['user_not_found'],
        413: [],
        415: [],
      }) },
    },
  }, controller.notify);

  const admin = authn.requireRole('admin');
  app.get('/api/v1/admin/notifications', {
    onRequest: admin,
    schema: {
      tags: ['admin'],
      summary: 'List mails by status',
      security: bearer,
      querystring: NotificationListQuery,
      response: { 200: Page(NotificationSchema), ...problems({ 400: ['invalid_status'], 401: [], 403: [] }) },
    },
  }, controller.list);

  app.post('/api/v1/admin/notifications/:id/retry', {
    onRequest: admin,
    schema: {
      tags: ['admin'],
      summary: 'Queue a failed mail again',
      security: bearer,
      params: IdParams,
      response: { 202: NotificationSchema, ...problems({ 400: [], 401: [], 403: [], 404: ['notification_not_found'], 409: ['notification_not_failed'] }) },
    },
  }, controller.retry);
}
