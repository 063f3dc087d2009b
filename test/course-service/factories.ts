/** Small builders for course-service tests: inputs, callers, services over one test database. */
import type { Database } from '../../internal/shared/utils/database.js';
import { HttpError } from '../../internal/shared/utils/errors.js';
import { newId } from '../../internal/shared/utils/ids.js';
import type { Principal, Role } from '../../internal/shared/utils/jwt.js';
import type { CourseCreateInput, CourseDto } from '../../internal/course-service/models/course.js';
import type { CacheInvalidator } from '../../internal/course-service/services/cache/cache_scopes.js';
import { CourseService } from '../../internal/course-service/services/course_service.js';
import { ReviewService } from '../../internal/course-service/services/review_service.js';
import { CurriculumService } from '../../internal/course-service/services/curriculum_service.js';
import type { LessonDto } from '../../internal/course-service/models/curriculum.js';
import { EnrolmentService } from '../../internal/course-service/services/enrolment_service.js';
import type { ReviewCreateInput, ReviewDto } from '../../internal/course-service/models/review.js';

let seq = 0;

export function newCourseInput(overrides: Partial<CourseCreateInput> = {}): CourseCreateInput {
  seq++;
  return {
    title: `Practical Testing ${seq}`,
    summary: 'Write tests that catch bugs',
    description: 'A hands-on course about automated tests for backend services.',
    category: 'Programming',
    tags: ['testing', 'backend'],
    level: 'beginner',
    language: 'en',
    durationMinutes: 90,
    ...overrides,
  };
}

export interface PrincipalOptions {
  role?: Role;
  emailVerified?: boolean;
  sub?: string;
  name?: string;
}

export function principal(options: PrincipalOptions = {}): Principal {
  const role = options.role ?? 'student';
  return {
    sub: options.sub ?? newId(),
    role,
    name: options.name ?? `Test ${role} ${++seq}`,
    emailVerified: options.emailVerified ?? true,
    sid: newId(),
    jti: newId(),
    exp: Math.floor(Date.now() / 1000) + 900,
  };
}

export const instructor = (o: PrincipalOptions = {}) => principal({ role: 'instructor', ...o });
export const student = (o: PrincipalOptions = {}) => principal({ role: 'student', ...o });
export const admin = (o: PrincipalOptions = {}) => principal({ role: 'admin', ...o });

/** `requireEnrolment` false: for suites about something other than who may review (the setting `reviews.requireEnrolment`). */
export function services(db: Database, cache?: CacheInvalidator, options: { requireEnrolment?: boolean } = {}): { courses: CourseService; reviews: ReviewService } {
  return { courses: new CourseService({ db, cache }), reviews: new ReviewService({ db, cache, requireEnrolment: options.requireEnrolment }) };
}

/**
 * Reviews come from active learners (`reviews.requireEnrolment`): the author enrols first, then reviews.
 * An enrolment the course refuses (a draft, the author's own course) is ignored, so the review's own
 * refusal is what the test sees.
 */
export function reviewAsLearner(db: Database, reviews: ReviewService, cache?: CacheInvalidator) {
  const enrolments = new EnrolmentService({ db, cache });
  return async (author: Principal | undefined, courseId: string, input: ReviewCreateInput): Promise<ReviewDto> => {
    if (author) await enrolments.enrol(author, courseId).catch(() => undefined);
    return reviews.create(author, courseId, input);
  };
}

export async function publishedCourse(courses: CourseService, owner: Principal, overrides: Partial<CourseCreateInput> = {}): Promise<CourseDto> {
  return courses.create(owner, newCourseInput({ status: 'published', ...overrides }));
}

/** A new section with one lesson in the course (what publishing needs), by its owner or an admin. */
export async function addLesson(db: Database, by: Principal, courseId: string, durationSeconds = 60): Promise<LessonDto> {
  const curriculum = new CurriculumService({ db });
  const section = await curriculum.createSection(by, courseId, { title: 'Getting started' });
  return curriculum.createLesson(by, section.id, { title: 'Welcome', kind: 'video', durationSeconds });
}

/** The HttpError a promise rejects with (fails the test when it resolves or throws something else). */
export async function refusal(promise: Promise<unknown>): Promise<HttpError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof HttpError) return err;
    throw err;
  }
  throw new Error('expected an HttpError, but the call succeeded');
}

/** Follows `nextCursor` until the end; returns every item in order and the number of pages. */
export async function walk<T>(fetch: (cursor: string | undefined) => Promise<{ items: T[]; nextCursor: string | null }>): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let cursor: string | undefined;
  let pages = 0;
  for (;;) {
    const page = await fetch(cursor);
    pages++;
    items.push(...page.items);
    if (page.nextCursor === null) return { items, pages };
    if (pages > 1000) throw new Error('pagination does not end');
    cursor = page.nextCursor;
  }
}
