-- Identities at OpenID Connect providers linked to accounts (issue 19). `subject` is the provider's
-- `sub`, stable per provider (never the e-mail, which can change or be reassigned); one identity
-- belongs to at most one account. `email` is what the provider said when the identity was linked.
CREATE TABLE user_identities (
  id            uuid PRIMARY KEY,
  user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  provider      text NOT NULL,
  subject       text NOT NULL,
  email         text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_used_at  timestamptz,
  CONSTRAINT user_identities_provider_subject_key UNIQUE (provider, subject)
);
CREATE INDEX user_identities_user_idx ON user_identities (user_id, created_at);

-- An account made by a provider sign-in has no password: NULL, never a placeholder hash. A password
-- login refuses it as invalid_credentials after the same dummy hash an unknown e-mail costs; a password
-- reset sets one.
ALTER TABLE users ALTER COLUMN password_hash DROP NOT NULL;
