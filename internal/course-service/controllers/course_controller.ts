/**
 * HTTP side of courses and categories: one service call per handler. Caching and its headers are the
 * router's business (middleware/response_cache.ts); ETags of write answers come from `tagged`.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { principalOf } from '../../shared/middleware/authenticate.js';
import type { IdParams } from '../../shared/utils/http_schemas.js';
import type { CourseCreateInput, CourseListInput, CoursePatchInput, InstructorCourseListInput } from '../models/course.js';
import type { CourseService } from '../services/course_service.js';
import { tagged, type IfMatchHeaders } from '../middleware/conditional.js';

export class CourseController {
  constructor(private readonly courses: CourseService) {}

  list = async (request: FastifyRequest<{ Querystring: CourseListInput }>) => this.courses.list(request.query);

  /** `id` is a course id or a slug. */
  get = async (request: FastifyRequest<{ Params: { id: string } }>) => this.courses.get(request.principal, request.params.id);

  create = async (request: FastifyRequest<{ Body: CourseCreateInput }>, reply: FastifyReply) => {
    const course = await this.courses.create(principalOf(request), request.body);
    return reply.code(201).header('location', `/api/v1/courses/${course.id}`).send(tagged(reply, course));
  };

  update = async (request: FastifyRequest<{ Params: IdParams; Body: CoursePatchInput; Headers: IfMatchHeaders }>, reply: FastifyReply) =>
    tagged(reply, await this.courses.update(principalOf(request), request.params.id, request.body, { ifMatch: request.headers['if-match'] }));

  delete = async (request: FastifyRequest<{ Params: IdParams; Headers: IfMatchHeaders }>, reply: FastifyReply) => {
    await this.courses.delete(principalOf(request), request.params.id, { ifMatch: request.headers['if-match'] });
    return reply.code(204).send();
  };

  /** The caller's own courses (GET /api/v1/instructor/courses). */
  listOwn = async (request: FastifyRequest<{ Querystring: InstructorCourseListInput }>) => this.courses.listOwn(principalOf(request), request.query);

  categories = async () => this.courses.listCategories();
}
