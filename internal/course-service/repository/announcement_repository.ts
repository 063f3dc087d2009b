/** SQL for course announcements and their fan-out. Style: docs/ARCHITECTURE.md, "Data layer". */
import type { Queryable } from '../../shared/utils/database.js';
import type { AnnouncementRow } from '../models/announcement.js';

export class AnnouncementRepository {
  constructor(private readonly db: Queryable) {}

  async create(
    a: { id: string; courseId: string; authorId: string; authorName: string; subject: string; body: string },
    q: Queryable = this.db,
  ): Promise<AnnouncementRow> {
    const { rows } = await q.query<AnnouncementRow>(
      `INSERT INTO course_announcements (id, course_id, author_id, author_name, subject, body)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
      [a.id, a.courseId, a.authorId, a.authorName, a.subject, a.body],
    );
    return rows[0]!;
  }

  /** Announcements of a course posted in the last 24 hours (the daily limit). */
  async countLastDay(courseId: string, q: Queryable = this.db): Promise<number> {
    const { rows } = await q.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM course_announcements WHERE course_id = $1 AND created_at > now() - interval '24 hours'`,
      [courseId],
    );
    return rows[0]?.n ?? 0;
  }

  /** A course's announcements, newest first (the owner's view). */
  async listForCourse(courseId: string, limit: number, q: Queryable = this.db): Promise<AnnouncementRow[]> {
    const { rows } = await q.query<AnnouncementRow>(
      'SELECT * FROM course_announcements WHERE course_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2',
      [courseId, limit],
    );
    return rows;
  }

  /**
   * The oldest announcement still being sent, locked until `tx` ends; replicas skip one another's
   * (SKIP LOCKED), so two fan-out workers never queue the same batch. With the course's title and slug.
   */
  async claimSending(tx: Queryable): Promise<(AnnouncementRow & { course_title: string; course_slug: string }) | null> {
    const { rows } = await tx.query<AnnouncementRow & { course_title: string; course_slug: string }>(
      `SELECT a.*, c.title AS course_title, c.slug AS course_slug
         FROM course_announcements a JOIN courses c ON c.id = a.course_id
        WHERE a.status = 'sending'
        ORDER BY a.created_at, a.id
        LIMIT 1
        FOR UPDATE OF a SKIP LOCKED`,
    );
    return rows[0] ?? null;
  }

  /** The next active learners after `after` (user ids ascending: the fan-out's stable order). */
  async nextLearners(courseId: string, after: string | null, limit: number, q: Queryable = this.db): Promise<string[]> {
    const { rows } = await q.query<{ user_id: string }>(
      `SELECT user_id FROM enrolments
        WHERE course_id = $1 AND status = 'active' AND ($2::uuid IS NULL OR user_id > $2::uuid)
        ORDER BY user_id
        LIMIT $3`,
      [courseId, after, limit],
    );
    return rows.map((r) => r.user_id);
  }

  /** Records a queued batch: the place to go on from, the count, and `sent` when it was the last. */
  async advance(id: string, after: string | null, queued: number, done: boolean, tx: Queryable): Promise<void> {
    await tx.query(
      `UPDATE course_announcements
          SET fanout_after = COALESCE($2::uuid, fanout_after), recipients = recipients + $3,
              status = CASE WHEN $4 THEN 'sent' ELSE status END,
              sent_at = CASE WHEN $4 THEN now() ELSE sent_at END
        WHERE id = $1`,
      [id, after, queued, done],
    );
  }
}
