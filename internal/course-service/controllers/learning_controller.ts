/** HTTP side of enrolment, progress, certificates and the instructor's stats: one service call per handler. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { principalOf } from '../../shared/middleware/authenticate.js';
import type { IdParams } from '../../shared/utils/http_schemas.js';
import type { LearningListInput, RosterListInput, StatsInput } from '../models/enrolment.js';
import type { VerificationIdParams } from '../models/progress.js';
import type { EnrolmentService } from '../services/enrolment_service.js';
import type { ProgressService } from '../services/progress_service.js';
import type { StatsService } from '../services/stats_service.js';

export class LearningController {
  constructor(
    private readonly enrolments: EnrolmentService,
    private readonly progress: ProgressService,
    private readonly stats: StatsService,
  ) {}

  /** 201 for a new enrolment, 200 when it was active already or is active again. */
  enrol = async (request: FastifyRequest<{ Params: IdParams }>, reply: FastifyReply) => {
    const { enrolment, created } = await this.enrolments.enrol(principalOf(request), request.params.id);
    return reply.code(created ? 201 : 200).send(enrolment);
  };

  leave = async (request: FastifyRequest<{ Params: IdParams }>, reply: FastifyReply) => {
    await this.enrolments.leave(principalOf(request), request.params.id);
    return reply.code(204).send();
  };

  listMine = async (request: FastifyRequest<{ Querystring: LearningListInput }>) => this.enrolments.listMine(principalOf(request), request.query);

  roster = async (request: FastifyRequest<{ Params: IdParams; Querystring: RosterListInput }>) =>
    this.enrolments.roster(principalOf(request), request.params.id, request.query);

  complete = async (request: FastifyRequest<{ Params: IdParams }>) => this.progress.setCompletion(principalOf(request), request.params.id, true);

  uncomplete = async (request: FastifyRequest<{ Params: IdParams }>) => this.progress.setCompletion(principalOf(request), request.params.id, false);

  getProgress = async (request: FastifyRequest<{ Params: IdParams }>) => this.progress.get(principalOf(request), request.params.id);

  certificate = async (request: FastifyRequest<{ Params: VerificationIdParams }>) => this.progress.certificate(request.params.verificationId);

  courseStats = async (request: FastifyRequest<{ Params: IdParams; Querystring: StatsInput }>) =>
    this.stats.course(principalOf(request), request.params.id, request.query);
}
