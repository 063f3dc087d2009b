/**
 * SQL for enrolments, the course's learner counters and the daily stats (repository style of
 * docs/ARCHITECTURE.md, "Data layer": executor last, null for not found, every value a parameter).
 * Lock order of every learning write: enrolment row, then lesson row, then course row, then the day's
 * stats row, then the outbox (docs/ARCHITECTURE.md, "Learning: enrolment and progress").
 */
import { pgConstraint, type Queryable } from '../../shared/utils/database.js';
import { SqlParams } from '../../shared/utils/sql.js';
import type { EnrolmentRow, EnrolmentWithCount, LearningFilter, LearningRow } from '../models/enrolment.js';

const COLUMNS = `e.id, e.course_id, e.user_id, e.learner_name, e.status, e.completed_lessons, e.last_lesson_id,
  e.enrolled_at, e.left_at, e.completed_at, e.last_activity_at`;
const RETURNING = COLUMNS.replace(/e\./g, '');

export interface NewEnrolment {
  id: string;
  courseId: string;
  userId: string;
  learnerName: string;
}

/** What an enrol did: a new row, a left row made active again, or nothing (already active). */
export type EnrolChange = 'inserted' | 'reactivated' | 'none';

/**
 * The outcome of `enrolCounted`: a change (with the row), or why there is none: the caller's own course,
 * or a course that is missing or not published (with the caller's row when they are an active learner
 * of it, which an archived course keeps).
 */
export type EnrolOutcome =
  | { change: EnrolChange; row: EnrolmentWithCount }
  | { change: 'own_course' }
  | { change: 'not_published'; activeRow: EnrolmentWithCount | null };

/** Raised by learning_enrol() (migration 0014) when the course stopped being published before its counters moved. */
const ENROLMENT_COURSE_PUBLISHED = 'enrolment_course_published';

/**
 * One round trip: learning_enrol() (migration 0014) checks the course, writes the enrolment row, moves the
 * course's counters under its row lock, today's stats and the `enrolment_created` event, and answers the
 * row with the course's lesson count. Named: each pooled connection prepares it once.
 */
const ENROL_COUNTED = {
  name: 'learning_enrol',
  text: `SELECT change, ${RETURNING}, lesson_count FROM learning_enrol($1::uuid, $2::uuid, $3::uuid, $4::text, $5::uuid)`,
};

export interface DailyDelta {
  enrolled?: number;
  left?: number;
  completed?: number;
}

export class EnrolmentRepository {
  constructor(private readonly db: Queryable) {}

  /** True when `userId` has an active enrolment in `courseId` (enrolments_course_user_key). */
  async isActiveLearner(courseId: string, userId: string, q: Queryable = this.db): Promise<boolean> {
    const { rows } = await q.query(`SELECT 1 FROM enrolments WHERE course_id = $1 AND user_id = $2 AND status = 'active'`, [courseId, userId]);
    return rows.length > 0;
  }

  /** See ENROL_COUNTED; `eventId` names the `enrolment_created` event it queues. */
  async enrolCounted(e: NewEnrolment, eventId: string, q: Queryable = this.db): Promise<EnrolOutcome> {
    let rows: (EnrolmentWithCount & { change: EnrolChange | 'own_course' | 'not_published' })[];
    try {
      ({ rows } = await q.query(ENROL_COUNTED.text, [e.id, e.courseId, e.userId, e.learnerName, eventId], { name: ENROL_COUNTED.name }));
    } catch (err) {
      if (pgConstraint(err) === ENROLMENT_COURSE_PUBLISHED) return { change: 'not_published', activeRow: null };
      throw err;
    }
    const row = rows[0];
    if (!row) return { change: 'not_published', activeRow: null }; // the course was deleted meanwhile
    const { change, ...enrolment } = row;
    if (change === 'own_course') return { change };
    if (change === 'not_published') return { change, activeRow: enrolment.id ? enrolment : null };
    if (!enrolment.id) return { change: 'not_published', activeRow: null };
    return { change, row: enrolment };
  }

  /** Sets an active enrolment to `left` (progress kept); null when there was no active one. */
  async leave(courseId: string, userId: string, tx: Queryable): Promise<EnrolmentRow | null> {
    const { rows } = await tx.query<EnrolmentRow>(
      `UPDATE enrolments SET status = 'left', left_at = now()
        WHERE course_id = $1 AND user_id = $2 AND status = 'active'
       RETURNING ${RETURNING}`,
      [courseId, userId],
    );
    return rows[0] ?? null;
  }

  /** The learner's enrolment with the course's current lesson count. */
  async find(courseId: string, userId: string, q: Queryable = this.db): Promise<EnrolmentWithCount | null> {
    const { rows } = await q.query<EnrolmentWithCount>(
      `SELECT ${COLUMNS}, c.lesson_count FROM enrolments e JOIN courses c ON c.id = e.course_id WHERE e.course_id = $1 AND e.user_id = $2`,
      [courseId, userId],
    );
    return rows[0] ?? null;
  }

  /**
   * Moves the course's learner counters by a delta (O(1); the course row lock orders concurrent writers).
   * Leaving and completions only: a new or renewed enrolment moves them inside learning_enrol().
   */
  async moveCourseCounters(courseId: string, delta: { active: number; total: number; completed: number }, tx: Queryable): Promise<void> {
    await tx.query(
      `UPDATE courses
          SET enrolment_count = enrolment_count + $2::int, learner_total = learner_total + $3::int,
              completion_count = completion_count + $4::int
        WHERE id = $1`,
      [courseId, delta.active, delta.total, delta.completed],
    );
  }

  /** Adds to today's (UTC) stats row of the course, creating it: one upsert, exact under concurrency. */
  async addDailyStats(courseId: string, delta: DailyDelta, tx: Queryable): Promise<void> {
    await tx.query(
      `INSERT INTO course_daily_stats (course_id, day, enrolled, left_count, completed)
       VALUES ($1, (now() AT TIME ZONE 'UTC')::date, $2::int, $3::int, $4::int)
       ON CONFLICT (course_id, day) DO UPDATE
          SET enrolled = course_daily_stats.enrolled + EXCLUDED.enrolled,
              left_count = course_daily_stats.left_count + EXCLUDED.left_count,
              completed = course_daily_stats.completed + EXCLUDED.completed`,
      [courseId, delta.enrolled ?? 0, delta.left ?? 0, delta.completed ?? 0],
    );
  }

  /**
   * One keyset page of a learner's enrolments, newest activity first: a range of
   * enrolments_user_activity_idx (user_id, last_activity_at DESC, id DESC), each row joined to its
   * course by primary key. `after` is [last_activity_at, id] of the previous page's last row.
   */
  async listByUser(
    userId: string,
    filter: LearningFilter | undefined,
    after: readonly (string | number)[] | undefined,
    limit: number,
    q: Queryable = this.db,
  ): Promise<LearningRow[]> {
    const sql = new SqlParams(userId);
    const p = sql.adder;
    const where = ['e.user_id = $1::uuid'];
    if (filter === 'active') where.push(`e.status = 'active' AND e.completed_at IS NULL`);
    if (filter === 'completed') where.push('e.completed_at IS NOT NULL');
    if (filter === 'left') where.push(`e.status = 'left'`);
    if (after) where.push(`(e.last_activity_at, e.id) < (${p(after[0])}::timestamptz, ${p(after[1])}::uuid)`);
    const { rows } = await q.query<LearningRow>(
      `SELECT ${COLUMNS}, c.lesson_count, c.slug AS course_slug, c.title AS course_title, c.instructor_name
         FROM enrolments e JOIN courses c ON c.id = e.course_id
        WHERE ${where.join(' AND ')}
        ORDER BY e.last_activity_at DESC, e.id DESC
        LIMIT ${p(limit)}`,
      sql.values,
    );
    return rows;
  }

  /** One keyset page of a course's learners, newest enrolment first (enrolments_course_roster_idx). */
  async listByCourse(courseId: string, after: readonly (string | number)[] | undefined, limit: number, q: Queryable = this.db): Promise<EnrolmentWithCount[]> {
    const sql = new SqlParams(courseId);
    const p = sql.adder;
    const where = ['e.course_id = $1::uuid'];
    if (after) where.push(`(e.enrolled_at, e.id) < (${p(after[0])}::timestamptz, ${p(after[1])}::uuid)`);
    const { rows } = await q.query<EnrolmentWithCount>(
      `SELECT ${COLUMNS}, c.lesson_count
         FROM enrolments e JOIN courses c ON c.id = e.course_id
        WHERE ${where.join(' AND ')}
        ORDER BY e.enrolled_at DESC, e.id DESC
        LIMIT ${p(limit)}`,
      sql.values,
    );
    return rows;
  }
}
