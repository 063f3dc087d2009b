/**
 * Enrolments: the enrol/leave answer, "my learning" cards, the course's roster and the instructor's
 * stats. DTO builders emit keys in schema order (the serialiser and `etagOf` must agree, see course.ts).
 */
import { Type, type Static } from '@sinclair/typebox';
import { Page, PageQuery, StringEnum, Timestamp, Uuid } from '../../shared/utils/http_schemas.js';
import { isoTime } from './common.js';
import { percentOf } from './progress.js';

export const ENROLMENT_STATUSES = ['active', 'left'] as const;
export type EnrolmentStatus = (typeof ENROLMENT_STATUSES)[number];
/** The "my learning" filter: `active` = enrolled and not complete, `completed` = every lesson done once (enrolled or left), `left`. */
export const LEARNING_FILTERS = ['active', 'completed', 'left'] as const;
export type LearningFilter = (typeof LEARNING_FILTERS)[number];

const NullableTime = Type.Union([Timestamp, Type.Null()]);
const NullableUuid = Type.Union([Uuid, Type.Null()]);

const progressFields = {
  completedLessons: Type.Integer({ minimum: 0, description: 'Lessons of the course this learner has completed (never above lessonCount)' }),
  lessonCount: Type.Integer({ minimum: 0 }),
  percent: Type.Integer({ minimum: 0, maximum: 100, description: 'floor(100 * completedLessons / lessonCount); 0 without lessons' }),
};

/** The answer of PUT /courses/{id}/enrolment: the caller's enrolment in the course. */
export const EnrolmentSchema = Type.Object({
  courseId: Uuid,
  status: StringEnum(ENROLMENT_STATUSES),
  enrolledAt: Timestamp,
  leftAt: NullableTime,
  completedAt: Type.Union([Timestamp, Type.Null()], { description: 'When every lesson was first complete; kept when lessons are added later' }),
  lastActivityAt: Timestamp,
  lastLessonId: NullableUuid,
  ...progressFields,
});
export type EnrolmentDto = Static<typeof EnrolmentSchema>;

/** One card of "my learning". */
export const LearningCardSchema = Type.Object({
  courseId: Uuid,
  courseSlug: Type.String(),
  courseTitle: Type.String(),
  instructorName: Type.String(),
  status: StringEnum(ENROLMENT_STATUSES),
  ...progressFields,
  lastLessonId: NullableUuid,
  completedAt: NullableTime,
  enrolledAt: Timestamp,
  lastActivityAt: Timestamp,
});
export type LearningCardDto = Static<typeof LearningCardSchema>;
export const LearningPageSchema = Page(LearningCardSchema);
export type LearningPage = Static<typeof LearningPageSchema>;

export const LearningListQuery = Type.Object(
  {
    status: Type.Optional(StringEnum(LEARNING_FILTERS, { description: 'active: enrolled, not complete; completed: complete (enrolled or left); left. All when absent' })),
    ...PageQuery,
  },
  { additionalProperties: false },
);
export type LearningListInput = Static<typeof LearningListQuery>;

/** One learner of the roster (no e-mail: course-service does not hold it). */
export const RosterEntrySchema = Type.Object({
  userId: Uuid,
  learnerName: Type.String(),
  status: StringEnum(ENROLMENT_STATUSES),
  enrolledAt: Timestamp,
  leftAt: NullableTime,
  completedAt: NullableTime,
  lastActivityAt: Timestamp,
  ...progressFields,
});
export type RosterEntryDto = Static<typeof RosterEntrySchema>;
export const RosterPageSchema = Page(RosterEntrySchema);
export type RosterPage = Static<typeof RosterPageSchema>;

export const RosterListQuery = Type.Object({ ...PageQuery }, { additionalProperties: false });
export type RosterListInput = Static<typeof RosterListQuery>;

/** A row of `enrolments` (with the course's lesson count where a query joins it). */
export interface EnrolmentRow {
  id: string;
  course_id: string;
  user_id: string;
  learner_name: string;
  status: EnrolmentStatus;
  completed_lessons: number;
  last_lesson_id: string | null;
  enrolled_at: Date | string;
  left_at: Date | string | null;
  completed_at: Date | string | null;
  last_activity_at: Date | string;
}

export type EnrolmentWithCount = EnrolmentRow & { lesson_count: number };
export type LearningRow = EnrolmentWithCount & { course_slug: string; course_title: string; instructor_name: string };

const timeOrNull = (v: Date | string | null): string | null => (v === null ? null : isoTime(v));

function progressOf(row: EnrolmentWithCount): { completedLessons: number; lessonCount: number; percent: number } {
  const lessonCount = Number(row.lesson_count);
  const completed = Math.min(Number(row.completed_lessons), lessonCount);
  return { completedLessons: completed, lessonCount, percent: percentOf(completed, lessonCount) };
}

export function toEnrolmentDto(row: EnrolmentWithCount): EnrolmentDto {
  return {
    courseId: row.course_id,
    status: row.status,
    enrolledAt: isoTime(row.enrolled_at),
    leftAt: timeOrNull(row.left_at),
    completedAt: timeOrNull(row.completed_at),
    lastActivityAt: isoTime(row.last_activity_at),
    lastLessonId: row.last_lesson_id,
    ...progressOf(row),
  };
}

export function toLearningCardDto(row: LearningRow): LearningCardDto {
  return {
    courseId: row.course_id,
    courseSlug: row.course_slug,
    courseTitle: row.course_title,
    instructorName: row.instructor_name,
    status: row.status,
    ...progressOf(row),
    lastLessonId: row.last_lesson_id,
    completedAt: timeOrNull(row.completed_at),
    enrolledAt: isoTime(row.enrolled_at),
    lastActivityAt: isoTime(row.last_activity_at),
  };
}

export function toRosterEntryDto(row: EnrolmentWithCount): RosterEntryDto {
  return {
    userId: row.user_id,
    learnerName: row.learner_name,
    status: row.status,
    enrolledAt: isoTime(row.enrolled_at),
    leftAt: timeOrNull(row.left_at),
    completedAt: timeOrNull(row.completed_at),
    lastActivityAt: isoTime(row.last_activity_at),
    ...progressOf(row),
  };
}

// ---- instructor stats ----

const DAY_PATTERN = '^\\d{4}-\\d{2}-\\d{2}$';
export const MAX_STATS_DAYS = 366;
export const DEFAULT_STATS_DAYS = 30;

export const StatsQuery = Type.Object(
  {
    from: Type.Optional(Type.String({ pattern: DAY_PATTERN, format: 'date', description: 'First UTC day (YYYY-MM-DD); default: 29 days before `to`' })),
    to: Type.Optional(Type.String({ pattern: DAY_PATTERN, format: 'date', description: `Last UTC day (YYYY-MM-DD); default: today. At most ${MAX_STATS_DAYS} days in all` })),
  },
  { additionalProperties: false },
);
export type StatsInput = Static<typeof StatsQuery>;

export const CourseStatsSchema = Type.Object({
  courseId: Uuid,
  from: Type.String({ format: 'date' }),
  to: Type.String({ format: 'date' }),
  days: Type.Array(
    Type.Object({ day: Type.String({ format: 'date' }), enrolled: Type.Integer({ minimum: 0 }), left: Type.Integer({ minimum: 0 }), completed: Type.Integer({ minimum: 0 }) }),
    { description: 'Every day of [from, to], oldest first; `enrolled` counts first enrolments and re-enrolments' },
  ),
  activeLearners: Type.Integer({ minimum: 0 }),
  totalLearners: Type.Integer({ minimum: 0, description: 'Everyone who ever enrolled' }),
  completions: Type.Integer({ minimum: 0, description: 'Learners who completed the course' }),
  completionRate: Type.Number({ minimum: 0, maximum: 1, description: 'completions / totalLearners (0 without learners), 4 decimals' }),
  lessons: Type.Array(
    Type.Object({ lessonId: Uuid, title: Type.String(), completions: Type.Integer({ minimum: 0 }) }),
    { description: 'Completions per lesson, in curriculum order' },
  ),
  rating: Type.Object({
    count: Type.Integer({ minimum: 0 }),
    average: Type.Number({ minimum: 0, maximum: 5 }),
    distribution: Type.Object({
      '1': Type.Integer({ minimum: 0 }),
      '2': Type.Integer({ minimum: 0 }),
      '3': Type.Integer({ minimum: 0 }),
      '4': Type.Integer({ minimum: 0 }),
      '5': Type.Integer({ minimum: 0 }),
    }),
  }),
});
export type CourseStatsDto = Static<typeof CourseStatsSchema>;
