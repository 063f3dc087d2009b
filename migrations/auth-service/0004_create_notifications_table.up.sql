-- The mail outbox. A row is written in the same transaction as the change that causes it; workers
-- claim due rows with FOR UPDATE SKIP LOCKED and a lease (`locked_until`), so replicas share the work
-- and a crashed worker's rows come back when the lease ends.
CREATE TABLE notifications (
  id               uuid PRIMARY KEY,
  user_id          uuid REFERENCES users (id) ON DELETE SET NULL,
  recipient        text NOT NULL,
  template         text NOT NULL,
  locale           text NOT NULL DEFAULT 'en',
  data             jsonb NOT NULL DEFAULT '{}'::jsonb,
  idempotency_key  text,
  status           text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  locked_until     timestamptz,
  last_error       text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  sent_at          timestamptz,
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX notifications_idempotency_key ON notifications (idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX notifications_due_idx ON notifications (next_attempt_at) WHERE status = 'queued';
CREATE INDEX notifications_status_idx ON notifications (status, id);
