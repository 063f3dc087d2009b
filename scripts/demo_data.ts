/**
 * Demo data for a first run: an admin, an instructor and a student (their passwords are made here and
 * kept in var/demo-credentials.json so every start can print them), a few more reviewers, and about 50
 * published courses across categories, each with a curriculum (sections and lessons, the first lesson a
 * free preview), learners and reviews from them (only learners review). The demo student is enrolled in
 * three courses: one finished (with its certificate), one half done, one just started. Written through
 * the services' own classes, so every counter is exactly what real writes would make. The outbox events
 * are marked delivered: demo data sends no mail.
 */
import { randomBytes } from 'node:crypto';
import type { Database } from '../internal/shared/utils/database.js';
import { newId } from '../internal/shared/utils/ids.js';
import type { Principal } from '../internal/shared/utils/jwt.js';
import { UserRepository } from '../internal/auth-service/repository/user_repository.js';
import { PasswordHasher, type HashParams } from '../internal/auth-service/services/password_hasher.js';
import { CourseService } from '../internal/course-service/services/course_service.js';
import { ReviewService } from '../internal/course-service/services/review_service.js';
import { CurriculumService } from '../internal/course-service/services/curriculum_service.js';
import { EnrolmentService } from '../internal/course-service/services/enrolment_service.js';
import { ProgressService } from '../internal/course-service/services/progress_service.js';

/** What `npm start` prints about the demo beside the accounts. */
export interface DemoFacts {
  accounts: DemoAccount[];
  /** The demo student's certificate (public: GET /api/v1/certificates/{id}). */
  certificateId: string | null;
  studentCourses: { title: string; percent: number }[];
}

const SECTIONS = [
  { title: 'Getting started', lessons: [['Welcome and course map', 'video', 240], ['Setting up your tools', 'article', 600]] },
  { title: 'Core ideas', lessons: [['The first principle', 'video', 900], ['Worked example', 'video', 1200], ['Check yourself', 'quiz', 300]] },
  { title: 'Putting it into practice', lessons: [['A small project', 'article', 1800], ['Review and next steps', 'video', 420]] },
] as const;

export interface DemoAccount {
  role: 'admin' | 'instructor' | 'student';
  email: string;
  password: string;
}

const CATALOG: Record<string, { titles: string[]; tags: string[] }> = {
  Programming: {
    titles: ['TypeScript from Zero to Production', 'Practical Node.js Services', 'Rust for Backend Engineers', 'Go Concurrency Patterns', 'Clean Code in Practice', 'Testing Backends That Matter', 'Functional Programming in JavaScript'],
    tags: ['typescript', 'nodejs', 'rust', 'go', 'testing', 'architecture'],
  },
  Data: {
    titles: ['PostgreSQL Performance Tuning', 'SQL for Analysts', 'Data Modelling Essentials', 'Stream Processing with Kafka', 'Building a Data Warehouse', 'Full-Text Search Explained'],
    tags: ['sql', 'postgresql', 'analytics', 'kafka', 'search'],
  },
  'Machine Learning': {
    titles: ['Machine Learning Foundations', 'Deep Learning with PyTorch', 'Recommender Systems in Practice', 'Natural Language Processing Basics', 'MLOps: Models in Production'],
    tags: ['python', 'pytorch', 'nlp', 'mlops', 'statistics'],
  },
  DevOps: {
    titles: ['Docker for Developers', 'Kubernetes in Production', 'Observability with Prometheus', 'CI/CD Pipelines That Ship', 'Linux for Engineers', 'Terraform Infrastructure as Code'],
    tags: ['docker', 'kubernetes', 'prometheus', 'linux', 'terraform'],
  },
  Security: {
    titles: ['Web Application Security', 'OAuth 2 and OpenID Connect', 'Threat Modelling for Teams', 'Secure Coding in Node.js', 'Cryptography for Developers'],
    tags: ['owasp', 'oauth', 'jwt', 'cryptography', 'appsec'],
  },
  Design: {
    titles: ['UX Research Fundamentals', 'Design Systems at Scale', 'Accessible Interfaces', 'Figma for Product Teams', 'Typography for the Web'],
    tags: ['ux', 'accessibility', 'figma', 'ui'],
  },
  Business: {
    titles: ['Product Management Basics', 'Agile Beyond the Buzzwords', 'Technical Writing for Engineers', 'Leading Engineering Teams', 'Startup Finance 101'],
    tags: ['product', 'agile', 'writing', 'leadership'],
  },
  Languages: {
    titles: ['Английский для разработчиков', 'Русский язык для начинающих', 'Spanish for Travellers', 'German Grammar Made Simple', 'Business English Communication'],
    tags: ['english', 'russian', 'spanish', 'german'],
  },
  Mathematics: {
    titles: ['Linear Algebra for Programmers', 'Probability and Statistics', 'Discrete Mathematics', 'Calculus Refresher'],
    tags: ['math', 'statistics', 'algebra'],
  },
};

const LEVELS = ['beginner', 'intermediate', 'advanced'] as const;
const REVIEW_LINES: Record<number, string[]> = {
  5: ['Excellent course, clear and practical.', 'Best course I have taken on the topic.', 'Great pace and great examples.'],
  4: ['Very good, a few parts felt rushed.', 'Solid content, would recommend.', 'Useful exercises, good explanations.'],
  3: ['Decent overview, not much depth.', 'OK, but the examples are dated.'],
  2: ['Too superficial for the price.', 'Hard to follow in places.'],
  1: ['Not what the description promised.'],
};

/** A small deterministic generator, so the demo catalog looks the same on every machine. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const password = () => randomBytes(9).toString('base64url');

export async function seedDemo(authDb: Database, courseDb: Database, hashParams: HashParams): Promise<DemoFacts> {
  const users = new UserRepository(authDb);
  const hasher = new PasswordHasher(hashParams);
  const make = async (role: DemoAccount['role'], email: string, displayName: string, pass = password()) => {
    const row = await users.create({ id: newId(), email, passwordHash: await hasher.hash(pass), displayName, locale: 'en', role, verified: true });
    if (!row) throw new Error(`${email} exists already; demo data loads only into an empty database`);
    const principal: Principal = { sub: row.id, role, name: displayName, emailVerified: true, sid: undefined, jti: 'demo', exp: 0 };
    return { account: { role, email, password: pass }, principal };
  };

  const admin = await make('admin', 'admin@demo.local', 'Ada Admin');
  const teacher = await make('instructor', 'instructor@demo.local', 'Ivan Instructor');
  const student = await make('student', 'student@demo.local', 'Sam Student');
  const reviewers = [student.principal];
  for (const name of ['Maria', 'Chen', 'Olga', 'Kofi', 'Lena', 'Diego', 'Aiko', 'Pavel', 'Nora', 'Yusuf', 'Ines', 'Tom']) {
    reviewers.push((await make('student', `${name.toLowerCase()}@demo.local`, `${name} Reviewer`)).principal);
  }

  const courses = new CourseService({ db: courseDb });
  const reviews = new ReviewService({ db: courseDb });
  const curriculum = new CurriculumService({ db: courseDb });
  const enrolments = new EnrolmentService({ db: courseDb });
  const progress = new ProgressService({ db: courseDb });
  const created: { id: string; title: string; lessons: string[] }[] = [];
  const random = rng(42);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  for (const [category, { titles, tags }] of Object.entries(CATALOG)) {
    for (const title of titles) {
      const course = await courses.create(teacher.principal, {
        title,
        summary: `${title}: a hands-on course in ${category.toLowerCase()}.`,
        description: `${title} takes you from the basics to confident practice with short lessons, exercises and a final project. Topics: ${tags.join(', ')}.`,
        category,
        tags: tags.filter(() => random() < 0.6).slice(0, 4),
        level: pick(LEVELS),
        language: /[а-я]/i.test(title) ? 'ru' : 'en',
        durationMinutes: 30 + Math.floor(random() * 20) * 30,
      });
      // A curriculum first: a course is published only with lessons and no empty section.
      const lessons: string[] = [];
      for (const section of SECTIONS) {
        const { id: sectionId } = await curriculum.createSection(teacher.principal, course.id, { title: section.title });
        for (const [lessonTitle, kind, durationSeconds] of section.lessons) {
          const lesson = await curriculum.createLesson(teacher.principal, sectionId, {
            title: lessonTitle,
            kind,
            durationSeconds,
            preview: lessons.length === 0,
            body: `${lessonTitle}: the text of this lesson of "${title}", with an example and an exercise.`,
          });
          lessons.push(lesson.id);
        }
      }
      await courses.update(teacher.principal, course.id, { status: 'published' });
      created.push({ id: course.id, title, lessons });
      // Only learners review: each reviewer enrols, then rates.
      const count = Math.floor(random() * reviewers.length);
      for (const reviewer of reviewers.slice(0, count)) {
        await enrolments.enrol(reviewer, course.id);
        const r = random();
        const rating = r < 0.45 ? 5 : r < 0.75 ? 4 : r < 0.88 ? 3 : r < 0.95 ? 2 : 1;
        await reviews.create(reviewer, course.id, { rating, title: pick(REVIEW_LINES[rating]!).split(',')[0]!, body: pick(REVIEW_LINES[rating]!) });
      }
    }
  }
  // The demo student: one course finished (certificate), one half done, one just started.
  const studentCourses: DemoFacts['studentCourses'] = [];
  let certificateId: string | null = null;
  for (const [course, done] of [[created[0]!, 1], [created[7]!, 0.5], [created[13]!, 0]] as const) {
    await enrolments.enrol(student.principal, course.id);
    let answer = await progress.get(student.principal, course.id);
    for (const lessonId of course.lessons.slice(0, Math.round(course.lessons.length * done))) {
      answer = await progress.setCompletion(student.principal, lessonId, true);
    }
    if (answer.certificateId) certificateId = answer.certificateId;
    studentCourses.push({ title: course.title, percent: answer.percent });
  }
  await courseDb.query('UPDATE course_outbox SET delivered_at = now() WHERE delivered_at IS NULL');
  return { accounts: [admin.account, teacher.account, student.account], certificateId, studentCourses };
}
