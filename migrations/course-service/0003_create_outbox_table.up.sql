-- Events for auth-service (review mails), written in the same transaction as the review change and
-- delivered later by the relay with `id` as the idempotency key, so nothing is lost or sent twice
-- when auth-service is down. The relay claims rows with FOR UPDATE SKIP LOCKED.

CREATE TABLE course_outbox (
  id              uuid PRIMARY KEY,
  type            text NOT NULL,
  payload         jsonb NOT NULL,
  created_at      timestamptz(3) NOT NULL DEFAULT now(),
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz(3) NOT NULL DEFAULT now(),
  delivered_at    timestamptz(3),
  -- Set when auth-service refused the event for good (a 4xx other than 401/408/429); kept for operators.
  failed_at       timestamptz(3),
  last_error      text
);

-- The relay's work queue: only undelivered rows, in due order.
CREATE INDEX course_outbox_pending_idx ON course_outbox (next_attempt_at, id) WHERE delivered_at IS NULL AND failed_at IS NULL;
