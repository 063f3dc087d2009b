/** HTTP side of reviews, moderation and the instructor's response: one service call per handler. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { principalOf } from '../../shared/middleware/authenticate.js';
import type { IdParams } from '../../shared/utils/http_schemas.js';
import type {
  AuthorReviewListInput,
  CourseReviewListInput,
  ReviewCreateInput,
  ReviewPatchInput,
  ReviewResponseInput,
} from '../models/review.js';
import type { ReviewService } from '../services/review_service.js';
import { tagged, type IfMatchHeaders } from '../middleware/conditional.js';

export class ReviewController {
  constructor(private readonly reviews: ReviewService) {}

  listByCourse = async (request: FastifyRequest<{ Params: IdParams; Querystring: CourseReviewListInput }>) =>
    this.reviews.listByCourse(request.principal, request.params.id, request.query);

  listByAuthor = async (request: FastifyRequest<{ Querystring: AuthorReviewListInput }>) => this.reviews.listByAuthor(request.principal, request.query);

  get = async (request: FastifyRequest<{ Params: IdParams }>) => this.reviews.get(request.principal, request.params.id);

  create = async (request: FastifyRequest<{ Params: IdParams; Body: ReviewCreateInput }>, reply: FastifyReply) => {
    const review = await this.reviews.create(principalOf(request), request.params.id, request.body);
    return reply.code(201).header('location', `/api/v1/reviews/${review.id}`).send(tagged(reply, review));
  };

  /** The author edits content; an admin sets `status` (hide/unhide). */
  update = async (request: FastifyRequest<{ Params: IdParams; Body: ReviewPatchInput; Headers: IfMatchHeaders }>, reply: FastifyReply) =>
    tagged(reply, await this.reviews.update(principalOf(request), request.params.id, request.body, { ifMatch: request.headers['if-match'] }));

  delete = async (request: FastifyRequest<{ Params: IdParams }>, reply: FastifyReply) => {
    await this.reviews.delete(principalOf(request), request.params.id);
    return reply.code(204).send();
  };

  putResponse = async (request: FastifyRequest<{ Params: IdParams; Body: ReviewResponseInput }>, reply: FastifyReply) =>
    tagged(reply, await this.reviews.putResponse(principalOf(request), request.params.id, request.body));

  deleteResponse = async (request: FastifyRequest<{ Params: IdParams }>, reply: FastifyReply) => {
    await this.reviews.deleteResponse(principalOf(request), request.params.id);
    return reply.code(204).send();
  };
}
