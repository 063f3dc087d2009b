/**
 * Course rules: who creates, sees, edits and deletes courses, slugs, publishing, conditional writes
 * and the public catalogue (search, filters, sorts, keyset pages). Plain inputs in, DTOs out, HttpError
 * for refusals; no HTTP types here.
 */
import type { Database, Queryable } from '../../shared/utils/database.js';
import { HttpError } from '../../shared/utils/errors.js';
import { isUuid, newId } from '../../shared/utils/ids.js';
import type { Principal } from '../../shared/utils/jwt.js';
import type { CategoryList } from '../models/category.js';
import {
  CourseCreateBody,
  CourseListQuery,
  CoursePatchBody,
  InstructorCourseListQuery,
  SLUG_PATTERN,
  courseFields,
  toCourseDto,
  type CourseCreateInput,
  type CourseDto,
  type CourseListInput,
  type CoursePage,
  type CoursePatchInput,
  type CourseRow,
  type InstructorCourseListInput,
} from '../models/course.js';
import { courseNotFound, isSlugTaken, slugTaken } from '../models/errors.js';
import {
  CourseRepository,
  courseKeysetValues,
  type CourseChanges,
  type CourseListFilter,
  type CourseListSort,
  type NewCourse,
} from '../repository/course_repository.js';
import { CurriculumRepository } from '../repository/curriculum_repository.js';
import { canSeeCourse, isAdmin, requireUser, requireVerified } from './access.js';
import { CacheScopes, type CacheInvalidator } from './cache/cache_scopes.js';
import { decodeCursor, keysetPage, type CursorValueKind } from '../../shared/utils/cursor.js';
import { checkIfMatch, etagOf } from '../../shared/utils/etag.js';
import { nextSlug, slugify } from './slug.js';
import { inTransaction } from './transactions.js';
import { fieldError, validateInput } from './validation.js';

export interface CourseServiceDeps {
  db: Database;
  courses?: CourseRepository;
  curriculum?: CurriculumRepository;
  /** Made stale after each committed write; optional (no cache in some tests and scripts). */
  cache?: CacheInvalidator;
}

export interface ConditionalOptions {
  /** The `If-Match` header as received; 412 `precondition_failed` when it does not match. */
  ifMatch?: string;
}

export const DEFAULT_PAGE_SIZE = 20;
const SLUG_RE = new RegExp(SLUG_PATTERN);

const COURSE_CURSOR_KINDS: Record<CourseListSort, CursorValueKind[]> = {
  relevance: ['float', 'uuid'],
  newest: ['timestamp', 'uuid'],
  rating: ['decimal', 'int', 'uuid'],
  popular: ['int', 'int', 'uuid'],
  title: ['text', 'uuid'],
};

/**
 * The cursor of the instructor's list. Bound to the list, not to the status filter: the keys mean the
 * same with any filter (a cursor kept across a filter change just continues from that date).
 */
const OWN_CURSOR_SORT = 'instructor-courses:newest';

/** Tags compare case-insensitively: stored trimmed, lower-case, once each. */
function normaliseTags(tags: readonly string[]): string[] {
  const out: string[] = [];
  for (const tag of tags) {
    const t = tag.trim().toLowerCase();
    if (t && !out.includes(t)) out.push(t);
  }
  return out;
}

function requireText(value: string, path: string): string {
  const t = value.trim();
  if (!t) throw fieldError(path, 'must not be blank');
  return t;
}

/** A slug that looks like a UUID would be ambiguous in /courses/{idOrSlug}. */
function checkSlug(slug: string): void {
  if (isUuid(slug)) throw fieldError('/slug', 'must not look like a course id');
}

/** A course by id (UUID, any case) or slug; null for neither, or for a string that can be neither. */
export async function findCourseByIdOrSlug(courses: CourseRepository, idOrSlug: string): Promise<CourseRow | null> {
  if (isUuid(idOrSlug)) return courses.findById(idOrSlug.toLowerCase());
  if (idOrSlug.length <= 120 && SLUG_RE.test(idOrSlug)) return courses.findBySlug(idOrSlug);
  return null;
}

export class CourseService {
  private readonly db: Database;
  private readonly courses: CourseRepository;
  private readonly curriculum: CurriculumRepository;
  private readonly cache: CacheInvalidator | undefined;

  constructor(deps: CourseServiceDeps) {
    this.db = deps.db;
    this.courses = deps.courses ?? new CourseRepository(deps.db);
    this.curriculum = deps.curriculum ?? new CurriculumRepository(deps.db);
    this.cache = deps.cache;
  }

  /**
   * Instructors and admins with a verified e-mail. A draft unless `status` says `archived`;
   * `status: "published"` is 409 `curriculum_incomplete` (after any 400 of the input) with nothing
   * written, as a PATCH publishing a course without lessons is: a course that does not exist yet has
   * none. Publishing is create (draft) → add a section and a lesson → PATCH `{status: "published"}`.
   */
  async create(principal: Principal | undefined, input: CourseCreateInput): Promise<CourseDto> {
    const user = requireUser(principal);
    if (user.role !== 'instructor' && user.role !== 'admin') {
      throw HttpError.forbidden('forbidden', 'Only instructors can create courses');
    }
    requireVerified(user);
    const body = validateInput(CourseCreateBody, input);
    if (body.slug !== undefined) checkSlug(body.slug);
    const course: NewCourse = {
      id: newId(),
      slug: body.slug ?? slugify(body.title),
      title: requireText(body.title, '/title'),
      summary: body.summary.trim(),
      description: body.description.trim(),
      category: requireText(body.category, '/category'),
      tags: normaliseTags(body.tags),
      level: body.level,
      language: body.language,
      durationMinutes: body.durationMinutes,
      instructorId: user.sub,
      instructorName: user.name,
      status: body.status ?? 'draft',
    };
    if (course.status === 'published') {
      throw HttpError.conflict(
        'curriculum_incomplete',
        'A new course has no lessons: create it as a draft, add a section and a lesson, then publish it with PATCH {"status":"published"}',
      );
    }
    const row = body.slug !== undefined ? await this.courses.insert(course) : await this.insertWithFreeSlug(course);
    await this.cache?.invalidate(CacheScopes.afterCourseCreate(row.id));
    return toCourseDto(row);
  }

  /** The title's slug, else the next `-<n>`, else (under a race for that too) a random suffix. */
  private async insertWithFreeSlug(course: NewCourse): Promise<CourseRow> {
    const base = course.slug;
    for (let attempt = 0; attempt < 5; attempt++) {
      const slug =
        attempt === 0 ? base : attempt === 1 ? nextSlug(base, await this.courses.slugsWithPrefix(base)) : `${base}-${newId().slice(-6)}`;
      try {
        return await this.courses.insert({ ...course, slug });
      } catch (err) {
        if (!isSlugTaken(err)) throw err;
      }
    }
    throw slugTaken('Could not find a free slug; give one explicitly');
  }

  /** By id (UUID) or slug. Drafts and archived courses are 404 to all but their instructor and admins. */
  async get(principal: Principal | undefined, idOrSlug: string): Promise<CourseDto> {
    const row = await findCourseByIdOrSlug(this.courses, idOrSlug);
    if (!row || !canSeeCourse(principal, row)) throw courseNotFound();
    return toCourseDto(row);
  }

  /**
   * The owner or an admin changes any writable field. `status: "published"` publishes (publishedAt is
   * set the first time only). A course the caller cannot see is 404, one they can see but do not own 403.
   * A PATCH that changes nothing returns the course as is (same ETag).
   */
  async update(principal: Principal | undefined, id: string, patch: CoursePatchInput, options: ConditionalOptions = {}): Promise<CourseDto> {
    const user = requireUser(principal);
    const body = validateInput(CoursePatchBody, patch);
    if (!isUuid(id)) throw courseNotFound();
    if (body.slug !== undefined) checkSlug(body.slug);

    let changed = false;
    let statusChanged = false;
    const result = await inTransaction(this.db, async (tx) => {
      const row = await this.courses.findForUpdate(id, tx);
      const owner = this.checkWriteAccess(user, row);
      checkIfMatch(options.ifMatch, etagOf(toCourseDto(owner)));

      const wanted: CourseChanges = {
        slug: body.slug,
        title: body.title === undefined ? undefined : requireText(body.title, '/title'),
        summary: body.summary?.trim(),
        description: body.description?.trim(),
        category: body.category === undefined ? undefined : requireText(body.category, '/category'),
        tags: body.tags === undefined ? undefined : normaliseTags(body.tags),
        level: body.level,
        language: body.language,
        durationMinutes: body.durationMinutes,
        status: body.status,
      };
      const changes = diff(owner, wanted);
      if (Object.keys(changes).length === 0) return owner;
      // Names come from token claims; the owner's edit refreshes a changed display name.
      if (user.sub === owner.instructor_id && user.name && user.name !== owner.instructor_name) changes.instructorName = user.name;
      // Publishing needs a curriculum: the course row's lock (held) orders this with curriculum writes.
      if (changes.status === 'published') await this.checkPublishable(id, tx);
      changed = true;
      statusChanged = changes.status !== undefined;
      const updated = await this.courses.update(id, changes, tx);
      if (!updated) throw courseNotFound();
      return updated;
    });
    if (changed) await this.cache?.invalidate(CacheScopes.afterCourseUpdate(id, statusChanged));
    return toCourseDto(result);
  }

  /** The owner or an admin; the course's reviews go with it. */
  async delete(principal: Principal | undefined, id: string, options: ConditionalOptions = {}): Promise<void> {
    const user = requireUser(principal);
    if (!isUuid(id)) throw courseNotFound();
    await inTransaction(this.db, async (tx) => {
      const row = await this.courses.findForUpdate(id, tx);
      const owned = this.checkWriteAccess(user, row);
      checkIfMatch(options.ifMatch, etagOf(toCourseDto(owned)));
      await this.courses.delete(id, tx);
    });
    await this.cache?.invalidate(CacheScopes.afterCourseDelete(id));
  }

  /** 409 `curriculum_incomplete` unless the course has a lesson and no empty section. */
  private async checkPublishable(id: string, tx: Queryable): Promise<void> {
    const { lessonCount, emptySections } = await this.curriculum.publishBlockers(id, tx);
    if (lessonCount === 0) throw HttpError.conflict('curriculum_incomplete', 'Add at least one lesson before publishing');
    if (emptySections > 0) {
      throw HttpError.conflict('curriculum_incomplete', `${emptySections} section(s) have no lessons; fill or delete them before publishing`);
    }
  }

  private checkWriteAccess(user: Principal, row: CourseRow | null): CourseRow {
    if (!row || !canSeeCourse(user, row)) throw courseNotFound();
    if (row.instructor_id !== user.sub && !isAdmin(user)) {
      throw HttpError.forbidden('not_course_owner', 'Only the course instructor or an admin can change this course');
    }
    return row;
  }

  /**
   * Published courses, one keyset page. Sort defaults to relevance with `q`, newest without; relevance
   * without `q` is newest. The cursor is bound to the effective sort: a cursor from another sort is
   * 400 `invalid_cursor`. A `q` of only stop words matches nothing.
   */
  async list(query: CourseListInput = {}): Promise<CoursePage> {
    const input = validateInput(CourseListQuery, query);
    const q = input.q?.trim() || undefined;
    let sort: CourseListSort = input.sort ?? (q ? 'relevance' : 'newest');
    if (sort === 'relevance' && !q) sort = 'newest';
    const limit = input.limit ?? DEFAULT_PAGE_SIZE;
    const cursorSort = `courses:${sort}`;
    const after = decodeCursor(input.cursor, cursorSort, COURSE_CURSOR_KINDS[sort]);
    const filter: CourseListFilter = {
      q,
      category: input.category?.trim() || undefined,
      level: input.level,
      language: input.language,
      tag: input.tag?.trim().toLowerCase() || undefined,
      instructorId: input.instructorId?.toLowerCase(),
      minRating: input.minRating,
    };
    const rows = await this.courses.listPublished(filter, sort, after, limit + 1);
    return keysetPage(rows, limit, cursorSort, toCourseDto, (row) => courseKeysetValues(row, sort));
  }

  /**
   * The caller's own courses of every status (or of `status`), newest created first, in keyset pages.
   * Instructors and admins (an admin's own courses too: everyone else's are in the public list, or
   * reachable by id); 403 for anyone else. Unverified instructors may list: they may have nothing yet,
   * but reading one's own data needs no verified e-mail.
   */
  async listOwn(principal: Principal | undefined, query: InstructorCourseListInput = {}): Promise<CoursePage> {
    const user = requireUser(principal);
    if (user.role !== 'instructor' && user.role !== 'admin') {
      throw HttpError.forbidden('forbidden', 'Only instructors and admins have courses of their own');
    }
    const input = validateInput(InstructorCourseListQuery, query);
    const limit = input.limit ?? DEFAULT_PAGE_SIZE;
    const after = decodeCursor(input.cursor, OWN_CURSOR_SORT, ['timestamp', 'uuid']);
    const rows = await this.courses.listByInstructor(user.sub, input.status, after, limit + 1);
    return keysetPage(rows, limit, OWN_CURSOR_SORT, toCourseDto, (row) => [new Date(row.created_at).toISOString(), row.id]);
  }

  /** Categories that have published courses, with counts, by name (not paged: there are few). */
  async listCategories(): Promise<CategoryList> {
    const rows = await this.courses.categories();
    return { items: rows.map((r) => ({ name: r.name, courseCount: r.course_count })), nextCursor: null };
  }
}

/** The fields of `wanted` that differ from the row. */
function diff(row: CourseRow, wanted: CourseChanges): CourseChanges {
  const current = courseFields(row);
  const changes: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(wanted)) {
    if (value === undefined) continue;
    const now = current[key as keyof typeof current];
    const same = Array.isArray(value) ? JSON.stringify(value) === JSON.stringify(now) : value === now;
    if (!same) changes[key] = value;
  }
  return changes as CourseChanges;
}
