/**
 * Progress: marking lessons done and not done (active learners only, idempotent), the course progress,
 * completion with its certificate, and the public certificate check.
 *
 * Concurrency: a completion locks the learner's enrolment row first (FOR UPDATE), then the lesson, so
 * completions of one learner serialise: each reads the count the previous one left, exactly one of
 * them sees the count reach the course's lesson count, stamps `completed_at` (once: it is never
 * cleared), adds one to the course's completion_count and today's `completed`, issues the certificate
 * and queues `course_completed`. Un-completing after that revokes nothing.
 */
import { randomBytes } from 'node:crypto';
import type { Database } from '../../shared/utils/database.js';
import { HttpError } from '../../shared/utils/errors.js';
import { isUuid, newId } from '../../shared/utils/ids.js';
import type { Principal } from '../../shared/utils/jwt.js';
import { courseNotFound, enrolmentRequired, lessonNotFound } from '../models/errors.js';
import { percentOf, toCertificateDto, type CertificateDto, type ProgressDto } from '../models/progress.js';
import { CourseRepository } from '../repository/course_repository.js';
import { EnrolmentRepository } from '../repository/enrolment_repository.js';
import { OutboxRepository } from '../repository/outbox_repository.js';
import { ProgressRepository, type CompletionResultRow } from '../repository/progress_repository.js';
import { canSeeCourse, isAdmin, requireUser } from './access.js';
import { notEnrolled } from './enrolment_service.js';
import { retryOnConflict } from './transactions.js';

export interface ProgressServiceDeps {
  db: Database;
  courses?: CourseRepository;
  enrolments?: EnrolmentRepository;
  progress?: ProgressRepository;
  outbox?: OutboxRepository;
}

/** 16 random bytes as base64url: 22 characters, 128 bits, unguessable. */
export function newVerificationId(): string {
  return randomBytes(16).toString('base64url');
}

export class ProgressService {
  private readonly db: Database;
  private readonly courses: CourseRepository;
  private readonly enrolments: EnrolmentRepository;
  private readonly progress: ProgressRepository;
  private readonly outbox: OutboxRepository;

  constructor(deps: ProgressServiceDeps) {
    this.db = deps.db;
    this.courses = deps.courses ?? new CourseRepository(deps.db);
    this.enrolments = deps.enrolments ?? new EnrolmentRepository(deps.db);
    this.progress = deps.progress ?? new ProgressRepository(deps.db);
    this.outbox = deps.outbox ?? new OutboxRepository(deps.db);
  }

  /** Marks the lesson done (`done`) or not done for the caller, an active learner; answers the course progress. */
  async setCompletion(principal: Principal | undefined, lessonIdIn: string, done: boolean): Promise<ProgressDto> {
    const user = requireUser(principal);
    if (!isUuid(lessonIdIn)) throw lessonNotFound();
    const write = {
      userId: user.sub,
      lessonId: lessonIdIn.toLowerCase(),
      done,
      seesAll: isAdmin(user),
      learnerName: user.name,
      certificateId: newId(),
      verificationId: newVerificationId(),
      eventId: newId(),
    };
    const row = await retryOnConflict(() => this.progress.setCompletionCounted(write));
    if (row.outcome === 'lesson_not_found') throw lessonNotFound();
    if (row.outcome === 'enrolment_required') throw enrolmentRequired();
    return this.toProgress(row.course_id!, row);
  }

  /** The caller's progress in the course (also after leaving); 404 `not_enrolled` when they never enrolled. */
  async get(principal: Principal | undefined, courseIdIn: string): Promise<ProgressDto> {
    const user = requireUser(principal);
    if (!isUuid(courseIdIn)) throw courseNotFound();
    const courseId = courseIdIn.toLowerCase();
    const row = await this.enrolments.find(courseId, user.sub);
    if (!row) {
      const course = await this.courses.findById(courseId);
      if (!course || !canSeeCourse(user, course)) throw courseNotFound();
      throw notEnrolled();
    }
    const [next, certificate] = await Promise.all([this.progress.nextLesson(courseId, user.sub), this.progress.findCertificate(courseId, user.sub)]);
    return this.toProgress(courseId, { ...row, next_lesson_id: next, certificate_id: certificate?.verification_id ?? null });
  }

  private toProgress(courseId: string, row: Omit<CompletionResultRow, 'outcome' | 'course_id'>): ProgressDto {
    const lessonCount = Number(row.lesson_count);
    const completed = Math.min(Math.max(Number(row.completed_lessons), 0), lessonCount);
    return {
      courseId,
      completedLessons: completed,
      lessonCount,
      percent: percentOf(completed, lessonCount),
      lastLessonId: row.last_lesson_id,
      nextLessonId: row.next_lesson_id,
      completedAt: row.completed_at === null ? null : new Date(row.completed_at).toISOString(),
      certificateId: row.certificate_id,
    };
  }

  /** Public: anyone may check a certificate by its verification id. */
  async certificate(verificationId: string): Promise<CertificateDto> {
    if (!/^[A-Za-z0-9_-]{16,64}$/.test(verificationId)) throw HttpError.notFound('certificate_not_found', 'No such certificate');
    const row = await this.progress.findCertificateByVerificationId(verificationId);
    if (!row) throw HttpError.notFound('certificate_not_found', 'No such certificate');
    return toCertificateDto(row);
  }
}
