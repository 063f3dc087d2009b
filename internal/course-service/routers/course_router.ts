/**
 * Routes under /api/v1/courses (the course itself) and the instructor's own list under
 * /api/v1/instructor: schemas, who may call, the cache policy of each public GET, and the controller
 * method. A course's reviews are in review_router.ts.
 */
import { Type } from '@sinclair/typebox';
import type { App } from '../../shared/server.js';
import { IdParams, problems } from '../../shared/utils/http_schemas.js';
import { isUuid } from '../../shared/utils/ids.js';
import type { Authenticator } from '../../shared/middleware/authenticate.js';
import type { CourseController } from '../controllers/course_controller.js';
import { CourseCreateBody, CourseIdOrSlugPathParams, CourseListQuery, InstructorCourseListQuery, CoursePageSchema, CoursePatchBody, CourseSchema } from '../models/course.js';
import { CacheScopes } from '../services/cache/cache_scopes.js';
import { cachedAnswer, NotModified, type ResponseCache } from '../middleware/response_cache.js';
import { IfMatchHeaders } from '../middleware/conditional.js';
import { bearer, created, optionalBearer, written } from './route_schemas.js';

export function courseRouter(app: App, courses: CourseController, authn: Authenticator, responses: ResponseCache): void {
  const tags = ['courses'];

  app.get('/api/v1/courses', {
    schema: {
      tags,
      summary: 'Search and browse published courses (keyset pages)',
      description:
        'Published courses only, so the answer is the same for every caller and always goes through the response cache ' +
        '(`X-Cache: HIT|MISS`), token or not. `q` is full-text search in web-search syntax.',
      querystring: CourseListQuery,
      response: { 200: cachedAnswer(CoursePageSchema, 'A page of courses'), 304: NotModified, ...problems({ 400: [] }) },
    },
  }, responses.route({ ttl: 'list', perViewer: false, scopes: () => CacheScopes.courseListRead() }, courses.list));

  app.get('/api/v1/courses/:id', {
    onRequest: authn.optionalUser,
    schema: {
      tags,
      summary: 'One course with its rating summary, by id or slug',
      description:
        'A draft or archived course is 404 except to its instructor and admins. Anonymous answers come from the ' +
        'response cache (`X-Cache: HIT|MISS`); with a token the answer depends on the caller and is not cached (`BYPASS`). ' +
        'The ETag is the one `If-Match` on PATCH and DELETE expects.',
      security: optionalBearer,
      params: CourseIdOrSlugPathParams,
      response: { 200: cachedAnswer(CourseSchema, 'The course'), 304: NotModified, ...problems({ 400: [], 401: [], 404: ['course_not_found'] }) },
    },
  }, responses.route({
    ttl: 'course',
    perViewer: true,
    scopes: ({ params }) => CacheScopes.courseRead(params.id!, isUuid(params.id!)),
  }, courses.get));

  app.get('/api/v1/instructor/courses', {
    onRequest: authn.requireRole('instructor', 'admin'),
    schema: {
      tags,
      summary: "The caller's own courses of every status, newest first (keyset pages; instructors and admins)",
      description:
        'Drafts, published and archived courses the caller created (an admin sees their own, not everyone\'s); ' +
        '`status` picks one. Private: never cached (`Cache-Control: no-store`). Students get 403 `forbidden`.',
      security: bearer,
      querystring: InstructorCourseListQuery,
      response: { 200: { description: 'A page of courses', content: { 'application/json': { schema: CoursePageSchema } } }, ...problems({ 400: [], 401: [], 403: [] }) },
    },
  }, courses.listOwn);

  app.post('/api/v1/courses', {
    onRequest: authn.requireUser,
    schema: {
      tags,
      summary: 'Create a course (instructors and admins with a verified e-mail)',
      description:
        'A draft unless `status` says `archived`; the slug comes from the title when not given. `status: "published"` is always ' +
        '409 `curriculum_incomplete` (nothing is created): publishing needs at least one lesson and a new course has none. ' +
        'Create a draft, add a section and a lesson, then publish with `PATCH /api/v1/courses/{id}` `{"status":"published"}`.',
      security: bearer,
      body: CourseCreateBody,
      response: {
        201: created(CourseSchema, 'The new course', 'Path of the new course'),
        ...problems({ 400: [], 401: [], 403: ['email_not_verified'], 409: ['slug_taken', 'curriculum_incomplete'], 413: [], 415: [] }),
      },
    },
  }, courses.create);

  app.patch('/api/v1/courses/:id', {
    onRequest: authn.requireUser,
    schema: {
      tags,
      summary: 'Edit, publish (`{"status":"published"}`) or archive a course (its instructor or an admin)',
      security: bearer,
      params: IdParams,
      headers: IfMatchHeaders,
      body: CoursePatchBody,
      response: { 200: written(CourseSchema, 'The course as it is now'), ...problems({ 400: [], 401: [], 403: ['not_course_owner'], 404: ['course_not_found'], 409: ['slug_taken', 'curriculum_incomplete'], 412: [], 413: [], 415: [] }) },
    },
  }, courses.update);

  app.delete('/api/v1/courses/:id', {
    onRequest: authn.requireUser,
    schema: {
      tags,
      summary: 'Delete a course and its reviews (its instructor or an admin)',
      security: bearer,
      params: IdParams,
      headers: IfMatchHeaders,
      response: { 204: Type.Null({ description: 'Deleted' }), ...problems({ 400: [], 401: [], 403: ['not_course_owner'], 404: ['course_not_found'], 412: [] }) },
    },
  }, courses.delete);
}
