/** HTTP side of the revocation feed: course-service replicas read it with their service token. */
import type { FastifyRequest } from 'fastify';
import type { RevocationQuery } from '../models/revocation.js';
import type { RevocationFeed } from '../services/revocation_feed.js';

export class RevocationController {
  constructor(private readonly feed: RevocationFeed) {}

  list = async (request: FastifyRequest<{ Querystring: RevocationQuery }>) => this.feed.page(request.query.after);
}
