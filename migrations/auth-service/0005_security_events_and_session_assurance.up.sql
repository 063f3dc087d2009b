-- Security activity (every login, failure, MFA event, credential and e-mail change, revocation, reuse,
-- deletion request, export, identity link): one row per event, written in the transaction of the action
-- it records. The owner reads 90 days of their own; a retention job deletes older rows. `user_id` is
-- NULL only for events about no known account. Rows go with the account (GDPR erasure).
CREATE TABLE security_events (
  id          uuid PRIMARY KEY,
  user_id     uuid REFERENCES users (id) ON DELETE CASCADE,
  event       text NOT NULL,
  ip          text,
  user_agent  text,
  session_id  uuid,
  details     jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at  timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX security_events_user_idx ON security_events (user_id, created_at DESC, id DESC);
CREATE INDEX security_events_event_idx ON security_events (event, created_at DESC, id DESC);
CREATE INDEX security_events_created_idx ON security_events (created_at);

-- How the session's holder last proved who they are: the access token's `auth_time`, `aal` and `amr`
-- come from here, so a refresh keeps them and a step-up (re-authentication, MFA) moves them forward.
ALTER TABLE sessions
  ADD COLUMN authenticated_at timestamptz NOT NULL DEFAULT now(),
  ADD COLUMN aal text NOT NULL DEFAULT 'aal1',
  ADD COLUMN amr text[] NOT NULL DEFAULT '{pwd}',
  ADD CONSTRAINT sessions_aal_check CHECK (aal IN ('aal1', 'aal2'));
UPDATE sessions SET authenticated_at = created_at;

-- One-time tokens of the account lifecycle: e-mail change (confirm on the new address, approve or
-- cancel on the old), cancelling a deletion, "this was not me" after a new-device sign-in. `details`
-- holds what the token is about (e.g. the new address), never the token itself.
ALTER TABLE one_time_tokens DROP CONSTRAINT one_time_tokens_purpose_check;
ALTER TABLE one_time_tokens ADD CONSTRAINT one_time_tokens_purpose_check CHECK (purpose IN (
  'verify_email', 'password_reset', 'email_change_new', 'email_change_old', 'email_change_cancel',
  'deletion_cancel', 'not_me'));
ALTER TABLE one_time_tokens ADD COLUMN details jsonb;
