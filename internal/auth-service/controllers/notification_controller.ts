/** HTTP side of notifications: services (or admins) ask for a mail; admins watch and retry the outbox. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { NotificationService } from '../services/notification_service.js';
import type { NotificationListQuery, NotifyBody } from '../models/notification_schemas.js';
import type { MailTemplate } from '../services/mail/templates.js';

export class NotificationController {
  constructor(private readonly notifications: NotificationService) {}

  notify = async (request: FastifyRequest<{ Body: NotifyBody }>, reply: FastifyReply) => {
    const { userId, template, data, idempotencyKey } = request.body;
    const result = await this.notifications.notifyUser({ userId, template: template as MailTemplate, data, idempotencyKey });
    return reply.code(202).send(result);
  };

  list = async (request: FastifyRequest<{ Querystring: NotificationListQuery }>) => this.notifications.list(request.query);

  retry = async (request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) =>
    reply.code(202).send(await this.notifications.retry(request.params.id));
}
