/** HTTP side of the internal API auth-service calls: account events and a user's export. */
import type { FastifyRequest } from 'fastify';
import type { AccountEventInput, UserExportInput } from '../models/account_events.js';
import type { AccountEventsService } from '../services/account_events.js';

export class InternalController {
  constructor(private readonly events: AccountEventsService) {}

  accountEvent = async (request: FastifyRequest<{ Body: AccountEventInput }>) => this.events.apply(request.principal, request.body);

  userExport = async (request: FastifyRequest<{ Querystring: UserExportInput }>) => this.events.exportUser(request.principal, request.query.userId);
}
