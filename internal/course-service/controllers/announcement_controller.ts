/** HTTP side of course announcements: one service call per handler. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { principalOf } from '../../shared/middleware/authenticate.js';
import type { IdParams } from '../../shared/utils/http_schemas.js';
import type { AnnouncementCreateInput } from '../models/announcement.js';
import type { AnnouncementService } from '../services/announcement_service.js';

export class AnnouncementController {
  constructor(private readonly announcements: AnnouncementService) {}

  post = async (request: FastifyRequest<{ Params: IdParams; Body: AnnouncementCreateInput }>, reply: FastifyReply) => {
    const announcement = await this.announcements.post(principalOf(request), request.params.id, request.body);
    return reply.code(202).header('cache-control', 'no-store').send(announcement);
  };

  list = async (request: FastifyRequest<{ Params: IdParams }>, reply: FastifyReply) => {
    const page = await this.announcements.list(principalOf(request), request.params.id);
    return reply.header('cache-control', 'no-store').send(page);
  };
}
