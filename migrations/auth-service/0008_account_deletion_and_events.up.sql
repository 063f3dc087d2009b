-- Account deletion (GDPR art. 17). A request ends every session and waits out the grace period in
-- `account_deletions`; cancelling deletes the row, the purge job deletes the user (sessions, tokens,
-- security events and this row go by cascade) once `purge_at` has passed. The purge claims due rows
-- with FOR UPDATE SKIP LOCKED, so replicas share the work and a cancel racing a purge waits for it.
CREATE TABLE account_deletions (
  user_id       uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  requested_at  timestamptz(3) NOT NULL DEFAULT now(),
  purge_at      timestamptz(3) NOT NULL,
  erase_reviews boolean NOT NULL DEFAULT false
);
CREATE INDEX account_deletions_due_idx ON account_deletions (purge_at);

-- Events for course-service (today `account_deleted`), written in the purge's transaction and delivered
-- by the relay (services/account_event_relay.ts) with the event id as the idempotency key, retried with
-- backoff until course-service accepts it: course-service being down loses nothing. The payload holds
-- the deleted account's id and nothing else about the person.
CREATE TABLE account_outbox (
  id              uuid PRIMARY KEY,
  type            text NOT NULL,
  payload         jsonb NOT NULL,
  created_at      timestamptz(3) NOT NULL DEFAULT now(),
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz(3) NOT NULL DEFAULT now(),
  delivered_at    timestamptz(3),
  -- Set when course-service refused the event for good (a 4xx other than 401/408/429); kept for operators.
  failed_at       timestamptz(3),
  last_error      text
);
CREATE INDEX account_outbox_pending_idx ON account_outbox (next_attempt_at, id) WHERE delivered_at IS NULL AND failed_at IS NULL;
