-- Learning (curriculum, enrolment, progress, certificates, analytics). Every counter here is changed by
-- delta in the transaction of the change it counts, so it always equals a recount; the CHECKs make a bug
-- in the arithmetic fail the transaction instead of corrupting a figure.

-- The course's own figures: lessons and their total duration (curriculum writes), active learners
-- (`enrolment_count`, what `sort=popular` reads), everyone who ever enrolled, and completions. `mode`
-- leaves room for paid courses; only 'free' is offered for now.
ALTER TABLE courses
  ADD COLUMN lesson_count integer NOT NULL DEFAULT 0,
  ADD COLUMN total_duration_seconds integer NOT NULL DEFAULT 0,
  ADD COLUMN enrolment_count integer NOT NULL DEFAULT 0,
  ADD COLUMN learner_total integer NOT NULL DEFAULT 0,
  ADD COLUMN completion_count integer NOT NULL DEFAULT 0,
  ADD COLUMN mode text NOT NULL DEFAULT 'free',
  ADD CONSTRAINT courses_mode_check CHECK (mode IN ('free', 'paid')),
  ADD CONSTRAINT courses_learning_counts_check CHECK (
    lesson_count >= 0 AND total_duration_seconds >= 0 AND enrolment_count >= 0
    AND learner_total >= enrolment_count AND completion_count >= 0 AND completion_count <= learner_total
  );

-- Sections, ordered within their course. Positions are unique per course, checked at commit, so a
-- reorder can move every row inside one transaction.
CREATE TABLE course_sections (
  id           uuid PRIMARY KEY,
  course_id    uuid NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
  title        text NOT NULL,
  position     integer NOT NULL,
  lesson_count integer NOT NULL DEFAULT 0,
  created_at   timestamptz(3) NOT NULL DEFAULT now(),
  updated_at   timestamptz(3) NOT NULL DEFAULT now(),
  CONSTRAINT course_sections_position_key UNIQUE (course_id, position) DEFERRABLE INITIALLY DEFERRED,
  CONSTRAINT course_sections_position_check CHECK (position >= 0),
  CONSTRAINT course_sections_lesson_count_check CHECK (lesson_count >= 0)
);

-- Lessons, ordered within their section; `course_id` is copied from the section (lessons move between
-- sections of one course, never between courses) so course-wide reads need no join.
-- `completion_count`: learners who completed it (the per-lesson analytics), by delta.
CREATE TABLE lessons (
  id               uuid PRIMARY KEY,
  course_id        uuid NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
  section_id       uuid NOT NULL REFERENCES course_sections (id) ON DELETE CASCADE,
  title            text NOT NULL,
  kind             text NOT NULL,
  duration_seconds integer NOT NULL,
  preview          boolean NOT NULL DEFAULT false,
  body             text NOT NULL DEFAULT '',
  position         integer NOT NULL,
  completion_count integer NOT NULL DEFAULT 0,
  created_at       timestamptz(3) NOT NULL DEFAULT now(),
  updated_at       timestamptz(3) NOT NULL DEFAULT now(),
  CONSTRAINT lessons_position_key UNIQUE (section_id, position) DEFERRABLE INITIALLY DEFERRED,
  CONSTRAINT lessons_kind_check CHECK (kind IN ('video', 'article', 'quiz')),
  CONSTRAINT lessons_duration_check CHECK (duration_seconds >= 0),
  CONSTRAINT lessons_position_check CHECK (position >= 0),
  CONSTRAINT lessons_completion_count_check CHECK (completion_count >= 0)
);
CREATE INDEX lessons_course_idx ON lessons (course_id);

-- One row per (course, learner): leaving sets `status` to 'left' and keeps progress; enrolling again
-- reactivates the same row. `completed_lessons` counts this learner's completions of lessons that still
-- exist (a lesson delete takes it down in the same transaction). `last_activity_at` orders "my learning".
CREATE TABLE enrolments (
  id                uuid PRIMARY KEY,
  course_id         uuid NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
  user_id           uuid NOT NULL,
  learner_name      text NOT NULL DEFAULT '',
  status            text NOT NULL DEFAULT 'active',
  mode              text NOT NULL DEFAULT 'free',
  completed_lessons integer NOT NULL DEFAULT 0,
  last_lesson_id    uuid,
  enrolled_at       timestamptz(3) NOT NULL DEFAULT now(),
  left_at           timestamptz(3),
  completed_at      timestamptz(3),
  last_activity_at  timestamptz(3) NOT NULL DEFAULT now(),
  CONSTRAINT enrolments_course_user_key UNIQUE (course_id, user_id),
  CONSTRAINT enrolments_status_check CHECK (status IN ('active', 'left')),
  CONSTRAINT enrolments_mode_check CHECK (mode IN ('free', 'paid')),
  CONSTRAINT enrolments_completed_lessons_check CHECK (completed_lessons >= 0),
  CONSTRAINT enrolments_left_check CHECK ((status = 'left') = (left_at IS NOT NULL))
);
-- My learning (newest activity first, keyset) and the course's roster (newest enrolment first).
CREATE INDEX enrolments_user_activity_idx ON enrolments (user_id, last_activity_at DESC, id DESC);
CREATE INDEX enrolments_course_roster_idx ON enrolments (course_id, enrolled_at DESC, id DESC);

-- A learner's completed lessons. The primary key answers "has this learner done this lesson" and, with
-- `course_id`, the resume point; the lesson index serves per-lesson deletes.
CREATE TABLE lesson_completions (
  user_id      uuid NOT NULL,
  lesson_id    uuid NOT NULL REFERENCES lessons (id) ON DELETE CASCADE,
  course_id    uuid NOT NULL,
  completed_at timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, lesson_id)
);
CREATE INDEX lesson_completions_lesson_idx ON lesson_completions (lesson_id);
CREATE INDEX lesson_completions_user_course_idx ON lesson_completions (user_id, course_id);

-- Certificates: issued once per (course, learner) when every lesson is complete; the names, title and
-- duration are copied at issue, so later renames do not change a certificate. `verification_id` is the
-- public, random handle. Not tied to the course row by a foreign key: a certificate outlives its course.
CREATE TABLE certificates (
  id               uuid PRIMARY KEY,
  verification_id  text NOT NULL,
  course_id        uuid NOT NULL,
  user_id          uuid NOT NULL,
  learner_name     text NOT NULL,
  course_title     text NOT NULL,
  instructor_name  text NOT NULL,
  duration_seconds integer NOT NULL,
  status           text NOT NULL DEFAULT 'valid',
  issued_at        timestamptz(3) NOT NULL DEFAULT now(),
  revoked_at       timestamptz(3),
  CONSTRAINT certificates_verification_key UNIQUE (verification_id),
  CONSTRAINT certificates_course_user_key UNIQUE (course_id, user_id),
  CONSTRAINT certificates_status_check CHECK (status IN ('valid', 'revoked'))
);
CREATE INDEX certificates_user_idx ON certificates (user_id);

-- Instructor analytics per course and UTC day, by delta in the transaction of each enrolment, leave
-- and completion (an upsert on the day's row).
CREATE TABLE course_daily_stats (
  course_id   uuid NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
  day         date NOT NULL,
  enrolled    integer NOT NULL DEFAULT 0,
  left_count  integer NOT NULL DEFAULT 0,
  completed   integer NOT NULL DEFAULT 0,
  PRIMARY KEY (course_id, day),
  CONSTRAINT course_daily_stats_check CHECK (enrolled >= 0 AND left_count >= 0 AND completed >= 0)
);
