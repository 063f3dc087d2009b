-- Announcements an instructor posts to the active learners of a course. The post is one row; a worker
-- fans it out into course_outbox events (one per learner, in batches), keeping its place in
-- `fanout_after` (the last learner's user id given an event) in the same transaction as the batch's
-- events, so a crash between batches neither skips nor repeats a learner. `status` is 'sending' until
-- the last batch, then 'sent' with the count of recipients.
CREATE TABLE course_announcements (
  id            uuid PRIMARY KEY,
  course_id     uuid NOT NULL REFERENCES courses (id) ON DELETE CASCADE,
  author_id     uuid NOT NULL,
  author_name   text NOT NULL DEFAULT '',
  subject       text NOT NULL,
  body          text NOT NULL,
  status        text NOT NULL DEFAULT 'sending',
  fanout_after  uuid,
  recipients    integer NOT NULL DEFAULT 0,
  created_at    timestamptz(3) NOT NULL DEFAULT now(),
  sent_at       timestamptz(3),
  CONSTRAINT course_announcements_status_check CHECK (status IN ('sending', 'sent')),
  CONSTRAINT course_announcements_sent_check CHECK ((status = 'sent') = (sent_at IS NOT NULL))
);
CREATE INDEX course_announcements_sending_idx ON course_announcements (created_at) WHERE status = 'sending';
CREATE INDEX course_announcements_course_idx ON course_announcements (course_id, created_at DESC, id DESC);
