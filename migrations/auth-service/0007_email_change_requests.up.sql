-- E-mail change: one row per request. Both addresses confirm, in either order: the new one
-- proves it is reachable and owned, the old one approves (or cancels with "this was not me"). A newer
-- request supersedes the pending one; the address moves only when both sides have confirmed.
CREATE TABLE email_change_requests (
  id                 uuid PRIMARY KEY,
  user_id            uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  new_email          text NOT NULL,
  -- The session that asked: it stays signed in when the change completes, the others end.
  session_id         uuid,
  status             text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'completed', 'cancelled', 'superseded', 'failed')),
  old_confirmed_at   timestamptz,
  new_confirmed_at   timestamptz,
  created_at         timestamptz NOT NULL DEFAULT now(),
  expires_at         timestamptz NOT NULL,
  finished_at        timestamptz
);
-- At most one pending request per user; a new one supersedes it in the same transaction.
CREATE UNIQUE INDEX email_change_requests_pending_idx ON email_change_requests (user_id) WHERE status = 'pending';
-- The e-mail-change tokens of one user are found and spent together (supersede, completion, cancel).
CREATE INDEX one_time_tokens_request_idx ON one_time_tokens ((details ->> 'requestId')) WHERE details IS NOT NULL;
