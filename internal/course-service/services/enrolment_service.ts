/**
 * Enrolment rules: enrol (published courses only, never one's own), leave (progress kept), "my
 * learning" and the course's roster. The course's `enrolment_count` (active learners) and
 * `learner_total` (ever enrolled), the day's stats and the `enrolment_created` event move in the
 * enrolment's transaction, and only when its status really changed: the enrolment row is written first
 * (an enrol is one call of learning_enrol(), migration 0014; a leave a conditional UPDATE) and its
 * outcome decides the deltas, so concurrent repeats of one learner serialise on that row and count once.
 *
 * Decisions (docs/ARCHITECTURE.md, "Learning: enrolment and progress"): a draft or archived course is
 * 404 `course_not_found` for a new or renewed enrolment, but an active learner of a course archived
 * since keeps their enrolment (PUT answers 200); leaving twice is 204 both times, leaving a course one
 * never enrolled in is 404 `not_enrolled`.
 */
import type { Database } from '../../shared/utils/database.js';
import { HttpError } from '../../shared/utils/errors.js';
import { isUuid, newId } from '../../shared/utils/ids.js';
import type { Principal } from '../../shared/utils/jwt.js';
import { decodeCursor, keysetPage } from '../../shared/utils/cursor.js';
import {
  LearningListQuery,
  RosterListQuery,
  toEnrolmentDto,
  toLearningCardDto,
  toRosterEntryDto,
  type EnrolmentDto,
  type LearningListInput,
  type LearningPage,
  type RosterListInput,
  type RosterPage,
} from '../models/enrolment.js';
import { courseNotFound } from '../models/errors.js';
import { CourseRepository } from '../repository/course_repository.js';
import { EnrolmentRepository } from '../repository/enrolment_repository.js';
import { canSeeCourse, isAdmin, requireUser } from './access.js';
import { CacheScopes, type CacheInvalidator } from './cache/cache_scopes.js';
import { DEFAULT_PAGE_SIZE } from './course_service.js';
import { inTransaction, retryOnConflict } from './transactions.js';
import { validateInput } from './validation.js';

export interface EnrolmentServiceDeps {
  db: Database;
  courses?: CourseRepository;
  enrolments?: EnrolmentRepository;
  cache?: CacheInvalidator;
}

export const notEnrolled = (): HttpError => HttpError.notFound('not_enrolled', 'You have not enrolled in this course');

export class EnrolmentService {
  private readonly db: Database;
  private readonly courses: CourseRepository;
  private readonly enrolments: EnrolmentRepository;
  private readonly cache: CacheInvalidator | undefined;

  constructor(deps: EnrolmentServiceDeps) {
    this.db = deps.db;
    this.courses = deps.courses ?? new CourseRepository(deps.db);
    this.enrolments = deps.enrolments ?? new EnrolmentRepository(deps.db);
    this.cache = deps.cache;
  }

  /**
   * Enrols the caller: `created` is true for a new enrolment (201), false when it was active already
   * or is active again (200, the same row with its progress).
   */
  async enrol(principal: Principal | undefined, courseIdIn: string): Promise<{ enrolment: EnrolmentDto; created: boolean }> {
    const user = requireUser(principal);
    if (!isUuid(courseIdIn)) throw courseNotFound();
    const courseId = courseIdIn.toLowerCase();
    const outcome = await retryOnConflict(() =>
      this.enrolments.enrolCounted({ id: newId(), courseId, userId: user.sub, learnerName: user.name }, newId()),
    );
    switch (outcome.change) {
      case 'own_course':
        throw HttpError.conflict('own_course', 'You cannot enrol in your own course');
      case 'not_published':
        // Archived (or back to draft) since: an active learner keeps the enrolment; nobody else learns the course exists.
        if (outcome.activeRow) return { enrolment: toEnrolmentDto(outcome.activeRow), created: false };
        throw courseNotFound();
      default:
        if (outcome.change !== 'none') await this.cache?.invalidate(CacheScopes.afterEnrolmentWrite(courseId));
        return { enrolment: toEnrolmentDto(outcome.row), created: outcome.change === 'inserted' };
    }
  }

  /** Leaves the course (progress kept). Idempotent: a left enrolment stays left (no error). */
  async leave(principal: Principal | undefined, courseIdIn: string): Promise<void> {
    const user = requireUser(principal);
    if (!isUuid(courseIdIn)) throw courseNotFound();
    const courseId = courseIdIn.toLowerCase();
    const left = await inTransaction(this.db, async (tx) => {
      const row = await this.enrolments.leave(courseId, user.sub, tx);
      if (!row) return false;
      // Whatever the course's status now: a learner may always leave.
      await this.enrolments.moveCourseCounters(courseId, { active: -1, total: 0, completed: 0 }, tx);
      await this.enrolments.addDailyStats(courseId, { left: 1 }, tx);
      return true;
    });
    if (left) {
      await this.cache?.invalidate(CacheScopes.afterEnrolmentWrite(courseId));
      return;
    }
    if (await this.enrolments.find(courseId, user.sub)) return;
    const course = await this.courses.findById(courseId);
    if (!course || !canSeeCourse(user, course)) throw courseNotFound();
    throw notEnrolled();
  }

  /** "My learning": the caller's courses with progress, newest activity first. Never cached (per user). */
  async listMine(principal: Principal | undefined, query: LearningListInput = {}): Promise<LearningPage> {
    const user = requireUser(principal);
    const input = validateInput(LearningListQuery, query);
    const limit = input.limit ?? DEFAULT_PAGE_SIZE;
    const cursorSort = `my-learning:${input.status ?? 'all'}`;
    const after = decodeCursor(input.cursor, cursorSort, ['timestamp', 'uuid']);
    const rows = await this.enrolments.listByUser(user.sub, input.status, after, limit + 1);
    return keysetPage(rows, limit, cursorSort, toLearningCardDto, (r) => [new Date(r.last_activity_at).toISOString(), r.id]);
  }

  /** The course's learners, newest enrolment first: its owner and admins; 404 to everyone else. */
  async roster(principal: Principal | undefined, courseIdIn: string, query: RosterListInput = {}): Promise<RosterPage> {
    const user = requireUser(principal);
    const input = validateInput(RosterListQuery, query);
    if (!isUuid(courseIdIn)) throw courseNotFound();
    const courseId = courseIdIn.toLowerCase();
    const course = await this.courses.findById(courseId);
    if (!course || (course.instructor_id !== user.sub && !isAdmin(user))) throw courseNotFound();
    const limit = input.limit ?? DEFAULT_PAGE_SIZE;
    const cursorSort = 'roster:newest';
    const after = decodeCursor(input.cursor, cursorSort, ['timestamp', 'uuid']);
    const rows = await this.enrolments.listByCourse(courseId, after, limit + 1);
    return keysetPage(rows, limit, cursorSort, toRosterEntryDto, (r) => [new Date(r.enrolled_at).toISOString(), r.id]);
  }
}
