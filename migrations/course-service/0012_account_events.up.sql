-- Account deletion reaching course-service (auth-service's `account_deleted` event). A review whose
-- author's account is gone stays, anonymous: `author_id` becomes NULL (so two anonymised reviews of one
-- course do not collide on reviews_course_author_key, which ignores NULLs) and `author_name` 'Deleted user'.
ALTER TABLE reviews ALTER COLUMN author_id DROP NOT NULL;

-- Events already applied, by id: a redelivered event finds its id here and changes nothing. Only the id
-- and the time are kept (not whose account it was).
CREATE TABLE processed_account_events (
  event_id     uuid PRIMARY KEY,
  processed_at timestamptz(3) NOT NULL DEFAULT now()
);
