/** HTTP side of e-mail change and security activity: reads the request, calls one service, shapes the answer. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { principalOf } from '../../shared/middleware/authenticate.js';
import type { RequestMeta } from '../services/auth_service.js';
import type { EmailChangeService } from '../services/email_change_service.js';
import type { SecurityActivityService } from '../services/security_activity_service.js';
import type { AdminSecurityEventQuery, EmailChangeBody, EmailChangeTokenBody, SecurityEventQuery } from '../models/email_change.js';

const ACCEPTED = { message: 'Accepted. If the address can receive it, a confirmation mail is on its way; your current address gets one too.' };

function meta(request: FastifyRequest): RequestMeta {
  const ua = request.headers['user-agent'];
  return { ip: request.ip, userAgent: typeof ua === 'string' ? ua : null };
}

export class AccountController {
  constructor(
    private readonly emailChange: EmailChangeService,
    private readonly activity: SecurityActivityService,
  ) {}

  requestEmailChange = async (request: FastifyRequest<{ Body: EmailChangeBody }>, reply: FastifyReply) => {
    await this.emailChange.request(principalOf(request), request.body.newEmail, meta(request));
    return reply.code(202).send(ACCEPTED);
  };

  confirmEmailChange = async (request: FastifyRequest<{ Body: EmailChangeTokenBody }>) =>
    this.emailChange.confirm(request.body.token, meta(request));

  cancelEmailChange = async (request: FastifyRequest<{ Body: EmailChangeTokenBody }>) =>
    this.emailChange.cancel(request.body.token, meta(request));

  mySecurityEvents = async (request: FastifyRequest<{ Querystring: SecurityEventQuery }>) =>
    this.activity.listOwn(principalOf(request), request.query);

  adminSecurityEvents = async (request: FastifyRequest<{ Querystring: AdminSecurityEventQuery }>) =>
    this.activity.adminList(request.query);
}
