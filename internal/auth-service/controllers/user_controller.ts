/** HTTP side of a user's own profile and sessions, and of the admin's user management. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { principalOf } from '../../shared/middleware/authenticate.js';
import type { UserService } from '../services/user_service.js';
import type { UnsubscribeTokens } from '../services/unsubscribe_tokens.js';
import type { AdminUserPatchBody, AdminUserQuery, ProfilePatchBody } from '../models/auth_schemas.js';

export class UserController {
  constructor(
    private readonly users: UserService,
    private readonly unsubscribeTokens: UnsubscribeTokens,
  ) {}

  unsubscribe = async (request: FastifyRequest<{ Querystring: { token: string } }>) => {
    const target = this.unsubscribeTokens.verify(request.query.token);
    await this.users.unsubscribe(target);
    const what = target?.topic === 'announcements' ? 'course announcements' : 'reviews';
    return { message: `You will get no more mails about ${what}. Turn them back on in your profile.` };
  };

  me = async (request: FastifyRequest) => this.users.getProfile(principalOf(request));

  updateMe = async (request: FastifyRequest<{ Body: ProfilePatchBody }>) =>
    this.users.updateProfile(principalOf(request), request.body, request.headers['if-match']);

  sessions = async (request: FastifyRequest) => ({ items: await this.users.listSessions(principalOf(request)) });

  revokeSession = async (request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
    const ua = request.headers['user-agent'];
    await this.users.revokeSession(principalOf(request), request.params.id, { ip: request.ip, userAgent: typeof ua === 'string' ? ua : null });
    return reply.code(204).send();
  };

  adminList = async (request: FastifyRequest<{ Querystring: AdminUserQuery }>) => this.users.adminList(request.query);

  adminUpdate = async (request: FastifyRequest<{ Params: { id: string }; Body: AdminUserPatchBody }>) =>
    this.users.adminUpdate(principalOf(request), request.params.id, request.body, request.headers['if-match']);

  adminRevokeSessions = async (request: FastifyRequest<{ Params: { id: string } }>) => ({
    revoked: await this.users.adminRevokeSessions(principalOf(request), request.params.id),
  });
}
