/**
 * Routes of learning: enrol and leave, "my learning", a course's roster, lesson completion, progress,
 * the public certificate check and the instructor's stats of a course. The answers depend on the caller
 * (or, for a certificate, are a primary-key read), so none goes through the response cache: they carry
 * `Cache-Control: no-store`.
 */
import { Type } from '@sinclair/typebox';
import type { App } from '../../shared/server.js';
import { IdParams, problems } from '../../shared/utils/http_schemas.js';
import type { Authenticator } from '../../shared/middleware/authenticate.js';
import type { LearningController } from '../controllers/learning_controller.js';
import { CourseStatsSchema, EnrolmentSchema, LearningListQuery, LearningPageSchema, RosterListQuery, RosterPageSchema, StatsQuery } from '../models/enrolment.js';
import { CertificateSchema, ProgressSchema, VerificationIdParams } from '../models/progress.js';
import { bearer } from './route_schemas.js';

const json = <T extends object>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });

export function learningRouter(app: App, learning: LearningController, authn: Authenticator): void {
  const tags = ['learning'];

  app.put('/api/v1/courses/:id/enrolment', {
    onRequest: authn.requireUser,
    schema: {
      tags,
      summary: 'Enrol in a published course (201 new; 200 already enrolled, or enrolled again with the progress kept)',
      description:
        'A draft or archived course is 404 (an active learner of a course archived since keeps the enrolment: 200). ' +
        "The course's instructor cannot enrol (409 `own_course`). A new or renewed enrolment queues the confirmation mail.",
      security: bearer,
      params: IdParams,
      response: {
        200: json(EnrolmentSchema, 'Already enrolled, or enrolled again (same enrolment, progress kept)'),
        201: json(EnrolmentSchema, 'Enrolled'),
        ...problems({ 400: [], 401: [], 403: [], 404: ['course_not_found'], 409: ['own_course'] }),
      },
    },
  }, learning.enrol);

  app.delete('/api/v1/courses/:id/enrolment', {
    onRequest: authn.requireUser,
    schema: {
      tags,
      summary: 'Leave a course (progress and reviews are kept; leaving again is 204 too)',
      description: 'Never enrolled: 404 `not_enrolled`.',
      security: bearer,
      params: IdParams,
      response: { 204: Type.Null({ description: 'Left' }), ...problems({ 400: [], 401: [], 403: [], 404: ['course_not_found', 'not_enrolled'] }) },
    },
  }, learning.leave);

  app.get('/api/v1/enrolments', {
    onRequest: authn.requireUser,
    schema: {
      tags,
      summary: "My learning: the caller's courses with progress, newest activity first (keyset pages)",
      security: bearer,
      querystring: LearningListQuery,
      response: { 200: json(LearningPageSchema, 'A page of course cards'), ...problems({ 400: [], 401: [], 403: [] }) },
    },
  }, learning.listMine);

  app.get('/api/v1/courses/:id/enrolments', {
    onRequest: authn.requireUser,
    schema: {
      tags,
      summary: "A course's learners, newest enrolment first (its instructor and admins; 404 to others)",
      description: 'Names, dates and progress; no e-mail addresses.',
      security: bearer,
      params: IdParams,
      querystring: RosterListQuery,
      response: { 200: json(RosterPageSchema, 'A page of learners'), ...problems({ 400: [], 401: [], 403: [], 404: ['course_not_found'] }) },
    },
  }, learning.roster);

  const completion = {
    tags,
    security: bearer,
    params: IdParams,
    response: {
      200: json(ProgressSchema, 'The course progress after the change'),
      ...problems({ 400: [], 401: [], 403: ['enrolment_required'], 404: ['lesson_not_found'] }),
    },
  };
  app.put('/api/v1/lessons/:id/completion', {
    onRequest: authn.requireUser,
    schema: {
      ...completion,
      summary: 'Mark a lesson done (active learners; idempotent); answers the course progress',
      description: 'Completing the last lesson sets `completedAt` once, issues the certificate and queues the course-completed mail.',
    },
  }, learning.complete);

  app.delete('/api/v1/lessons/:id/completion', {
    onRequest: authn.requireUser,
    schema: {
      ...completion,
      summary: 'Mark a lesson not done (active learners; idempotent); answers the course progress',
      description: 'A completed course stays completed and keeps its certificate.',
    },
  }, learning.uncomplete);

  app.get('/api/v1/courses/:id/progress', {
    onRequest: authn.requireUser,
    schema: {
      tags,
      summary: "The caller's progress in a course (also after leaving it)",
      security: bearer,
      params: IdParams,
      response: { 200: json(ProgressSchema, 'The progress'), ...problems({ 400: [], 401: [], 403: [], 404: ['course_not_found', 'not_enrolled'] }) },
    },
  }, learning.getProgress);

  app.get('/api/v1/certificates/:verificationId', {
    schema: {
      tags,
      summary: 'Check a certificate by its verification id (public)',
      params: VerificationIdParams,
      response: { 200: json(CertificateSchema, 'The certificate'), ...problems({ 400: [], 404: ['certificate_not_found'] }) },
    },
  }, learning.certificate);

  app.get('/api/v1/instructor/courses/:id/stats', {
    onRequest: authn.requireUser,
    schema: {
      tags,
      summary: "A course's analytics: enrolments per day, learners, completion rate, completions per lesson, ratings",
      description: 'The course\'s instructor and admins (404 to others). Days are UTC; the range defaults to the last 30 days and spans at most 366.',
      security: bearer,
      params: IdParams,
      querystring: StatsQuery,
      response: { 200: json(CourseStatsSchema, 'The analytics'), ...problems({ 400: [], 401: [], 403: [], 404: ['course_not_found'] }) },
    },
  }, learning.courseStats);
}
