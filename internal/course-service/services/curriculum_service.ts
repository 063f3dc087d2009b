/**
 * Curriculum rules: a course's sections and lessons, who may read and change them, the atomic reorder,
 * and the counters every lesson write keeps exact by delta in its own transaction
 * (`courses.lesson_count`, `total_duration_seconds`, `course_sections.lesson_count`, and, on a lesson
 * delete, `enrolments.completed_lessons` of the learners who had completed it).
 *
 * Lock order, the same in every curriculum write: the course row (FOR UPDATE; this serialises all
 * curriculum writes of one course and the publish check in CourseService.update), then the section,
 * then the lesson, then (a lesson delete) the enrolment rows of its learners. A lesson completion
 * inserts into lesson_completions, which takes FOR KEY SHARE on the lesson (its foreign key), then
 * updates its enrolment: a delete that holds the lesson FOR UPDATE makes a completion of that lesson
 * wait and then fail on the foreign key (the lesson is gone), and a completion in flight makes the
 * delete wait and then count it. A completion that also locks the course row (the course's completion
 * counter) could close a cycle with a delete waiting on its lesson; PostgreSQL then aborts one side and
 * `inTransaction` runs it again.
 */
import type { Database } from '../../shared/utils/database.js';
import { HttpError, type FieldError } from '../../shared/utils/errors.js';
import { checkIfMatch, etagOf } from '../../shared/utils/etag.js';
import { isUuid, newId } from '../../shared/utils/ids.js';
import type { Principal } from '../../shared/utils/jwt.js';
import type { Queryable } from '../../shared/utils/database.js';
import type { CourseRow } from '../models/course.js';
import {
  LessonCreateBody,
  LessonPatchBody,
  ReorderBody,
  SectionCreateBody,
  SectionPatchBody,
  toCurriculumDto,
  toLessonDto,
  toSectionDto,
  type CurriculumDto,
  type LessonCreateInput,
  type LessonDto,
  type LessonPatchInput,
  type LessonRow,
  type ReorderInput,
  type SectionCreateInput,
  type SectionDto,
  type SectionPatchInput,
} from '../models/curriculum.js';
import { courseNotFound, lessonNotFound, sectionNotFound } from '../models/errors.js';
import { CourseRepository } from '../repository/course_repository.js';
import { CurriculumRepository, type LessonChanges, type LessonPlacement } from '../repository/curriculum_repository.js';
import { canSeeCourse, isAdmin, requireUser } from './access.js';
import { ProgressService } from './progress_service.js';
import { CacheScopes, type CacheInvalidator } from './cache/cache_scopes.js';
import { findCourseByIdOrSlug, type ConditionalOptions } from './course_service.js';
import { inTransaction } from './transactions.js';
import { fieldError, validateInput } from './validation.js';

export interface CurriculumServiceDeps {
  db: Database;
  courses?: CourseRepository;
  curriculum?: CurriculumRepository;
  /** Made stale after each committed write; optional (no cache in some tests and scripts). */
  cache?: CacheInvalidator;
  /** Completes learners whom a lesson delete leaves with every lesson done. */
  progress?: ProgressService;
}

function requireText(value: string, path: string): string {
  const t = value.trim();
  if (!t) throw fieldError(path, 'must not be blank');
  return t;
}

const mismatch = (errors: FieldError[]): HttpError =>
  HttpError.badRequest('curriculum_mismatch', "The order must name exactly the course's current sections and lessons, each once", errors.slice(0, 20));

export class CurriculumService {
  private readonly db: Database;
  private readonly courses: CourseRepository;
  private readonly curriculum: CurriculumRepository;
  private readonly cache: CacheInvalidator | undefined;
  private readonly progress: ProgressService;

  constructor(deps: CurriculumServiceDeps) {
    this.db = deps.db;
    this.courses = deps.courses ?? new CourseRepository(deps.db);
    this.curriculum = deps.curriculum ?? new CurriculumRepository(deps.db);
    this.cache = deps.cache;
    this.progress = deps.progress ?? new ProgressService({ db: deps.db, courses: this.courses });
  }

  /** The outline by course id or slug: public for a published course, a draft's only to its owner and admins (404). */
  async outline(principal: Principal | undefined, idOrSlug: string): Promise<CurriculumDto> {
    const course = await findCourseByIdOrSlug(this.courses, idOrSlug);
    if (!course || !canSeeCourse(principal, course)) throw courseNotFound();
    return toCurriculumDto(course.id, await this.curriculum.outline(course.id));
  }

  /** A new section, last in the course (owner or admin). */
  async createSection(principal: Principal | undefined, courseId: string, input: SectionCreateInput): Promise<SectionDto> {
    const user = requireUser(principal);
    const body = validateInput(SectionCreateBody, input);
    const title = requireText(body.title, '/title');
    if (!isUuid(courseId)) throw courseNotFound();
    const id = courseId.toLowerCase();
    const row = await inTransaction(this.db, async (tx) => {
      await this.lockOwnedCourse(user, id, tx, courseNotFound);
      return this.curriculum.insertSection({ id: newId(), courseId: id, title }, tx);
    });
    await this.cache?.invalidate(CacheScopes.afterCurriculumWrite(id, false));
    return toSectionDto(row);
  }

  /** Renames a section; `If-Match` is compared with the section's ETag (its last write answer). */
  async updateSection(principal: Principal | undefined, sectionId: string, input: SectionPatchInput, options: ConditionalOptions = {}): Promise<SectionDto> {
    const user = requireUser(principal);
    const body = validateInput(SectionPatchBody, input);
    const title = body.title === undefined ? undefined : requireText(body.title, '/title');
    const found = isUuid(sectionId) ? await this.curriculum.findSection(sectionId.toLowerCase()) : null;
    if (!found) throw sectionNotFound();
    let changed = false;
    const row = await inTransaction(this.db, async (tx) => {
      await this.lockOwnedCourse(user, found.course_id, tx, sectionNotFound);
      const section = await this.curriculum.findSectionForUpdate(found.id, tx);
      if (!section) throw sectionNotFound();
      checkIfMatch(options.ifMatch, etagOf(toSectionDto(section)));
      if (title === undefined || title === section.title) return section;
      changed = true;
      return (await this.curriculum.updateSectionTitle(section.id, title, tx))!;
    });
    if (changed) await this.cache?.invalidate(CacheScopes.afterCurriculumWrite(found.course_id, false));
    return toSectionDto(row);
  }

  /**
   * Deletes an empty section (the later ones move up). A section with lessons is refused (409
   * `section_not_empty`): deleting lessons takes learners' progress with it, so it is done lesson by
   * lesson, each under its own rules (the last lesson of a published course stays).
   */
  async deleteSection(principal: Principal | undefined, sectionId: string, options: ConditionalOptions = {}): Promise<void> {
    const user = requireUser(principal);
    const found = isUuid(sectionId) ? await this.curriculum.findSection(sectionId.toLowerCase()) : null;
    if (!found) throw sectionNotFound();
    await inTransaction(this.db, async (tx) => {
      await this.lockOwnedCourse(user, found.course_id, tx, sectionNotFound);
      const section = await this.curriculum.findSectionForUpdate(found.id, tx);
      if (!section) throw sectionNotFound();
      checkIfMatch(options.ifMatch, etagOf(toSectionDto(section)));
      if (section.lesson_count > 0) {
        throw HttpError.conflict('section_not_empty', `The section still has ${section.lesson_count} lesson(s); delete or move them first`);
      }
      await this.curriculum.deleteSection(section, tx);
    });
    await this.cache?.invalidate(CacheScopes.afterCurriculumWrite(found.course_id, false));
  }

  /** A new lesson, last in its section; the course's lesson count and duration move with it. */
  async createLesson(principal: Principal | undefined, sectionId: string, input: LessonCreateInput): Promise<LessonDto> {
    const user = requireUser(principal);
    const body = validateInput(LessonCreateBody, input);
    const title = requireText(body.title, '/title');
    const found = isUuid(sectionId) ? await this.curriculum.findSection(sectionId.toLowerCase()) : null;
    if (!found) throw sectionNotFound();
    const row = await inTransaction(this.db, async (tx) => {
      const course = await this.lockOwnedCourse(user, found.course_id, tx, sectionNotFound);
      const section = await this.curriculum.findSectionForUpdate(found.id, tx);
      if (!section) throw sectionNotFound();
      const lesson = await this.curriculum.insertLesson(section, {
        id: newId(),
        title,
        kind: body.kind,
        durationSeconds: body.durationSeconds,
        preview: body.preview ?? false,
        body: body.body ?? '',
      }, tx);
      await this.curriculum.moveCourseCounters(course.id, 1, body.durationSeconds, tx);
      return lesson;
    });
    await this.cache?.invalidate(CacheScopes.afterCurriculumWrite(found.course_id, true));
    return toLessonDto(row);
  }

  /**
   * The lesson with its body. Its course must be one the caller may see (a draft's lessons are 404 to
   * others). Preview lessons go to anyone; the rest to the owner, admins and active learners; anyone
   * else (anonymous included) gets 403 `enrolment_required`.
   */
  async getLesson(principal: Principal | undefined, lessonId: string): Promise<LessonDto> {
    const lesson = isUuid(lessonId) ? await this.curriculum.findLesson(lessonId.toLowerCase()) : null;
    if (!lesson) throw lessonNotFound();
    const course = await this.courses.findById(lesson.course_id);
    if (!course || !canSeeCourse(principal, course)) throw lessonNotFound();
    if (lesson.preview) return toLessonDto(lesson);
    if (principal && (isAdmin(principal) || principal.sub === course.instructor_id)) return toLessonDto(lesson);
    if (principal && principal.role !== 'service' && (await this.curriculum.isActiveLearner(course.id, principal.sub))) return toLessonDto(lesson);
    throw HttpError.forbidden('enrolment_required', 'Enrol in the course to open this lesson');
  }

  /** Edits a lesson; a new duration moves the course's total by the difference. `If-Match`: the lesson's ETag. */
  async updateLesson(principal: Principal | undefined, lessonId: string, input: LessonPatchInput, options: ConditionalOptions = {}): Promise<LessonDto> {
    const user = requireUser(principal);
    const body = validateInput(LessonPatchBody, input);
    const title = body.title === undefined ? undefined : requireText(body.title, '/title');
    const found = isUuid(lessonId) ? await this.curriculum.findLesson(lessonId.toLowerCase()) : null;
    if (!found) throw lessonNotFound();
    let changed = false;
    let durationChanged = false;
    const row = await inTransaction(this.db, async (tx) => {
      const course = await this.lockOwnedCourse(user, found.course_id, tx, lessonNotFound);
      const lesson = await this.curriculum.findLessonForUpdate(found.id, tx);
      if (!lesson) throw lessonNotFound();
      checkIfMatch(options.ifMatch, etagOf(toLessonDto(lesson)));
      const changes = lessonChanges(lesson, { ...body, title });
      if (Object.keys(changes).length === 0) return lesson;
      changed = true;
      const updated = (await this.curriculum.updateLesson(lesson.id, changes, tx))!;
      if (changes.durationSeconds !== undefined) {
        durationChanged = true;
        await this.curriculum.moveCourseCounters(course.id, 0, changes.durationSeconds - lesson.duration_seconds, tx);
      }
      return updated;
    });
    if (changed) await this.cache?.invalidate(CacheScopes.afterCurriculumWrite(found.course_id, durationChanged));
    return toLessonDto(row);
  }

  /**
   * Deletes a lesson with its completions; every learner who had completed it has one completion fewer
   * (`completed_lessons`), and the course's counters drop. The last lesson of a published course stays
   * (409 `last_lesson`): a published course always has something to take. An active learner for whom it
   * was the last lesson not done has now done them all: they complete the course in this transaction
   * (certificate and mail included), as their own last completion would have done.
   */
  async deleteLesson(principal: Principal | undefined, lessonId: string, options: ConditionalOptions = {}): Promise<void> {
    const user = requireUser(principal);
    const found = isUuid(lessonId) ? await this.curriculum.findLesson(lessonId.toLowerCase()) : null;
    if (!found) throw lessonNotFound();
    await inTransaction(this.db, async (tx) => {
      const course = await this.lockOwnedCourse(user, found.course_id, tx, lessonNotFound);
      const lesson = await this.curriculum.findLessonForUpdate(found.id, tx);
      if (!lesson) throw lessonNotFound();
      checkIfMatch(options.ifMatch, etagOf(toLessonDto(lesson)));
      if (course.status === 'published' && course.lesson_count <= 1) {
        throw HttpError.conflict('last_lesson', 'A published course keeps at least one lesson; archive the course or add another lesson first');
      }
      await this.curriculum.deleteLesson(lesson, tx);
      await this.curriculum.moveCourseCounters(course.id, -1, -lesson.duration_seconds, tx);
      await this.progress.completeFinished(course.id, tx);
    });
    await this.cache?.invalidate(CacheScopes.afterCurriculumWrite(found.course_id, true));
  }

  /**
   * Reorders the whole curriculum in one transaction: `sections` names every current section once, in
   * the new order, each with the lessons it is to hold, in order (lessons may move between sections).
   * Anything else (a missing, unknown, foreign or repeated id) is 400 `curriculum_mismatch` and nothing
   * is written. `If-Match` is compared with the outline's ETag (what GET .../curriculum answered), so a
   * reorder made from a stale outline is 412. Answers the new outline.
   */
  async reorder(principal: Principal | undefined, courseId: string, input: ReorderInput, options: ConditionalOptions = {}): Promise<CurriculumDto> {
    const user = requireUser(principal);
    const body = validateInput(ReorderBody, input);
    if (!isUuid(courseId)) throw courseNotFound();
    const id = courseId.toLowerCase();
    let changed = false;
    const result = await inTransaction(this.db, async (tx) => {
      await this.lockOwnedCourse(user, id, tx, courseNotFound);
      const current = toCurriculumDto(id, await this.curriculum.outline(id, tx));
      checkIfMatch(options.ifMatch, etagOf(current));
      const placements = checkOrder(current, body);
      const sectionIds = body.sections.map((s) => s.id.toLowerCase());
      const before = current.sections.map((s) => `${s.id}:${s.lessons.map((l) => l.id).join(',')}`).join('|');
      const after = body.sections.map((s) => `${s.id.toLowerCase()}:${s.lessonIds.map((l) => l.toLowerCase()).join(',')}`).join('|');
      if (before === after) return current;
      changed = true;
      await this.curriculum.applyOrder(id, sectionIds, placements, tx);
      return toCurriculumDto(id, await this.curriculum.outline(id, tx));
    });
    if (changed) await this.cache?.invalidate(CacheScopes.afterCurriculumWrite(id, false));
    return result;
  }

  /**
   * Locks the course row and checks that the caller may change it, as course PATCH does: a course the
   * caller cannot see (someone else's draft, or none) is `notFound` (404), one they see but do not own
   * 403 `not_course_owner`.
   */
  private async lockOwnedCourse(user: Principal, courseId: string, tx: Queryable, notFound: () => HttpError): Promise<CourseRow> {
    const row = await this.courses.findForUpdate(courseId, tx);
    if (!row || !canSeeCourse(user, row)) throw notFound();
    if (row.instructor_id !== user.sub && !isAdmin(user)) {
      throw HttpError.forbidden('not_course_owner', 'Only the course instructor or an admin can change its curriculum');
    }
    return row;
  }
}

/** The fields of a patch that differ from the lesson. */
function lessonChanges(row: LessonRow, patch: LessonPatchInput): LessonChanges {
  const changes: LessonChanges = {};
  if (patch.title !== undefined && patch.title !== row.title) changes.title = patch.title;
  if (patch.kind !== undefined && patch.kind !== row.kind) changes.kind = patch.kind;
  if (patch.durationSeconds !== undefined && patch.durationSeconds !== row.duration_seconds) changes.durationSeconds = patch.durationSeconds;
  if (patch.preview !== undefined && patch.preview !== row.preview) changes.preview = patch.preview;
  if (patch.body !== undefined && patch.body !== row.body) changes.body = patch.body;
  return changes;
}

/**
 * Checks that a reorder names exactly the current sections and lessons, each once, and returns where
 * each lesson goes. Every problem is listed (at most 20) with the path of the id it concerns.
 */
export function checkOrder(current: CurriculumDto, body: ReorderInput): LessonPlacement[] {
  const errors: FieldError[] = [];
  const sectionIds = new Set(current.sections.map((s) => s.id));
  const lessonIds = new Set(current.sections.flatMap((s) => s.lessons.map((l) => l.id)));
  const seenSections = new Set<string>();
  const seenLessons = new Set<string>();
  const placements: LessonPlacement[] = [];
  body.sections.forEach((section, i) => {
    const sid = section.id.toLowerCase();
    if (!sectionIds.has(sid)) errors.push({ path: `/sections/${i}/id`, message: 'is not a section of this course' });
    else if (seenSections.has(sid)) errors.push({ path: `/sections/${i}/id`, message: 'is named twice' });
    seenSections.add(sid);
    section.lessonIds.forEach((raw, j) => {
      const lid = raw.toLowerCase();
      if (!lessonIds.has(lid)) errors.push({ path: `/sections/${i}/lessonIds/${j}`, message: 'is not a lesson of this course' });
      else if (seenLessons.has(lid)) errors.push({ path: `/sections/${i}/lessonIds/${j}`, message: 'is named twice' });
      seenLessons.add(lid);
      placements.push({ lessonId: lid, sectionId: sid, position: j });
    });
  });
  for (const s of current.sections) if (!seenSections.has(s.id)) errors.push({ path: '/sections', message: `misses section ${s.id}` });
  for (const s of current.sections) {
    for (const l of s.lessons) if (!seenLessons.has(l.id)) errors.push({ path: '/sections', message: `misses lesson ${l.id}` });
  }
  if (errors.length > 0) throw mismatch(errors);
  return placements;
}
