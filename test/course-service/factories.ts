/**
 * Small builders for course-service tests: inputs, callers, services over one test database. Every
 * published course a test needs comes from `publishedCourse` (services) or `publishedCourseOverHttp`
 * (any harness's `call`): create draft → section → lesson → PATCH publish; `insertInterleavedCourses` writes
 * rows in SQL for tests of the physical order of course_search.
 */
import type { Database, Queryable } from '../../internal/shared/utils/database.js';
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
import type { CallOptions, CallResult } from '../helpers/openapi.js';

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

/**
 * A published course made the only way there is (`POST` with `status: "published"` is 409
 * `curriculum_incomplete`): create a draft, add a section with one lesson (60 s, `addLesson`), PATCH
 * `{status: "published"}`. So it has `lessonCount` 1 and `totalDurationSeconds` 60. `owner` may be an
 * admin. `courses` is the caller's service (its cache, if any, is made stale by the publish).
 */
export async function publishedCourse(db: Database, courses: CourseService, owner: Principal, overrides: Omit<Partial<CourseCreateInput>, 'status'> = {}): Promise<CourseDto> {
  const draft = await courses.create(owner, newCourseInput(overrides));
  await addLesson(db, owner, draft.id);
  return courses.update(owner, draft.id, { status: 'published' });
}

/** What the HTTP flavour needs of a harness: `p.course.call` / `h.call`. */
export type CourseCall = (method: string, url: string, options?: CallOptions) => Promise<CallResult>;

/** One call over HTTP that must answer `want`; throws with the answer otherwise. */
async function step(call: CourseCall, token: string, what: string, method: string, url: string, body: unknown, want: number): Promise<any> {
  const res = await call(method, url, { token, body });
  if (res.status !== want) throw new Error(`${what}: ${method} ${url} answered ${res.status} ${res.text}`);
  return res.body;
}

/**
 * Publishes the draft (or archived) course `courseId` over HTTP as its owner or an admin (`token`):
 * POST a section, POST one lesson (article, 60 s), PATCH `{status: "published"}`. Returns the PATCH
 * answer. For a course made some other way (e.g. Swagger UI's Try it out); else `publishedCourseOverHttp`.
 */
export async function publishOverHttp(call: CourseCall, token: string, courseId: string): Promise<CourseDto> {
  const section = await step(call, token, 'section', 'POST', `/api/v1/courses/${courseId}/sections`, { title: 'Getting started' }, 201);
  await step(call, token, 'lesson', 'POST', `/api/v1/sections/${section.id}/lessons`, { title: 'Welcome', kind: 'article', durationSeconds: 60 }, 201);
  return step(call, token, 'publish', 'PATCH', `/api/v1/courses/${courseId}`, { status: 'published' }, 200);
}

/**
 * `publishedCourse` over HTTP with `token` (an instructor's or an admin's): POST a draft (the body is
 * `newCourseInput()` with `overrides` on top, any `status` dropped), then `publishOverHttp`. Throws with
 * the answer when a step is refused. Returns the published course (`lessonCount` 1).
 */
export async function publishedCourseOverHttp(call: CourseCall, token: string, overrides: Record<string, unknown> = {}): Promise<CourseDto> {
  const body: Record<string, unknown> = { ...newCourseInput(), ...overrides };
  delete body.status;
  const draft = await step(call, token, 'create', 'POST', '/api/v1/courses', body, 201);
  return publishOverHttp(call, token, draft.id);
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

/**
 * `count` published courses inserted row by row in SQL (no service: it works on any schema version from
 * 0008 on), their categories taking turns (Zoology, Art, Music, Zoology, ...), as a catalogue grows: in
 * publish order the categories interleave in course_search (migration 0017 and its gauge).
 */
export async function insertInterleavedCourses(db: Queryable, count: number): Promise<void> {
  const categories = ['Zoology', 'Art', 'Music'];
  for (let i = 0; i < count; i++) {
    const id = `0190a0b0-0000-7000-8000-${String(i).padStart(12, '0')}`;
    await db.query(
      `INSERT INTO courses (id, slug, title, category, level, language, duration_minutes, instructor_id, status, published_at)
       VALUES ($1, $2, $3, $4, 'beginner', 'en', 60, $1, 'published', now())`,
      [id, `interleaved-${i}`, `Course ${i} about ${categories[i % 3]}`, categories[i % 3]],
    );
  }
}
