/**
 * Routes of reviews: a course's reviews (/api/v1/courses/{id}/reviews), one review, moderation and the
 * instructor's response (/api/v1/reviews...).
 */
import { Type } from '@sinclair/typebox';
import type { App } from '../../shared/server.js';
import { IdParams, problems } from '../../shared/utils/http_schemas.js';
import { isUuid } from '../../shared/utils/ids.js';
import type { Authenticator } from '../../shared/middleware/authenticate.js';
import type { ReviewController } from '../controllers/review_controller.js';
import { CourseIdOrSlugPathParams } from '../models/course.js';
import {
  AuthorReviewListQuery,
  CourseReviewListQuery,
  ReviewCreateBody,
  ReviewPageSchema,
  ReviewPatchBody,
  ReviewResponseBody,
  ReviewSchema,
} from '../models/review.js';
import { CacheScopes } from '../services/cache/cache_scopes.js';
import { cachedAnswer, NotModified, type ResponseCache } from '../middleware/response_cache.js';
import { IfMatchHeaders } from '../middleware/conditional.js';
import { bearer, created, optionalBearer, written } from './route_schemas.js';

const tags = ['reviews'];
const CACHE_NOTE =
  'Anonymous answers come from the response cache (`X-Cache: HIT|MISS`); with a token the answer depends on the caller ' +
  'and is not cached (`X-Cache: BYPASS`).';

export function reviewRouter(app: App, reviews: ReviewController, authn: Authenticator, responses: ResponseCache): void {
  app.get('/api/v1/courses/:id/reviews', {
    onRequest: authn.optionalUser,
    schema: {
      tags,
      summary: "A course's visible reviews (keyset pages), the course by id or slug",
      description: `The course must be visible to the caller (404 otherwise). ${CACHE_NOTE}`,
      security: optionalBearer,
      params: CourseIdOrSlugPathParams,
      querystring: CourseReviewListQuery,
      response: { 200: cachedAnswer(ReviewPageSchema, 'A page of reviews'), 304: NotModified, ...problems({ 400: [], 401: [], 404: ['course_not_found'] }) },
    },
  }, responses.route({ ttl: 'reviews', perViewer: true, scopes: ({ params }) => CacheScopes.courseReviewsRead(params.id!, isUuid(params.id!)) }, reviews.listByCourse));

  app.post('/api/v1/courses/:id/reviews', {
    onRequest: authn.requireUser,
    schema: {
      tags,
      summary: 'Review a published course (verified active learners, not its instructor, once per course)',
      description:
        'With the setting `reviews.requireEnrolment` (default) only active learners of the course may review it (403 `enrolment_required`). ' +
        'A second review of the same course is 409 `review_exists`, whose `reviewId` names the first: edit that one instead.',
      security: bearer,
      params: IdParams,
      body: ReviewCreateBody,
      response: {
        201: created(ReviewSchema, 'The new review', 'Path of the new review'),
        ...problems({
          400: [],
          401: [],
          403: ['email_not_verified', 'own_course', 'enrolment_required'],
          404: ['course_not_found'],
          409: ['review_exists', 'course_not_published'],
          413: [],
          415: [],
        }),
      },
    },
  }, reviews.create);

  app.get('/api/v1/reviews', {
    onRequest: authn.optionalUser,
    schema: {
      tags,
      summary: "A user's reviews, newest first (keyset pages)",
      description: `The author and admins also see hidden reviews and reviews of unpublished courses. ${CACHE_NOTE}`,
      security: optionalBearer,
      querystring: AuthorReviewListQuery,
      response: { 200: cachedAnswer(ReviewPageSchema, 'A page of reviews'), 304: NotModified, ...problems({ 400: [], 401: [] }) },
    },
  }, responses.route({ ttl: 'reviews', perViewer: true, scopes: ({ query }) => CacheScopes.authorReviewsRead(String(query.authorId)) }, reviews.listByAuthor));

  app.get('/api/v1/reviews/:id', {
    onRequest: authn.optionalUser,
    schema: {
      tags,
      summary: 'One review',
      description: `A hidden review is 404 except to its author and admins. ${CACHE_NOTE}`,
      security: optionalBearer,
      params: IdParams,
      response: { 200: cachedAnswer(ReviewSchema, 'The review'), 304: NotModified, ...problems({ 400: [], 401: [], 404: ['review_not_found'] }) },
    },
  }, responses.route({ ttl: 'reviews', perViewer: true, scopes: ({ params }) => CacheScopes.reviewRead(params.id!) }, reviews.get));

  app.patch('/api/v1/reviews/:id', {
    onRequest: authn.requireUser,
    schema: {
      tags,
      summary: 'Edit a review (its author: rating, title, body) or moderate it (an admin: status hidden/visible)',
      description: 'Hiding takes the review out of the public lists and out of the course rating; its author gets a mail.',
      security: bearer,
      params: IdParams,
      headers: IfMatchHeaders,
      body: ReviewPatchBody,
      response: { 200: written(ReviewSchema, 'The review as it is now'), ...problems({ 400: [], 401: [], 403: ['not_review_author'], 404: ['review_not_found'], 412: [], 413: [], 415: [] }) },
    },
  }, reviews.update);

  app.delete('/api/v1/reviews/:id', {
    onRequest: authn.requireUser,
    schema: {
      tags,
      summary: 'Delete a review (its author or an admin)',
      security: bearer,
      params: IdParams,
      response: { 204: Type.Null({ description: 'Deleted' }), ...problems({ 400: [], 401: [], 403: ['not_review_author'], 404: ['review_not_found'] }) },
    },
  }, reviews.delete);

  app.put('/api/v1/reviews/:id/response', {
    onRequest: authn.requireUser,
    schema: {
      tags,
      summary: "Answer a review publicly (the course's instructor; one answer, replaced by a new PUT)",
      security: bearer,
      params: IdParams,
      body: ReviewResponseBody,
      response: { 200: written(ReviewSchema, 'The review with its answer'), ...problems({ 400: [], 401: [], 403: ['not_course_instructor'], 404: ['review_not_found'], 413: [], 415: [] }) },
    },
  }, reviews.putResponse);

  app.delete('/api/v1/reviews/:id/response', {
    onRequest: authn.requireUser,
    schema: {
      tags,
      summary: "Remove the instructor's answer (the course's instructor; removing none is not an error)",
      security: bearer,
      params: IdParams,
      response: { 204: Type.Null({ description: 'Removed' }), ...problems({ 400: [], 401: [], 403: ['not_course_instructor'], 404: ['review_not_found'] }) },
    },
  }, reviews.deleteResponse);
}
