/**
 * Course DTOs and write bodies. The TypeBox schemas are the single source for validation, the TS types
 * and the OpenAPI document. DTO builders emit keys in schema order: the HTTP layer serialises with the
 * schema, and `etagOf(dto)` hashes `JSON.stringify(dto)`, so the two must produce the same text.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Page, StringEnum, Timestamp, Uuid } from '../../shared/utils/http_schemas.js';
import { isoTime } from './common.js';

export const COURSE_LEVELS = ['beginner', 'intermediate', 'advanced'] as const;
export type CourseLevel = (typeof COURSE_LEVELS)[number];
export const COURSE_STATUSES = ['draft', 'published', 'archived'] as const;
export type CourseStatus = (typeof COURSE_STATUSES)[number];
export const COURSE_SORTS = ['relevance', 'newest', 'rating', 'popular', 'title'] as const;
export type CourseSort = (typeof COURSE_SORTS)[number];

export const SLUG_PATTERN = '^[a-z0-9]+(?:-[a-z0-9]+)*$';
export const LANGUAGE_PATTERN = '^[a-z]{2}$';

const Level = StringEnum(COURSE_LEVELS);
const Status = StringEnum(COURSE_STATUSES);

export const RatingSummarySchema = Type.Object({
  average: Type.Number({ minimum: 0, maximum: 5, description: 'Mean of visible ratings, 2 decimals; 0 when none' }),
  count: Type.Integer({ minimum: 0 }),
  distribution: Type.Object({
    '1': Type.Integer({ minimum: 0 }),
    '2': Type.Integer({ minimum: 0 }),
    '3': Type.Integer({ minimum: 0 }),
    '4': Type.Integer({ minimum: 0 }),
    '5': Type.Integer({ minimum: 0 }),
  }),
});
export type RatingSummary = Static<typeof RatingSummarySchema>;

export const CourseSchema = Type.Object({
  id: Uuid,
  slug: Type.String(),
  title: Type.String(),
  summary: Type.String(),
  description: Type.String(),
  category: Type.String(),
  tags: Type.Array(Type.String()),
  level: Level,
  language: Type.String(),
  durationMinutes: Type.Integer(),
  instructorId: Uuid,
  instructorName: Type.String(),
  status: Status,
  publishedAt: Type.Union([Timestamp, Type.Null()]),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  rating: RatingSummarySchema,
  lessonCount: Type.Integer({ minimum: 0, description: 'Lessons in the curriculum' }),
  totalDurationSeconds: Type.Integer({ minimum: 0, description: 'Sum of the lessons\' durations' }),
  enrolmentCount: Type.Integer({ minimum: 0, description: 'Active learners (what sort=popular orders by)' }),
});
export type CourseDto = Static<typeof CourseSchema>;

export const CoursePageSchema = Page(CourseSchema);
export type CoursePage = Static<typeof CoursePageSchema>;

const courseWriteFields = {
  title: Type.String({ minLength: 1, maxLength: 200 }),
  summary: Type.String({ maxLength: 500 }),
  description: Type.String({ maxLength: 20000 }),
  category: Type.String({ minLength: 1, maxLength: 60 }),
  tags: Type.Array(Type.String({ minLength: 1, maxLength: 40 }), { maxItems: 20 }),
  level: Level,
  language: Type.String({ pattern: LANGUAGE_PATTERN, description: 'ISO 639-1 code, e.g. en, ru' }),
  durationMinutes: Type.Integer({ minimum: 1, maximum: 100000 }),
  slug: Type.String({
    minLength: 1,
    maxLength: 120,
    pattern: SLUG_PATTERN,
    description: 'Generated from the title when absent (made unique with a numeric suffix)',
  }),
  status: Status,
};

export const CourseCreateBody = Type.Object(
  {
    title: courseWriteFields.title,
    summary: courseWriteFields.summary,
    description: courseWriteFields.description,
    category: courseWriteFields.category,
    tags: courseWriteFields.tags,
    level: courseWriteFields.level,
    language: courseWriteFields.language,
    durationMinutes: courseWriteFields.durationMinutes,
    slug: Type.Optional(courseWriteFields.slug),
    status: Type.Optional(courseWriteFields.status),
  },
  { additionalProperties: false },
);
export type CourseCreateInput = Static<typeof CourseCreateBody>;

/** PATCH: the same fields, all optional. `{status: "published"}` publishes. */
export const CoursePatchBody = Type.Partial(CourseCreateBody, { additionalProperties: false });
export type CoursePatchInput = Static<typeof CoursePatchBody>;

export const CourseListQuery = Type.Object(
  {
    q: Type.Optional(Type.String({ maxLength: 200, description: 'Full-text search (web search syntax: "phrase", -not, or)' })),
    category: Type.Optional(Type.String({ minLength: 1, maxLength: 60 })),
    level: Type.Optional(Level),
    language: Type.Optional(Type.String({ pattern: LANGUAGE_PATTERN })),
    tag: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })),
    instructorId: Type.Optional(Uuid),
    minRating: Type.Optional(Type.Number({ minimum: 0, maximum: 5 })),
    sort: Type.Optional(
      StringEnum(COURSE_SORTS, {
        description: 'Default: relevance when q is given, else newest. relevance without q means newest. popular: most active learners first',
      }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    // Longer than the shared 512: a title-sort cursor carries a title of up to 200 characters.
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, description: 'Opaque cursor from a previous page' })),
  },
  { additionalProperties: false },
);
export type CourseListInput = Static<typeof CourseListQuery>;

/** An instructor's own courses: every status unless `status` picks one; newest first. */
export const InstructorCourseListQuery = Type.Object(
  {
    status: Type.Optional(StringEnum(COURSE_STATUSES, { description: 'Only courses in this status; all of them when absent' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'Opaque cursor from a previous page' })),
  },
  { additionalProperties: false },
);
export type InstructorCourseListInput = Static<typeof InstructorCourseListQuery>;

export const CourseIdOrSlugParams = Type.Object({
  idOrSlug: Type.String({ minLength: 1, maxLength: 120, description: 'Course id (UUID) or slug' }),
});

/**
 * DESIGN names the GET parameter `{idOrSlug}` and the PATCH/DELETE one `{id}`; OpenAPI forbids two
 * templates that differ only in a parameter name (they are one path), so the course routes and the
 * course's reviews routes all use `{id}`, and their GETs accept a slug as well. Clients call the same
 * URLs either way.
 */
export const CourseIdOrSlugPathParams = Type.Object({ id: CourseIdOrSlugParams.properties.idOrSlug });

/** A row of `courses` as the drivers return it (numeric may come back as text). */
export interface CourseRow {
  id: string;
  slug: string;
  title: string;
  summary: string;
  description: string;
  category: string;
  tags: string[];
  level: CourseLevel;
  language: string;
  duration_minutes: number;
  instructor_id: string;
  instructor_name: string;
  status: CourseStatus;
  published_at: Date | string | null;
  rating_count: number;
  rating_sum: number;
  rating_1: number;
  rating_2: number;
  rating_3: number;
  rating_4: number;
  rating_5: number;
  rating_avg: string | number;
  enrolment_count: number;
  version: number;
  created_at: Date | string;
  updated_at: Date | string;
  lesson_count: number;
  total_duration_seconds: number;
}

/**
 * The one map of a course's API field names to its columns, for the fields that are plain copies of a
 * column, in CourseSchema order. The DTO builder, the repository's INSERT and UPDATE and the service's
 * change detection all read it, so a new plain field is added here once (and to CourseRow/CourseSchema,
 * which the compiler then holds to it).
 */
export const COURSE_FIELD_COLUMNS = {
  id: 'id',
  slug: 'slug',
  title: 'title',
  summary: 'summary',
  description: 'description',
  category: 'category',
  tags: 'tags',
  level: 'level',
  language: 'language',
  durationMinutes: 'duration_minutes',
  instructorId: 'instructor_id',
  instructorName: 'instructor_name',
  status: 'status',
} as const satisfies { [F in keyof CourseDto]?: keyof CourseRow };

export type CourseField = keyof typeof COURSE_FIELD_COLUMNS;
/** The plain fields of a course by API name, with the row's types. */
export type CourseFields = { [F in CourseField]: CourseRow[(typeof COURSE_FIELD_COLUMNS)[F]] };

/** The plain fields of a row, in CourseSchema order. */
export function courseFields(row: CourseRow): CourseFields {
  const fields: Record<string, unknown> = {};
  for (const [field, column] of Object.entries(COURSE_FIELD_COLUMNS)) fields[field] = row[column];
  return fields as CourseFields;
}

export function toCourseDto(row: CourseRow): CourseDto {
  // Keys in CourseSchema order (see the file comment): the plain fields first, as the map lists them.
  return {
    ...courseFields(row),
    publishedAt: row.published_at === null ? null : isoTime(row.published_at),
    createdAt: isoTime(row.created_at),
    updatedAt: isoTime(row.updated_at),
    rating: {
      average: Number(row.rating_avg),
      count: row.rating_count,
      distribution: { '1': row.rating_1, '2': row.rating_2, '3': row.rating_3, '4': row.rating_4, '5': row.rating_5 },
    },
    lessonCount: row.lesson_count,
    totalDurationSeconds: row.total_duration_seconds,
    enrolmentCount: Number(row.enrolment_count),
  };
}
