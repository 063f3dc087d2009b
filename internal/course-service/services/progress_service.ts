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
import type { Database, Queryable } from '../../shared/utils/database.js';
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

  /**
   * In a lesson delete's transaction (the course row locked, its counters moved): completes every active
   * learner who has now done every remaining lesson, as their own last completion would have (completed_at,
   * certificate, the course's completion_count and today's `completed`, the `course_completed` mail).
   * Returns how many learners completed.
   */
  async completeFinished(courseId: string, tx: Queryable): Promise<number> {
    const finished = await this.progress.completeFinished(courseId, tx);
    const first = finished[0];
    if (!first) return 0;
    const issued = await this.progress.insertCertificates(
      courseId,
      { title: first.course_title, instructorName: first.instructor_name, durationSeconds: Number(first.total_duration_seconds) },
      finished.map((f) => ({ id: newId(), verificationId: newVerificationId(), userId: f.user_id, learnerName: f.learner_name })),
      tx,
    );
    await this.enrolments.moveCourseCounters(courseId, { active: 0, total: 0, completed: finished.length }, tx);
    await this.enrolments.addDailyStats(courseId, { completed: finished.length }, tx);
    await this.outbox.addMany(
      'course_completed',
      issued.map((c) => ({
        courseId,
        courseTitle: first.course_title,
        courseSlug: first.course_slug,
        userId: c.user_id,
        certificateVerificationId: c.verification_id,
      })),
      tx,
    );
    return finished.length;
  }

  /** Public: anyone may check a certificate by its verification id. */
  async certificate(verificationId: string): Promise<CertificateDto> {
    if (!/^[A-Za-z0-9_-]{16,64}$/.test(verificationId)) throw HttpError.notFound('certificate_not_found', 'No such certificate');
    const row = await this.progress.findCertificateByVerificationId(verificationId);
    if (!row) throw HttpError.notFound('certificate_not_found', 'No such certificate');
    return toCertificateDto(row);
  }
}
