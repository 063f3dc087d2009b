/** HTTP side of the curriculum (sections, lessons, the outline and its order): one service call per handler. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { principalOf } from '../../shared/middleware/authenticate.js';
import type { IdParams } from '../../shared/utils/http_schemas.js';
import type { LessonCreateInput, LessonPatchInput, ReorderInput, SectionCreateInput, SectionPatchInput } from '../models/curriculum.js';
import type { CurriculumService } from '../services/curriculum_service.js';
import { tagged, type IfMatchHeaders } from '../middleware/conditional.js';

export class CurriculumController {
  constructor(private readonly curriculum: CurriculumService) {}

  /** `id` is a course id or a slug. */
  outline = async (request: FastifyRequest<{ Params: { id: string } }>) => this.curriculum.outline(request.principal, request.params.id);

  reorder = async (request: FastifyRequest<{ Params: IdParams; Body: ReorderInput; Headers: IfMatchHeaders }>, reply: FastifyReply) =>
    tagged(reply, await this.curriculum.reorder(principalOf(request), request.params.id, request.body, { ifMatch: request.headers['if-match'] }));

  createSection = async (request: FastifyRequest<{ Params: IdParams; Body: SectionCreateInput }>, reply: FastifyReply) => {
    const section = await this.curriculum.createSection(principalOf(request), request.params.id, request.body);
    return reply.code(201).header('location', `/api/v1/sections/${section.id}`).send(tagged(reply, section));
  };

  updateSection = async (request: FastifyRequest<{ Params: IdParams; Body: SectionPatchInput; Headers: IfMatchHeaders }>, reply: FastifyReply) =>
    tagged(reply, await this.curriculum.updateSection(principalOf(request), request.params.id, request.body, { ifMatch: request.headers['if-match'] }));

  deleteSection = async (request: FastifyRequest<{ Params: IdParams; Headers: IfMatchHeaders }>, reply: FastifyReply) => {
    await this.curriculum.deleteSection(principalOf(request), request.params.id, { ifMatch: request.headers['if-match'] });
    return reply.code(204).send();
  };

  createLesson = async (request: FastifyRequest<{ Params: IdParams; Body: LessonCreateInput }>, reply: FastifyReply) => {
    const lesson = await this.curriculum.createLesson(principalOf(request), request.params.id, request.body);
    return reply.code(201).header('location', `/api/v1/lessons/${lesson.id}`).send(tagged(reply, lesson));
  };

  getLesson = async (request: FastifyRequest<{ Params: IdParams }>) => this.curriculum.getLesson(request.principal, request.params.id);

  updateLesson = async (request: FastifyRequest<{ Params: IdParams; Body: LessonPatchInput; Headers: IfMatchHeaders }>, reply: FastifyReply) =>
    tagged(reply, await this.curriculum.updateLesson(principalOf(request), request.params.id, request.body, { ifMatch: request.headers['if-match'] }));

  deleteLesson = async (request: FastifyRequest<{ Params: IdParams; Headers: IfMatchHeaders }>, reply: FastifyReply) => {
    await this.curriculum.deleteLesson(principalOf(request), request.params.id, { ifMatch: request.headers['if-match'] });
    return reply.code(204).send();
  };
}
