/**
 * Curriculum DTOs and write bodies: a course's ordered sections, each with ordered lessons. The outline
 * (titles, kinds, durations, preview flags, positions) is public for published courses; a lesson's
 * `body` only comes with `GET /api/v1/lessons/{id}`. DTO builders emit keys in schema order, so the
 * serialised answer is `JSON.stringify(dto)` and `etagOf(dto)` is its ETag (what `If-Match` compares).
 */
import { Type, type Static } from '@sinclair/typebox';
import { StringEnum, Timestamp, Uuid } from '../../shared/utils/http_schemas.js';
import { isoTime } from './common.js';

export const LESSON_KINDS = ['video', 'article', 'quiz'] as const;
export type LessonKind = (typeof LESSON_KINDS)[number];

/** Longest lesson body, in characters (the request is bounded by `http.bodyLimit` first). */
export const LESSON_BODY_MAX = 100_000;
/** Longest lesson: a day. Keeps a course's total far from the integer limit. */
export const LESSON_DURATION_MAX = 86_400;
/** A reorder names at most this many sections, and this many lessons per section. */
export const REORDER_MAX_SECTIONS = 500;
export const REORDER_MAX_LESSONS = 2000;

const Kind = StringEnum(LESSON_KINDS);
const Title = Type.String({ minLength: 1, maxLength: 200 });
const Duration = Type.Integer({ minimum: 0, maximum: LESSON_DURATION_MAX, description: 'Length in seconds (0..86400)' });

export const OutlineLessonSchema = Type.Object({
  id: Uuid,
  title: Type.String(),
  kind: Kind,
  durationSeconds: Type.Integer({ minimum: 0 }),
  preview: Type.Boolean({ description: 'Anyone may read this lesson, enrolled or not' }),
  position: Type.Integer({ minimum: 0 }),
});
export type OutlineLessonDto = Static<typeof OutlineLessonSchema>;

export const OutlineSectionSchema = Type.Object({
  id: Uuid,
  title: Type.String(),
  position: Type.Integer({ minimum: 0 }),
  lessons: Type.Array(OutlineLessonSchema),
});
export type OutlineSectionDto = Static<typeof OutlineSectionSchema>;

export const CurriculumSchema = Type.Object({
  courseId: Uuid,
  sections: Type.Array(OutlineSectionSchema),
  lessonCount: Type.Integer({ minimum: 0 }),
  totalDurationSeconds: Type.Integer({ minimum: 0 }),
});
export type CurriculumDto = Static<typeof CurriculumSchema>;

export const SectionSchema = Type.Object({
  id: Uuid,
  courseId: Uuid,
  title: Type.String(),
  position: Type.Integer({ minimum: 0 }),
  lessonCount: Type.Integer({ minimum: 0 }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type SectionDto = Static<typeof SectionSchema>;

export const LessonSchema = Type.Object({
  id: Uuid,
  courseId: Uuid,
  sectionId: Uuid,
  title: Type.String(),
  kind: Kind,
  durationSeconds: Type.Integer({ minimum: 0 }),
  preview: Type.Boolean(),
  position: Type.Integer({ minimum: 0 }),
  body: Type.String(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type LessonDto = Static<typeof LessonSchema>;

export const SectionCreateBody = Type.Object({ title: Title }, { additionalProperties: false });
export type SectionCreateInput = Static<typeof SectionCreateBody>;

export const SectionPatchBody = Type.Object({ title: Type.Optional(Title) }, { additionalProperties: false });
export type SectionPatchInput = Static<typeof SectionPatchBody>;

export const LessonCreateBody = Type.Object(
  {
    title: Title,
    kind: Kind,
    durationSeconds: Duration,
    preview: Type.Optional(Type.Boolean({ description: 'Anyone may read it, enrolled or not; false when absent' })),
    body: Type.Optional(Type.String({ maxLength: LESSON_BODY_MAX, description: 'The lesson text (Markdown, a video URL, ...); up to 100,000 characters' })),
  },
  { additionalProperties: false },
);
export type LessonCreateInput = Static<typeof LessonCreateBody>;

/** The same fields, all optional. A lesson moves to another section with the reorder, not here. */
export const LessonPatchBody = Type.Partial(LessonCreateBody, { additionalProperties: false });
export type LessonPatchInput = Static<typeof LessonPatchBody>;

export const ReorderBody = Type.Object(
  {
    sections: Type.Array(
      Type.Object(
        { id: Uuid, lessonIds: Type.Array(Uuid, { maxItems: REORDER_MAX_LESSONS }) },
        { additionalProperties: false },
      ),
      { maxItems: REORDER_MAX_SECTIONS, description: 'Every current section once, in the new order, each with every lesson it is to hold' },
    ),
  },
  { additionalProperties: false },
);
export type ReorderInput = Static<typeof ReorderBody>;

/** A row of `course_sections`. */
export interface SectionRow {
  id: string;
  course_id: string;
  title: string;
  position: number;
  lesson_count: number;
  created_at: Date | string;
  updated_at: Date | string;
}

/** A row of `lessons` without its body (outline reads). */
export interface LessonOutlineRow {
  id: string;
  course_id: string;
  section_id: string;
  title: string;
  kind: LessonKind;
  duration_seconds: number;
  preview: boolean;
  position: number;
}

/** A row of `lessons`, body included. */
export interface LessonRow extends LessonOutlineRow {
  body: string;
  created_at: Date | string;
  updated_at: Date | string;
}

/** One row of the outline query: a section and one of its lessons (lesson fields null for an empty section). */
export interface OutlineRow {
  section_id: string;
  section_title: string;
  section_position: number;
  lesson_id: string | null;
  lesson_title: string | null;
  kind: LessonKind | null;
  duration_seconds: number | null;
  preview: boolean | null;
  lesson_position: number | null;
}

export function toSectionDto(row: SectionRow): SectionDto {
  return {
    id: row.id,
    courseId: row.course_id,
    title: row.title,
    position: row.position,
    lessonCount: row.lesson_count,
    createdAt: isoTime(row.created_at),
    updatedAt: isoTime(row.updated_at),
  };
}

export function toLessonDto(row: LessonRow): LessonDto {
  return {
    id: row.id,
    courseId: row.course_id,
    sectionId: row.section_id,
    title: row.title,
    kind: row.kind,
    durationSeconds: row.duration_seconds,
    preview: row.preview,
    position: row.position,
    body: row.body,
    createdAt: isoTime(row.created_at),
    updatedAt: isoTime(row.updated_at),
  };
}

/**
 * The outline from rows ordered by section position then lesson position. The totals are summed from
 * the same rows (one snapshot), so the answer agrees with itself; they equal the course's counters.
 */
export function toCurriculumDto(courseId: string, rows: readonly OutlineRow[]): CurriculumDto {
  const sections: OutlineSectionDto[] = [];
  let lessonCount = 0;
  let totalDurationSeconds = 0;
  let current: OutlineSectionDto | undefined;
  for (const row of rows) {
    if (current === undefined || current.id !== row.section_id) {
      current = { id: row.section_id, title: row.section_title, position: row.section_position, lessons: [] };
      sections.push(current);
    }
    if (row.lesson_id === null) continue;
    current.lessons.push({
      id: row.lesson_id,
      title: row.lesson_title!,
      kind: row.kind!,
      durationSeconds: row.duration_seconds!,
      preview: row.preview!,
      position: row.lesson_position!,
    });
    lessonCount++;
    totalDurationSeconds += row.duration_seconds!;
  }
  return { courseId, sections, lessonCount, totalDurationSeconds };
}
