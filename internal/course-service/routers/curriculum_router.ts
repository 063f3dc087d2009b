/**
 * Routes of the curriculum: a course's outline and its order under /api/v1/courses/{id}/curriculum,
 * sections under /api/v1/courses/{id}/sections and /api/v1/sections, lessons under
 * /api/v1/sections/{id}/lessons and /api/v1/lessons. Writes are the course's instructor's or an
 * admin's; the outline is public (cached) for published courses; a lesson's body follows the access
 * rule in CurriculumService.getLesson and is never cached.
 */
import { Type } from '@sinclair/typebox';
import type { App } from '../../shared/server.js';
import { IdParams, problems } from '../../shared/utils/http_schemas.js';
import { isUuid } from '../../shared/utils/ids.js';
import type { Authenticator } from '../../shared/middleware/authenticate.js';
import type { CurriculumController } from '../controllers/curriculum_controller.js';
import { CourseIdOrSlugPathParams } from '../models/course.js';
import {
  CurriculumSchema,
  LessonCreateBody,
  LessonPatchBody,
  LessonSchema,
  ReorderBody,
  SectionCreateBody,
  SectionPatchBody,
  SectionSchema,
} from '../models/curriculum.js';
import { CacheScopes } from '../services/cache/cache_scopes.js';
import { cachedAnswer, NotModified, type ResponseCache } from '../middleware/response_cache.js';
import { IfMatchHeaders } from '../middleware/conditional.js';
import { bearer, created, optionalBearer, written } from './route_schemas.js';

const tags = ['curriculum'];

export function curriculumRouter(app: App, curriculum: CurriculumController, authn: Authenticator, responses: ResponseCache): void {
  app.get('/api/v1/courses/:id/curriculum', {
    onRequest: authn.optionalUser,
    schema: {
      tags,
      summary: "A course's outline: sections and lessons in order, with titles, kinds, durations and preview flags (by id or slug)",
      description:
        'Public for a published course; a draft or archived course is 404 except to its instructor and admins. No lesson ' +
        'bodies (`GET /api/v1/lessons/{id}`). Anonymous answers come from the response cache (`X-Cache: HIT|MISS`); with a ' +
        'token the answer is not cached (`BYPASS`). The ETag is the one `If-Match` on `PUT .../curriculum/order` expects.',
      security: optionalBearer,
      params: CourseIdOrSlugPathParams,
      response: { 200: cachedAnswer(CurriculumSchema, 'The outline'), 304: NotModified, ...problems({ 400: [], 401: [], 404: ['course_not_found'] }) },
    },
  }, responses.route({ ttl: 'course', perViewer: true, scopes: ({ params }) => CacheScopes.curriculumRead(params.id!, isUuid(params.id!)) }, curriculum.outline));

  app.put('/api/v1/courses/:id/curriculum/order', {
    onRequest: authn.requireUser,
    schema: {
      tags,
      summary: 'Reorder sections and lessons in one step; lessons may move between sections (its instructor or an admin)',
      description:
        "`sections` names every current section once, in the new order, each with every lesson it is to hold, in order. " +
        'A missing, unknown, foreign or repeated id is 400 `curriculum_mismatch` (`errors` names each) and nothing changes. ' +
        '`If-Match` takes the outline\'s ETag (from `GET .../curriculum` or an earlier reorder): 412 when the curriculum changed since.',
      security: bearer,
      params: IdParams,
      headers: IfMatchHeaders,
      body: ReorderBody,
      response: {
        200: written(CurriculumSchema, 'The outline in its new order'),
        ...problems({ 400: ['curriculum_mismatch'], 401: [], 403: ['not_course_owner'], 404: ['course_not_found'], 412: [], 413: [], 415: [] }),
      },
    },
  }, curriculum.reorder);

  app.post('/api/v1/courses/:id/sections', {
    onRequest: authn.requireUser,
    schema: {
      tags,
      summary: 'Add a section at the end of the course (its instructor or an admin)',
      security: bearer,
      params: IdParams,
      body: SectionCreateBody,
      response: {
        201: created(SectionSchema, 'The new section', 'Path of the new section'),
        ...problems({ 400: [], 401: [], 403: ['not_course_owner'], 404: ['course_not_found'], 413: [], 415: [] }),
      },
    },
  }, curriculum.createSection);

  app.patch('/api/v1/sections/:id', {
    onRequest: authn.requireUser,
    schema: {
      tags,
      summary: 'Rename a section (its course\'s instructor or an admin)',
      description: '`If-Match` takes the section\'s ETag from its last write answer. Sections move with `PUT .../curriculum/order`.',
      security: bearer,
      params: IdParams,
      headers: IfMatchHeaders,
      body: SectionPatchBody,
      response: {
        200: written(SectionSchema, 'The section as it is now'),
        ...problems({ 400: [], 401: [], 403: ['not_course_owner'], 404: ['section_not_found'], 412: [], 413: [], 415: [] }),
      },
    },
  }, curriculum.updateSection);

  app.delete('/api/v1/sections/:id', {
    onRequest: authn.requireUser,
    schema: {
      tags,
      summary: 'Delete an empty section (its course\'s instructor or an admin)',
      description: 'A section that still has lessons is 409 `section_not_empty`: delete or move its lessons first. The later sections move up.',
      security: bearer,
      params: IdParams,
      headers: IfMatchHeaders,
      response: {
        204: Type.Null({ description: 'Deleted' }),
        ...problems({ 400: [], 401: [], 403: ['not_course_owner'], 404: ['section_not_found'], 409: ['section_not_empty'], 412: [] }),
      },
    },
  }, curriculum.deleteSection);

  app.post('/api/v1/sections/:id/lessons', {
    onRequest: authn.requireUser,
    schema: {
      tags,
      summary: 'Add a lesson at the end of a section (its course\'s instructor or an admin)',
      description: "The course's `lessonCount` and `totalDurationSeconds` move in the same transaction.",
      security: bearer,
      params: IdParams,
      body: LessonCreateBody,
      response: {
        201: created(LessonSchema, 'The new lesson, with its body', 'Path of the new lesson'),
        ...problems({ 400: [], 401: [], 403: ['not_course_owner'], 404: ['section_not_found'], 413: [], 415: [] }),
      },
    },
  }, curriculum.createLesson);

  app.get('/api/v1/lessons/:id', {
    onRequest: authn.optionalUser,
    schema: {
      tags,
      summary: 'One lesson with its body',
      description:
        "A preview lesson to anyone; the others to the course's active learners, its instructor and admins (403 " +
        '`enrolment_required` for anyone else). Lessons of a draft or archived course are 404 except to its instructor and ' +
        'admins. Never cached by the service (`Cache-Control: no-store`).',
      security: optionalBearer,
      params: IdParams,
      response: {
        200: { description: 'The lesson', content: { 'application/json': { schema: LessonSchema } } },
        ...problems({ 400: [], 401: [], 403: ['enrolment_required'], 404: ['lesson_not_found'] }),
      },
    },
  }, curriculum.getLesson);

  app.patch('/api/v1/lessons/:id', {
    onRequest: authn.requireUser,
    schema: {
      tags,
      summary: 'Edit a lesson (its course\'s instructor or an admin)',
      description:
        "`If-Match` takes the lesson's ETag (from `GET /api/v1/lessons/{id}` or its last write). A new `durationSeconds` moves the " +
        "course's `totalDurationSeconds` by the difference. Lessons move with `PUT .../curriculum/order`.",
      security: bearer,
      params: IdParams,
      headers: IfMatchHeaders,
      body: LessonPatchBody,
      response: {
        200: written(LessonSchema, 'The lesson as it is now'),
        ...problems({ 400: [], 401: [], 403: ['not_course_owner'], 404: ['lesson_not_found'], 412: [], 413: [], 415: [] }),
      },
    },
  }, curriculum.updateLesson);

  app.delete('/api/v1/lessons/:id', {
    onRequest: authn.requireUser,
    schema: {
      tags,
      summary: 'Delete a lesson and its completions (its course\'s instructor or an admin)',
      description:
        "Learners who had completed it have one completion fewer; the course's counters drop. The last lesson of a published " +
        'course is 409 `last_lesson`.',
      security: bearer,
      params: IdParams,
      headers: IfMatchHeaders,
      response: {
        204: Type.Null({ description: 'Deleted' }),
        ...problems({ 400: [], 401: [], 403: ['not_course_owner'], 404: ['lesson_not_found'], 409: ['last_lesson'], 412: [] }),
      },
    },
  }, curriculum.deleteLesson);
}
