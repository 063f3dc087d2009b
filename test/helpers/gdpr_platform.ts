/**
 * Both services for the account-deletion and export tests: auth-service listening (course-service reads
 * its JWKS), course-service built at once but listening on its reserved port only when the test says
 * (`courseUp()`), so "course-service down" is the real thing: auth-service's calls are refused.
 */
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { TokenService } from '../../internal/auth-service/services/token_service.js';
import type { Queryable } from '../../internal/shared/utils/database.js';
import { startAuth, type AuthHarness } from './auth_app.js';
import { startCourse, type CourseHarness } from './course_app.js';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface GdprUser {
  id: string;
  email: string;
  password: string;
  displayName: string;
  token: string;
  refreshToken: string;
}

export interface GdprPlatform {
  auth: AuthHarness;
  course: CourseHarness;
  coursePort: number;
  /** course-service starts listening on its port (auth-service's calls reach it from now on). */
  courseUp(): Promise<void>;
  /** A token like auth-service's own service token (role service, subject client:auth-service). */
  serviceToken(subject?: string): Promise<string>;
  user(options?: { role?: 'student' | 'instructor' | 'admin' }): Promise<GdprUser>;
  close(): Promise<void>;
}

export async function startGdprPlatform(options: { auth?: Record<string, unknown> } = {}): Promise<GdprPlatform> {
  const coursePort = await freePort();
  const auth = await startAuth({
    auth: { requireEmailVerification: false, verificationResendIntervalSec: 0 },
    courseService: { url: `http://127.0.0.1:${coursePort}`, timeoutMs: 2000 },
    accountEvents: { pollIntervalMs: 50, backoffBaseMs: 50, backoffMaxMs: 300, leaseMs: 2000 },
    accountDeletion: { purgeIntervalMs: 100 },
    ...options.auth,
  });
  const authUrl = await auth.app.listen({ port: 0, host: '127.0.0.1' });
  // These suites are about what deletion and export do to reviews; who may write one (only learners)
  // is tested in learning_http.test.ts, so reviews here need no enrolment first.
  const course = await startCourse({ jwksUrl: `${authUrl}/.well-known/jwks.json`, overrides: { reviews: { requireEnrolment: false } } });
  const tokens = new TokenService(auth.keys, auth.config.jwt, randomBytes(32));
  let listening = false;
  return {
    auth,
    course,
    coursePort,
    async courseUp() {
      if (listening) return;
      await course.app.listen({ port: coursePort, host: '127.0.0.1' });
      listening = true;
    },
    serviceToken(subject = 'client:auth-service') {
      return tokens.issueAccessToken({ sub: subject, role: 'service', name: subject.replace(/^client:/, ''), emailVerified: true });
    },
    async user(userOptions = {}) {
      const user = await auth.newUser({ role: userOptions.role ?? 'student' });
      const login = await auth.login(user.email, user.password);
      return { ...user, token: login.accessToken, refreshToken: login.refreshToken };
    },
    async close() {
      await course.close();
      await auth.close();
    },
  };
}

/** Rows where a course or lesson counter differs from a recount of the rows it counts (empty = all exact). */
export async function counterMismatches(db: Queryable): Promise<unknown[]> {
  const { rows } = await db.query(
    `SELECT 'course' AS kind, c.id FROM courses c
       LEFT JOIN (SELECT course_id, count(*)::int n, sum(rating)::int s,
                         (count(*) FILTER (WHERE rating = 1))::int r1, (count(*) FILTER (WHERE rating = 2))::int r2,
                         (count(*) FILTER (WHERE rating = 3))::int r3, (count(*) FILTER (WHERE rating = 4))::int r4,
                         (count(*) FILTER (WHERE rating = 5))::int r5
                    FROM reviews WHERE status = 'visible' GROUP BY course_id) r ON r.course_id = c.id
       LEFT JOIN (SELECT course_id, (count(*) FILTER (WHERE status = 'active'))::int a, count(*)::int t,
                         (count(*) FILTER (WHERE completed_at IS NOT NULL))::int done
                    FROM enrolments GROUP BY course_id) e ON e.course_id = c.id
      WHERE c.rating_count <> coalesce(r.n, 0) OR c.rating_sum <> coalesce(r.s, 0)
         OR c.rating_1 <> coalesce(r.r1, 0) OR c.rating_2 <> coalesce(r.r2, 0) OR c.rating_3 <> coalesce(r.r3, 0)
         OR c.rating_4 <> coalesce(r.r4, 0) OR c.rating_5 <> coalesce(r.r5, 0)
         OR c.enrolment_count <> coalesce(e.a, 0) OR c.learner_total <> coalesce(e.t, 0) OR c.completion_count <> coalesce(e.done, 0)
     UNION ALL
     SELECT 'lesson', l.id FROM lessons l
       LEFT JOIN (SELECT lesson_id, count(*)::int n FROM lesson_completions GROUP BY lesson_id) x ON x.lesson_id = l.id
      WHERE l.completion_count <> coalesce(x.n, 0)`,
  );
  return rows;
}

/**
 * Learning rows for `userId` in `courseId`, written straight into the tables (the enrolment API is
 * another engineer's) with the counters moved as that code does: an enrolment (active or left), a
 * completion of each given lesson, and with `completed` the course completion and a certificate.
 */
export async function seedLearning(
  db: Queryable,
  input: { userId: string; courseId: string; lessonIds: string[]; status?: 'active' | 'left'; completed?: boolean; name?: string },
): Promise<void> {
  const status = input.status ?? 'active';
  const completed = input.completed ?? false;
  await db.query(
    `INSERT INTO enrolments (id, course_id, user_id, learner_name, status, completed_lessons, left_at, completed_at)
     VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, CASE WHEN $4 = 'left' THEN now() END, CASE WHEN $6 THEN now() END)`,
    [input.courseId, input.userId, input.name ?? 'Learner', status, input.lessonIds.length, completed],
  );
  await db.query(
    `UPDATE courses SET enrolment_count = enrolment_count + $2, learner_total = learner_total + 1, completion_count = completion_count + $3 WHERE id = $1`,
    [input.courseId, status === 'active' ? 1 : 0, completed ? 1 : 0],
  );
  for (const lessonId of input.lessonIds) {
    await db.query('INSERT INTO lesson_completions (user_id, lesson_id, course_id) VALUES ($1, $2, $3)', [input.userId, lessonId, input.courseId]);
    await db.query('UPDATE lessons SET completion_count = completion_count + 1 WHERE id = $1', [lessonId]);
  }
  if (completed) {
    await db.query(
      `INSERT INTO certificates (id, verification_id, course_id, user_id, learner_name, course_title, instructor_name, duration_seconds)
       VALUES (gen_random_uuid(), $1, $2, $3, $4, 'A course', 'An instructor', 600)`,
      [randomBytes(8).toString('hex'), input.courseId, input.userId, input.name ?? 'Learner'],
    );
  }
}

/**
 * Two lessons in a new last section of `courseId` (curriculum rows straight into the tables); returns
 * their ids. The course may have a section already (a published one has: `publishedCourseOverHttp`).
 */
export async function seedLessons(db: Queryable, courseId: string): Promise<string[]> {
  const section = (await db.query<{ id: string }>(
    `INSERT INTO course_sections (id, course_id, title, position)
     VALUES (gen_random_uuid(), $1, $2, (SELECT coalesce(max(position) + 1, 0) FROM course_sections WHERE course_id = $1)) RETURNING id`,
    [courseId, 'Basics'],
  )).rows[0]!.id;
  const ids: string[] = [];
  for (const position of [0, 1]) {
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO lessons (id, course_id, section_id, title, kind, duration_seconds, position) VALUES (gen_random_uuid(), $1, $2, $3, 'article', 300, $4) RETURNING id`,
      [courseId, section, `Lesson ${position + 1}`, position],
    );
    ids.push(rows[0]!.id);
  }
  await db.query('UPDATE course_sections SET lesson_count = 2 WHERE id = $1', [section]);
  await db.query('UPDATE courses SET lesson_count = lesson_count + 2, total_duration_seconds = total_duration_seconds + 600 WHERE id = $1', [courseId]);
  return ids;
}
